"""Speed and scale of the pipeline against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_speed.py [--quick] [--profile]

Builds its inputs under ``benchmarks/work/`` (git-ignored) from the seed corpus
(``corpus/*.txt``) and, when present, ``../shared/corpus-real/*.txt|*.md``:

* ``text/``: the texts repeated, one file per copy, to about 5 MB;
* ``speed-50p.pdf``: a 50-page two-column PDF drawn with reportlab's
  STSong-Light CID font from the same texts (``tests/pdfmaker.py``);
* ``batch/``: 200 small documents cut from the same texts.

Then measures, in this process unless said otherwise: the read+decode floor,
``jieba.lcut`` (HMM on, initialised before timing), rjieba, JioNLP
``extract_money`` + ``extract_time``, the pipeline without and with the NER
model, PDF milliseconds per page against pdfplumber's ``extract_text``,
``run_batch`` with 1 and 2 workers and peak RSS for 50 and 200 documents (each
batch in its own subprocess), and the start-up of the CLI. Prints one table
(metric | ours | baseline | ratio | target | pass/fail), a per-stage breakdown,
and writes both to ``benchmarks/work/speed.md`` (and ``speed.json``).

Every ratio is "times faster than the baseline" (higher is better) unless the
target says otherwise. Nothing here is asserted by the tests.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
SEED = ROOT / "corpus"
REAL = ROOT.parent / "shared" / "corpus-real"
RULES = ROOT / "rules"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.settings import set_blas_threads  # noqa: E402

# One BLAS thread, as ``zhextract`` runs (cli.main): the figures are per core.
set_blas_threads(1, override=False)

TEXT_BYTES = 5_000_000  # the repeated text set
JIONLP_BYTES = 1_000_000  # JioNLP is ~0.4 MB/s: measured on the first documents up to this size
NER_SECONDS = 60.0  # the NER run stops after the first document past this budget
PDF_PAGES = 50
BATCH_DOCS = 200
BATCH_SMALL = 50
BATCH_DOC_CHARS = 3000  # characters per batch document (a short news item / report section)
MB = 1e6


# -- results ------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    ours: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: informational, or not measured

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("pass" if self.passed else "FAIL")


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    stages: list[tuple[str, str, str]] = field(default_factory=list)  # stage, ms/MB, share
    notes: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    errors: int = 0  # measurements that could not be made
    cpu_ratios: list[tuple[str, float, str]] = field(default_factory=list)  # the key ratios by CPU time

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.metric}: {row.ours}" + (f" vs {row.baseline}" if row.baseline else "")
              + (f" = {row.ratio:.2f}x" if row.ratio is not None else "") + (f" [{row.verdict}]" if row.verdict else ""),
              flush=True)

    def fail(self, metric: str, target: str, exc: BaseException | str) -> None:
        message = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        message = " ".join(str(message).split())[:160]
        self.errors += 1
        self.add(Row(metric, "not measured", target=target, passed=False))
        self.notes.append(f"{metric}: not measured ({message})")
        if not isinstance(exc, str):
            traceback.print_exception(exc)

    def table(self) -> str:
        head = ["metric", "ours", "baseline", "ratio", "target", "pass/fail"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            ratio = "" if r.ratio is None else f"{r.ratio:.2f}×"
            lines.append(f"| {r.metric} | {r.ours} | {r.baseline} | {ratio} | {r.target} | {r.verdict} |")
        return "\n".join(lines)

    def markdown(self, seconds: float) -> str:
        out = ["# zhextract speed benchmark", "",
               f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()} with {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, bench took {seconds:.0f} s.", "", self.table(), ""]
        if self.stages:
            out += ["## Where the time goes (text path, per MB of UTF-8 input)", "",
                    "| stage | ms/MB | share |", "|---|---|---|"]
            out += [f"| {s} | {ms} | {share} |" for s, ms, share in self.stages]
            out.append("")
        if self.cpu_ratios:
            shares = sorted(CPU_SHARES)
            out += ["## The key ratios by CPU time instead of wall time", "",
                    f"CPU/wall of the timed sections: median {statistics.median(shares):.2f}, lowest "
                    f"{shares[0]:.2f} (1.00 on an idle machine; lower means other processes took the core and "
                    "the wall-time figures above are pessimistic).", "",
                    "| ratio | by CPU time | target |", "|---|---|---|"]
            out += [f"| {name} | {value:.2f}× | {target} |" for name, value, target in self.cpu_ratios]
            out.append("")
        if self.notes:
            out += ["## Notes", ""] + [f"* {n}" for n in self.notes] + [""]
        return "\n".join(out)


def mb_s(nbytes: int, seconds: float) -> float:
    return nbytes / MB / seconds if seconds > 0 else float("inf")


# CPU seconds of the last timed section, and cpu/wall of every timed section: on a machine
# where other processes compete for the cores, wall-time ratios drift and CPU-time ones do not.
LAST_CPU = 0.0
CPU_SHARES: list[float] = []


def _record_cpu(cpu: float, wall: float) -> None:
    global LAST_CPU
    LAST_CPU = cpu
    if wall > 0.05:
        CPU_SHARES.append(cpu / wall)


def timed(fn, *args, repeat: int = 1, **kwargs) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls, and the last result (``LAST_CPU``: its CPU time)."""
    best, best_cpu = float("inf"), 0.0
    result = None
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        wall = time.perf_counter() - t0
        if wall < best:
            best, best_cpu = wall, time.process_time() - c0
    _record_cpu(best_cpu, best)
    return best, result


