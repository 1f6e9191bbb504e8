"""Benchmark (prints, asserts nothing): what the report adds to a run (issue 10).

Run: python bench/report.py [--repeats N]

For a run of the baseline (with 200 draws, so the fans are drawn too), a comparison of three
shipped scenarios and a small sweep, prints the median over repeats of, in this process:
- report only: sim.report.write(folder, out, charts=False): reading the folder's tables and
  writing report.md and report.html (the page, without charts);
- charts and report: sim.report.write(folder, out, charts=True): the same plus every chart as
  PNG (200 dpi) and SVG, embedded in report.html;
and, as fresh `simulate run` processes, the wall time of the whole run with --no-charts and with
charts, so the report's share of a planner's run can be read beside it (goal: the report adds
under 1 s). The machine is shared: medians of repeats, differences under ~15% are noise.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SWEEP = """\
name: bench
scenario: {base}
set: {{years.end: 2035}}
design: saltelli
samples: 64
seed: 3
vary:
  levers.talent.arrivals: {{range: [40000, 100000]}}
  levers.retraining.places: {{range: [130000, 200000]}}
outcomes:
  - shortage[2028]
  - labour_force[2035]
frontier: {{years: [2028]}}
"""


def simulate(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def timed(folder: Path, charts: bool, repeats: int) -> float:
    from sim import report

    times = []
    for _ in range(repeats):
        out = Path(tempfile.mkdtemp())
        started = time.perf_counter()
        report.write(folder, out, charts=charts)
        times.append(time.perf_counter() - started)
        shutil.rmtree(out)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    base = ROOT / "scenarios" / "baseline.yaml"
    folders = {"run (200 draws)": work / "run", "compare (3 scenarios)": work / "compare", "sweep (256 runs)": work / "sweep"}
    simulate("run", str(base), "--out", str(folders["run (200 draws)"]), "--draws", "200")
    simulate("compare", str(base), str(ROOT / "scenarios" / "talent_plus.yaml"), str(ROOT / "scenarios" / "combined.yaml"),
             "--out", str(folders["compare (3 scenarios)"]))
    (work / "sweep.yaml").write_text(SWEEP.format(base=base))
    simulate("sweep", str(work / "sweep.yaml"), "--out", str(folders["sweep (256 runs)"]))
    timed(folders["run (200 draws)"], True, 1)  # warm: imports matplotlib once
    print(f"median of {args.repeats} repeats, seconds")
    print(f"{'result':24s} {'report only':>12s} {'charts + report':>16s} {'charts drawn':>13s} {'report.html':>12s}")
    for name, folder in folders.items():
        alone, full = timed(folder, False, args.repeats), timed(folder, True, args.repeats)
        drawn = len(list(folder.glob("*.png")))
        size = (folder / "report.html").stat().st_size
        print(f"{name:24s} {alone:12.3f} {full:16.3f} {drawn:13d} {size / 1e6:10.2f} MB")
    plain = statistics.median(simulate("run", str(base), "--out", str(work / "p"), "--no-charts")
                              for _ in range(args.repeats))
    charted = statistics.median(simulate("run", str(base), "--out", str(work / "c")) for _ in range(args.repeats))
    print(f"simulate run baseline, fresh process: --no-charts {plain:.2f} s (tables, report.md, report.html); "
          f"with charts {charted:.2f} s (+{charted - plain:.2f} s for 5 charts, PNG + SVG)")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
