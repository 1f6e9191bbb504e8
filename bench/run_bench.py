"""Benchmarks (not tests): wall-clock of the baseline run and of a large batch.

Run: python bench/run_bench.py [--batch 10000]. Prints median wall-clock seconds over repeats
for (1) `simulate run scenarios/baseline.yaml` with charts, (2) the same with --no-charts, both
as fresh processes (start-up included), (3) a batch of N copies of the baseline through the
engine in-process (load excluded), and (4) `simulate compare baseline combined --draws 1000`
with charts, as a fresh process (all 2^k hybrid runs and both scenarios' paired draws included).
Goals: < 2 s, < 0.6 s, < 10 s for N = 10,000 (issue #2); < 15 s for the comparison (issue #7).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch(n: int, repeats: int) -> tuple[float, int]:
    sys.path.insert(0, str(ROOT))
    from sim import engine, inputs, params, scenario

    loaded = scenario.load(ROOT / "scenarios" / "baseline.yaml")
    data = inputs.load(loaded.calibration_path)
    table = params.build(loaded.scenario, data, runs=n)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = engine.simulate(table, data)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result.runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    simulate = [sys.executable, "-c", "import cli; cli.main()", "run", "scenarios/baseline.yaml"]
    with tempfile.TemporaryDirectory() as out:
        charts = wall(simulate + ["--out", out], args.repeats)
        plain = wall(simulate + ["--out", out, "--no-charts"], args.repeats)
        compare = wall([sys.executable, "-c", "import cli; cli.main()", "compare", "scenarios/baseline.yaml",
                        "scenarios/combined.yaml", "--draws", "1000", "--out", out + "/compare"],
                       max(1, args.repeats // 2))
    seconds, runs = batch(args.batch, max(1, args.repeats // 2))
    print(f"baseline run with charts    : {charts:6.3f} s  (goal < 2 s)")
    print(f"baseline run without charts : {plain:6.3f} s  (goal < 0.6 s)")
    print(f"batch of {runs:,} baselines   : {seconds:6.3f} s  (goal < 10 s; {runs / seconds:,.0f} runs/s)")
    print(f"compare baseline combined --draws 1000 : {compare:6.3f} s  (goal < 15 s)")


if __name__ == "__main__":
    main()
