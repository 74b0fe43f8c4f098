"""The Dask engine: the tables it writes are byte-identical to a local run's.

One test starts (through ``run_batch``) a LocalCluster with 2 single-threaded
worker processes; the other starts a cluster itself and passes its address, as
an existing cluster is given (``--scheduler tcp://host:8786``). Paths are
relative, as a user types them.
"""

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the dask engine is optional: pip install '.[dask]'")

from pipeline.batch import run_batch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"
TABLES = ("documents.csv", "mentions.csv")

TEXTS = {
    "a-revenue.txt": "沧澜市统计局发布：上半年实现营业收入 15.6 亿元，同比增长 8.7%。",
    "b-investment.txt": "今年 4 月，示范区新引进项目 12 个，完成投资 28 亿元，较去年同期下降 6.4%。",
    "c-talent.txt": "去年 6 月，示范区获批第二批全国示范基地，引进人才 341 名，建成厂房 3.5 万平方米。",
    "d-plain.txt": "本报讯 示范区召开工作会议，部署下一阶段重点任务。",
}


def _run(out, **options):
    """Process ``corpus/`` (relative to the working directory) into ``out``."""
    return run_batch(["corpus"], out, use_ner=False, ref_date="2018-11-15", **options)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with ``corpus/`` (five texts and an empty file) and ``local/``, the tables of a local run."""
    root = tmp_path_factory.mktemp("dask")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    for name, text in TEXTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")  # an error row, from a worker
    cwd = os.getcwd()
    os.chdir(root)
    try:
        summary = _run("local", workers=1)
    finally:
        os.chdir(cwd)
    assert (summary.ok, summary.failed) == (5, 1)
    assert "corpus/seed.txt" in (root / "local" / "documents.csv").read_text(encoding="utf-8-sig")
    return root


def _assert_same_tables(root: Path, out: str) -> None:
    for name in TABLES:
        assert (root / out / name).read_bytes() == (root / "local" / name).read_bytes(), \
            f"{name} differs from the local run"


def test_dask_local_cluster_writes_the_tables_of_a_local_run(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    summary = _run("dask-local", engine="dask", workers=2)
    assert (summary.ok, summary.failed, summary.unchanged) == (5, 1, 0)
    assert [Path(p).name for p, _ in summary.errors] == ["empty.txt"]
    _assert_same_tables(workdir, "dask-local")
    for text in (workdir / "local" / "text").iterdir():
        assert (workdir / "dask-local" / "text" / text.name).read_bytes() == text.read_bytes()


def test_dask_existing_cluster_with_another_working_directory(workdir, monkeypatch):
    """Workers of an existing cluster run elsewhere: relative paths still work and stay as named."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:  # its workers' working directory is not workdir
        monkeypatch.chdir(workdir)
        summary = _run("dask-remote", engine="dask", scheduler=cluster.scheduler_address)
        # the run closed only its client: the cluster it was given is still up
        assert len(cluster.workers) == 2
        plugins = set(cluster.scheduler.worker_plugins)
    assert (summary.ok, summary.failed) == (5, 1)
    assert "zhextract-resources" in plugins
    _assert_same_tables(workdir, "dask-remote")
