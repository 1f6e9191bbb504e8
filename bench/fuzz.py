"""A long fuzz campaign (issue 9): the generators and the property of tests/test_fuzz.py, with
other seeds and as many examples as asked.

    python bench/fuzz.py --examples 5000 [--seed S] [--kinds scenario,set,document,calibration,sweep]

Prints the inputs tried, the runs that exited 0 with finite, possible outputs, the clean refusals
(exit 2, one `error:` line) and the failures grouped by cause; every failing input is saved as a
reproducer (its files, the command, what went wrong) under the folder it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import test_fuzz as fuzz  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

WEIGHTS = {"scenario": 0.30, "set": 0.23, "document": 0.13, "calibration": 0.25, "sweep": 0.03, "out": 0.03,
           "paths": 0.03}
KEEP_PER_CAUSE = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs to try in all (default 2000)")
    parser.add_argument("--seed", type=int, default=None, help="campaign seed (default: from the clock; printed)")
    parser.add_argument("--kinds", default=",".join(WEIGHTS), help="generators to use, comma-separated")
    parser.add_argument("--out", type=Path, default=None, help="folder for reproducers (default /tmp/simulate-fuzz-SEED)")
    parser.add_argument("--timeout", type=float, default=fuzz.TIMEOUT, help="seconds an input may take")
    args = parser.parse_args(argv)
    campaign = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in fuzz.GENERATORS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; expected some of {', '.join(fuzz.GENERATORS)}")
    fuzz.TIMEOUT = args.timeout
    folder = args.out or Path(f"/tmp/simulate-fuzz-{campaign}")
    folder.mkdir(parents=True, exist_ok=True)
    total = sum(WEIGHTS[k] for k in kinds)
    share = {k: max(1, round(args.examples * WEIGHTS[k] / total)) for k in kinds}
    print(f"fuzz campaign: seed {campaign}, {sum(share.values())} inputs ({', '.join(f'{k} {n}' for k, n in share.items())}); "
          f"reproducers in {folder}/", flush=True)

    ws = fuzz.Workspace(Path(os.environ.get("TMPDIR", "/tmp")) / f"simulate-fuzz-work-{campaign}")
    counts: Counter = Counter()
    by_kind: dict[str, Counter] = defaultdict(Counter)
    causes: dict[str, list[str]] = defaultdict(list)
    cause_count: Counter = Counter()
    warned: Counter = Counter()
    no_line: Counter = Counter()
    slowest: list[tuple[float, str]] = []
    started = time.perf_counter()

    def record(kind: str, case: fuzz.Case) -> None:
        verdict, root = fuzz.run_case(case, ws, keep=True)
        o = verdict.outcome
        counts["tried"] += 1
        by_kind[kind][verdict.status] += 1
        counts[verdict.status] += 1
        if o is not None:
            by_kind[kind]["seconds"] += o.seconds
            slowest.append((o.seconds, case.shell()[:160]))
            slowest.sort(reverse=True)
            del slowest[5:]
            if verdict.status == "exit0" and o.warnings:
                for w in set(o.warnings):
                    warned[w[:100]] += 1
        if verdict.status == "exit2":
            line = verdict.detail
            if re.search(r"\.(yaml|csv):\d+", line):
                counts["exit2 with line"] += 1
            elif re.search(r"\.(yaml|csv)\b", line):
                no_line[re.sub(r"\d+", "N", re.sub(r"^error: \S*/", "error: ", line))[:110]] += 1
        if verdict.status == "fail":
            cause_count[verdict.cause] += 1
            if len(causes[verdict.cause]) < KEEP_PER_CAUSE:
                saved = save(folder, verdict, case, root, counts["fail"])
                causes[verdict.cause].append(str(saved))
        shutil.rmtree(root, ignore_errors=True)
        if counts["tried"] % 100 == 0:
            print(f"  {counts['tried']} inputs, {counts['exit0']} exit 0 ok, {counts['exit2']} exit 2 ok, "
                  f"{counts['fail']} failures, {time.perf_counter() - started:,.0f} s", flush=True)

    for k, kind in enumerate(kinds):
        campaign_of(kind, k, campaign, share[kind], record)()
    ws.cleanup()

    seconds = time.perf_counter() - started
    print(f"\nfuzz campaign seed {campaign}: {counts['tried']} inputs in {seconds:,.0f} s")
    print(f"  exit 0, outputs finite and possible: {counts['exit0']}")
    print(f"  exit 2, one clean error line:        {counts['exit2']}")
    print(f"  failures:                            {counts['fail']}")
    print(f"  (exit 2 lines citing file:line: {counts['exit2 with line']}; naming a file without a line: "
          f"{sum(no_line.values())})")
    for kind, c in by_kind.items():
        n = c["exit0"] + c["exit2"] + c["fail"]
        print(f"    {kind:12s} {n:6d} tried: {c['exit0']} exit 0, {c['exit2']} exit 2, {c['fail']} failures "
              f"({c['seconds'] / max(n, 1):.3f} s an input in the command)")
    if cause_count:
        print("failures by cause (reproducers: the first few of each):")
        for cause, n in cause_count.most_common():
            print(f"  {n:5d}  {cause}")
            for path in causes[cause]:
                print(f"           {path}")
    if no_line:
        print("commonest exit 2 lines naming a file but no line (fine for whole-file problems):")
        for text, n in no_line.most_common(8):
            print(f"  {n:5d}  {text}")
    if warned:
        print("warnings during runs that exited 0 (not failures; stderr lines in a shell):")
        for w, n in warned.most_common(10):
            print(f"  {n:5d}  {w}")
    print("slowest inputs: " + "; ".join(f"{s:.1f} s {cmd}" for s, cmd in slowest[:3]))
    summary = {"seed": campaign, "tried": counts["tried"], "exit0": counts["exit0"], "exit2": counts["exit2"],
               "failures": counts["fail"], "causes": dict(cause_count), "seconds": round(seconds, 1)}
    (folder / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"summary: {folder / 'summary.json'}")
    return 1 if counts["fail"] else 0


def campaign_of(kind: str, k: int, campaign: int, n: int, record):
    """The Hypothesis test that feeds n inputs of one generator to `record` (never failing itself)."""

    @seed(campaign * 31 + k)
    @settings(max_examples=n, deadline=None, database=None, derandomize=False, print_blob=False,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(case=fuzz.GENERATORS[kind]())
    def one(case):
        record(kind, case)

    return one


def save(folder: Path, verdict, case, root: Path, number: int) -> Path:
    """Copy the failing example's folder (its inputs, and its outputs if any) with the command and
    what went wrong; `cd` into it and run `sh command.sh` to reproduce."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", verdict.cause)[:60].strip("-") or "failure"
    target = folder / f"{number:05d}-{slug}"
    shutil.copytree(root, target, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(target / "template", ignore_errors=True)
    (target / "command.sh").write_text(case.shell() + "\n")
    o = verdict.outcome
    (target / "failure.txt").write_text(
        f"{verdict.detail}\n\ncause: {verdict.cause}\nexit: {o.code if o else None}\n"
        f"stderr:\n{(o.stderr if o else '')[-4000:]}\nstdout:\n{(o.stdout if o else '')[-2000:]}\n\n"
        f"input:\n{case.describe()}\n")
    return target


if __name__ == "__main__":
    sys.exit(main())