# -- inputs -------------------------------------------------------------------------------


def source_texts(report: Report) -> list[tuple[str, str]]:
    """(name, text) of the seed corpus plus the real texts when present."""
    paths = sorted(SEED.glob("*.txt"))
    if REAL.is_dir():
        paths += sorted(p for p in REAL.iterdir() if p.suffix in (".txt", ".md") and p.name != "SOURCE.md")
    else:
        report.notes.append(f"{REAL} is absent: inputs are built from the seed corpus alone")
    out = []
    for p in paths:
        try:
            out.append((p.stem, p.read_bytes().decode("utf-8-sig")))
        except UnicodeDecodeError:
            report.notes.append(f"skipped {p.name}: not UTF-8")
    return out


def build_text_set(sources: list[tuple[str, str]], folder: Path) -> list[Path]:
    """The source texts repeated, one file per copy, until the set holds TEXT_BYTES."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths, total, copy = [], 0, 0
    while total < TEXT_BYTES:
        for name, text in sources:
            data = text.encode("utf-8")
            path = folder / f"{copy:03d}-{name}.txt"
            path.write_bytes(data)
            paths.append(path)
            total += len(data)
            if total >= TEXT_BYTES:
                break
        copy += 1
    return paths


def paragraphs(sources: list[tuple[str, str]]) -> list[str]:
    out = []
    for _, text in sources:
        for line in text.splitlines():
            line = line.strip().lstrip("#>*- ").strip()
            if len(line) >= 8 and not line.startswith("|"):
                out.append(line)
    return out


def build_batch_set(sources: list[tuple[str, str]], folder: Path) -> list[Path]:
    """BATCH_DOCS documents of about BATCH_DOC_CHARS characters, whole paragraphs each."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paras = paragraphs(sources)
    paths, i = [], 0
    while len(paths) < BATCH_DOCS:
        chunk, size = [], 0
        while size < BATCH_DOC_CHARS:
            chunk.append(paras[i % len(paras)])
            size += len(chunk[-1])
            i += 1
        path = folder / f"doc-{len(paths):04d}.txt"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def build_pdf(sources: list[tuple[str, str]], path: Path, report: Report) -> int:
    """A PDF_PAGES-page two-column PDF (STSong-Light) of the texts; returns its page count."""
    import pypdfium2 as pdfium

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import pdfmaker  # the read/clean tests' helper: two columns, running header, page numbers
    finally:
        sys.path.pop(0)
    paras = paragraphs(sources)
    chars = PDF_PAGES * 1500  # a two-column page holds ~1900 characters: overshoot, then cut
    for _ in range(5):
        chosen: list[str] = []
        while sum(len(p) for p in chosen) < chars:
            chosen.append(paras[len(chosen) % len(paras)])
        pdfmaker.make_newspaper_pdf(path, chosen, title="示范区建设情况报告", header_left="沧澜日报",
                                    header_right="2018年11月15日 星期四")
        pdf = pdfium.PdfDocument(str(path))
        pages = len(pdf)
        if pages >= PDF_PAGES:
            break
        pdf.close()
        chars = int(chars * (PDF_PAGES + 2) / max(pages, 1))
    if pages > PDF_PAGES:  # keep the first PDF_PAGES pages
        cut = pdfium.PdfDocument.new()
        cut.import_pages(pdf, list(range(PDF_PAGES)))
        pdf.close()
        tmp = path.with_suffix(".tmp.pdf")
        cut.save(str(tmp))
        cut.close()
        tmp.replace(path)
        pages = PDF_PAGES
    else:
        pdf.close()
    if pages != PDF_PAGES:
        report.notes.append(f"the benchmark PDF has {pages} pages, not {PDF_PAGES}; per-page figures use {pages}")
    return pages


