"""Score the quantity extractor against peers' specs and our own gold documents.

Not a pytest test. Run ``python benchmarks/bench_quantities.py``; it prints

1. the pass rate on Microsoft Recognizers-Text's Chinese Currency, Dimension and
   Percent specs (``../shared/peer-suites/recognizers-text``), over the cases
   whose units we model, with every failure and every case where our
   convention deliberately differs (see README.md, "Deliberate differences");
2. precision and recall on the seed report and on ``tests/data/quantities-*``;
3. the speed of ``extract_quantities`` in ms per MB of clean text.

A case passes when we find exactly the spans of its ``Results`` (``End`` is
inclusive there) with the same value in the same unit (their unit converted
to our canonical one: 12千米 is 12 Kilometer there and 12000 m here), and no
other quantity of the model's kinds. Cases the spec marks NotSupported for
python are counted apart, as the Recognizers-Text python runner skips them.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.quantities import extract_quantities, load_quantity_rules  # noqa: E402
from pipeline.records import Analysis, Mention  # noqa: E402

SPECS = ROOT.parent / "shared" / "peer-suites" / "recognizers-text" / "Specs"
FILES = {
    "currency": SPECS / "NumberWithUnit" / "Chinese" / "CurrencyModel.json",
    "dimension": SPECS / "NumberWithUnit" / "Chinese" / "DimensionModel.json",
    "percent": SPECS / "Number" / "Chinese" / "PercentModel.json",
}
#: Our kinds that each model's results are compared with.
MODEL_KINDS = {
    "currency": {"money"},
    "dimension": {"area", "length", "mass", "energy", "power", "volume"},
    "percent": {"percent", "pp"},
}
#: Recognizers-Text unit -> (our canonical unit, factor to it). Units not here are not modelled.
DIMENSION_UNITS = {
    "Mu": ("mu", Decimal(1)), "Kilogram": ("kg", Decimal(1)), "Centimeter": ("m", Decimal("0.01")),
    "Ton": ("kg", Decimal(1000)), "Meter": ("m", Decimal(1)), "Gram": ("kg", Decimal("0.001")),
    "Jin": ("kg", Decimal("0.5")), "Kilometer": ("m", Decimal(1000)), "Liang": ("kg", Decimal("0.05")),
    "Microgram": ("kg", Decimal("0.000000001")), "Kilowatt": ("kW", Decimal(1)),
    "Square meter": ("m2", Decimal(1)), "Square kilometer": ("m2", Decimal(1000000)),
}
#: Currencies we model (ISO codes); "Dollar" without a code is our USD by convention.
CURRENCIES = {"CNY", "USD", "EUR", "HKD", "JPY", "GBP", "TWD", "CHF", "KRW", "RUB", "AUD", "CAD", "SGD",
              "MOP", "NGN"}


def fold(text: str) -> str:
    """The clean stage's 1:1 width folding (full-width digits, letters, ％, ．)."""
    out = []
    for ch in text:
        o = ord(ch)
        if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A or ch in "％．":
            out.append(chr(o - 0xFEE0))
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def same_text(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).lower() == unicodedata.normalize("NFKC", b).lower()


@dataclass
class Expected:
    text: str
    start: int
    end: int
    unit: str | None  # ours; None when not modelled
    value: Decimal | None
    pp: bool = False  # their % for a 个百分点 surface


def expected_results(model: str, case: dict) -> list[Expected] | None:
    """Their results in our units, or None when a result has a unit we do not model."""
    out = []
    for r in case["Results"]:
        res = r.get("Resolution") or {}
        raw = res.get("value")
        if model == "currency":
            iso = res.get("isoCurrency") or ("USD" if res.get("unit") == "Dollar" else None)
            if iso not in CURRENCIES:
                return None
            unit, value = iso, None if raw is None else Decimal(raw)
        elif model == "dimension":
            if res.get("unit") not in DIMENSION_UNITS:
                return None
            unit, factor = DIMENSION_UNITS[res["unit"]]
            value = Decimal(raw) * factor
        else:
            if "折" in r["Text"]:
                return None  # discounts (八折) are not modelled
            value = Decimal(raw.rstrip("%"))
            pp = "百分点" in r["Text"].replace(" ", "") or "百分點" in r["Text"].replace(" ", "")
            out.append(Expected(r["Text"], r["Start"], r["End"] + 1, "pp" if pp else "%", value, pp))
            continue
        out.append(Expected(r["Text"], r["Start"], r["End"] + 1, unit, value))
    return out


