"""Which files to process, in parallel, with a manifest; review work carried over.

A run: find the files -> skip those the manifest says are unchanged -> process
the rest (one process per worker, resources loaded once per worker) -> merge
with the rows of earlier runs in a fixed order -> carry the reviewers' columns
over by ``mention_id`` -> write every table atomically.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import regex

from . import __version__
from .errors import DocumentError
from .process import DocumentResult, document_row, load_resources, process_document
from .reviews import carry_over_reviews, read_reviews
from .settings import PDF_SUFFIXES, TEXT_SUFFIXES, Settings

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
    digest = hashlib.sha1(f"{__version__}|{settings.ref_date}|{settings.use_ner}".encode())
    for path in sorted(settings.rules_dir.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    model_meta = Path(__file__).parent / "models" / "org_ner" / "meta.json"
    if settings.use_ner and model_meta.exists():
        digest.update(model_meta.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


# -- workers ----------------------------------------------------------------------------

_WORKER_SETTINGS: Settings | None = None


def _init_worker(settings: Settings) -> None:
    """Runs once in each worker process: load rules, dictionary and model once."""
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings
    load_resources(settings.rules_dir, settings.use_ner)


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


def map_jobs(jobs: Sequence[Job], settings: Settings) -> Iterator[DocumentResult]:
    """Results in the order of ``jobs``, whatever the number of workers or the engine."""
    if not jobs:
        return
    if settings.engine == "dask":
        from .distributed import map_jobs_dask

        yield from map_jobs_dask(jobs, settings)
    elif settings.workers == 1 or len(jobs) == 1:
        load_resources(settings.rules_dir, settings.use_ner)
        for job in jobs:
            yield process_job(job, settings)
    else:
        workers = min(settings.workers, len(jobs))
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                 initargs=(settings,)) as pool:
            yield from pool.map(process_job, jobs, chunksize=1)


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


def _read_previous(out_dir: Path, name: str):
    """An earlier run's table (a DataFrame), or None."""
    path = out_dir / f"{name}.parquet"
    if not path.exists():
        return None
    try:
        import pandas as pd

        return pd.read_parquet(path)
    except Exception:
        return None


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
    reviews = read_reviews(out_dir)  # before anything is written
    manifest = load_manifest(out_dir)
    fingerprint = run_fingerprint(settings)
    # unchanged documents take their rows from the last tables, so those must exist
    have_tables = all((out_dir / f"{name}.parquet").exists() for name in ("documents", "mentions"))

    files = find_files(paths)
    summary = BatchSummary(out_dir=out_dir)
    entries: dict[str, dict] = manifest["documents"]
    unchanged: dict[str, dict] = {}  # path -> manifest entry
    jobs: list[Job] = []
    stats: dict[str, os.stat_result] = {}
    for path in files:
        key = str(path)
        doc_id = doc_id_for(path)
        entry = entries.get(key)
        try:
            stats[key] = st = path.stat()
        except OSError:
            jobs.append(Job(key, doc_id))  # the worker reports why it cannot be read
            continue
        if (entry and entry.get("fingerprint") == fingerprint and entry.get("status") == "ok"
                and have_tables and entry.get("doc_id") == doc_id and entry.get("size") == st.st_size
                and (entry.get("mtime") == st.st_mtime or entry.get("sha256") == _safe_sha(path))):
            unchanged[key] = entry
        else:
            jobs.append(Job(key, doc_id))

    new_doc_rows: dict[str, dict] = {}
    new_mention_rows: dict[str, list[dict]] = {}
    if settings.workers > 1 or settings.engine == "dask":
        # the parent mostly waits for the workers: import the table writer meanwhile
        threading.Thread(target=importlib.import_module, args=("pipeline.write",), daemon=True).start()
    progress_bar = _progress(progress, len(jobs))
    with progress_bar as bar:
        task = bar.add_task("documents", total=len(jobs)) if bar else None
        for result in map_jobs(jobs, settings):
            row = result.document
            new_doc_rows[row["path"]] = row
            new_mention_rows[row["path"]] = result.mentions
            if row["status"] == "ok":
                summary.ok += 1
                if result.clean_text is not None:
                    from .write import write_text

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

    # pandas only from here on: it is not needed to start on the first document
    from .write import documents_frame, mentions_frame, write_json, write_tables

    prev_docs = _read_previous(out_dir, "documents")
    prev_mentions = _read_previous(out_dir, "mentions")
    prev_orphans = _read_previous(out_dir, "orphaned_reviews")
    doc_rows, mention_rows = _merge(files, unchanged, new_doc_rows, new_mention_rows, prev_docs, prev_mentions)
    documents = documents_frame(doc_rows)
    mentions = mentions_frame(mention_rows)
    mentions, orphans = carry_over_reviews(mentions, reviews, prev_orphans, prev_mentions)
    write_tables(out_dir, documents, mentions, orphans)
    manifest["documents"] = {k: v for k, v in entries.items() if Path(k).exists()}
    manifest["pipeline_version"] = __version__
    write_json(out_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    summary.mentions = Counter(mentions["kind"])
    summary.seconds = time.perf_counter() - started
    return summary


def _safe_sha(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _merge(files: Sequence[Path], unchanged: dict[str, dict], new_docs: dict[str, dict],
           new_mentions: dict[str, list[dict]], prev_docs, prev_mentions) -> tuple[list[dict], list[dict]]:
    """Rows of this run plus kept rows of earlier runs, ordered by path then offset.

    Documents of earlier runs that were not named this time are kept while their
    file exists; a document that was deleted drops out (its reviews become orphans).
    """
    doc_rows: dict[str, dict] = dict(new_docs)
    mentions_by_doc: dict[str, list[dict]] = {}
    if prev_docs is not None:
        named = {str(p) for p in files}
        prev_by_id = prev_mentions.groupby("doc_id") if prev_mentions is not None else None
        for row in prev_docs.to_dict("records"):
            path = row["path"]
            if path in doc_rows:
                continue
            if path in unchanged or (path not in named and row["status"] in ("ok", "unchanged")
                                      and Path(path).exists()):
                row = {k: (None if v is None or v != v else v) for k, v in row.items()}  # NaN -> None
                if path in unchanged:
                    row["status"] = "unchanged"
                doc_rows[path] = row
                if prev_by_id is not None and row["doc_id"] in prev_by_id.groups:
                    mentions_by_doc[path] = prev_by_id.get_group(row["doc_id"]).to_dict("records")
    for path, rows in new_mentions.items():
        mentions_by_doc[path] = rows
    ordered = sorted(doc_rows)
    mention_rows: list[dict] = []
    for path in ordered:
        rows = mentions_by_doc.get(path, [])
        mention_rows.extend(sorted(rows, key=lambda r: (int(r["start"]), int(r["end"]), r["kind"])))
    return [doc_rows[p] for p in ordered], mention_rows


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