# -- measurements -------------------------------------------------------------------------


NER_MODEL: Path | None = None  # --ner-model: another model than the shipped one (a training checkpoint)


def use_ner_model(path: Path | None) -> None:
    """Make ``load_ner_model()`` (and so ``load_resources``) load ``path`` in this process."""
    global NER_MODEL
    NER_MODEL = path
    if path is not None:
        import pipeline.ner

        pipeline.ner.MODEL_DIR = path


def settings_for(use_ner: bool):
    from pipeline.settings import Settings

    return Settings(out_dir=WORK / "out", rules_dir=RULES, use_ner=use_ner)


def run_documents(paths: list[Path], use_ner: bool, budget: float | None = None):
    """process_document over ``paths`` (resources loaded before); (seconds, bytes done, results).

    What a pipeline worker runs on each document, the cycle collector's pause included."""
    from pipeline.batch import doc_id_for
    from pipeline.process import load_resources, process_document

    settings = settings_for(use_ner)
    resources = load_resources(settings.rules_dir, use_ner)
    results, done = [], 0
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    for path in paths:
        results.append(process_document(path, doc_id_for(path), settings, resources))
        done += path.stat().st_size
        if budget is not None and time.perf_counter() - t0 > budget:
            break
    wall = time.perf_counter() - t0
    _record_cpu(time.process_time() - c0, wall)
    return wall, done, results


def warm_up(use_ner: bool) -> float:
    """Load the resources and run one short document, so lazy compilation is not timed."""
    from pipeline.process import load_resources

    t0 = time.perf_counter()
    load_resources(RULES, use_ner)
    tmp = WORK / "warm.txt"
    tmp.write_text("沧澜市统计局发布：2018 年上半年，示范区实现营业收入 15.6 亿元，同比增长 8.7%。", encoding="utf-8")
    run_documents([tmp], use_ner)
    return time.perf_counter() - t0