def run_case(model: str, case: dict, rules) -> tuple[str, str]:
    """('pass' | 'convention' | 'fail' | 'skip', explanation)."""
    expected = expected_results(model, case)
    if expected is None:
        return "skip", "unit not modelled"
    text = fold(case["Input"])
    found = [m for m in extract_quantities(Analysis(text, (), (), date(2018, 11, 15)), rules)
             if m.quantity_kind in MODEL_KINDS[model]]
    notes = []
    unmatched = list(found)
    ok = True
    for e in expected:
        hit = next((m for m in unmatched if m.start == e.start and m.end == e.end and same_text(m.text, e.text)),
                   None)
        if e.value is None:
            notes.append("a currency name without a number is not a quantity")
            if hit is not None:
                ok = False
            continue
        if hit is None:
            # a range whose right end is their whole result (5-20%)
            rng = next((m for m in unmatched if m.qualifier == "range" and m.end == e.end
                        and m.value_max == e.value), None)
            if rng is not None:
                unmatched.remove(rng)
                notes.append(f"range {rng.text!r}: we keep both ends")
                continue
            ok = False
            notes.append(f"missed {e.text!r} ({e.value} {e.unit})")
            continue
        unmatched.remove(hit)
        if hit.unit == e.unit and hit.value != e.value and f"{float(hit.value):.14e}" == f"{float(e.value):.14e}":
            notes.append(f"{e.text!r}: exact {hit.value} here, rounded {e.value} there")
        elif hit.unit != e.unit or hit.value != e.value:
            ok = False
            notes.append(f"{e.text!r}: got {hit.value} {hit.unit}, expected {e.value} {e.unit}")
        elif e.pp:
            notes.append(f"{e.text!r}: 个百分点 is pp here, % there")
        elif model == "currency" and (case["Results"][expected.index(e)].get("Resolution") or {}).get(
                "unit") == "Dollar":
            notes.append(f"{e.text!r}: $ is USD here, an unspecified Dollar there")
    for m in unmatched:
        ok = False
        notes.append(f"extra {m.text!r} ({m.value} {m.unit})")
    if not ok:
        return "fail", "; ".join(notes)
    return ("convention", "; ".join(notes)) if notes else ("pass", "")


def score_specs(rules) -> None:
    if not SPECS.is_dir():
        print(f"skipped: {SPECS} is absent (the Recognizers-Text specs live in ../shared)")
        return
    totals = {"pass": 0, "convention": 0, "fail": 0, "skip": 0}
    python_totals = dict(totals)
    failures, conventions = [], []
    for model, path in FILES.items():
        counts = {"pass": 0, "convention": 0, "fail": 0, "skip": 0}
        for case in json.loads(path.read_text(encoding="utf-8")):
            status, why = run_case(model, case, rules)
            not_python = "python" in (case.get("NotSupported", "") + case.get("NotSupportedByDesign", "")).lower()
            counts[status] += 1
            totals[status] += 1
            if not not_python:
                python_totals[status] += 1
            tag = " [NotSupported python]" if not_python else ""
            if status == "fail":
                failures.append(f"  {model}: {case['Input']!r}{tag}: {why}")
            elif status == "convention":
                conventions.append(f"  {model}: {case['Input']!r}{tag}: {why}")
        scope = counts["pass"] + counts["convention"] + counts["fail"]
        print(f"{model:10} {counts['pass'] + counts['convention']}/{scope} in scope pass "
              f"({counts['convention']} by a deliberate convention), {counts['skip']} cases not modelled")
    for label, t in (("all cases", totals), ("cases the python runner runs", python_totals)):
        scope = t["pass"] + t["convention"] + t["fail"]
        rate = (t["pass"] + t["convention"]) / scope if scope else 0.0
        print(f"Recognizers-Text, {label}: pass rate {rate:.1%} ({t['pass'] + t['convention']}/{scope}; "
              f"strict {t['pass']}/{scope}; {t['skip']} out of scope)")
    print(f"\nfailures ({len(failures)}):")
    print("\n".join(failures) or "  none")
    print(f"\ndeliberate differences ({len(conventions)}):")
    print("\n".join(conventions) or "  none")


