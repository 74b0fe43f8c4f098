"""Benchmark the date extractor on Microsoft Recognizers-Text's Chinese date specs, and its speed.

    .venv/bin/python benchmarks/bench_dates.py [--failures] [--speed]

Runs the DateExtractor, DatePeriodExtractor, DateParser and DatePeriodParser
specs from ``../shared/peer-suites/recognizers-text/Specs/DateTime/Chinese``:

* extractor cases pass when our DATE spans are exactly the expected spans
  (``Start``/``Length`` mapped through the clean text back to the input);
* parser cases pass when, besides the spans, our inclusive interval equals the
  expected one (their ``endDate`` is exclusive, so one day is taken off). Their
  ambiguous dates carry a FutureResolution and a PastResolution; we report a
  case as passing "either" when we match one of the two, and "past" when we
  match the PastResolution (reports speak of the past).

Their Python port cannot run here (no network, and the PyPI package is from
2019), so "their port" is the share of cases not marked NotSupported or
NotSupportedByDesign for python: the cases their Python port is meant to pass,
an upper bound on its real rate.

Our conventions differ on purpose in places (see ``DATE_DIFFERENCES.md``).
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import dates  # noqa: E402
from pipeline.clean import clean_text  # noqa: E402
from pipeline.records import Analysis  # noqa: E402
from pipeline.segment import split_sentences  # noqa: E402

SPECS = ROOT.parent / "shared" / "peer-suites" / "recognizers-text" / "Specs" / "DateTime" / "Chinese"
FILES = ("DateExtractor", "DatePeriodExtractor", "DateParser", "DatePeriodParser")
#: Reference date for extractor cases, which carry none (spans do not depend on it).
DEFAULT_REF = date(2017, 3, 22)


def not_for_python(case: dict) -> bool:
    flags = f"{case.get('NotSupported', '')},{case.get('NotSupportedByDesign', '')}".lower()
    return "python" in flags


def run_case(text: str, ref: date, rules: dates.DateRules) -> list[tuple[int, int, str, str]]:
    """Our mentions as (start, length, date_start, date_end) in offsets of the input."""
    clean = clean_text(text)
    analysis = Analysis(clean.text, split_sentences(clean.text), (), ref)
    out = []
    for m in dates.extract_dates(analysis, rules):
        start = clean.raw_offsets[m.start]
        end = clean.raw_offsets[m.end - 1] + 1
        out.append((start, end - start, m.date_start, m.date_end))
    return out


def expected_interval(value: dict, which: str) -> tuple[str, str] | None:
    res = value.get(which) or {}
    if "date" in res:
        return res["date"], res["date"]
    if "startDate" in res and "endDate" in res:
        end = date.fromisoformat(res["endDate"]) - timedelta(days=1)
        return res["startDate"], end.isoformat()
    return None


def judge(kind: str, case: dict, ours: list[tuple[int, int, str, str]]) -> tuple[bool, bool]:
    """(passes matching either resolution, passes matching the past resolution)."""
    expected = case["Results"]
    if sorted((r["Start"], r["Length"]) for r in expected) != sorted((s, n) for s, n, _, _ in ours):
        return False, False
    if kind.endswith("Extractor"):
        return True, True
    by_span = {(s, n): (a, b) for s, n, a, b in ours}
    either = past = True
    for r in expected:
        got = by_span[(r["Start"], r["Length"])]
        future_v = expected_interval(r["Value"], "FutureResolution")
        past_v = expected_interval(r["Value"], "PastResolution")
        either &= got in (future_v, past_v)
        past &= got == past_v
    return either, past


def bench_specs(rules: dates.DateRules, show_failures: bool) -> list[str]:
    lines = ["| spec | cases | ours (either) | ours (past) | ours on their python cases | "
             "their python port (cases not marked unsupported) |", "|---|---:|---:|---:|---:|---:|"]
    failures = []
    for name in FILES:
        cases = json.loads((SPECS / f"{name}.json").read_text(encoding="utf-8-sig"))
        either_n = past_n = py_cases = py_pass = 0
        for case in cases:
            ref_text = (case.get("Context") or {}).get("ReferenceDateTime")
            ref = date.fromisoformat(ref_text[:10]) if ref_text else DEFAULT_REF
            ours = run_case(case["Input"], ref, rules)
            either, past = judge(name, case, ours)
            either_n += either
            past_n += past
            if not not_for_python(case):
                py_cases += 1
                py_pass += either
            if not either:
                failures.append((name, case["Input"], ref.isoformat(),
                                 [(r["Text"], r["Start"], r["Length"],
                                   expected_interval(r.get("Value", {}), "PastResolution")) for r in case["Results"]],
                                 ours))
        n = len(cases)
        lines.append(f"| {name} | {n} | {either_n}/{n} ({either_n / n:.0%}) | {past_n}/{n} ({past_n / n:.0%}) | "
                     f"{py_pass}/{py_cases} ({py_pass / py_cases:.0%}) | {py_cases}/{n} ({py_cases / n:.0%}) |")
    if show_failures:
        lines.append("\nFailures (spec, input, ref, expected [text, start, length, past interval], ours):")
        lines += [f"- {f[0]}: {f[1]!r} ref {f[2]}: expected {f[3]} got {f[4]}" for f in failures]
    return lines


def bench_speed(rules: dates.DateRules) -> list[str]:
    files = sorted(glob.glob(str(ROOT.parent / "shared" / "corpus-real" / "*.txt"))
                   + glob.glob(str(ROOT.parent / "shared" / "corpus-real" / "*.md"))
                   + glob.glob(str(ROOT / "corpus" / "*.txt")))
    text = "\n".join(clean_text(Path(f).read_text(encoding="utf-8-sig")).text for f in files)
    while len(text.encode()) < 4_000_000:
        text += "\n" + text
    mb = len(text.encode()) / 1e6
    analysis = Analysis(text, split_sentences(text), (), date(2018, 11, 15))
    best_extract = best_infer = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        found = dates.extract_dates(analysis, rules)
        t1 = time.perf_counter()
        dates.infer_ref_date(text)
        t2 = time.perf_counter()
        best_extract, best_infer = min(best_extract, t1 - t0), min(best_infer, t2 - t1)
    return [f"\nSpeed on {mb:.1f} MB of report text ({len(found) / mb:.0f} dates/MB), best of 3: "
            f"extract_dates {best_extract * 1000 / mb:.1f} ms/MB, infer_ref_date {best_infer * 1000 / mb:.1f} ms/MB"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list every failing case")
    parser.add_argument("--speed", action="store_true", help="also time the extractor")
    args = parser.parse_args()
    if not SPECS.exists():
        sys.exit(f"Recognizers-Text specs not found at {SPECS}")
    rules = dates.load_date_rules(ROOT / "rules")
    lines = bench_specs(rules, args.failures)
    if args.speed:
        lines += bench_speed(rules)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