def measure_text(report: Report, texts: list[Path], quick: bool) -> None:
    import jieba
    import rjieba

    from pipeline.read import read_document

    nbytes = sum(p.stat().st_size for p in texts)
    report.raw["text_bytes"] = nbytes
    print(f"text set: {len(texts)} documents, {nbytes / MB:.2f} MB", flush=True)

    # floor: bytes -> str
    floor_s, _ = timed(lambda: [p.read_bytes().decode("utf-8") for p in texts], repeat=3)
    read_s, _ = timed(lambda: [read_document(p, p.stem) for p in texts], repeat=3)
    report.add(Row("read: read_document, text (ms/MB)", f"{read_s * 1e3 / (nbytes / MB):.1f}",
                   f"{floor_s * 1e3 / (nbytes / MB):.1f} (bytes.decode floor)", floor_s / read_s))

    decoded = [p.read_bytes().decode("utf-8") for p in texts]
    jieba.setLogLevel(60)
    jieba.initialize()
    jieba_s, _ = timed(lambda: [jieba.lcut(t) for t in decoded])  # HMM on (the default)
    jieba_cpu = LAST_CPU
    report.raw["jieba_mb_s"] = mb_s(nbytes, jieba_s)
    rj = rjieba.Jieba() if hasattr(rjieba, "Jieba") else None
    rjieba_s, _ = timed(lambda: [(rj.cut(t) if rj else rjieba.cut(t)) for t in decoded], repeat=3)
    report.add(Row("segment: rjieba (MB/s)", f"{mb_s(nbytes, rjieba_s):.2f}",
                   f"{mb_s(nbytes, jieba_s):.2f} (jieba.lcut)", jieba_s / rjieba_s))

    warm = warm_up(False)
    report.notes.append(f"resources without NER load in {warm:.2f} s (once per worker; not in the throughputs)")
    try:
        ours_s, done, results = run_documents(texts, use_ner=False)
        report.raw["text_no_ner_mb_s"] = mb_s(done, ours_s)
        report.cpu_ratios.append(("text path without NER vs jieba.lcut",
                                  mb_s(done, LAST_CPU) / mb_s(nbytes, jieba_cpu), "≥ 5×"))
        report.add(Row("text path without NER (MB/s)", f"{mb_s(done, ours_s):.2f}",
                       f"{mb_s(nbytes, jieba_s):.2f} (jieba.lcut)", mb_s(done, ours_s) / mb_s(nbytes, jieba_s),
                       "≥ 5×", mb_s(done, ours_s) / mb_s(nbytes, jieba_s) >= 5))
        errors = [r.document["error"] for r in results if r.document["status"] != "ok"]
        if errors:
            report.notes.append(f"text path: {len(errors)} documents failed, e.g. {errors[0]}")
    except Exception as exc:
        report.fail("text path without NER (MB/s)", "≥ 5×", exc)

    try:
        warm = warm_up(True)
        report.notes.append(f"resources with NER load in {warm:.2f} s")
        budget = 15.0 if quick else NER_SECONDS
        ner_s, done, _ = run_documents(texts, use_ner=True, budget=budget)
        report.cpu_ratios.append(("whole pipeline with NER vs jieba.lcut",
                                  mb_s(done, LAST_CPU) / mb_s(nbytes, jieba_cpu), "≥ 1×"))
        ratio = mb_s(done, ner_s) / mb_s(nbytes, jieba_s)
        report.add(Row("whole pipeline with NER (MB/s)", f"{mb_s(done, ner_s):.2f}",
                       f"{mb_s(nbytes, jieba_s):.2f} (jieba.lcut)", ratio, "≥ 1×", ratio >= 1))
        if done < nbytes:
            report.notes.append(f"whole pipeline with NER: measured on the first {done / MB:.2f} MB "
                                f"({budget:.0f} s budget)")
    except Exception as exc:
        report.fail("whole pipeline with NER (MB/s)", "≥ 1×", exc)


def measure_jionlp(report: Report, texts: list[Path]) -> None:
    """JioNLP extract_money + extract_time against our text path on the same documents."""
    import contextlib

    subset, size = [], 0
    for p in texts:
        if size >= JIONLP_BYTES:
            break
        subset.append(p)
        size += p.stat().st_size
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # JioNLP prints a banner on import
            from jionlp.algorithm.ner import extract_money, extract_time
    except ImportError as exc:
        report.fail("vs JioNLP money+time (MB/s)", "≥ 10×", f"JioNLP is not installed ({exc}); make bench installs it")
        return
    decoded = [p.read_bytes().decode("utf-8") for p in subset]
    base = time.time()
    extract_money("1亿元")
    extract_time("2018年6月", time_base=base)

    def jio():
        money = sum(len(extract_money(t)) for t in decoded)
        times = sum(len(extract_time(t, time_base=base)) for t in decoded)
        return money, times

    import logging

    logging.disable(logging.CRITICAL)  # JioNLP logs a traceback for every string its time parser rejects
    try:
        jio_s, (money, times) = timed(jio)
        jio_cpu = LAST_CPU
    finally:
        logging.disable(logging.NOTSET)
    try:
        ours_s, done, results = run_documents(subset, use_ner=False)
        report.cpu_ratios.append(("text path without NER vs JioNLP money+time", jio_cpu / LAST_CPU, "≥ 10×"))
        rows = [m for r in results for m in r.mentions]
        our_money = sum(1 for m in rows if m["kind"] == "QUANTITY" and m["quantity_kind"] == "money")
        our_dates = sum(1 for m in rows if m["kind"] == "DATE")
        our_quant = sum(1 for m in rows if m["kind"] == "QUANTITY")
        ratio = mb_s(done, ours_s) / mb_s(size, jio_s)
        more = our_quant + our_dates > money + times
        report.add(Row("text path without NER vs JioNLP money+time (MB/s)", f"{mb_s(done, ours_s):.2f}",
                       f"{mb_s(size, jio_s):.3f} (JioNLP)", ratio, "≥ 10×", ratio >= 10))
        report.add(Row("found on that text: money", str(our_money), f"{money} (JioNLP extract_money)",
                       our_money / money if money else None))
        report.add(Row("found on that text: dates", str(our_dates), f"{times} (JioNLP extract_time)",
                       our_dates / times if times else None))
        report.add(Row("found on that text: quantities + dates", f"{our_quant} + {our_dates}",
                       f"{money} + {times} (JioNLP money + time)",
                       (our_quant + our_dates) / (money + times) if money + times else None, "more", more))
        report.notes.append(f"JioNLP comparison on the first {len(subset)} documents ({size / MB:.2f} MB), "
                            "each document passed whole to extract_money and extract_time; counts are "
                            "mentions, not checked against a gold standard (JioNLP's times include vague ones "
                            "such as 近年来 and 目前, which zhextract leaves out on purpose)")
    except Exception as exc:
        report.fail("text path without NER vs JioNLP money+time (MB/s)", "≥ 10×", exc)


