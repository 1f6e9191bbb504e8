"""Benchmark (prints, asserts nothing): the engine's lean path for sweeps (issue 8).

Run: python bench/engine.py [--repeats N] [--workers W] [--runs N]

The baseline to 2034 (years 2017..2034: 17 simulated years, 8 observed 2018-2024 and 10
projected 2025-2034), a sweep-like design (talent arrivals and GDP growth varied run by run),
keeping shortage and labour_force. Run-years count all 17 simulated years of every run.
Prints the median over repeats of:
- the lean path (keep=shortage,labour_force) at 1e3, 1e4 and 1e5 runs;
- the full path (keep=None) at 1e3 and 1e4 runs, for reference;
- a per-run loop: the engine called once per run with the same keep (200 single runs,
  extrapolated per run-year), and the lean path's speed-up over it at 1e4 runs (goal >= 100x);
- peak RSS of this process after the lean runs, and after the full runs (resource.getrusage);
- the physical limit. The stocks that must cross memory every simulated year are the (2, 101)
  float64 arrays of a run (1,616 bytes each): population, participation rates and retraining's
  uplift, each read once and written once, 6 x 1,616 = 9,696 bytes per projected run-year; the
  observed years are simulated once for all runs (warm start), so per counted run-year (17 a
  run, 10 of them projected) that is 9,696 x 10 / 17 = 5,704 bytes. The lean path itself makes
  about 59 passes over such arrays per projected year (demography ~20: births, deaths,
  survivors, migration, arrivals, ageing; participation and uplift ~21; sums for the supply
  ~17), most of them from the L2 cache. The machine's memory bandwidth is measured with a
  512 MB numpy copy (read + write counted), and the fraction of it the lean path's minimum
  traffic reaches is printed, with the op-level traffic for comparison (above 1 means the
  passes are served from cache, as intended);
- with --workers W (2 for the issue's target): W processes, each simulating 1/W of --runs
  (default 1e5) in calls of at most 1e5 runs (params built in the worker, like a sweep shard),
  the wall-clock time and the scaling against one process doing the same runs. With
  --runs 1000000 this times the issue's million-run sweep through the engine (10 projected
  years, two outcomes; goal < 60 s on 2 workers).
The machine is shared: medians of repeats, and treat differences under ~15% as noise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEEP = ("shortage", "labour_force")
END = 2034
STATE_BYTES = 6 * 2 * 101 * 8          # pop, rates, uplift: read + write, per projected run-year
OP_PASSES = 59                          # (2, 101) array passes per projected run-year (see docstring)
CALL = 100_000                          # runs per simulate call in the worker processes

_cache: dict = {}


def setup():
    if not _cache:
        from sim import inputs, scenario

        loaded = scenario.load(ROOT / "scenarios" / "baseline.yaml", (f"years.end={END}",))
        _cache["scenario"] = loaded.scenario
        _cache["inputs"] = inputs.load(loaded.calibration_path)
    return _cache["scenario"], _cache["inputs"]


def design(start: int, n: int) -> dict[str, np.ndarray]:
    """A sweep-like design for runs start..start+n: two levers varied run by run."""
    index = np.arange(start, start + n)
    return {"levers.talent.arrivals": 20_000.0 + (index * 7919 % 1000) * 80.0,
            "uncertainties.gdp_growth.value": 0.005 + (index * 104729 % 1000) * 4e-5}


def batch(n: int, start: int = 0):
    from sim.params import build

    scenario, data = setup()
    return build(scenario, data, runs=n, values=design(start, n))


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def per_year(params) -> int:
    return params.years.size - 1


def lean_rate(n: int, repeats: int, keep=KEEP) -> float:
    from sim.engine import simulate

    params, data = batch(n), setup()[1]
    seconds = timed(lambda: simulate(params, data, keep=keep), repeats)
    return n * per_year(params) / seconds


def loop_rate(n: int = 200, keep=KEEP) -> float:
    from sim.engine import simulate
    from sim.params import take

    params, data = batch(n), setup()[1]
    singles = [take(params, slice(r, r + 1)) for r in range(n)]
    simulate(singles[0], data, keep=keep)   # warm up imports
    start = time.perf_counter()
    for one in singles:
        simulate(one, data, keep=keep)
    return n * per_year(params) / (time.perf_counter() - start)


def bandwidth(megabytes: int = 512, repeats: int = 3) -> float:
    """GB/s of a large numpy copy, read + write counted."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    seconds = timed(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / seconds / 1e9


