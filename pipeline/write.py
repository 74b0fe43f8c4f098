"""The only module that writes tables: CSV (UTF-8 with BOM) and Parquet, atomically.

Every file is written to a temporary file in the same folder and moved into
place with ``os.replace``, so an interrupted run leaves either the old file or
the new one, never half of one.

A batch writes its tables from rows (tuples in column order) with the csv
module and pyarrow: the bytes are those pandas writes (same csv dialect, the
same Arrow schema with its pandas metadata, taken once from pandas and cached),
in a fraction of the time and without importing pandas. The DataFrame functions
remain for ``pipeline.extract`` and for callers holding frames.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from operator import itemgetter
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .reviews import ORPHAN_COLUMNS, REVIEW_COLUMNS
from .tempcache import cache_file, read_cache, write_cache

if TYPE_CHECKING:
    import pandas as pd

DOCUMENT_COLUMNS = ["doc_id", "path", "sha256", "format", "pages", "chars", "ref_date",
                    "ref_date_source", "status", "error"]
MENTION_COLUMNS = ["mention_id", "doc_id", "kind", "text", "start", "end", "page", "sentence",
                   "context", "number", "multiplier", "value", "unit", "quantity_kind",
                   "qualifier", "value_max", "change", "date_start", "date_end", "granularity",
                   "relative", "org_type", "rule", *REVIEW_COLUMNS]
NUMBER_COLUMNS = ["number", "multiplier", "value", "value_max"]
INT_COLUMNS = ["start", "end", "page", "sentence"]
_WHERE = ["mention_id", "doc_id", "text", "start", "end", "page", "sentence", "context"]
#: file name -> (kind, columns) of the per-kind tables.
KIND_TABLES = {
    "quantities": ("QUANTITY", [*_WHERE, "number", "multiplier", "value", "unit", "quantity_kind",
                                "qualifier", "value_max", "change", "rule", *REVIEW_COLUMNS]),
    "dates": ("DATE", [*_WHERE, "date_start", "date_end", "granularity", "relative", "rule",
                       *REVIEW_COLUMNS]),
    "organizations": ("ORG", [*_WHERE, "org_type", "rule", *REVIEW_COLUMNS]),
}


DOCUMENT_INT_COLUMNS = ["pages", "chars"]


def mentions_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """Rows -> a DataFrame with the ``mentions.csv`` columns and dtypes."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=MENTION_COLUMNS)
    for col in NUMBER_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in INT_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    text_cols = [c for c in MENTION_COLUMNS if c not in NUMBER_COLUMNS + INT_COLUMNS]
    frame[text_cols] = frame[text_cols].astype(object).fillna("").astype(str)
    return frame


def documents_frame(rows: Iterable[dict]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=DOCUMENT_COLUMNS)
    for col in DOCUMENT_INT_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    text_cols = [c for c in DOCUMENT_COLUMNS if c not in DOCUMENT_INT_COLUMNS]
    frame[text_cols] = frame[text_cols].astype(object).fillna("").astype(str)
    return frame


