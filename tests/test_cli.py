"""The zhextract command as a user types it (in a subprocess, as from a shell)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def zhextract(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture()
def bad_rules(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "quantities.yaml"
    text = path.read_text(encoding="utf-8")
    broken = "rules:\n  - id: quantities.broken_rule\n    patern: '{NOPE}'\n"
    path.write_text(text.replace("rules:\n", broken, 1), encoding="utf-8")
    return rules


def test_rules_check_passes_on_the_shipped_rules():
    result = zhextract("rules", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert "model span checks" in result.stdout  # their examples are counted too


def test_rules_check_lists_problems_with_file_line_and_rule(bad_rules):
    result = zhextract("rules", "check", "--rules", str(bad_rules))
    assert result.returncode == 2
    assert "quantities.yaml:" in result.stderr
    assert "rule quantities.broken_rule: unknown key 'patern'" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_refuses_to_start_on_invalid_rules(bad_rules, tmp_path):
    result = zhextract("run", str(ROOT / "corpus"), "--out", str(tmp_path / "out"), "--rules", str(bad_rules))
    assert result.returncode == 2
    assert "rule quantities.broken_rule" in result.stderr
    assert not (tmp_path / "out").exists()


def test_run_reports_a_bad_file_in_one_line_and_exits_non_zero(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "ok.txt").write_text("全年实现税收 6300 万元，同比增长 21.1%。", encoding="utf-8")
    result = zhextract("run", str(corpus), "--out", str(tmp_path / "out"), "--no-ner", "--ref-date", "2018-11-15")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "empty.txt" in failed[0]
    assert "documents: 1 ok, 0 unchanged, 1 failed" in result.stdout


def test_run_rejects_a_bad_option_value_in_one_line(tmp_path):
    result = zhextract("run", "--out", str(tmp_path / "o"), "--ref-date", "2018-13-45")
    assert result.returncode == 2
    assert "bad reference date '2018-13-45' (expected YYYY-MM-DD)" in result.stderr


def test_explain_shows_tokens_mentions_and_rules():
    result = zhextract("explain", "上半年，实现税收 6300 万元，同比增长 21.1%。", "--ref-date", "2018-11-15", "--no-ner")
    assert result.returncode == 0, result.stderr
    assert "6300 万元" in result.stdout and "quantities." in result.stdout
    assert "2018-01-01" in result.stdout and "dates." in result.stdout
    assert "tokens:" in result.stdout


def test_run_reads_pdfs_with_the_engine_asked_for(tmp_path):
    from tests.pdfmaker import make_text_pdf

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_text_pdf(corpus / "report.pdf", [["全年实现税收 6300 万元，同比增长 21.1%。"]])
    out = tmp_path / "out"
    for engine in ("pdfplumber", "pdfium"):
        result = zhextract("run", str(corpus), "--out", str(out), "--no-ner", "--ref-date", "2018-11-15",
                           "--pdf-engine", engine, "--no-progress")
        assert result.returncode == 0, result.stderr
        # another engine is another run: the document is read again, not skipped as unchanged
        assert "documents: 1 ok, 0 unchanged, 0 failed" in result.stdout
    assert "6300 万元" in (out / "quantities.csv").read_text(encoding="utf-8-sig")
    bad = zhextract("run", str(corpus), "--out", str(out), "--pdf-engine", "ocr")
    assert bad.returncode == 2
    assert "unknown PDF engine 'ocr' (allowed: auto, pdfium, pdfplumber)" in bad.stderr