def _worker(job: tuple[int, int]) -> tuple[float, int]:
    """Simulate runs start..start+n in calls of at most CALL runs; (seconds, peak RSS in KB)."""
    from sim.engine import simulate

    start, n = job
    data = setup()[1]
    t = time.perf_counter()
    for lo in range(start, start + n, CALL):
        simulate(batch(min(CALL, start + n - lo), lo), data, keep=KEEP)
    return time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def workers_rate(runs: int, workers: int) -> tuple[float, list[float], int]:
    """Wall-clock seconds of `workers` processes sharing `runs`, their own seconds, peak RSS (KB)."""
    share = -(-runs // workers)
    jobs = [(w * share, min(share, runs - w * share)) for w in range(workers)]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=setup) as pool:
        pool.map(_worker, [(0, workers)] * workers)     # load and warm up each worker
        start = time.perf_counter()
        out = pool.map(_worker, jobs)
        wall = time.perf_counter() - start
    return wall, [seconds for seconds, _ in out], max(rss for _, rss in out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="also time W worker processes on --runs runs")
    parser.add_argument("--runs", type=int, default=100_000, help="runs for --workers (default 1e5)")
    args = parser.parse_args()
    from sim.engine import LEAN_BLOCK, LEAN_CHUNK, simulate

    setup()
    simulate(batch(10), setup()[1], keep=KEEP)
    rows = []
    lean = {n: lean_rate(n, args.repeats if n < 100_000 else max(1, args.repeats // 2)) for n in (1_000, 10_000, 100_000)}
    lean_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    full = {n: lean_rate(n, args.repeats if n < 10_000 else max(1, args.repeats // 2), keep=None) for n in (1_000, 10_000)}
    loop = loop_rate()
    for n, rate in lean.items():
        rows.append((f"lean, keep {'+'.join(KEEP)}", f"{n:,}", f"{rate:,.0f}"))
    for n, rate in full.items():
        rows.append(("full (keep=None)", f"{n:,}", f"{rate:,.0f}"))
    rows.append(("per-run loop, same keep", "200 x 1", f"{loop:,.0f}"))
    print(f"baseline 2017-{END}, {END - 2017} simulated years a run; chunk {LEAN_CHUNK}, block {LEAN_BLOCK}; "
          f"median of {args.repeats}")
    print(f"{'path':32s} {'runs':>9s} {'run-years/s':>13s}")
    for row in rows:
        print(f"{row[0]:32s} {row[1]:>9s} {row[2]:>13s}")
    print(f"lean / per-run loop at 1e4 runs : {lean[10_000] / loop:6.0f} x   (goal >= 100 x)")
    print(f"lean / full path at 1e4 runs    : {lean[10_000] / full[10_000]:6.1f} x")
    print(f"peak RSS after the lean runs    : {lean_rss:,.0f} MB (1e5 runs' params and results included); "
          f"after the full runs too: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    gbs = bandwidth()
    projected = END - inputs_last_observed()
    per_counted = STATE_BYTES * projected / (END - 2017)
    rate = lean[10_000]
    print(f"memory bandwidth (512 MB copy)  : {gbs:6.1f} GB/s (read + write)")
    print(f"minimum state traffic           : {per_counted:,.0f} B per run-year ({STATE_BYTES:,} B per projected "
          f"run-year) -> limit {gbs * 1e9 / per_counted:,.0f} run-years/s; lean at 1e4 reaches "
          f"{rate * per_counted / 1e9:.2f} GB/s = {rate * per_counted / 1e9 / gbs:.1%} of it")
    print(f"op-level traffic                : {OP_PASSES} passes x 1,616 B per projected run-year = "
          f"{rate * OP_PASSES * 1616 * projected / (END - 2017) / 1e9:.1f} GB/s "
          f"({rate * OP_PASSES * 1616 * projected / (END - 2017) / 1e9 / gbs:.1f} x the DRAM copy: served from cache)")
    if args.workers:
        runs = args.runs
        one_wall, _, _ = workers_rate(runs, 1)
        wall, own, rss = workers_rate(runs, args.workers)
        years = END - 2017
        print(f"{runs:,} runs, 1 worker        : {one_wall:7.2f} s  {runs * years / one_wall:>11,.0f} run-years/s")
        print(f"{runs:,} runs, {args.workers} workers       : {wall:7.2f} s  {runs * years / wall:>11,.0f} run-years/s "
              f"(workers {', '.join(f'{s:.2f}' for s in own)} s; scaling {one_wall / wall:.2f} x; "
              f"peak RSS a worker {rss / 1024:,.0f} MB)")


def inputs_last_observed() -> int:
    return setup()[1].last_observed


if __name__ == "__main__":
    main()
