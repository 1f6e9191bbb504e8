"""Benchmark (not a test): a sweep of a million runs of the baseline, end to end, as a user runs it.

Run: python bench/sweep.py [--runs 1000000] [--scaling-runs 200000] [--repeats 1]

Prints, for `simulate sweep` as a fresh process (start-up, design, engine, Parquet shards, the
merge and the analysis included; charts off): the wall-clock seconds with 2 workers, the peak
memory of all its processes together (the RSS of the process tree, sampled every 20 ms), and
the 2-worker scaling (1 worker / 2 workers, both measured in this run on --scaling-runs runs).
Goals (issue 8): 1,000,000 runs over 10 projection years with two outcomes in under 60 s on
2 workers, under 2 GB peak; scaling at least 1.7x.

The sweep: baseline to 2034 (2025-2034 projected), a Latin hypercube over talent arrivals and
ERB places, outcomes shortage[2034] and labour_force[2034].
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """\
name: bench
scenario: {root}/scenarios/baseline.yaml
set: {{years.end: 2034}}
design: lhs
samples: {runs}
seed: 1
targets: false
vary:
  levers.talent.arrivals: {{range: [35000, 120000]}}
  levers.retraining.places: {{range: [130000, 200000]}}
outcomes:
  - shortage[2034]
  - labour_force[2034]
"""


def tree_rss(pid: int) -> int:
    """Resident bytes of process `pid` and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def sweep(runs: int, workers: int, folder: Path) -> tuple[float, int]:
    """(seconds, peak bytes of the process tree) of one `simulate sweep` of `runs` runs."""
    spec = folder / f"bench_{runs}.yaml"
    spec.write_text(SWEEP.format(root=ROOT, runs=runs))
    out = folder / f"out_{runs}_{workers}"
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "sweep", str(spec), "--out", str(out),
                             "--workers", str(workers), "--no-charts"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    output = proc.communicate()[0]
    watcher.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed: {output}")
    return seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--scaling-runs", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = [sweep(args.scaling_runs, 1, folder)[0] for _ in range(args.repeats)]
        two = [sweep(args.scaling_runs, 2, folder)[0] for _ in range(args.repeats)]
        big = [sweep(args.runs, 2, folder) for _ in range(args.repeats)]
    seconds = statistics.median(s for s, _ in big)
    peak = max(p for _, p in big)
    scaling = statistics.median(one) / statistics.median(two)
    print(f"sweep of {args.runs:,} runs x 17 years (10 projected), 2 workers: {seconds:6.1f} s "
          f"({args.runs / seconds:,.0f} runs/s; goal < 60 s)")
    print(f"peak memory, all processes: {peak / 2**30:.2f} GiB (goal < 2 GB)")
    print(f"{args.scaling_runs:,} runs: 1 worker {statistics.median(one):.1f} s, 2 workers {statistics.median(two):.1f} s, "
          f"scaling {scaling:.2f}x (goal >= 1.7x)")


if __name__ == "__main__":
    main()
