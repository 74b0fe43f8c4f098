"""Which files to process, in parallel, with a manifest; review work carried over.

A run:

1. load (and, before worker processes fork, warm up) the rules, dictionary and
   model once; read the reviews back from ``mentions.csv`` (``reviews.read_run_reviews``);
2. find the files and skip those the manifest says are unchanged, handing the
   others to the workers as they are found (a few documents to a task);
3. each worker reads and extracts a document, writes its clean text, and sends
   back its ``documents.csv`` row and its mentions ready for the tables (an
   Arrow record batch plus the CSV text of every table, ``write.MentionBlock``);
4. the parent puts the reviews back onto each document's mentions as they
   arrive and spools them to disk (``write.MentionSpool``), holding none;
5. merge with the rows of earlier runs in path order and stream every table
   from the spool, atomically (csv module and pyarrow: no pandas import).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
import traceback
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import regex

from . import __version__
from .errors import DocumentError
from .process import DocumentResult, cyclic_gc_paused, document_row, load_resources, process_document, warm_up
from .reviews import REVIEW_COLUMNS, carry_over_reviews, read_run_reviews, review_index
from .settings import PDF_SUFFIXES, TEXT_SUFFIXES, Settings
from .write import (
    DOCUMENT_COLUMNS, MENTION_COLUMNS, MentionBlock, MentionSpool, read_table_rows, table_record, table_records,
    write_json, write_table_rows, write_text,
)

MANIFEST = "manifest.json"
_RE_UNSAFE = regex.compile(r"[^\w\-]+")


@dataclass(frozen=True)
class Job:
    path: str
    doc_id: str


@dataclass
class BatchSummary:
    """What a run did, for the closing summary and for callers."""

    ok: int = 0
    unchanged: int = 0
    failed: int = 0
    mentions: Counter = field(default_factory=Counter)  # per kind, over all tables
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    seconds: float = 0.0
    out_dir: Path = Path("outputs")

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def find_files(paths: Iterable[Path | str]) -> list[Path]:
    """Files named, plus the text and PDF files under folders named (recursively), sorted.

    A path that does not exist is returned as is, so it gets its own error row.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES + PDF_SUFFIXES
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            found.append(path)
    seen: set[str] = set()
    unique = []
    for p in found:
        key = str(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def doc_id_for(path: Path) -> str:
    """Readable and stable for a path: the file stem plus a short hash of the path."""
    stem = _RE_UNSAFE.sub("_", path.stem).strip("_")[:48] or "doc"
    digest = hashlib.sha1(path.as_posix().encode("utf-8")).hexdigest()[:6]
    return f"{stem}-{digest}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_fingerprint(settings: Settings) -> str:
    """Changes whenever a re-run could give other results: version, rules, ref date, model."""
    key = f"{__version__}|{settings.ref_date}|{settings.use_ner}"
    if settings.pdf_engine != "auto":  # so runs with the default keep their fingerprint
        key += f"|{settings.pdf_engine}"
    digest = hashlib.sha1(key.encode())
    for path in sorted(settings.rules_dir.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    model_meta = Path(__file__).parent / "models" / "org_ner" / "meta.json"
    if settings.use_ner and model_meta.exists():
        digest.update(model_meta.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


# -- workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRows:
    """One document ready for the tables, as a worker sends it back: its
    ``documents.csv`` row, its mentions as a ``write.MentionBlock`` (records
    sorted by offset, with their CSV text already made, so the parent only joins
    strings), and its clean text unless the worker wrote it."""

    document: dict[str, Any]
    mentions: MentionBlock
    clean_text: str | None = None


_WORKER_SETTINGS: Settings | None = None


def _init_worker(settings: Settings) -> None:
    """Runs once in each worker process: load rules, dictionary and model once.

    Workers fork from the parent after it loaded them, so this finds them loaded;
    where processes are spawned instead, it loads them.
    """
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings
    load_resources(settings.rules_dir, settings.use_ner)
    gc.freeze()  # as in start_pool (forked: the few objects made since)


def process_job(job: Job, settings: Settings | None = None) -> DocumentResult:
    """Process one document; any failure becomes an error row, never an exception."""
    settings = settings or _WORKER_SETTINGS
    assert settings is not None
    try:
        resources = load_resources(settings.rules_dir, settings.use_ner)
        return process_document(Path(job.path), job.doc_id, settings, resources)
    except DocumentError as exc:
        message = exc.msg
    except MemoryError:
        message = "out of memory while processing"
    except Exception as exc:  # one bad document never stops the batch
        message = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
        if settings.debug:
            message += "\n" + traceback.format_exc()
    return DocumentResult(document_row(job.path, job.doc_id, status="error", error=message), [], None)


def table_rows(result: DocumentResult, out_dir: Path | None = None) -> DocumentRows:
    """A document's result as table-ready rows; its clean text written to ``out_dir/text``
    when given (else, or when that fails, left for the parent to write)."""
    rows = result.mentions
    if rows and all(list(row) == MENTION_COLUMNS for row in rows):  # as process.mention_rows makes them
        values = [tuple(row.values()) for row in rows]
    else:
        values = [tuple(row.get(c) for c in MENTION_COLUMNS) for row in rows]
    records = sorted(table_records("mentions", values), key=_offset_order)
    text = result.clean_text
    if text is not None and out_dir is not None and result.document["status"] == "ok":
        try:
            write_text(out_dir / "text" / f"{result.document['doc_id']}.txt", text)
            text = None
        except OSError:
            pass  # the parent tries again, and stops the run if it fails too
    return DocumentRows(result.document, MentionBlock(records, with_arrow=True), text)


def process_job_rows(job: Job, settings: Settings | None = None, write_texts: bool = True) -> DocumentRows:
    """``process_job`` plus ``table_rows``: what a worker does with one document."""
    settings = settings or _WORKER_SETTINGS
    assert settings is not None
    with cyclic_gc_paused():  # the rows made for the tables too
        return table_rows(process_job(job, settings), settings.out_dir if write_texts else None)


_START, _END, _KIND = (MENTION_COLUMNS.index(c) for c in ("start", "end", "kind"))


def _offset_order(record: tuple) -> tuple:
    return (record[_START], record[_END], record[_KIND])


def process_jobs_rows(jobs: list[Job]) -> list[DocumentRows]:
    """``process_job_rows`` of a few documents: one task, one message back to the parent."""
    return [process_job_rows(job) for job in jobs]


#: Tasks handed to the pool ahead of the one the parent waits for, per worker:
#: enough to keep every worker busy, few enough that memory does not grow with the batch.
QUEUE_PER_WORKER = 4
#: Documents per task at most: fewer messages for the parent to handle, while the
#: last tasks stay short (a task is documents in a row, ~15 ms each for short reports).
MAX_DOCS_PER_TASK = 4


def map_jobs(jobs: Iterable[Job], settings: Settings, pool: ProcessPoolExecutor | None = None,
             expected: int | None = None) -> Iterator[DocumentRows]:
    """Results in the order of ``jobs``, whatever the number of workers or the engine.

    ``jobs`` may be a generator (the parent still scanning the corpus): jobs go to
    the workers as soon as they are produced, a few to a task when ``expected``
    (at most how many jobs come) leaves every worker enough tasks.
    """
    if settings.engine == "dask":
        from .distributed import map_jobs_dask

        yield from map_jobs_dask(list(jobs), settings)
    elif pool is None:
        for job in jobs:
            yield process_job_rows(job, settings)
    else:
        size = max(1, min(MAX_DOCS_PER_TASK, (expected or 0) // (settings.workers * 8)))
        window = QUEUE_PER_WORKER * settings.workers
        pending: deque = deque()
        group: list[Job] = []
        for job in jobs:
            group.append(job)
            if len(group) < size:
                continue
            pending.append(pool.submit(process_jobs_rows, group))
            group = []
            while pending and (pending[0].done() or len(pending) > window):
                yield from pending.popleft().result()
        if group:
            pending.append(pool.submit(process_jobs_rows, group))
        while pending:
            yield from pending.popleft().result()


def start_pool(settings: Settings) -> ProcessPoolExecutor | None:
    """The worker processes (None for one worker or the dask engine), started now:
    they fork from this process once it has the resources loaded and warmed up,
    and the table writer imported. What is loaded is frozen (``gc.freeze``) in
    every local run, until ``run_batch`` ends."""
    if settings.engine == "dask":
        return None
    if settings.workers == 1:
        gc.freeze()  # see below
        return None
    warm_up(load_resources(settings.rules_dir, settings.use_ner))
    # Imported now, not in a thread while the workers run: an import holds the GIL for
    # ~0.2 s, and the threads that feed the workers and collect their results wait for it.
    _import_table_writer()
    # What is loaded so far (modules, rules, model) lives as long as the process: out
    # of the cycle collector's reach, its full collections no longer go over it (~20 ms
    # each) nor, in the workers, write to the pages they share with this process.
    gc.freeze()
    pool = ProcessPoolExecutor(max_workers=settings.workers, initializer=_init_worker, initargs=(settings,))
    pool.submit(int).result()  # the processes start on the first task
    return pool


# -- the run ----------------------------------------------------------------------------


def load_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    if not path.exists():
        return {"documents": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.setdefault("documents", {})
        return data
    except (OSError, ValueError):
        return {"documents": {}}  # a damaged manifest only costs a full re-run


def run_batch(paths: Iterable[Path | str], out: Path | str = "outputs", *, ref_date: date | str | None = None,
              workers: int = 1, rules_dir: Path | str | None = None, engine: str = "local",
              scheduler: str | None = None, use_ner: bool = True, debug: bool = False,
              progress: bool = False, settings: Settings | None = None) -> BatchSummary:
    """Process new or changed documents under ``paths`` into the tables in ``out``.

    Raises:
        RuleError: when the rules are invalid (before any document is read).
        ZhextractError: when the existing ``mentions.csv`` cannot be read back.
    """
    started = time.perf_counter()
    if settings is None:
        kwargs: dict[str, Any] = dict(out_dir=Path(out), ref_date=ref_date, workers=workers, engine=engine,
                                      scheduler=scheduler, use_ner=use_ner, debug=debug)
        if rules_dir is not None:
            kwargs["rules_dir"] = Path(rules_dir)
        settings = Settings(**kwargs)
    out_dir = settings.out_dir
    load_resources(settings.rules_dir, settings.use_ner)  # invalid rules stop the run here
    reviews = read_run_reviews(out_dir)  # before anything is written
    frozen_before = gc.get_freeze_count()
    pool = None
    try:
        pool = start_pool(settings)
        return _run(paths, settings, reviews, pool, started, progress)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if not frozen_before:  # a caller that runs on: what became garbage is collected again
            gc.unfreeze()


def _run(paths: Iterable[Path | str], settings: Settings, reviews: dict[str, dict[str, str]],
         pool: ProcessPoolExecutor | None, started: float, progress: bool) -> BatchSummary:
    out_dir = settings.out_dir
    manifest = load_manifest(out_dir)
    fingerprint = run_fingerprint(settings)
    # unchanged documents take their rows from the last tables, so those must exist
    have_tables = all((out_dir / f"{name}.parquet").exists() for name in ("documents", "mentions"))

    files = find_files(paths)
    summary = BatchSummary(out_dir=out_dir)
    entries: dict[str, dict] = manifest["documents"]
    unchanged: dict[str, dict] = {}  # path -> manifest entry
    stats: dict[str, os.stat_result] = {}

    def scan() -> Iterator[Job]:
        """The jobs, produced while the workers already process the first ones."""
        for path in files:
            key = str(path)
            doc_id = doc_id_for(path)
            entry = entries.get(key)
            try:
                stats[key] = st = path.stat()
            except OSError:
                yield Job(key, doc_id)  # the worker reports why it cannot be read
                continue
            if (entry and entry.get("fingerprint") == fingerprint and entry.get("status") == "ok"
                    and have_tables and entry.get("doc_id") == doc_id and entry.get("size") == st.st_size
                    and (entry.get("mtime") == st.st_mtime or entry.get("sha256") == _safe_sha(path))):
                unchanged[key] = entry
                if bar:
                    bar.update(task, total=bar.tasks[0].total - 1)
            else:
                yield Job(key, doc_id)

    # Reviews go back onto each document's mentions as they arrive, which are then
    # spooled to disk: the parent keeps no document's mentions in memory.
    prev_orphans = read_table_rows(out_dir / "orphaned_reviews.parquet", "orphaned_reviews")
    review_ids = review_index(reviews, prev_orphans)
    reviewed: set[str] = set()  # ids in review_index of the mentions in the tables
    kinds: Counter = Counter()

    def carry_reviews(block: MentionBlock) -> None:
        if review_ids:
            found = review_ids.keys() & set(block.mention_ids())
            if found:
                reviewed.update(found)
                block.set_reviews({mid: review_ids[mid] for mid in found})
        kinds.update(block.kind_counts)

    no_review = ("",) * len(REVIEW_COLUMNS)

    def carry_kept_reviews(block: MentionBlock) -> None:
        """An unchanged document's mentions come from the last table: their review
        columns are set to what was read back (cleared where the reviewer cleared them)."""
        n = len(REVIEW_COLUMNS)
        changed = {}
        for record in block.records:
            review = review_ids.get(record[0])
            if review is None:
                review = no_review
            else:
                reviewed.add(record[0])
            if record[-n:] != review:
                changed[record[0]] = review
        if changed:
            block.set_reviews(changed)
        kinds.update(block.kind_counts)

    new_docs: dict[str, dict[str, Any]] = {}  # path -> documents.csv row
    with MentionSpool(out_dir) as spool:
        with _progress(progress, len(files)) as bar:
            task = bar.add_task("documents", total=len(files)) if bar else None
            for result in map_jobs(scan(), settings, pool, expected=len(files)):
                row = result.document
                new_docs[row["path"]] = row
                carry_reviews(result.mentions)
                spool.add(row["path"], result.mentions)
                if row["status"] == "ok":
                    summary.ok += 1
                    if result.clean_text is not None:
                        write_text(out_dir / "text" / f"{row['doc_id']}.txt", result.clean_text)
                    st = stats.get(row["path"])
                    entries[row["path"]] = {"doc_id": row["doc_id"], "size": st.st_size if st else None,
                                            "mtime": st.st_mtime if st else None, "sha256": row["sha256"],
                                            "fingerprint": fingerprint, "status": "ok"}
                else:
                    summary.failed += 1
                    summary.errors.append((row["path"], row["error"]))
                    entries.pop(row["path"], None)
                if bar:
                    bar.update(task, advance=1, description=Path(row["path"]).name[:40])
        summary.unchanged = len(unchanged)

        prev_docs = read_table_rows(out_dir / "documents.parquet", "documents")
        prev_mentions = read_table_rows(out_dir / "mentions.parquet", "mentions")
        doc_rows, kept = _merge(files, unchanged, new_docs, prev_docs, prev_mentions)
        blocks: list = []
        for path in doc_rows:
            if path in new_docs:
                blocks.append(spool.block(path))
            else:
                blocks.append(MentionBlock(kept.get(path, []), with_csv=False))
                carry_kept_reviews(blocks[-1])
        _, orphans = carry_over_reviews(reviewed, reviews, prev_orphans, prev_mentions, MENTION_COLUMNS)
        write_table_rows(out_dir, list(doc_rows.values()), blocks, orphans)
    manifest["documents"] = {k: v for k, v in entries.items() if Path(k).exists()}
    manifest["pipeline_version"] = __version__
    write_json(out_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    summary.mentions = kinds
    summary.seconds = time.perf_counter() - started
    return summary


def _import_table_writer() -> None:
    """What ``write.write_table_rows`` imports (~0.2 s), and what workers use to make
    their Arrow batches (the mentions' schema)."""
    import pyarrow._compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from .write import arrow_schema

    arrow_schema("mentions", False)


def _safe_sha(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _merge(files: Sequence[Path], unchanged: dict[str, dict], new_docs: dict[str, dict[str, Any]],
           prev_docs: list[tuple] | None, prev_mentions: list[tuple] | None
           ) -> tuple[dict[str, tuple], dict[str, list[tuple]]]:
    """The documents of this run plus those kept from earlier runs, ordered by path
    (path -> ``documents`` record), and the kept documents' mention records, by offset.

    Documents of earlier runs that were not named this time are kept while their
    file exists; a document that was deleted drops out (its reviews become orphans).
    """
    doc_rows: dict[str, tuple] = {path: table_record("documents", [row.get(c) for c in DOCUMENT_COLUMNS])
                                  for path, row in new_docs.items()}
    kept: dict[str, list[tuple]] = {}
    if prev_docs is not None:
        named = {str(p) for p in files}
        path_at, status_at, id_at = (DOCUMENT_COLUMNS.index(c) for c in ("path", "status", "doc_id"))
        by_doc: dict[str, list[tuple]] = {}
        for row in prev_mentions or []:
            by_doc.setdefault(row[MENTION_COLUMNS.index("doc_id")], []).append(row)
        for row in prev_docs:
            path = row[path_at]
            if path in doc_rows:
                continue
            if path in unchanged or (path not in named and row[status_at] in ("ok", "unchanged")
                                      and Path(path).exists()):
                if path in unchanged:
                    row = row[:status_at] + ("unchanged",) + row[status_at + 1:]
                doc_rows[path] = row
                kept[path] = sorted(by_doc.get(row[id_at], []), key=_offset_order)
    return {path: doc_rows[path] for path in sorted(doc_rows)}, kept


class _NoProgress:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _progress(enabled: bool, total: int):
    if not enabled or total == 0:
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=False)
