"""Benchmark the date extractor on Microsoft Recognizers-Text's Chinese date specs, and its speed.

    .venv/bin/python benchmarks/bench_dates.py [--failures] [--speed]

Runs the DateExtractor, DatePeriodExtractor, DateParser and DatePeriodParser
specs from ``../shared/peer-suites/recognizers-text/Specs/DateTime/Chinese``:

* extractor cases pass when our DATE spans are exactly the expected spans
  (``Start``/``Length`` mapped through the clean text back to the input);
* parser cases pass when, besides the spans, our inclusive interval equals the
  expected one (their ``endDate`` is exclusive, so one day is taken off). Their
  ambiguous dates carry a FutureResolution and a PastResolution; matching either
  one passes (we resolve to one reading, see README.md, "Deliberate differences").

A case that differs only by a documented deliberate convention is counted
apart, as "pass by convention", and each such case is listed with what differs
(``--failures``): their span takes in a leading 从/在 or a trailing 之间; their
written ranges end where the last named unit begins (``7月4日到7月6日`` ends on
the 5th there, on the 6th here); a date that does not exist (2019年2月29日) is
dropped here and resolved to 0001-01-01 there; a season is resolved here and
left unresolved there. A case whose only misses are forms we leave out by design
(vague or rolling periods, bare year numbers, years outside 1900-2099,
numeric dates that do not start with a four-digit year: ``OUT_OF_SCOPE``), with nothing
of ours overlapping them, is counted "out of scope" and left out of the
in-scope rate. Every other difference is a failure.

Their Python port cannot run here (no network, and the PyPI package is from
2019), so "their port" is the share of cases not marked NotSupported or
NotSupportedByDesign for python: the cases their Python port is meant to pass,
an upper bound on its real rate.

Our conventions differ on purpose in places (see README.md, "Deliberate differences").
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import regex

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


#: What we leave out by design (README.md, "Deliberate differences"), recognised by their result's text.
#: A case whose only misses are these, with nothing of ours overlapping them, is "out of scope".
OUT_OF_SCOPE = {
    "vague or rolling period": regex.compile(
        r"最近|近\s*[一二三四五六七八九十两\d]+\s*[年月天周]|过去|未来|^[前后上下]\s*\d+\s*个?\s*[年月天周]"),
    "year number alone or two-digit year": regex.compile(r"^(?:\d{4}|\d{2}\s*年|[零〇][一二三四五六七八九]年)$"),
    "year outside 1900-2099": regex.compile(
        r"^(?:(?:1[0-8]|2[1-9])\d\d|\d{3})(?!\d)|^[一二三四五六七八九][〇零一二三四五六七八九]{2}年"),
    "numeric date not year-first (13.5.2015, 12/1, 27-7-3)": regex.compile(
        r"^\d{1,2}[-/.]\d{1,2}(?:[-/.]\d{1,4})?(?:-\d{1,2}/\d{1,2}/\d{4})?$|^\d{4} \d{2} \d{2}$"),
}


def out_of_scope(result_text: str) -> str | None:
    return next((why for why, pattern in OUT_OF_SCOPE.items() if pattern.search(result_text)), None)


#: Words their spans take in and ours leave out (the span is the date, not the preposition).
LEADING = ("从", "從", "在")
TRAILING = ("之间", "之間", "期间", "期間")


def stripped_spans(text: str, start: int, length: int) -> list[tuple[int, int]]:
    """Their span without a leading 从/在, a trailing 之间, or both (our convention)."""
    s, e = start, start + length
    lead = next((len(w) for w in LEADING if text[s:e].startswith(w)), 0)
    trail = next((len(w) for w in TRAILING if text[s:e].endswith(w)), 0)
    out = []
    for a, b in ((lead, 0), (0, trail), (lead, trail)):
        if (a or b) and (s + a, e - b - s - a) not in out:
            out.append((s + a, e - b - s - a))
    return out


def last_unit_starts(end: date) -> set[date]:
    """Where the last unit of an interval ending on ``end`` may start (day, month, year)."""
    out = {end}
    if (end + timedelta(days=1)).day == 1:
        out.add(end.replace(day=1))
        if end.month == 12:
            out.add(end.replace(month=1, day=1))
    return out


def judge(kind: str, text: str, case: dict, ours: list[tuple[int, int, str, str]]) -> tuple[str, list[str]]:
    """('pass' | 'convention' | 'scope' | 'fail', notes): a case passes by convention when it
    differs only by a deliberate convention of README.md, "Deliberate differences", and is out of scope
    when all it misses is what we leave out by design (``OUT_OF_SCOPE``); notes say what."""
    notes: list[str] = []
    scope: list[str] = []
    unmatched = list(ours)
    ok = True
    for r in case["Results"]:
        span = (r["Start"], r["Length"])
        hit = next((o for o in unmatched if (o[0], o[1]) == span), None)
        if hit is None:
            stripped = stripped_spans(text, *span)
            hit = next((o for o in unmatched if (o[0], o[1]) in stripped), None)
            if hit is not None:
                notes.append(f"span: {text[span[0]:span[0] + span[1]]!r} there, "
                             f"{text[hit[0]:hit[0] + hit[1]]!r} here (preposition outside)")
        value = r.get("Value") or {}
        future_v = expected_interval(value, "FutureResolution")
        past_v = expected_interval(value, "PastResolution")
        if hit is None:
            if kind.endswith("Parser") and past_v == ("0001-01-01", "0001-01-01"):
                notes.append(f"{r['Text']!r}: not a calendar date, dropped here (0001-01-01 there)")
                continue
            why = out_of_scope(r["Text"])
            overlapping = [o for o in unmatched if o[0] < span[0] + span[1] and span[0] < o[0] + o[1]]
            if why and not overlapping:
                scope.append(f"{r['Text']!r}: {why}, not extracted by design")
                continue
            ok = False
            notes.append(f"missed {r['Text']!r}")
            continue
        unmatched.remove(hit)
        if kind.endswith("Extractor"):
            continue
        got = (hit[2], hit[3])
        if got in (future_v, past_v):
            continue
        if future_v is None and past_v is None and not value.get("FutureResolution") \
                and not value.get("PastResolution"):
            notes.append(f"{r['Text']!r}: resolved here to {got[0]}..{got[1]}, unresolved there "
                         f"({value.get('Timex')})")
            continue
        # Their end is exclusive and their written ranges leave out the last named unit.
        our_end = date.fromisoformat(got[1])
        for which in ("FutureResolution", "PastResolution"):
            res = value.get(which) or {}
            if res.get("startDate") == got[0] and "endDate" in res \
                    and date.fromisoformat(res["endDate"]) in last_unit_starts(our_end) \
                    and res["endDate"] != got[0]:
                notes.append(f"{r['Text']!r}: ends {got[1]} here (inclusive, the last unit named is "
                             f"inside), {res['endDate']} exclusive there")
                break
        else:
            ok = False
            notes.append(f"{r['Text']!r}: got {got[0]}..{got[1]}, expected {past_v} or {future_v}")
    for o in unmatched:
        ok = False
        notes.append(f"extra {text[o[0]:o[0] + o[1]]!r} ({o[2]}..{o[3]})")
    if not ok:
        return "fail", notes + scope
    if scope:
        return "scope", scope + notes
    return ("convention", notes) if notes else ("pass", [])


def bench_specs(rules: dates.DateRules, show_failures: bool) -> list[str]:
    lines = ["| spec | cases | strict | strict + by convention | out of scope by design | "
             "in scope (strict + convention) | ours on their python cases (strict + convention) | "
             "their python port (cases not marked unsupported) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    listed: dict[str, list[str]] = {"convention": [], "scope": [], "fail": []}
    for name in FILES:
        cases = json.loads((SPECS / f"{name}.json").read_text(encoding="utf-8-sig"))
        counts = {"pass": 0, "convention": 0, "scope": 0, "fail": 0}
        py_cases = py_pass = 0
        for case in cases:
            ref_text = (case.get("Context") or {}).get("ReferenceDateTime")
            ref = date.fromisoformat(ref_text[:10]) if ref_text else DEFAULT_REF
            ours = run_case(case["Input"], ref, rules)
            status, notes = judge(name, case["Input"], case, ours)
            counts[status] += 1
            tag = ""
            if not not_for_python(case):
                py_cases += 1
                py_pass += status in ("pass", "convention")
            else:
                tag = " [NotSupported python]"
            if status != "pass":
                listed[status].append(f"- {name}: {case['Input']!r} ref {ref.isoformat()}{tag}: " + "; ".join(notes))
        n = len(cases)
        strict, both, scope = counts["pass"], counts["pass"] + counts["convention"], counts["scope"]
        lines.append(f"| {name} | {n} | {strict}/{n} ({strict / n:.0%}) | {both}/{n} ({both / n:.0%}) | {scope} | "
                     f"{both}/{n - scope} ({both / (n - scope):.0%}) | "
                     f"{py_pass}/{py_cases} ({py_pass / py_cases:.0%}) | {py_cases}/{n} ({py_cases / n:.0%}) |")
    if show_failures:
        for status, title in (("convention", "Passes by a deliberate convention"),
                              ("scope", "Out of scope by design (not extracted, nothing else wrong)"),
                              ("fail", "Failures")):
            lines.append(f"\n{title} ({len(listed[status])}):")
            lines += listed[status] or ["  none"]
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
    parser.add_argument("--failures", action="store_true",
                        help="list every failing case and every pass by convention")
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
