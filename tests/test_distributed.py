"""The Dask engine: the tables it writes are byte-identical to a local run's.

Each test starts (through ``run_batch``) a LocalCluster with 2 single-threaded
worker processes, or starts one itself and passes its address as an existing
cluster would be given (``--scheduler tcp://host:8786``).
"""

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


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / "seed.txt")
    for name, text in TEXTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")  # becomes an error row on a worker
    return folder


def _run(corpus, out, **options):
    return run_batch([corpus], out, use_ner=False, ref_date="2018-11-15", **options)


def _run_relative(tmp_path, monkeypatch, out, **options):
    """Paths as a user types them: relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    return run_batch(["corpus"], out, use_ner=False, ref_date="2018-11-15", **options)


def _assert_same_tables(local: Path, other: Path) -> None:
    for name in TABLES:
        assert (other / name).read_bytes() == (local / name).read_bytes(), f"{name} differs from the local run"


def test_dask_local_cluster_writes_the_tables_of_a_local_run(corpus, tmp_path):
    local = _run(corpus, tmp_path / "local", workers=1)
    dask = _run(corpus, tmp_path / "dask", engine="dask", workers=2)
    assert (dask.ok, dask.failed, dask.unchanged) == (local.ok, local.failed, local.unchanged) == (5, 1, 0)
    assert [Path(p).name for p, _ in dask.errors] == ["empty.txt"]
    assert dask.errors == local.errors
    _assert_same_tables(tmp_path / "local", tmp_path / "dask")
    for doc_text in (tmp_path / "local" / "text").iterdir():
        assert (tmp_path / "dask" / "text" / doc_text.name).read_bytes() == doc_text.read_bytes()


def test_dask_existing_cluster_with_another_working_directory(corpus, tmp_path, monkeypatch):
    """Workers of an existing cluster run elsewhere: relative paths still work and stay as named."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:  # its workers' working directory is not tmp_path
        summary = _run_relative(tmp_path, monkeypatch, "dask", engine="dask", scheduler=cluster.scheduler_address)
        # the run closed only its client: the cluster it was given is still up
        assert len(cluster.workers) == 2
        plugins = set(cluster.scheduler.worker_plugins)
    assert (summary.ok, summary.failed) == (5, 1)
    assert "zhextract-resources" in plugins
    _run_relative(tmp_path, monkeypatch, "local", workers=1)
    assert "corpus/seed.txt" in (tmp_path / "local" / "documents.csv").read_text(encoding="utf-8-sig")
    _assert_same_tables(tmp_path / "local", tmp_path / "dask")
