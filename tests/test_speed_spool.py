"""The batch's spool (temporary files in the output folder): what a killed run left
behind is removed by the next run, what a running one uses is not."""

import os
import shutil
from pathlib import Path

from pipeline.batch import run_batch
from pipeline.write import MentionSpool, remove_stale_spools

SEED = Path(__file__).resolve().parent.parent / "corpus" / "xuchang-2018-demo-zone.txt"


def test_spools_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = [out / ".zhextract-spool-4194999-k1l2m3n4.arrow",  # above Linux's largest pid
            out / ".zhextract-spool-a8x_2kq0.arrow"]  # named as before spools carried a pid
    live = [out / f".zhextract-spool-{os.getppid()}-q1w2e3r4.arrow",
            out / f".zhextract-spool-{os.getpid()}-z9y8x7w6.arrow"]
    for path in dead + live:
        path.write_bytes(b"spooled")
    (out / "keep.txt").write_text("not ours", encoding="utf-8")
    assert sorted(remove_stale_spools(out)) == sorted(dead)
    assert all(p.exists() for p in live) and (out / "keep.txt").exists()


def test_a_run_removes_stale_spools_and_leaves_none_of_its_own(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".zhextract-spool-4194999-k1l2m3n4.arrow"
    stale.write_bytes(b"left by a killed run")
    run_batch([corpus], out, use_ner=False, ref_date="2018-11-15")
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_spool_files_are_named_for_their_process(tmp_path):
    from pipeline.write import MentionBlock, MENTION_COLUMNS, table_records

    record = table_records("mentions", [["m1", "d", "QUANTITY", "5 亿元", 0, 4, 1, 1, "【5 亿元】", 5.0, 1e8,
                                         5e8, "CNY", "money", "", None, "", "", "", "", "", "", "r", "", "", ""]])
    assert len(record[0]) == len(MENTION_COLUMNS)
    with MentionSpool(tmp_path) as spool:
        spool.add("d", MentionBlock(record, with_arrow=True))
        names = [p.name for p in tmp_path.iterdir()]
        assert names and all(n.startswith(f"{MentionSpool.PREFIX}{os.getpid()}-") for n in names)
    assert list(tmp_path.iterdir()) == []