def orphans_frame(rows: Iterable[dict]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(list(rows), columns=ORPHAN_COLUMNS).astype(object).fillna("").astype(str)


def format_number(value: float) -> str:
    """Shortest exact-looking decimal without exponent: 7126000000, 6.89, 0.0001."""
    if value is None or value != value:  # None or NaN
        return ""
    text = repr(float(value))  # the shortest string that reads back as the same float
    if "e" in text or "n" in text:
        import numpy as np

        return np.format_float_positional(float(value), trim="-")
    return text[:-2] if text.endswith(".0") else text


def _atomic_write_bytes(path: Path, data: bytes | memoryview | Iterable[bytes], durable: bool = True) -> None:
    """Temp file in the same folder, then ``os.replace``: readers see old or new, never half.

    ``durable`` also forces the bytes to disk before the replace (tables, which
    hold review work); clean texts skip it, they are rewritten by any re-run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, (bytes, bytearray, memoryview)):
                fh.write(data)
            else:  # parts, written one after the other (a table streamed from a spool)
                for part in data:
                    fh.write(part)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel and WPS open it as UTF-8); numbers in plain notation."""
    out = frame.copy()
    for col in NUMBER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(format_number)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\r\n")
    _atomic_write_bytes(path, buffer.getvalue().encode("utf-8-sig"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    _atomic_write_bytes(path, buffer.getvalue())


def write_text(path: Path, text: str) -> None:
    """A clean text, UTF-8 without BOM so offsets index it as written."""
    _atomic_write_bytes(path, text.encode("utf-8"), durable=False)


def write_json(path: Path, data: str) -> None:
    _atomic_write_bytes(path, data.encode("utf-8"))


def write_tables(out_dir: Path, documents: pd.DataFrame, mentions: pd.DataFrame,
                 orphans: pd.DataFrame | None = None) -> list[Path]:
    """Write every table of the contract as CSV and Parquet; returns the CSV paths."""
    def rows(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple]:
        frame = frame.reindex(columns=columns).astype(object)
        return list(frame.where(frame.notna(), None).itertuples(index=False, name=None))

    block = MentionBlock(table_records("mentions", rows(mentions, MENTION_COLUMNS)))
    return write_table_rows(out_dir, rows(documents, DOCUMENT_COLUMNS), [block],
                            None if orphans is None else rows(orphans, ORPHAN_COLUMNS))


# -- tables from rows --------------------------------------------------------------------

#: name -> (columns, integer columns, float columns); every other column is text.
TABLE_SPECS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "documents": (DOCUMENT_COLUMNS, DOCUMENT_INT_COLUMNS, []),
    "mentions": (MENTION_COLUMNS, INT_COLUMNS, NUMBER_COLUMNS),
    **{name: (cols, [c for c in INT_COLUMNS if c in cols], [c for c in NUMBER_COLUMNS if c in cols])
       for name, (_, cols) in KIND_TABLES.items()},
    "orphaned_reviews": (ORPHAN_COLUMNS, [], []),
}
_KIND_INDEX = MENTION_COLUMNS.index("kind")
#: kind -> (table name, indexes into MENTION_COLUMNS of its columns)
_KIND_PICKS = {kind: (name, [MENTION_COLUMNS.index(c) for c in cols]) for name, (kind, cols) in KIND_TABLES.items()}


def _missing(value: Any) -> bool:
    """None, NaN or pd.NA."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA
        return True


def text_cell(value: Any) -> str:
    """A text column's value as pandas' ``fillna("").astype(str)`` makes it."""
    if type(value) is str:
        return value
    return "" if _missing(value) else str(value)


def int_cell(value: Any) -> int | None:
    if type(value) is int:
        return value
    return None if _missing(value) or value == "" else int(value)


def float_cell(value: Any) -> float | None:
    if type(value) is float and value == value:
        return value
    return None if _missing(value) or value == "" else float(value)


@lru_cache(maxsize=None)
def _cell_types(name: str) -> tuple:
    columns, ints, floats = TABLE_SPECS[name]
    return tuple(int_cell if c in ints else float_cell if c in floats else text_cell for c in columns)


def table_record(name: str, values: Sequence) -> tuple:
    """One row of table ``name`` (values in its column order) as its frame holds it:
    text as str ("" when missing), integers as int or None, numbers as float or None."""
    return tuple(cell(v) for cell, v in zip(_cell_types(name), values))


def table_records(name: str, rows: Sequence[Sequence]) -> list[tuple]:
    """``table_record`` of every row, a column at a time (most columns need no change)."""
    if not rows:
        return []
    columns = list(zip(*rows))
    for i, cell in enumerate(_cell_types(name)):
        values = columns[i]
        types = set(map(type, values))
        if cell is text_cell:
            done = types == {str}
        elif cell is int_cell:
            done = types == {int}
        else:
            done = types <= {float, type(None)} and not any(v != v for v in values if v is not None)
        if not done:
            columns[i] = [cell(v) for v in values]
    return list(zip(*columns))


def _csv_text(rows: Iterable[Sequence]) -> str:
    """Rows as pandas' ``to_csv`` writes them: the csv module's minimal quoting, CRLF, None as ""."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


_RE_CSV_QUOTE = re.compile('[,"\r\n]')  # what makes the csv module quote a field (minimal quoting)


def _csv_cells(values: Sequence, kind: Callable) -> Sequence[str]:
    """A column's cells as the CSV shows them (``kind``: ``text_cell``, ``int_cell``
    or ``float_cell``): numbers by ``format_number``, missing values empty, a cell with
    a comma, quote or line break quoted as the csv module quotes it."""
    if kind is float_cell:
        cells: Sequence[str] = ["" if v is None else format_number(v) for v in values]
    elif kind is int_cell:
        cells = list(map(str, values)) if None not in values else ["" if v is None else str(v) for v in values]
    else:
        cells = values
    if _RE_CSV_QUOTE.search("".join(cells)):
        cells = ['"' + c.replace('"', '""') + '"' if _RE_CSV_QUOTE.search(c) else c for c in cells]
    return cells


def _csv_from_columns(columns: Sequence[Sequence[str]]) -> str:
    """CSV lines of ``_csv_cells`` columns: the csv module's output, a row at a time in C."""
    if len(columns) < 2:  # the csv module quotes a lone empty field
        return _csv_text(zip(*columns))
    lines = "\r\n".join(map(",".join, zip(*columns)))
    return lines + "\r\n" if lines or columns[0] else ""


class MentionBlock:
    """Mentions of one document for the tables: ``table_record``s in ``MENTION_COLUMNS``
    order, their CSV text in ``mentions.csv`` and each kind's table and, made by a
    worker, their Arrow record batch.

    Workers make these so that the parent only joins strings and Arrow batches; a
    worker's block carries the batch (Arrow IPC bytes) instead of the records,
    which are read back from it only if a review is carried over (``set_reviews``,
    which makes the CSV text and the batch again).
    """

    __slots__ = ("_records", "_csv", "_arrow", "_batch", "kind_counts")

    def __init__(self, records: list[tuple], with_csv: bool = True, with_arrow: bool = False) -> None:
        self._records: list[tuple] | None = records
        self._csv: dict[str, bytes] | None = self._make_csv() if with_csv else None
        self._arrow: bytes | None = None
        self._batch = None
        self.kind_counts: dict[str, int] = {}
        for r in records:
            self.kind_counts[r[_KIND_INDEX]] = self.kind_counts.get(r[_KIND_INDEX], 0) + 1
        if with_arrow and records:
            self._arrow = _records_batch(records).serialize().to_pybytes()
            self._records = None  # read back from the batch when needed

    def __len__(self) -> int:
        return len(self._records) if self._records is not None else self.batch().num_rows

    @property
    def records(self) -> list[tuple]:
        if self._records is None:
            batch = self.batch()
            self._records = table_records("mentions", list(zip(*(c.to_pylist() for c in batch.columns))))
        return self._records

    def batch(self):
        """The records as an Arrow record batch with the ``mentions`` schema."""
        if self._batch is None:
            if self._arrow is not None:
                import pyarrow as pa

                self._batch = pa.ipc.read_record_batch(pa.py_buffer(self._arrow), arrow_schema("mentions", False))
            else:
                self._batch = _records_batch(self._records)
        return self._batch

    def mention_ids(self) -> list[str]:
        if self._records is not None:
            return [r[0] for r in self._records]
        return self.batch().column(0).to_pylist()

    def set_reviews(self, reviews: dict[str, tuple[str, ...]]) -> None:
        """Put these review columns' values (by ``mention_id``) into the records."""
        n = len(REVIEW_COLUMNS)
        records = [r[:-n] + reviews[r[0]] if r[0] in reviews else r for r in self.records]
        self._records, self._csv, self._arrow, self._batch = records, None, None, None

    def csv(self, name: str) -> bytes:
        """The block's rows in table ``name`` (``mentions`` or a kind's table), as UTF-8 CSV."""
        if self._csv is None:
            self._csv = self._make_csv()
        return self._csv[name]

    def _make_csv(self) -> dict[str, bytes]:
        records = self.records
        kinds = _cell_types("mentions")
        cells = [_csv_cells(values, kind) for values, kind in zip(zip(*records), kinds)] if records else []
        text = {"mentions": _csv_from_columns(cells).encode("utf-8")}
        for kind, (name, picks) in _KIND_PICKS.items():
            rows = [i for i, r in enumerate(records) if r[_KIND_INDEX] == kind]
            if not rows:
                text[name] = b""
            elif len(rows) == len(records):
                text[name] = _csv_from_columns([cells[i] for i in picks]).encode("utf-8")
            else:
                take = itemgetter(*rows) if len(rows) > 1 else (lambda col, i=rows[0]: (col[i],))
                text[name] = _csv_from_columns([take(cells[i]) for i in picks]).encode("utf-8")
        return text

    def __getstate__(self):
        return (self._records if self._arrow is None else None, self._csv, self._arrow, self.kind_counts)

    def __setstate__(self, state) -> None:
        self._records, self._csv, self._arrow, self.kind_counts = state
        self._batch = None


class MentionSpool:
    """The mentions of the documents processed so far, on disk: each table's CSV
    bytes and the Arrow batches, appended as documents arrive and read back in
    table order when the tables are written. The parent so holds no document's
    mentions in memory while the batch runs (only the Parquet tables, which are
    one row group each, are assembled in memory at the end).

    Temporary files in the output folder (``.zhextract-spool-<pid>-…``), removed on
    ``close``; those a killed run left behind are removed when the next spool opens
    there (``remove_stale_spools``). Where the system allows, the CSV spools have
    no name at all (``tempfile.TemporaryFile``: Linux's ``O_TMPFILE``).
    """

    TABLES = ("mentions", *KIND_TABLES)
    PREFIX = ".zhextract-spool-"

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_spools(folder)
        self._folder = folder
        self._prefix = f"{self.PREFIX}{os.getpid()}-"
        self._csv = {name: tempfile.TemporaryFile(dir=folder, prefix=self._prefix) for name in self.TABLES}
        self._spans: dict[str, dict[str, tuple[int, int]]] = {}
        self._batches: dict[str, int] = {}
        self._rows: dict[str, int] = {}
        self._arrow_path: Path | None = None
        self._writer = None
        self._reader = None

    def __enter__(self) -> MentionSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, key: str, block: MentionBlock) -> None:
        """Spool ``block`` (the mentions of document ``key``)."""
        spans = {}
        for name, fh in self._csv.items():
            data = block.csv(name)
            spans[name] = (fh.tell(), len(data))
            fh.write(data)
        self._spans[key] = spans
        self._rows[key] = len(block)
        if len(block):
            if self._writer is None:
                import pyarrow as pa

                fd, path = tempfile.mkstemp(dir=self._folder, prefix=self._prefix, suffix=".arrow")
                os.close(fd)
                self._arrow_path = Path(path)
                self._writer = pa.ipc.new_file(path, arrow_schema("mentions", False))
            self._batches[key] = len(self._batches)
            self._writer.write_batch(block.batch())

    def block(self, key: str) -> _SpooledBlock:
        """What was spooled for document ``key``, to hand to ``write_table_rows``."""
        if self._writer is not None and self._reader is None:
            import pyarrow as pa

            self._writer.close()
            self._reader = pa.ipc.open_file(pa.OSFile(str(self._arrow_path)))
        return _SpooledBlock(self, key)

    def _read_csv(self, key: str, name: str) -> bytes:
        start, size = self._spans[key][name]
        fh = self._csv[name]
        fh.seek(start)
        return fh.read(size)

    def close(self) -> None:
        for fh in self._csv.values():
            fh.close()
        if self._writer is not None and self._reader is None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - closing after a failure
                pass
        self._reader = None
        if self._arrow_path is not None:
            self._arrow_path.unlink(missing_ok=True)


def remove_stale_spools(folder: Path) -> list[Path]:
    """Remove the spool files in ``folder`` whose run is over (a killed run leaves
    them): those named for a process that no longer runs, or for none. Returns them."""
    removed = []
    for path in folder.glob(MentionSpool.PREFIX + "*"):
        pid = path.name[len(MentionSpool.PREFIX):].split("-", 1)[0]
        if pid.isdigit() and _process_runs(int(pid)):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # another run removed it, or it cannot be: left for a later run
    return removed


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill would end it; there, a file still open cannot be removed
        return False
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep the file
    return True


class _SpooledBlock:
    """A document's spooled mentions, read from the spool only when written."""

    __slots__ = ("_spool", "_key")

    def __init__(self, spool: MentionSpool, key: str) -> None:
        self._spool, self._key = spool, key

    def __len__(self) -> int:
        return self._spool._rows[self._key]

    def csv(self, name: str) -> bytes:
        return self._spool._read_csv(self._key, name)

    def batch(self):
        return self._spool._reader.get_batch(self._spool._batches[self._key])


def _records_batch(records: list[tuple]):
    import pyarrow as pa

    schema = arrow_schema("mentions", not records)
    return pa.RecordBatch.from_arrays(_arrow_arrays("mentions", _columns("mentions", records)), schema=schema)


def write_table_rows(out_dir: Path, documents: Sequence[Sequence], mentions: Sequence[MentionBlock],
                     orphans: Sequence[Sequence] | None = None) -> list[Path]:
    """``write_tables`` for rows: tuples in ``DOCUMENT_COLUMNS`` and ``ORPHAN_COLUMNS``
    order, and the mentions as blocks (one per document, in table order: a
    ``MentionBlock`` or ``MentionSpool.block``). The same bytes as from frames.

    CSV files are streamed block by block; the per-kind tables are the mentions
    table's Arrow columns taken at the kind's rows.
    """
    import pyarrow as pa

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{name}.csv" for name in ("documents", "mentions", *KIND_TABLES)]
    documents = table_records("documents", documents)
    if orphans is not None:
        orphans = table_records("orphaned_reviews", orphans)
        written.append(out_dir / "orphaned_reviews.csv")

    def csv_parts(name: str, blocks: Sequence | None, records: list[tuple] | None) -> Iterator[bytes]:
        yield _csv_text([TABLE_SPECS[name][0]]).encode("utf-8-sig")
        if blocks is not None:
            for block in blocks:
                yield block.csv(name)
        else:
            yield _csv_text(records).encode("utf-8")

    # each file is written and flushed to disk (fsync) in a thread while the next one is made
    with ThreadPoolExecutor(max_workers=4) as disk:
        pending = []

        def write(name: str, arrays: Sequence, blocks: Sequence | None = None, records: list | None = None) -> None:
            pending.append(disk.submit(_atomic_write_bytes, out_dir / f"{name}.csv",
                                       csv_parts(name, blocks, records)))
            pending.append(disk.submit(_atomic_write_bytes, out_dir / f"{name}.parquet", parquet_buffer(name, arrays)))

        write("documents", _arrow_arrays("documents", _columns("documents", documents)), records=documents)
        batches = [block.batch() for block in mentions if len(block)]
        if batches:
            mention_arrays = [column.chunk(0) for column in pa.Table.from_batches(batches).combine_chunks().columns]
        else:
            mention_arrays = _arrow_arrays("mentions", _columns("mentions", []))
        del batches
        write("mentions", mention_arrays, blocks=mentions)
        kinds = mention_arrays[_KIND_INDEX].to_pylist()
        for name, (kind, columns) in KIND_TABLES.items():
            rows = [i for i, k in enumerate(kinds) if k == kind]
            if rows:
                taken = pa.Array.from_buffers(pa.int64(), len(rows), [None, pa.py_buffer(array("q", rows))])
                arrays = [_take(mention_arrays[MENTION_COLUMNS.index(c)], taken) for c in columns]
            else:
                arrays = _arrow_arrays(name, [[] for _ in columns])
            write(name, arrays, blocks=mentions)
        if orphans is not None:
            write("orphaned_reviews", _arrow_arrays("orphaned_reviews", _columns("orphaned_reviews", orphans)),
                  records=orphans)
        for future in pending:
            future.result()  # the first failure is raised
    return written


def _take(values, indices):
    """``values.take(indices)`` (Arrow's take kernel) without the ``pyarrow.compute``
    module, whose import makes a Python function for every kernel (~0.15 s)."""
    from pyarrow._compute import call_function

    return call_function("take", [values, indices])


def _columns(name: str, rows: Sequence[Sequence]) -> list[list]:
    return [list(col) for col in zip(*rows)] if rows else [[] for _ in TABLE_SPECS[name][0]]


def _arrow_arrays(name: str, columns: Sequence[list]) -> list:
    plans = _arrow_plans(name, not columns or not columns[0])
    return [_arrow_array(values, plan) for values, plan in zip(columns, plans)]


@lru_cache(maxsize=None)
def _arrow_plans(name: str, empty: bool) -> tuple:
    """(how, Arrow type, offset or value typecode) of each column of table ``name``."""
    import pyarrow as pa

    plans = []
    for field in arrow_schema(name, empty):
        t = field.type
        if pa.types.is_large_string(t) or pa.types.is_string(t):
            plans.append(("text", t, "q" if pa.types.is_large_string(t) else "i"))
        elif pa.types.is_int64(t) or pa.types.is_float64(t):
            plans.append(("number", t, "q" if pa.types.is_int64(t) else "d"))
        else:
            plans.append(("other", t, ""))
    return tuple(plans)


def parquet_buffer(name: str, arrays: Sequence) -> memoryview:
    """The Parquet file pandas' ``to_parquet`` writes for table ``name`` (its columns as
    Arrow arrays), made with pyarrow alone, in Arrow's memory (not copied into a bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(name, not arrays or len(arrays[0]) == 0)
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_arrays(list(arrays), schema=schema), sink, compression="snappy")
    return memoryview(sink.getvalue())


def _arrow_array(values: Sequence, plan: tuple):
    """An Arrow array of typed values (str; int, float or None), built from its buffers:
    ``pyarrow.array`` imports pandas (~0.7 s) to check whether the values are a Series."""
    import pyarrow as pa

    how, type_, code = plan
    n = len(values)
    if how == "text":
        if None in values:
            values = ["" if v is None else v for v in values]  # text columns hold "" for missing
        joined = "".join(values)
        if joined.isascii():  # one byte a character
            data, sizes = joined.encode("ascii"), map(len, values)
        else:
            encoded = [v.encode("utf-8") for v in values]
            data, sizes = b"".join(encoded), map(len, encoded)
        offsets = array(code, accumulate(sizes, initial=0))
        return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    if how == "number":
        valid = None
        if None in values:
            bits = bytearray((n + 7) // 8)
            for i, v in enumerate(values):
                if v is not None:
                    bits[i >> 3] |= 1 << (i & 7)
            valid = pa.py_buffer(bytes(bits))
            zero = 0 if code == "q" else 0.0
            values = [zero if v is None else v for v in values]
        return pa.Array.from_buffers(type_, n, [valid, pa.py_buffer(array(code, values))])
    if pa.types.is_null(type_):
        return pa.nulls(n)
    return pa.array(values, type=type_)  # not a type the tables use


def read_table_rows(path: Path, name: str) -> list[tuple] | None:
    """An earlier run's table as ``table_record``s (columns it lacks are empty), or None."""
    if not path.exists():
        return None
    try:
        table = read_parquet(path)
    except Exception:  # noqa: BLE001 - an unreadable earlier table only costs its rows
        return None
    columns = TABLE_SPECS[name][0]
    n = table.num_rows
    data = [table.column(c).to_pylist() if c in table.column_names else [None] * n for c in columns]
    return table_records(name, list(zip(*data)))


def read_parquet(path: Path, columns: Sequence[str] | None = None):
    """A Parquet file as an Arrow table: ``ParquetFile.read``, not ``pyarrow.parquet.read_table``,
    which goes through ``pyarrow.dataset`` and so imports pandas (~0.5 s)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        return file.read(columns=columns)


@lru_cache(maxsize=None)
def arrow_schema(name: str, empty: bool):
    """The Arrow schema (with its ``pandas`` metadata) pandas gives the frame of table ``name``.

    Asked of pandas once per installed pandas and pyarrow and cached in the temp
    folder, so a run needs no pandas import (~0.7 s).
    """
    import hashlib
    import importlib.util

    import pyarrow as pa

    try:  # the installed pandas, without importing it (importlib.metadata alone costs ~0.1 s)
        st = Path(importlib.util.find_spec("pandas").origin).stat()
        pandas_id = (st.st_size, st.st_mtime_ns)
    except (AttributeError, TypeError, OSError):
        pandas_id = None
    key = hashlib.sha1(repr((name, TABLE_SPECS[name], empty, pandas_id, pa.__version__)).encode())
    cache = cache_file(f"schema-{key.hexdigest()[:16]}", ".arrow")
    data = read_cache(cache)
    if data is not None:
        try:
            return pa.ipc.read_schema(pa.py_buffer(data))
        except pa.ArrowException:
            pass
    schema = _schema_from_pandas(name, empty)
    write_cache(cache, schema.serialize().to_pybytes())  # if it fails, the next run asks pandas
    return schema


def _schema_from_pandas(name: str, empty: bool):
    import pyarrow as pa

    columns, ints, floats = TABLE_SPECS[name]
    sample = [] if empty else [{c: 1 if c in ints else 1.5 if c in floats else "x" for c in columns}]
    if name == "documents":
        frame = documents_frame(sample)
    elif name == "orphaned_reviews":
        frame = orphans_frame(sample)
    else:
        frame = mentions_frame([{**row, "kind": KIND_TABLES.get(name, ("QUANTITY",))[0]} for row in sample])
        frame = frame.reindex(columns=columns)
    return pa.Schema.from_pandas(frame, preserve_index=False)