def measure_pdf(report: Report, pdf: Path, pages: int) -> None:
    import pdfplumber
    import pypdfium2 as pdfium

    from pipeline.read import read_document

    def plumber():
        with pdfplumber.open(pdf) as doc:
            return [page.extract_text() for page in doc.pages]

    def pdfium_text():
        doc = pdfium.PdfDocument(str(pdf))
        try:
            return [doc[i].get_textpage().get_text_bounded() for i in range(len(doc))]
        finally:
            doc.close()

    plumber_s, _ = timed(plumber)
    pdfium_s, _ = timed(pdfium_text, repeat=3)
    per = lambda s: s * 1e3 / pages  # noqa: E731
    base = f"{per(plumber_s):.1f} (pdfplumber extract_text)"
    report.add(Row("PDF: pypdfium2 get_text (ms/page, floor)", f"{per(pdfium_s):.1f}", base, plumber_s / pdfium_s))

    texts = {}
    for engine in ("pdfplumber", "pdfium"):
        try:
            s, doc = timed(read_document, pdf, "bench", engine=engine, repeat=1 if engine == "pdfplumber" else 3)
            texts[engine] = [p.text for p in doc.pages]
            report.add(Row(f"PDF: read_document engine={engine} (ms/page)", f"{per(s):.1f}", base, plumber_s / s))
        except Exception as exc:
            report.fail(f"PDF: read_document engine={engine} (ms/page)", "", exc)
    if len(texts) == 2:
        same = texts["pdfplumber"] == texts["pdfium"]
        report.add(Row("PDF: both engines give the same page texts", "yes" if same else "no", target="yes",
                       passed=same))
    for use_ner, metric, target in ((False, "PDF end to end without NER (ms/page)", "≤ 10 ms/page"),
                                    (True, "PDF end to end with NER (ms/page)", "")):
        try:
            warm_up(use_ner)
            s, _, results = run_documents([pdf], use_ner)
            status = results[0].document
            if status["status"] != "ok":
                raise RuntimeError(status["error"])
            report.add(Row(metric, f"{per(s):.1f}", base, plumber_s / s, target,
                           per(s) <= 10 if target else None))
        except Exception as exc:
            report.fail(metric, target, exc)


