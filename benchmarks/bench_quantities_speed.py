"""Speed of ``extract_quantities`` relative to ``jieba.lcut`` on the same text (issue 6).

Not a pytest test. Run ``python benchmarks/bench_quantities_speed.py [--profile]``
from the repository root. The machine may be shared, so it prints ratios
measured in the same process, never absolute times alone: the whole text path
must run at >= 5x jieba's throughput, which leaves quantities about 4 % of
``jieba.lcut`` time on the same text.

The text is about 1 MB of dense report text: the seed report plus the text
files of ``../shared/corpus-real`` (when present), repeated.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import quantities  # noqa: E402
from pipeline.clean import clean_text  # noqa: E402
from pipeline.process import analyze, load_resources  # noqa: E402


def sample_text(size: int = 1_000_000) -> str:
    texts = [(ROOT / "corpus" / "xuchang-2018-demo-zone.txt").read_text(encoding="utf-8")]
    real = ROOT.parent / "shared" / "corpus-real"
    texts += [p.read_text(encoding="utf-8-sig") for p in sorted(real.glob("0*"))]
    raw = "\n".join(texts)
    return (raw * (size // len(raw) + 1))[:size]


def best_of(n: int, fn, *args) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    raw = sample_text(args.size)
    res = load_resources(ROOT / "rules", False)
    analysis = analyze(clean_text(raw).text, date(2022, 1, 1), res)
    found = quantities.extract_quantities(analysis, res.quantity_rules)  # warm up
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("quantities.extract_quantities(analysis, res.quantity_rules)", globals(), locals(),
                        "/tmp/bench_quantities.prof")
        pstats.Stats("/tmp/bench_quantities.prof").sort_stats("tottime").print_stats(15)
        return
    ratios = []
    for _ in range(args.repeat):  # interleaved, so load changes hit both alike
        tj = best_of(1, jieba.lcut, raw)
        tq = best_of(1, quantities.extract_quantities, analysis, res.quantity_rules)
        ratios.append(tq / tj)
    mb = len(raw.encode("utf-8")) / 1e6
    print(f"{len(found)} quantities in {len(raw)} chars ({mb:.2f} MB UTF-8)")
    print(f"quantities / jieba.lcut: best {min(ratios):.1%}, median {sorted(ratios)[len(ratios) // 2]:.1%}"
          f" (target <= 4%)")


if __name__ == "__main__":
    main()