# -- gold documents ---------------------------------------------------------------------

GOLD_FIELDS = ("start", "end", "text", "value", "unit", "qualifier", "value_max", "change")


def clean(text: str) -> str:
    try:
        from pipeline.clean import clean_text
    except ImportError:
        return fold(text)
    return clean_text(text).text


def _key(row: dict) -> tuple:
    return tuple(str(row[k]) for k in GOLD_FIELDS)


def mention_row(m: Mention) -> dict:
    from pipeline.numerals import format_decimal

    return {"start": m.start, "end": m.end, "text": m.text, "value": format_decimal(m.value), "unit": m.unit,
            "qualifier": m.qualifier, "value_max": format_decimal(m.value_max), "change": m.change}


def score_gold(rules) -> None:
    data = ROOT / "tests" / "data"
    for path in sorted(data.glob("quantities-*.txt")):
        gold_path = path.with_suffix(".expected.csv")
        if not gold_path.exists():
            continue
        with gold_path.open(encoding="utf-8-sig", newline="") as fh:
            gold = {_key(r) for r in csv.DictReader(fh)}
        text = clean(path.read_text(encoding="utf-8"))
        found = {_key(mention_row(m)) for m in extract_quantities(Analysis(text, (), (), date(2024, 1, 1)), rules)}
        _print_pr(path.name, gold, found)
    seed = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"
    seed_gold = data / "quantities-seed.expected.csv"
    if seed.exists() and seed_gold.exists():
        with seed_gold.open(encoding="utf-8-sig", newline="") as fh:
            fields = ("text", "value", "unit", "qualifier", "value_max", "change")
            gold = [tuple(r[k] for k in fields) for r in csv.DictReader(fh)]
        text = clean(seed.read_text(encoding="utf-8"))
        found = [tuple(mention_row(m)[k] for k in fields)
                 for m in extract_quantities(Analysis(text, (), (), date(2018, 11, 20)), rules)]
        _print_pr(seed.name, set(enumerate_multiset(gold)), set(enumerate_multiset(found)))


def enumerate_multiset(items: list[tuple]) -> list[tuple]:
    seen: dict[tuple, int] = {}
    out = []
    for item in items:
        seen[item] = seen.get(item, 0) + 1
        out.append((*item, seen[item]))
    return out


def _print_pr(name: str, gold: set, found: set) -> None:
    tp = len(gold & found)
    p = tp / len(found) if found else 1.0
    r = tp / len(gold) if gold else 1.0
    print(f"{name:40} P {p:.3f}  R {r:.3f}  ({tp} right, {len(found) - tp} wrong, {len(gold) - tp} missed)")
    for item in sorted(found - gold, key=str):
        print(f"    wrong:  {item}")
    for item in sorted(gold - found, key=str):
        print(f"    missed: {item}")


def measure_speed(rules) -> None:
    seed = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"
    if not seed.exists():
        return
    text = clean(seed.read_text(encoding="utf-8"))
    big = (text + "\n") * (1_000_000 // len(text.encode()) + 1)
    analysis = Analysis(big, (), (), date(2018, 11, 20))
    best = min(_timed(analysis, rules) for _ in range(3))
    mb = len(big.encode()) / 1e6
    print(f"\nspeed: extract_quantities {best * 1000 / mb:.0f} ms/MB ({mb:.1f} MB of the seed repeated)")


def _timed(analysis: Analysis, rules) -> float:
    t0 = time.perf_counter()
    extract_quantities(analysis, rules)
    return time.perf_counter() - t0


def main() -> None:
    rules = load_quantity_rules(ROOT / "rules")
    score_specs(rules)
    print()
    score_gold(rules)
    measure_speed(rules)


if __name__ == "__main__":
    main()
