"""Documents mapped over a Dask cluster (``zhextract run --engine dask``).

Optional: needs ``pip install .[dask]``. Without ``--scheduler`` a LocalCluster
with ``--workers`` single-threaded worker processes is started for the run;
with one, the documents go to that cluster (its workers must see the same
paths and have zhextract installed). Each worker loads the rules, dictionary
and model once, through a worker plugin; a document that fails, or a worker
that dies on it, comes back as an error row. Results are yielded in job order,
so the tables are identical to a local run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import ZhextractError
from .process import document_row, load_resources, warm_up
from .write import MentionBlock

if TYPE_CHECKING:
    from .batch import DocumentRows, Job
    from .settings import Settings


def _worker_plugin(settings: Settings):
    from distributed.diagnostics.plugin import WorkerPlugin

    class LoadResources(WorkerPlugin):
        """Load the resources once when a worker starts (and on workers that join later)."""

        name = "zhextract-resources"

        def __init__(self, settings: Settings) -> None:
            self.settings = settings

        def setup(self, worker) -> None:
            warm_up(load_resources(self.settings.rules_dir, self.settings.use_ner))

    return LoadResources(settings)


def map_jobs_dask(jobs: Sequence[Job], settings: Settings) -> Iterator[DocumentRows]:
    """Process ``jobs`` on a Dask cluster; results in the order of ``jobs``.

    The workers make the table-ready mentions (Arrow batch, CSV text); the clean texts come back to
    be written here (the workers need not see the output folder).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ZhextractError("the dask engine needs the optional extra: pip install '.[dask]'") from None
    from .batch import DocumentRows, Job, process_job_rows

    cluster = None
    if settings.scheduler:
        client = Client(settings.scheduler)
    else:
        cluster = LocalCluster(n_workers=settings.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    # Workers need not share our working directory (dask-worker started elsewhere): send
    # absolute paths, and put the path as named back into the row so the tables match a local run.
    settings = replace(settings, rules_dir=settings.rules_dir.absolute())
    try:
        client.register_plugin(_worker_plugin(settings))
        remote = [Job(os.path.abspath(job.path), job.doc_id) for job in jobs]
        futures = client.map(process_job_rows, remote, settings=settings, write_texts=False, pure=False)
        for job, future in zip(jobs, futures):
            try:
                result = future.result()
                result.document["path"] = job.path
                yield result
            except Exception as exc:  # the worker died or the task was lost
                message = f"dask worker failed: {type(exc).__name__}: {exc}".splitlines()[0]
                yield DocumentRows(document_row(job.path, job.doc_id, status="error", error=message), MentionBlock([]))
            finally:
                future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
