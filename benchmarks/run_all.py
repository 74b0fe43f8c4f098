"""Run every benchmark in ``benchmarks/`` (what ``make bench`` runs).

    .venv/bin/python benchmarks/run_all.py [NAME …] [--list] [--timeout S]

Each ``benchmarks/bench_*.py`` runs in turn as its own subprocess (so one
benchmark's imports, caches and memory never affect the next), from the
repository root, with this Python. A benchmark that fails (non-zero exit,
crash or time-out) is reported and the rest still run; the exit code is 1 when
any failed. ``NAME`` selects benchmarks by part of their file name
(``run_all.py speed dates``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench_speed.py first: its ratios are the ones the issue sets targets for
FIRST = ("bench_speed.py",)


def find_benchmarks(names: list[str]) -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"), key=lambda p: (p.name not in FIRST, p.name))
    if names:
        scripts = [p for p in scripts if any(n in p.stem for n in names)]
    return scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only the benchmarks whose file name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark (default 1800)")
    args = parser.parse_args(argv)

    scripts = find_benchmarks(args.names)
    if args.list:
        print("\n".join(p.name for p in scripts))
        return 0
    if not scripts:
        print(f"no benchmark matches {args.names} in {HERE}", file=sys.stderr)
        return 1
    results: list[tuple[str, str, float]] = []
    for script in scripts:
        print(f"\n===== {script.name} =====", flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, timeout=args.timeout)
            status = "ok" if proc.returncode == 0 else f"FAILED (exit code {proc.returncode})"
        except subprocess.TimeoutExpired:
            status = f"FAILED (timed out after {args.timeout:.0f} s)"
        except OSError as exc:
            status = f"FAILED ({exc})"
        results.append((script.name, status, time.perf_counter() - t0))

    print("\n===== summary =====")
    width = max(len(name) for name, _, _ in results)
    for name, status, seconds in results:
        print(f"{name:<{width}}  {seconds:7.1f} s  {status}")
    failed = [name for name, status, _ in results if status != "ok"]
    if failed:
        print(f"{len(failed)} of {len(results)} benchmarks failed: {', '.join(failed)}")
        return 1
    print(f"all {len(results)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