def batch_child(args: argparse.Namespace) -> None:
    """In a subprocess: one run_batch; prints its time and peak memory as JSON."""
    from pipeline.batch import run_batch

    use_ner_model(Path(args.ner_model) if args.ner_model else None)

    paths = sorted(Path(args.batch_dir).glob("*.txt"))[: args.n]
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    # CPU times of run_batch alone: this process's own imports (the benchmark's, and the
    # pipeline modules) come before, and the workers are all started and ended inside it
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    summary = run_batch(paths, out, workers=args.workers, use_ner=args.ner, rules_dir=RULES)
    seconds = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    parent = me.ru_utime + me.ru_stime - me0.ru_utime - me0.ru_stime
    print(json.dumps({"seconds": seconds, "ok": summary.ok, "failed": summary.failed,
                      "cpu_s": parent + kids.ru_utime + kids.ru_stime,
                      "cpu_parent_s": parent, "cpu_workers_s": kids.ru_utime + kids.ru_stime,
                      "rss_self_mb": peak_rss_mb(),
                      "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * _KIB / 1024}))


_KIB = 1 if sys.platform != "darwin" else 1 / 1024  # ru_maxrss is KiB on Linux, bytes on macOS


def peak_rss_mb() -> float:
    """Peak RSS of this process. Linux keeps ru_maxrss across exec (a child started by a
    big process reports the parent's peak), so read VmHWM, which is per address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _KIB / 1024


def run_batch_subprocess(batch_dir: Path, n: int, workers: int, ner: bool) -> dict:
    out = WORK / f"batch-out-{n}-{workers}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--batch-child", "--batch-dir", str(batch_dir),
           "--n", str(n), "--workers", str(workers), "--out", str(out)] + (["--ner"] if ner else [])
    if ner and NER_MODEL is not None:
        cmd += ["--ner-model", str(NER_MODEL)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["exit code %d" % proc.returncode])[-1])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return result


def measure_batch(report: Report, batch_dir: Path, ner: bool) -> None:
    label = "with NER" if ner else "without NER"
    try:
        one = run_batch_subprocess(batch_dir, BATCH_DOCS, 1, ner)
        two = run_batch_subprocess(batch_dir, BATCH_DOCS, 2, ner)
        for r in (one, two):
            if r["failed"]:
                report.notes.append(f"batch: {r['failed']} of {BATCH_DOCS} documents failed")
        ratio = one["seconds"] / two["seconds"]
        report.add(Row(f"run_batch {BATCH_DOCS} docs {label}: 2 workers (s)", f"{two['seconds']:.2f}",
                       f"{one['seconds']:.2f} (1 worker)", ratio, "≥ 1.6×", ratio >= 1.6))
        # What 2 idle cores would give: the parent's CPU time counted as if nothing overlapped it
        # (pessimistic) plus the workers' CPU time shared by two.
        bound = one["cpu_s"] / (two["cpu_parent_s"] + two["cpu_workers_s"] / 2)
        report.cpu_ratios.append((f"run_batch {label}, 2 workers vs 1 (from CPU times: 1-worker CPU / "
                                  "(parent CPU + workers' CPU / 2))", bound, "≥ 1.6×"))
        report.notes.append(f"batch of {BATCH_DOCS} documents of ~{BATCH_DOC_CHARS} characters, {label}, each run "
                            f"in its own process (time inside run_batch: resources, documents, tables); CPU time "
                            f"{one['cpu_s']:.1f} s with 1 worker, {two['cpu_s']:.1f} s with 2 (CPU/wall "
                            f"{one['cpu_s'] / one['seconds']:.2f} and {two['cpu_s'] / two['seconds']:.2f}: "
                            f"of the 2-worker CPU time {two['cpu_parent_s']:.1f} s were the parent's; "
                            f"below ~1.8 with 2 workers means the cores were busy elsewhere or idle); 2 workers: "
                            f"parent peak {two['rss_self_mb']:.0f} MB, largest worker {two['rss_children_mb']:.0f} MB")
        small = run_batch_subprocess(batch_dir, BATCH_SMALL, 1, ner)
        growth = one["rss_self_mb"] / small["rss_self_mb"]
        report.add(Row(f"peak RSS, {BATCH_DOCS} vs {BATCH_SMALL} docs {label}, 1 worker (MB)", f"{one['rss_self_mb']:.0f}",
                       f"{small['rss_self_mb']:.0f} ({BATCH_SMALL} docs)", growth, "≤ 1.25× (flat)",
                       growth <= 1.25))
    except Exception as exc:
        report.fail(f"run_batch {BATCH_DOCS} docs {label}", "≥ 1.6×", exc)


def measure_startup(report: Report) -> None:
    """Wall time of the CLI on one tiny file, fresh output folder each time (median of 3)."""
    tiny = WORK / "tiny.txt"
    tiny.write_text("2018 年上半年，示范区实现营业收入 15.6 亿元，同比增长 8.7%。\n", encoding="utf-8")
    # As a user's runs go: Python keeps the modules' compiled bytecode between runs (here in
    # work/pycache, whatever PYTHONDONTWRITEBYTECODE says), and the caches of earlier runs
    # (compiled patterns, parsed rules) are there: one untimed run first fills them.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    for extra, label in (([], "with NER"), (["--no-ner"], "without NER")):
        times: list[float] = []
        cpus: list[float] = []
        error = None
        for attempt in range(4):
            with tempfile.TemporaryDirectory() as tmp:
                argv = ["run", str(tiny), "--out", tmp, "--no-progress", *extra]
                if NER_MODEL is not None and not extra:  # the CLI with another model: same code path
                    command = [sys.executable, "-c", "import sys, pathlib, pipeline.ner; "
                               f"pipeline.ner.MODEL_DIR = pathlib.Path({str(NER_MODEL)!r}); "
                               f"sys.argv = ['zhextract', *{argv!r}]; from pipeline.cli import main; main()"]
                else:
                    command = [sys.executable, "-m", "pipeline", *argv]
                t0 = time.perf_counter()
                cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
                cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                if attempt:
                    times.append(time.perf_counter() - t0)
                    cpus.append(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime)
                if proc.returncode != 0:
                    error = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
                    break
        metric = f"start-up: CLI on one tiny file, {label} (s)"
        if error:
            report.fail(metric, "< 1.5 s", f"the CLI failed: {error}")
        else:
            median = statistics.median(times)
            report.add(Row(metric, f"{median:.2f} (CPU {statistics.median(cpus):.2f})", target="< 1.5 s",
                           passed=median < 1.5))
    report.notes.append("start-up is the wall time of `python -m pipeline run tiny.txt --out <tmp> --no-progress`, "
                        "from process start to exit (imports, rules, model, one document, all tables written), "
                        "median of 3 after one untimed run, with Python's bytecode cache on (as a user runs it; "
                        "without it every module is compiled again on every start, ~0.2 s of CPU more)")


def first_megabyte(texts: list[Path]) -> tuple[list[Path], int]:
    """The first files of ``texts`` that together reach ~1 MB, and their size."""
    subset, size = [], 0
    for p in texts:
        if size >= 1_000_000:
            break
        subset.append(p)
        size += p.stat().st_size
    return subset, size


def measure_stages(report: Report, texts: list[Path]) -> None:
    """ms per MB of each stage of the text path, on the first ~1 MB of the text set."""
    from pipeline.process import cyclic_gc_paused, load_resources

    subset, size = first_megabyte(texts)
    res = load_resources(RULES, False)
    spent: dict[str, float] = {}

    def clock(name, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
        return out

    for p in subset:
        with cyclic_gc_paused():  # as process_document
            document_stages(p, res, clock)
    total = sum(spent.values())
    for name, s in spent.items():
        report.stages.append((name, f"{s * 1e3 / (size / MB):.1f}", f"{100 * s / total:.0f}%"))
    report.stages.append(("total", f"{total * 1e3 / (size / MB):.1f}", "100%"))


def document_stages(p: Path, res, clock) -> None:
    """The stages of ``process.process_document`` on one file, each called through ``clock``."""
    from pipeline import dates, orgs, process, quantities
    from pipeline.clean import clean_document
    from pipeline.process import mention_rows
    from pipeline.read import read_document
    from pipeline.records import Analysis
    from pipeline.segment import split_sentences, tokenize

    doc = clock("read", read_document, p, p.stem)
    clean = clock("clean", clean_document, doc)
    ref, _ = clock("infer_ref_date", dates.infer_ref_date, clean.text)
    sentences = clock("split_sentences", split_sentences, clean.text)
    # as process.analyze: jieba tokens are made on demand, per sentence, by the org rules
    analysis = Analysis(clean.text, sentences, None, ref, tokenizer=partial(tokenize, dictionary=res.dictionary))
    found_dates = clock("dates", dates.extract_dates, analysis, res.date_rules)
    found_q = clock("quantities", quantities.extract_quantities, analysis, res.quantity_rules)
    found_o = clock("orgs (rules, with the jieba tokens they ask for)", orgs.extract_orgs, analysis,
                    res.org_rules, [])
    found_q = clock("drop quantities inside dates (process)", process.drop_overlapping, found_q, found_dates)
    mentions = found_q + found_dates + found_o
    clock("mention_rows", mention_rows, mentions, clean, sentences, p.stem, doc.sha256)


def profile(texts: list[Path], pdf: Path) -> None:
    """cProfile of the text path on ~1 MB and of the PDF path; top functions to work/profile-*.txt."""
    subset, size = first_megabyte(texts)
    warm_up(False)
    for name, paths in (("text", subset), ("pdf", [pdf])):
        prof = cProfile.Profile()
        prof.enable()
        run_documents(paths, use_ner=False)
        prof.disable()
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).sort_stats("tottime")
        stats.print_stats(30)
        buf.write("\n--- by cumulative time ---\n")
        stats.sort_stats("cumulative").print_stats(40)
        (WORK / f"profile-{name}.txt").write_text(buf.getvalue(), encoding="utf-8")
        print(f"wrote {WORK / f'profile-{name}.txt'}")


def profile_startup() -> None:
    """cProfile of one CLI run on a tiny file (imports included) to work/profile-startup.txt."""
    tiny = WORK / "tiny.txt"
    tiny.write_text("2018 年上半年，示范区实现营业收入 15.6 亿元，同比增长 8.7%。\n", encoding="utf-8")
    prof = WORK / "startup.prof"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "pipeline", "run", str(tiny),
                        "--out", tmp, "--no-progress"], cwd=ROOT, capture_output=True, check=False)
    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats(50)
    (WORK / "profile-startup.txt").write_text(buf.getvalue(), encoding="utf-8")
    print(f"wrote {WORK / 'profile-startup.txt'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller NER budget, no NER batch")
    parser.add_argument("--profile", action="store_true", help="also write cProfile reports to benchmarks/work/")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed too")
    parser.add_argument("--ner-model", help="measure with this NER model folder instead of the shipped one "
                        "(e.g. a training checkpoint); the report says so")
    parser.add_argument("--batch-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-dir", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--ner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch_child:
        batch_child(args)
        return 0

    started = time.perf_counter()
    if args.ner_model:
        use_ner_model(Path(args.ner_model).resolve())
    os.chdir(ROOT)
    WORK.mkdir(parents=True, exist_ok=True)
    report = Report()
    if hasattr(os, "getloadavg"):
        report.notes.append("load average at the start: %.2f %.2f %.2f (other processes on the machine skew "
                            "the absolute numbers, and the 2-worker ratio most)" % os.getloadavg())
    if NER_MODEL is not None:
        report.notes.append(f"NER measured with {NER_MODEL}, not the shipped model")
    print("building inputs under benchmarks/work/ …", flush=True)
    sources = source_texts(report)
    texts = build_text_set(sources, WORK / "text")
    batch_dir = WORK / "batch"
    build_batch_set(sources, batch_dir)
    pdf = WORK / f"speed-{PDF_PAGES}p.pdf"
    try:
        pages = build_pdf(sources, pdf, report)
    except Exception as exc:
        report.fail("PDF input", "", exc)
        pages = 0

    steps = [("text", lambda: measure_text(report, texts, args.quick)),
             ("JioNLP", lambda: measure_jionlp(report, texts)),
             ("PDF", lambda: pages and measure_pdf(report, pdf, pages)),
             ("batch", lambda: measure_batch(report, batch_dir, ner=False)),
             ("start-up", lambda: measure_startup(report)),
             ("stages", lambda: measure_stages(report, texts))]
    if not args.quick:
        steps.insert(4, ("batch with NER", lambda: measure_batch(report, batch_dir, ner=True)))
    for name, step in steps:
        print(f"[{time.perf_counter() - started:5.0f} s] {name}", flush=True)
        try:
            step()
        except Exception as exc:
            report.fail(name, "", exc)
    if args.profile:
        try:
            profile(texts, pdf)
            profile_startup()
        except Exception as exc:
            report.notes.append(f"profile failed: {exc}")
    report.notes.append(f"peak RSS of this benchmark process (jieba, JioNLP, 5 MB of text, the pipeline): "
                        f"{peak_rss_mb():.0f} MB")
    seconds = time.perf_counter() - started
    text = report.markdown(seconds)
    (WORK / "speed.md").write_text(text, encoding="utf-8")
    (WORK / "speed.json").write_text(json.dumps({"rows": [r.__dict__ for r in report.rows], "notes": report.notes,
                                                 "stages": report.stages, "raw": report.raw}, indent=1,
                                                ensure_ascii=False), encoding="utf-8")
    print()
    print(text)
    print(f"written to {WORK / 'speed.md'}")
    missed = [r.metric for r in report.rows if r.passed is False]
    if report.errors:
        print(f"{report.errors} measurement(s) could not be made")
        return 1
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
