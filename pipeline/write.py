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
import tempfile
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .reviews import ORPHAN_COLUMNS, REVIEW_COLUMNS

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


def _atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Temp file in the same folder, then ``os.replace``: readers see old or new, never half.

    ``durable`` also forces the bytes to disk before the replace (tables, which
    hold review work); clean texts skip it, they are rewritten by any re-run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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

    mention_records = [table_record("mentions", row) for row in rows(mentions, MENTION_COLUMNS)]
    return write_table_rows(out_dir, rows(documents, DOCUMENT_COLUMNS), mention_records,
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
_ID_INDEX = MENTION_COLUMNS.index("mention_id")
_N_BODY = len(MENTION_COLUMNS) - len(REVIEW_COLUMNS)  # the review columns come last
assert MENTION_COLUMNS[_N_BODY:] == REVIEW_COLUMNS
assert all(cols[-len(REVIEW_COLUMNS):] == REVIEW_COLUMNS for _, cols in KIND_TABLES.values())
#: kind -> (table name, indexes into MENTION_COLUMNS of its columns)
_KIND_PICKS = {kind: (name, [MENTION_COLUMNS.index(c) for c in cols]) for name, (kind, cols) in KIND_TABLES.items()}
_NO_REVIEW = ",,,\r\n"


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


def _shown(value: Any) -> str:
    """A typed cell as the CSV shows it."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is float:
        return format_number(value)
    return str(value)


class CsvLines:
    """CSV lines (pandas' ``to_csv`` dialect: the csv module's minimal quoting, CRLF) one row at a time."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def line(self, cells: Iterable[Any]) -> str:
        """The row's line, terminator included."""
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow([_shown(v) for v in cells])
        return self.buffer.getvalue()


def mention_csv_lines(record: Sequence, lines: CsvLines | None = None) -> tuple[str, str]:
    """A mention's line in ``mentions.csv`` and in its kind's table, up to the review
    cells (the run fills those in): ``table_record("mentions", …)`` in, two strings out.

    Workers make these, so the parent only joins strings.
    """
    lines = lines or CsvLines()
    body = lines.line(record[:_N_BODY])[:-2]
    picks = _KIND_PICKS.get(record[_KIND_INDEX])
    kind_body = lines.line([record[i] for i in picks[1][:-len(REVIEW_COLUMNS)]])[:-2] if picks else ""
    return body, kind_body


def write_table_rows(out_dir: Path, documents: Sequence[Sequence], mentions: Sequence[Sequence],
                     orphans: Sequence[Sequence] | None = None,
                     lines: Sequence[tuple[str, str]] | None = None) -> list[Path]:
    """``write_tables`` for rows: tuples in ``DOCUMENT_COLUMNS``, ``MENTION_COLUMNS`` and
    ``ORPHAN_COLUMNS`` order. The same bytes as from frames.

    ``mentions`` must be ``table_record``s; ``lines``, when given, their
    ``mention_csv_lines`` (made by the workers). The per-kind tables are the
    mentions table's Arrow columns taken at the kind's rows.
    """
    import pyarrow as pa

    out_dir.mkdir(parents=True, exist_ok=True)
    if lines is None:
        maker = CsvLines()
        lines = [mention_csv_lines(row, maker) for row in mentions]
    maker = CsvLines()
    suffixes = [_NO_REVIEW if not (row[-3] or row[-2] or row[-1]) else "," + maker.line(row[_N_BODY:])
                for row in mentions]
    kind_rows: dict[str, list[int]] = {name: [] for name in KIND_TABLES}
    kind_text: dict[str, list[str]] = {name: [] for name in KIND_TABLES}
    for i, (row, (_, kind_line), suffix) in enumerate(zip(mentions, lines, suffixes)):
        picks = _KIND_PICKS.get(row[_KIND_INDEX])
        if picks:
            kind_rows[picks[0]].append(i)
            kind_text[picks[0]].append(kind_line + suffix)

    mention_arrays = _arrow_arrays("mentions", _columns("mentions", mentions))
    tables: dict[str, tuple[Any, list[str]]] = {
        "documents": _table_and_csv("documents", [table_record("documents", row) for row in documents]),
        "mentions": (mention_arrays, [body + suffix for (body, _), suffix in zip(lines, suffixes)]),
    }
    for name, (_, columns) in KIND_TABLES.items():
        rows = kind_rows[name]
        if rows:
            taken = pa.Array.from_buffers(pa.int64(), len(rows), [None, pa.py_buffer(array("q", rows))])
            arrays = [mention_arrays[MENTION_COLUMNS.index(c)].take(taken) for c in columns]
        else:
            arrays = _arrow_arrays(name, [[] for _ in columns])
        tables[name] = (arrays, kind_text[name])
    if orphans is not None:
        tables["orphaned_reviews"] = _table_and_csv(
            "orphaned_reviews", [table_record("orphaned_reviews", row) for row in orphans])
    written = []
    for name, (arrays, text) in tables.items():
        header = CsvLines().line(TABLE_SPECS[name][0])
        _atomic_write_bytes(out_dir / f"{name}.csv", "".join([header, *text]).encode("utf-8-sig"))
        _atomic_write_bytes(out_dir / f"{name}.parquet", parquet_bytes(name, arrays))
        written.append(out_dir / f"{name}.csv")
    return written


def _columns(name: str, rows: Sequence[Sequence]) -> list[list]:
    return [list(col) for col in zip(*rows)] if rows else [[] for _ in TABLE_SPECS[name][0]]


def _table_and_csv(name: str, records: list[tuple]) -> tuple[list, list[str]]:
    maker = CsvLines()
    return _arrow_arrays(name, _columns(name, records)), [maker.line(row) for row in records]


def _arrow_arrays(name: str, columns: Sequence[list]) -> list:
    schema = arrow_schema(name, not columns or not columns[0])
    return [_arrow_array(values, field.type) for values, field in zip(columns, schema)]


def parquet_bytes(name: str, arrays: Sequence) -> bytes:
    """The Parquet file pandas' ``to_parquet`` writes for table ``name``, made with pyarrow alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(name, not arrays or len(arrays[0]) == 0)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(list(arrays), schema=schema), buffer, compression="snappy")
    return buffer.getvalue()


def _arrow_array(values: list, type_):
    """An Arrow array of typed values (str; int, float or None), built from its buffers:
    ``pyarrow.array`` imports pandas (~0.7 s) to check whether the values are a Series."""
    import pyarrow as pa

    n = len(values)
    if pa.types.is_large_string(type_) or pa.types.is_string(type_):
        if None in values:
            values = ["" if v is None else v for v in values]  # text columns hold "" for missing
        joined = "".join(values)
        if joined.isascii():  # one byte a character
            data, sizes = joined.encode("ascii"), map(len, values)
        else:
            encoded = [v.encode("utf-8") for v in values]
            data, sizes = b"".join(encoded), map(len, encoded)
        offsets = array("q" if pa.types.is_large_string(type_) else "i", accumulate(sizes, initial=0))
        return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    if pa.types.is_int64(type_) or pa.types.is_float64(type_):
        code, zero = ("q", 0) if pa.types.is_int64(type_) else ("d", 0.0)
        valid = None
        if None in values:
            bits = bytearray((n + 7) // 8)
            for i, v in enumerate(values):
                if v is not None:
                    bits[i >> 3] |= 1 << (i & 7)
            valid = pa.py_buffer(bytes(bits))
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
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception:  # noqa: BLE001 - an unreadable earlier table only costs its rows
        return None
    columns = TABLE_SPECS[name][0]
    n = table.num_rows
    data = [table.column(c).to_pylist() if c in table.column_names else [None] * n for c in columns]
    return [table_record(name, values) for values in zip(*data)]
@lru_cache(maxsize=None)
def arrow_schema(name: str, empty: bool):
    """The Arrow schema (with its ``pandas`` metadata) pandas gives the frame of table ``name``.

    Asked of pandas once per pandas/pyarrow version and cached in the temp folder,
    so a run needs no pandas import (~0.7 s).
    """
    import hashlib
    import importlib.metadata

    import pyarrow as pa

    try:
        pandas_version = importlib.metadata.version("pandas")
    except importlib.metadata.PackageNotFoundError:
        pandas_version = "?"
    key = hashlib.sha1(repr((name, TABLE_SPECS[name], empty, pandas_version, pa.__version__)).encode())
    cache = Path(tempfile.gettempdir()) / f"zhextract-schema-{key.hexdigest()[:16]}.arrow"
    try:
        return pa.ipc.read_schema(pa.py_buffer(cache.read_bytes()))
    except (OSError, pa.ArrowException):
        pass
    schema = _schema_from_pandas(name, empty)
    try:
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=cache.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(schema.serialize().to_pybytes())
        os.replace(tmp, cache)
    except OSError:
        pass  # no cache: the next run asks pandas again
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
