"""Fuzz suite (issue 9, item 5): nothing lost, nothing silently wrong, for any input.

Property, for every generated input: the command (run in-process through click's CliRunner)
either exits 0 and every CSV it wrote is finite and physically possible, or exits 2 with exactly
one stderr line starting `error: ` that names the file (or `--set`) at fault and writes nothing;
never another exit status, an exception or a traceback, and within TIMEOUT seconds.

Generators (Hypothesis strategies producing a `Case`: files under a fresh copy of scenarios/ and
calibration/, and a command line):

1. mutations of every shipped scenario and sweep file: a value of another type, huge, tiny,
   negative, NaN, inf, a string, list, mapping, date or bool; a deleted, unknown or duplicated
   key; dated values {year: value} inside and outside the horizon; YAML tags (`!!int abc`,
   `!!float ''`, `!!bool maybe`), impossible dates (`2025-02-30`), integers of 5,000 digits;
2. random YAML documents and raw bytes (invalid UTF-8, NUL, BOMs, huge lines, deep nesting);
3. `--set KEY=VALUE` with key paths from sim/variables.py (and broken ones) and odd values
   (`²`, `1e308`, `-1e308`, `nan`, `.inf`, ...);
4. mutations of calibration/hk.yaml and of every CSV under calibration/data/.

The suite is derandomized (the same examples on every run). `python bench/fuzz.py --examples N
--seed S` runs a longer campaign with the same generators and other seeds, and saves each failing
input as a reproducer.
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cli  # noqa: E402
from sim.variables import VARIABLES  # noqa: E402

TIMEOUT = 20.0
"""Seconds an example may take (validate and run with a short horizon take well under 1 s)."""

END = 2031
"""Horizon of the runs under test (`--set years.end=2031`): short, and past every dated value of the
shipped scenarios (the baseline's GDP path has a date in 2031)."""

DEMAND_BASE_YEAR = 2023
"""calibration/hk.yaml's demand_base_year: requirement and shortage are empty before it."""

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
CALIBRATION = ROOT / "calibration" / "hk.yaml"
DATA = sorted((ROOT / "calibration" / "data").glob("*.csv"))


# --------------------------------------------------------------------------------------------
# Workspace: a pristine copy of the inputs; each example runs in a fresh copy of it.
# --------------------------------------------------------------------------------------------

class Workspace:
    """A temporary folder holding `template/` (scenarios/ and calibration/ as shipped) and one
    folder per example (a copy of the template with the example's files written over it)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="simulate-fuzz-"))
        self.template = self.root / "template"
        self.count = 0
        if not self.template.exists():
            (self.template / "scenarios" / "sweeps").mkdir(parents=True)
            (self.template / "calibration" / "data").mkdir(parents=True)
            for path in SCENARIOS + SWEEPS + [CALIBRATION] + DATA:
                shutil.copy2(path, self.template / path.relative_to(ROOT))

    def fresh(self) -> Path:
        self.count += 1
        folder = self.root / f"case{self.count}"
        shutil.copytree(self.template, folder, symlinks=True)
        return folder

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


_WORKSPACE: Workspace | None = None


def workspace() -> Workspace:
    global _WORKSPACE
    if _WORKSPACE is None:
        _WORKSPACE = Workspace()
        atexit.register(_WORKSPACE.cleanup)
    return _WORKSPACE


# --------------------------------------------------------------------------------------------
# A case (one generated input), running it, and the property
# --------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One generated input: `files` (path under the example folder -> bytes) written over the
    template, and the command line (`{root}` is the example folder, `{out}` a fresh output folder).
    `names`: what an error line may name (file names, `--set`)."""

    kind: str
    files: dict[str, bytes]
    argv: list[str]
    names: tuple[str, ...]
    note: str = ""
    links: dict[str, str] = field(default_factory=dict)     # symlink path -> its target
    fifos: tuple[str, ...] = ()                              # named pipes to create
    before: list[list[str]] = field(default_factory=list)    # commands run first (e.g. an earlier run)
    keep: dict[str, bytes] = field(default_factory=dict)     # the user's files, written after `before`:
    #                                                          each must be there, unchanged, afterwards

    def command(self, root: Path, out: Path) -> list[str]:
        return [a.replace("{root}", str(root)).replace("{out}", str(out)) for a in self.argv]

    def shell(self) -> str:
        """The command line as a user would type it in the example folder."""
        import shlex

        return "simulate " + " ".join(shlex.quote(a.replace("{root}/", "").replace("{out}", "out")) for a in self.argv)

    def describe(self) -> str:
        shown = {}
        for name, data in {**self.files, **self.keep}.items():
            shown[name] = data[:600].decode("utf-8", "backslashreplace") + (f"... ({len(data)} bytes)" if len(data) > 600 else "")
        text = f"[{self.kind}] {self.shell()}"
        for argv in self.before:
            text += f"\n  after: simulate {' '.join(a.replace('{root}/', '').replace('{out}', 'out') for a in argv)}"
        if self.links or self.fifos or self.keep:
            text += f"\n  symlinks: {self.links}; fifos: {list(self.fifos)}; user files: {sorted(self.keep)}"
        if self.note:
            text += f"\n  mutation: {self.note[:400]}"
        for name, body in shown.items():
            text += f"\n  --- {name} ---\n" + "\n".join("  " + line for line in body.splitlines()[:40])
        return text


class FuzzTimeout(BaseException):
    """Raised by the alarm when an example takes longer than TIMEOUT (a BaseException, so the code
    under test cannot swallow it as an ordinary error)."""


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    error: str | None          # traceback of an unexpected exception, or "timeout"
    seconds: float
    warnings: list[str] = field(default_factory=list)


def invoke(argv: list[str], timeout: float = TIMEOUT) -> Outcome:
    """Run `simulate argv` in-process (click's CliRunner, stdout and stderr apart)."""
    from click.testing import CliRunner

    runner = CliRunner()

    def alarm(signum, frame):
        raise FuzzTimeout()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.perf_counter()
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = runner.invoke(cli.main, argv, catch_exceptions=True)
            caught = [f"{w.category.__name__}: {w.message}" for w in seen]
    except FuzzTimeout:
        return Outcome(None, "", "", f"timeout: no result after {timeout:g} s", time.perf_counter() - started)
    except RecursionError:
        return Outcome(None, "", "", "RecursionError (escaped the runner)\n" + traceback.format_exc(),
                       time.perf_counter() - started)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - started
    error = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        if isinstance(result.exception, FuzzTimeout):
            error = f"timeout: no result after {timeout:g} s"
        else:
            error = "".join(traceback.format_exception(*result.exc_info))
    return Outcome(result.exit_code, result.stdout, result.stderr, error, seconds, caught)


@dataclass
class Verdict:
    status: str      # "exit0", "exit2" or "fail"
    detail: str = ""
    outcome: Outcome | None = None
    cause: str = ""  # a short key grouping failures by cause


def run_case(case: Case, ws: Workspace | None = None, keep: bool = False) -> tuple[Verdict, Path]:
    """Write the case into a fresh example folder, run it, check the property. The folder is
    removed unless `keep` (the caller then owns it)."""
    ws = ws or workspace()
    root = ws.fresh()
    for name, data in case.files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for name, to in case.links.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(to.replace("{root}", str(root)), root / name)
    for name in case.fifos:
        os.mkfifo(root / name)
    out = root / "out"
    for argv in case.before:
        invoke(case.command(root, out) if argv is None else Case("", {}, argv, ()).command(root, out))
    for name, data in case.keep.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    outcome = invoke(case.command(root, out))
    try:
        verdict = judge(case, outcome, root, out)
        lost = [name for name, data in case.keep.items()
                if not (root / name).is_file() or (root / name).read_bytes() != data]
        if lost and verdict.status != "fail":
            verdict = Verdict("fail", f"exit {outcome.code} and the user's files {lost} are gone or changed "
                              f"(stderr: {outcome.stderr.strip()[:300]})", cause="user file lost")
    except Exception:  # a checker bug must not look like a pass
        verdict = Verdict("fail", "checker crashed:\n" + traceback.format_exc(), outcome, "checker")
    verdict.outcome = outcome
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return verdict, root


def _last_lines(text: str, n: int = 4) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def judge(case: Case, o: Outcome, root: Path, out: Path) -> Verdict:
    if o.error is not None:
        if o.error.startswith("timeout"):
            return Verdict("fail", o.error, cause="timeout")
        last = o.error.strip().splitlines()[-1]
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', o.error)
        ours = [f for f in frames if str(ROOT) in f[0] and "site-packages" not in f[0] and "/tests/" not in f[0]]
        site = ours[-1] if ours else frames[-1] if frames else ("?", "?", "?")
        where = f"{Path(site[0]).name}:{site[1]} {site[2]}"
        return Verdict("fail", f"exception (exit {o.code}) raised through {where}:\n{_last_lines(o.error, 6)}",
                       cause=f"traceback: {last.split(':')[0]} through {Path(site[0]).name} {site[2]}")
    if o.seconds > TIMEOUT:
        return Verdict("fail", f"took {o.seconds:.1f} s (> {TIMEOUT:g} s)", cause="slow")
    if o.code == 2:
        lines = o.stderr.rstrip("\n").split("\n") if o.stderr.strip() else []
        if len(lines) != 1:
            return Verdict("fail", f"exit 2 with {len(lines)} stderr lines:\n{o.stderr[:2000]}", cause="exit 2: not one line")
        line = lines[0]
        if not line.startswith("error: "):
            return Verdict("fail", f"exit 2 but the line does not start with 'error: ': {line[:300]}",
                           cause="exit 2: no 'error: '")
        if "Traceback" in o.stderr or "Traceback" in o.stdout:
            return Verdict("fail", f"traceback printed: {o.stderr[:2000]}", cause="exit 2: traceback")
        if not any(name in line for name in case.names):
            return Verdict("fail", f"error line names none of {case.names}: {line[:400]}", cause="exit 2: names no file")
        if len(line) > 1500:
            return Verdict("fail", f"error line of {len(line)} characters: {line[:300]}...", cause="exit 2: line too long")
        if not case.before and not case.keep and out.is_dir() and not out.is_symlink() and any(out.iterdir()):
            return Verdict("fail", f"exit 2 but wrote {sorted(p.name for p in out.iterdir())}", cause="exit 2: wrote output")
        if o.warnings:
            return Verdict("fail", f"exit 2 with warnings (more stderr lines in a shell): {o.warnings[:3]}",
                           cause=f"exit 2: warning {o.warnings[0][:60]}")
        return Verdict("exit2", line)
    if o.code != 0:
        return Verdict("fail", f"exit {o.code}; stderr: {o.stderr[-1000:]}", cause=f"exit {o.code}")
    problems = []
    if re.search(r":\s*[-+]?(nan|inf)\b", o.stdout, re.IGNORECASE):
        problems.append(f"stdout shows a non-finite number: {o.stdout.strip()[:500]}")
    if case.argv[0] in ("run", "sweep", "compare") and "{out}" in case.argv:
        if not out.is_dir():
            problems.append("exit 0 but no output folder")
        else:
            problems += check_outputs(out, demand_base_year(root, case))
    if problems:
        return Verdict("fail", "exit 0 with bad output:\n  " + "\n  ".join(problems[:12]),
                       cause="exit 0: " + _problem_kind(problems[0]))
    return Verdict("exit0")


def _problem_kind(problem: str) -> str:
    """A problem without its line, values and years (to group failures by cause)."""
    kind = re.sub(r":\d+:", ":", problem)
    kind = re.sub(r"(=|: )('[^']*'|\S+)(?= in |$)", "", kind)
    kind = re.sub(r"[-+]?\d[\d.,e+-]*", "N", kind)
    return kind[:120]


def demand_base_year(root: Path, case: Case) -> int | None:
    """The demand base year of the calibration the case uses (None if its file cannot be read)."""
    text = case.files.get("calibration/hk.yaml")
    if text is None:
        return DEMAND_BASE_YEAR
    try:
        value = yaml.safe_load(text).get("demand_base_year")
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    except Exception:
        return None


# --------------------------------------------------------------------------------------------
# Output checks: finite, physically possible, empty only where documented
# --------------------------------------------------------------------------------------------

YEARLY_FLOWS = {"talent_arrivals", "talent_extensions", "talent_departures", "naturalisations", "retraining_placements",
                "births", "deaths", "resident_net_migration", "retraining_places", "cost"}
SIGNED = {"shortage", "resident_net_migration", "cost"}
DEMAND = {"requirement", "shortage"}
TOL = 0.5  # persons (CSV values are rounded to 0.1 and summed)
MAX_PERSONS = 1e9
"""More persons than this in any stock or yearly flow is impossible for Hong Kong (7.5M people;
every lever is capped at 1,000,000 a year)."""


def _float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def check_outputs(out: Path, base_year: int | None) -> list[str]:
    problems: list[str] = []
    for path in sorted(out.glob("*.csv")):  # simulate writes flat folders; a user's subfolder is not its output
        try:
            header, rows = _rows(path)
        except (UnicodeDecodeError, csv.Error) as exc:
            problems.append(f"{path.name}: unreadable ({exc})")
            continue
        # every number finite, whatever the file
        for i, row in enumerate(rows, start=2):
            for column, cell in row.items():
                if cell is None or column is None:
                    problems.append(f"{path.name}:{i}: ragged row")
                    break
                value = _float(cell)
                if value is not None and not math.isfinite(value):
                    problems.append(f"{path.name}:{i}: non-finite {column}={cell!r} in {row.get('year')}")
        check = CHECKS.get(path.name)
        if check is not None:
            problems += check(path.name, header, rows, base_year)
    return problems


def _years(rows: list[dict[str, str]]) -> list[int]:
    return sorted({int(r["year"]) for r in rows if r.get("year", "").lstrip("-").isdigit()})


def _demand_ok(year: int, first: int, base_year: int | None, column: str) -> bool:
    """Whether a demand cell (requirement, shortage, openings) may be empty in `year`."""
    if base_year is None:
        return True  # unknown calibration: checked as a prefix elsewhere
    if column == "openings":
        return year <= max(base_year, first)
    return year < base_year


def _check_yearly(name, header, rows, base_year):
    problems = []
    years = _years(rows)
    first = years[0] if years else 0
    for i, r in enumerate(rows, start=2):
        year = int(r["year"])
        v = {}
        for column in header[1:]:
            cell = r[column]
            if cell == "":
                if column in YEARLY_FLOWS and year == first:
                    continue
                if column in DEMAND and _demand_ok(year, first, base_year, column):
                    continue
                problems.append(f"{name}:{i}: empty {column} in {year}")
                continue
            x = _float(cell)
            if x is None:
                problems.append(f"{name}:{i}: {column}={cell!r} is not a number")
                continue
            v[column] = x
            if column not in SIGNED and x < -TOL:
                problems.append(f"{name}:{i}: negative {column}={cell} in {year}")
            if column not in ("cost", "participation_rate") and abs(x) > MAX_PERSONS:
                problems.append(f"{name}:{i}: impossible {column}={cell} in {year}")
        rate = v.get("participation_rate")
        if rate is not None and not -1e-9 <= rate <= 1 + 1e-6:
            problems.append(f"{name}:{i}: participation_rate={rate} outside [0, 1] in {year}")
        lf = v.get("labour_force")
        for bigger in ("population", "population_15plus"):
            if lf is not None and bigger in v and lf > v[bigger] + TOL:
                problems.append(f"{name}:{i}: labour_force {lf} above {bigger} {v[bigger]} in {year}")
        for part in ("labour_force_female", "labour_force_60plus", "resident_labour_force", "talent_labour_force"):
            if lf is not None and part in v and v[part] > lf + TOL:
                problems.append(f"{name}:{i}: {part} {v[part]} above labour_force {lf} in {year}")
        if "population_15plus" in v and "population" in v and v["population_15plus"] > v["population"] + TOL:
            problems.append(f"{name}:{i}: population_15plus above population in {year}")
    if base_year is None:
        problems += _prefix(name, rows, "requirement")
    return problems


def _prefix(name, rows, column):
    """Empty demand cells must be the first years only (the calibration's base year unknown)."""
    seen = False
    for i, r in enumerate(rows, start=2):
        if r.get(column, "") != "":
            seen = True
        elif seen:
            return [f"{name}:{i}: empty {column} in {r.get('year')} after a filled year"]
    return []


def _check_occupations(name, header, rows, base_year):
    problems = []
    years = _years(rows)
    first = years[0] if years else 0
    for i, r in enumerate(rows, start=2):
        year = int(r["year"])
        for column in ("supply", "requirement", "shortage", "openings"):
            cell = r.get(column, "")
            if cell == "":
                if column != "supply" and _demand_ok(year, first, base_year, column):
                    continue
                problems.append(f"{name}:{i}: empty {column} of {r.get('occupation')} in {year}")
                continue
            x = _float(cell)
            if x is None:
                problems.append(f"{name}:{i}: {column}={cell!r} is not a number")
            elif column in ("supply", "requirement") and x < -TOL:
                problems.append(f"{name}:{i}: negative {column} of {r.get('occupation')}={cell} in {year}")
            elif abs(x) > MAX_PERSONS:
                problems.append(f"{name}:{i}: impossible {column} of {r.get('occupation')}={cell} in {year}")
    return problems


def _check_ledger(name, header, rows, base_year):
    problems = []
    groups: dict[tuple[str, str], list[tuple[str, float, int]]] = {}
    for i, r in enumerate(rows, start=2):
        x = _float(r.get("value", ""))
        if x is None:
            problems.append(f"{name}:{i}: value {r.get('value')!r} of {r.get('stock')}/{r.get('item')} in {r.get('year')}")
            continue
        groups.setdefault((r["year"], r["stock"]), []).append((r["item"], x, i))
        if r["item"] in ("opening", "closing") and x < -TOL:
            problems.append(f"{name}:{i}: negative stock {r['stock']} {r['item']}={r['value']} in {r['year']}")
        if abs(x) > MAX_PERSONS:
            problems.append(f"{name}:{i}: impossible {r['stock']} {r['item']}={r['value']} in {r['year']}")
    for (year, stock), items in groups.items():
        values = dict((item, x) for item, x, _ in items)
        if "opening" in values and "closing" in values:
            flows = sum(x for item, x, _ in items if item not in ("opening", "closing"))
            gap = values["opening"] + flows - values["closing"]
            scale = max(abs(x) for _, x, _ in items)
            if abs(gap) > 0.01 * len(items) + 1e-9 * scale:
                problems.append(f"{name}: {stock} {year}: opening + flows - closing = {gap:.3f} (not 0)")
    return problems


def _check_kpis(name, header, rows, base_year):
    problems = []
    for i, r in enumerate(rows, start=2):
        if r.get("value", "") == "" and not (base_year is None or int(r["year"]) < base_year):
            problems.append(f"{name}:{i}: empty value of {r.get('kpi')} in {r.get('year')}")
        p = r.get("probability")
        if p not in (None, ""):
            x = _float(p)
            if x is None or not 0 <= x <= 1:
                problems.append(f"{name}:{i}: probability {p!r}")
    return problems


def _check_bands(name, header, rows, base_year):
    problems = []
    for i, r in enumerate(rows, start=2):
        metric, year = r["metric"], int(r["year"])
        cells = [r[c] for c in ("central", "p05", "p25", "p50", "p75", "p95")]
        if "" in cells:
            demand = metric == "requirement" or metric.startswith("shortage")
            if not (demand and (base_year is None or year < base_year) and set(cells) == {""}):
                problems.append(f"{name}:{i}: empty cells of {metric} in {year}")
            continue
        xs = [_float(c) for c in cells]
        if None in xs:
            problems.append(f"{name}:{i}: not numbers: {cells}")
            continue
        q = xs[1:]
        if any(b < a - max(TOL, 1e-9 * abs(a)) for a, b in zip(q, q[1:])):
            problems.append(f"{name}:{i}: percentiles of {metric} in {year} not in order: {cells}")
        if not metric.startswith("shortage") and min(xs) < -TOL:
            problems.append(f"{name}:{i}: negative {metric} in {year}: {cells}")
    return problems


def _check_sweep_results(name, header, rows, base_year):
    problems = []
    for i, r in enumerate(rows, start=2):
        for column, cell in r.items():
            if cell == "":
                problems.append(f"{name}:{i}: empty {column}")
            elif column.startswith(("labour_force", "requirement", "population")):
                x = _float(cell)
                if x is not None and x < -TOL:
                    problems.append(f"{name}:{i}: negative {column}={cell}")
    return problems


def _check_frontier(name, header, rows, base_year):
    problems = []
    for i, r in enumerate(rows, start=2):
        if r.get("runs_meeting") not in ("0", "") and "" in r.values():
            problems.append(f"{name}:{i}: empty cells in a row with runs meeting it: {r}")
    return problems


def _check_no_empty(name, header, rows, base_year):
    for i, r in enumerate(rows, start=2):
        empty = [c for c, cell in r.items() if cell == ""]
        if empty:
            return [f"{name}:{i}: empty {', '.join(empty)} ({next(iter(r.values()))})"]
    return []


def _check_targets(name, header, rows, base_year):
    problems = _check_no_empty(name, header, rows, base_year)
    for i, r in enumerate(rows, start=2):
        x = _float(r.get("share_met", "0"))
        if x is None or not 0 <= x <= 1:
            problems.append(f"{name}:{i}: share_met {r.get('share_met')!r}")
    return problems


CHECKS = {"yearly.csv": _check_yearly, "occupations.csv": _check_occupations, "ledger.csv": _check_ledger,
          "kpis.csv": _check_kpis, "bands.csv": _check_bands, "results.csv": _check_sweep_results,
          "frontier.csv": _check_frontier, "outcomes.csv": _check_no_empty, "sensitivity.csv": _check_no_empty,
          "targets.csv": _check_targets, "columns.csv": _check_no_empty}


# --------------------------------------------------------------------------------------------
# Values: YAML text of odd scalars and collections
# --------------------------------------------------------------------------------------------

HUGE_INT = "9" * 5000
SPECIAL = [
    # tags and implicit types the parser cannot build, or builds as something else
    "!!int abc", "!!float ''", "!!bool maybe", "!!int ''", "!!float abc", "!!str 5", "!!null x", "!!binary aGk=",
    "!!timestamp 2025-13-45", "!!set {a, b}", "!!omap [{a: 1}]", "!!pairs [[a, 1]]", "!!map [1]", "!!seq {a: 1}",
    "!!python/object/apply:os.getcwd []", "!!python/name:os.getcwd", "!local x", "!<tag:example.com,2000:x> 1",
    "2025-02-30", "2025-01-01", "2025-12-31T23:59:59Z", "2025-01-01 12:00:00", "1:30", "1:30:00", "190:20:30",
    # numbers at and past every limit
    ".inf", "-.inf", "+.inf", ".nan", ".NaN", ".NAN", "nan", "inf", "-inf", "NaN", "Infinity",
    "1e308", "-1e308", "1.0e+308", "-1.0e+308", "1e309", "1.7976931348623157e308", "1e-320", "5e-324", "-5e-324",
    "1e-9", "1e-300", "-0.0", "0", "-0", "+0", "-1", "-1.5", "0.5", "1", "2", "7", "10", "100", "1e5", "1E5", "1.e5",
    "1e6", "1000001", "1_000", "1_000_000", "0x1F", "0o17", "0b101", "010", "08", "+1", "1.", ".5", "-.5", "1e",
    "12e", "1e+", HUGE_INT, "-" + HUGE_INT, "0." + "0" * 5000 + "1", "1" + "0" * 400 + ".0", "1e4300", "4" * 4301,
    str(2**63), str(2**63 - 1), str(-2**63), str(2**64),
    # not numbers at all
    "yes", "no", "on", "off", "y", "n", "true", "false", "True", "FALSE", "null", "~", "Null", "''", '""', '" "',
    "'1.5'", '"71000"', "'1e5'", "abc", "²", "'²'", "١٢٣", "５", "1٫5", "½", "Ⅻ", "𝟏", "-", "?", "''''",
    '"\\0"', '"\\x00"', '"\\uD800"', '"\\u202e1"', '"a\\nb"', "'" + "x" * 5000 + "'", "x" * 100_000,
    "[]", "{}", "[1, 2]", "[[1]]", "{a: 1}", "{2025: 1}", "{2017: 1}", "{2200: 1}", "{-1: 1}", "{2025.5: 1}",
    "{'2026': 1}", "{2026: }", "{2026: .nan}", "{2026: 1e308}", "{null: 1}", "{[2026]: 1}", "{2026: [1]}",
    "[" * 40 + "]" * 40, "{a: " * 40 + "1" + "}" * 40, "&anchor 5", "*undefined", "[&a 1, *a]", "|\n  block",
    ">\n  folded", "- 1", "a: b", "#comment", "'unterminated", "[1, 2", "{a: 1", "@reserved", "`reserved", "%TAG",
]
YEARS = [1900, 1989, 2016, 2017, 2018, 2023, 2024, 2025, 2026, 2028, 2030, 2031, 2032, 2035, 2046, 2047, 2100, 2200,
         2201, 0, -2025, 10**20]


def yaml_float(x: float) -> str:
    if math.isnan(x):
        return ".nan"
    if math.isinf(x):
        return ".inf" if x > 0 else "-.inf"
    return repr(x)


def in_bounds(lo: float, hi: float, integer: bool = False) -> st.SearchStrategy[str]:
    """Numbers at, near and between the bounds of a variable, as YAML text."""
    span = hi - lo
    edges = [lo, hi, lo + span * 1e-9, hi - span * 1e-9, (lo + hi) / 2, lo - 1, hi + 1, lo - span * 1e-9,
             hi + span * 1e-9, 0.0, hi * 10]
    inside = st.floats(min_value=lo, max_value=hi, allow_nan=False)
    if integer:
        return st.one_of(st.integers(int(lo) - 1, int(hi) + 1).map(str), st.sampled_from(edges).map(yaml_float))
    return st.one_of(st.sampled_from(edges).map(yaml_float), inside.map(yaml_float),
                     inside.map(lambda x: str(int(x)) if abs(x) >= 1 else yaml_float(x)))


def dated(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A dated value {year: value, ...} as YAML flow text, years inside and outside the horizon."""
    year = st.one_of(st.sampled_from(YEARS).map(str), st.integers(2020, 2050).map(str),
                     st.sampled_from(["'2026'", "2026.0", "2026.5", "2e3", "x", "''", "true", "~"]))
    pair = st.tuples(year, values).map(lambda p: f"{p[0]}: {p[1]}")
    return st.lists(pair, min_size=0, max_size=4).map(lambda ps: "{" + ", ".join(ps) + "}")


@st.composite
def any_value(draw, variable=None) -> str:
    """YAML text for a value: special scalars, any float or integer, strings, collections, dated
    values, or numbers in and around `variable`'s bounds (so valid runs are exercised too)."""
    lo, hi, integer = (variable.lo, variable.hi, variable.integer) if variable is not None else (0.0, 1e6, False)
    plain = st.one_of(
        in_bounds(lo, hi, integer),
        st.floats().map(yaml_float),
        st.integers(-10**25, 10**25).map(str),
        st.sampled_from(SPECIAL),
    )
    if draw(st.integers(0, 9)) < 4:  # plausible: in or at the bounds, maybe dated (runs get exercised)
        return draw(st.one_of(in_bounds(lo, hi, integer), dated(in_bounds(lo, hi, integer))))
    options = st.one_of(
        plain,
        dated(plain),
        st.text(max_size=12).map(lambda s: json.dumps(s)),
        st.lists(plain, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    )
    return draw(options)


UNCERTAINTY_FIELDS = tuple(f"uncertainties.{u}.{f}" for u in ("gdp_growth", "resident_net_migration", "one_way_permits",
                                                                "participation_trend", "mortality_scale", "fertility",
                                                                "talent_arrivals", "occupation_shares")
                           for f in ("sd", "dist", "low", "high", "persistence"))


def vary_value(var) -> st.SearchStrategy[str]:
    """What a sweep file varies a path over: {range: [low, high]} or {list: [...]}, near the bounds."""
    lo, hi, integer = (var.lo, var.hi, var.integer) if var is not None else (0.0, 1.0, False)
    values = st.lists(in_bounds(lo, hi, integer), min_size=1, max_size=3)
    return st.one_of(values.map(lambda xs: "{range: [" + ", ".join(sorted(xs, key=float)[:2]) + "]}"),
                     values.map(lambda xs: "{list: [" + ", ".join(xs) + "]}"),
                     any_value(var).map(lambda x: "{range: [0, " + x + "]}"),
                     any_value(var))


def uncertainty_value(path: str) -> st.SearchStrategy[str]:
    """Values of an uncertainty's distribution fields (sd, dist, low, high, persistence)."""
    from sim.variables import BY_PATH

    name, what = path.split(".")[1], path.split(".")[-1]
    var = next((v for p, v in BY_PATH.items() if p.startswith(f"uncertainties.{name}.")), None)
    if what == "dist":
        return st.sampled_from(["normal", "uniform", "fixed", "lognormal", "Normal", "1", "~"])
    if what == "persistence":
        return st.one_of(in_bounds(0, 1), any_value())
    if what == "sd":
        top = var.max_sd if var is not None and var.max_sd else 1.0
        return st.one_of(in_bounds(0, top), st.sampled_from(["1e308", "1e-320", ".inf", "-1"]), any_value())
    return st.one_of(in_bounds(var.lo, var.hi) if var else in_bounds(-1, 1), st.sampled_from(["1e308", "-1e308"]), any_value())


# --------------------------------------------------------------------------------------------
# Mutating a YAML document (structure with sentinels, or its lines)
# --------------------------------------------------------------------------------------------

SENTINEL = "ZZFUZZ{}ZZ"
SCALES = [-1, 0, 1e-9, 1e-3, 0.5, 1.5, 2, 10, 1000, 10**6, 1e12, 1e300]


def _nodes(doc, prefix=()):
    """(path, value) of every node of a parsed document, the root excluded."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        path = prefix + (key,)
        yield path, value
        yield from _nodes(value, path)


def _variable(path: tuple) -> object | None:
    from sim.variables import BY_PATH

    if len(path) >= 2 and path[0] in ("vary", "set"):  # a sweep file: vary: {path: {range: [lo, hi]}}
        return BY_PATH.get(str(path[1]))
    dotted = ".".join(str(p) for p in path)
    for candidate in (dotted, dotted + ".value"):
        if candidate in BY_PATH:
            return BY_PATH[candidate]
    if path and isinstance(path[-1], int) and len(path) > 1:  # a dated value {year: value}
        return _variable(path[:-1])
    return None


def _numeric(value) -> bool:
    """A number, or a mapping or list of numbers (a dated value, a range): the nodes worth mutating most."""
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return bool(value) and all(_numeric(v) for v in items)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_yaml(draw, text: str, extra_paths: tuple[str, ...] = (), sweep: bool = False,
                 variables: bool = True) -> tuple[str, str]:
    """A mutation of YAML `text`: (new text, what was done). 1-3 structural edits (the document
    re-dumped, odd values spliced in as raw text), or line edits of the original text (comments
    and line numbers kept)."""
    if draw(st.integers(0, 2)) == 0:
        return draw(mutated_lines(text))
    doc = yaml.safe_load(text)
    raw: list[str] = []
    notes: list[str] = []

    def splice(value: str) -> str:
        raw.append(value)
        return SENTINEL.format(len(raw) - 1)

    for _ in range(draw(st.integers(1, 3))):
        nodes = list(_nodes(doc))
        op = draw(st.sampled_from(["replace", "replace", "replace", "scale", "scale", "delete", "add", "dated", "lever"]))
        leaves = [(p, v) for p, v in nodes if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if op == "scale" and leaves:
            # a number of the file times a factor: negative, zero, tiny, huge
            path, value = draw(st.sampled_from(leaves))
            factor = draw(st.sampled_from(SCALES))
            _parent(doc, path)[path[-1]] = splice(yaml_float(float(value) * factor) if not isinstance(value, int) or
                                                  factor != int(factor) else str(value * int(factor)))
            notes.append(f"{'.'.join(map(str, path))} x {factor:g} = {raw[-1][:80]}")
            continue
        if op == "lever" or not nodes:
            # set a variable's path (creating the mappings on the way), e.g. levers.talent.arrivals;
            # in a sweep file, vary it or set it
            from sim.variables import BY_PATH

            dotted = draw(st.sampled_from(([v.path for v in VARIABLES] if variables else []) + list(extra_paths)))
            var = BY_PATH.get(dotted)
            if sweep and var is not None:
                if draw(st.booleans()):
                    value, keys = draw(vary_value(var)), ["vary", dotted]
                else:
                    value, keys = draw(any_value(var)), ["set", dotted]
            else:
                value, keys = draw(uncertainty_value(dotted) if dotted.startswith("uncertainties.") and var is None
                                   else any_value(var)), dotted.split(".")
            node = doc
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
            node[keys[-1]] = splice(value)
            notes.append(f"{'.'.join(keys)} = {raw[-1][:80]}")
            continue
        numeric = [(p, v) for p, v in nodes if _numeric(v)]
        path, value = draw(st.sampled_from(numeric if numeric and draw(st.integers(0, 9)) < 7 else nodes))
        parent = _parent(doc, path)
        if op == "replace" and sweep and len(path) == 2 and path[0] == "vary":
            parent[path[-1]] = splice(draw(vary_value(_variable(path))))
            notes.append(f"{'.'.join(map(str, path))} = {raw[-1][:80]}")
        elif op == "replace":
            parent[path[-1]] = splice(draw(any_value(_variable(path))))
            notes.append(f"{'.'.join(map(str, path))} = {raw[-1][:80]}")
        elif op == "delete":
            del parent[path[-1]]
            notes.append(f"deleted {'.'.join(map(str, path))}")
        elif op == "dated":
            var = _variable(path)
            parent[path[-1]] = splice(draw(dated(in_bounds(var.lo, var.hi) if var else any_value())))
            notes.append(f"{'.'.join(map(str, path))} = {raw[-1][:80]}")
        else:  # add an unknown (or odd) key to the mapping holding the node
            if isinstance(parent, dict):
                key = draw(st.one_of(st.sampled_from(["unknown", "Name", "levers", "value", "2026", "extends"]),
                                     st.sampled_from(SPECIAL[:30]), st.text(min_size=1, max_size=8).map(json.dumps)))
                parent[splice(key)] = splice(draw(any_value()))
                notes.append(f"added {raw[-2][:40]}: {raw[-1][:40]} at {'.'.join(map(str, path[:-1]))}")
            else:
                parent.append(splice(draw(any_value())))
                notes.append(f"appended {raw[-1][:60]} to {'.'.join(map(str, path[:-1]))}")
    out = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10**9, default_flow_style=False)
    for i in reversed(range(len(raw))):  # reversed: ZZFUZZ1ZZ must not match inside ZZFUZZ11ZZ
        out = out.replace(SENTINEL.format(i), raw[i])
    return out, "; ".join(notes)


LINE = re.compile(r"^(?P<indent>\s*(?:- )?)(?P<key>[^#\s:][^:#]*?):(?P<sp>\s+)(?P<value>[^#\n]*?)(?P<comment>\s*(?:#.*)?)$")


@st.composite
def mutated_lines(draw, text: str) -> tuple[str, str]:
    """Line edits of YAML text: a value replaced in place, a line duplicated (a duplicate key) or
    deleted, an unknown key inserted, a tab for indentation, the text cut short."""
    lines = text.split("\n")
    keyed = [i for i, line in enumerate(lines) if LINE.match(line)]
    numbers = [i for i in keyed if re.match(r"[-+.\d{\[]", LINE.match(lines[i]).group("value"))]
    notes = []
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(["value", "value", "value", "duplicate", "delete", "insert", "tab", "cut"]))
        pool = numbers if numbers and draw(st.integers(0, 9)) < 7 else keyed
        i = draw(st.sampled_from(pool)) if pool else 0
        m = LINE.match(lines[i]) if pool and i < len(lines) else None
        if op == "value" and m:
            key = m.group("key").strip()
            from sim.variables import BY_PATH

            var = next((v for p, v in BY_PATH.items() if p.endswith("." + key) or p.endswith(f".{key}.value")), None)
            value = draw(any_value(var))
            lines[i] = f"{m.group('indent')}{m.group('key')}:{m.group('sp')}{value}{m.group('comment')}"
            notes.append(f"line {i + 1}: {key}: {value[:80]}")
        elif op == "duplicate" and m:
            value = draw(st.one_of(st.just(m.group("value")), any_value()))
            lines.insert(i + 1, f"{m.group('indent').replace('- ', '  ')}{m.group('key')}: {value}")
            notes.append(f"line {i + 1} duplicated ({m.group('key')}: {value[:60]})")
        elif op == "delete" and lines:
            del lines[i]
            notes.append(f"line {i + 1} deleted")
        elif op == "insert" and m:
            key = draw(st.sampled_from(["unknown", "arrivals", "valeu", "sd", "dist", "extends", "name", "2026", "?"]))
            lines.insert(i + 1, f"{m.group('indent').replace('- ', '  ')}{key}: {draw(any_value())}")
            notes.append(f"inserted {key} after line {i + 1}")
        elif op == "tab" and m:
            lines[i] = "\t" + lines[i]
            notes.append(f"tab before line {i + 1}")
        else:
            cut = draw(st.integers(0, max(len(text) - 1, 0)))
            return text[:cut], f"cut at byte {cut}"
    return "\n".join(lines), "; ".join(notes)


# --------------------------------------------------------------------------------------------
# Generators of cases
# --------------------------------------------------------------------------------------------

def _run_argv(target: str, validate: bool, draws: int = 0, end: bool = True) -> list[str]:
    if validate:
        return ["validate", target] + (["--set", f"years.end={END}"] if end else [])
    argv = ["run", target, "--no-charts", "--out", "{out}"] + (["--set", f"years.end={END}"] if end else [])
    return argv + (["--draws", str(draws)] if draws else [])


@st.composite
def command_style(draw) -> tuple[bool, int, bool]:
    """(validate only, draws, short horizon): mostly runs to END, some validates, a few with draws."""
    validate = draw(st.integers(0, 4)) == 0
    draws = draw(st.sampled_from([0, 0, 0, 0, 0, 3]))
    end = draw(st.integers(0, 9)) > 0
    return validate, draws, end


@st.composite
def scenario_cases(draw) -> Case:
    """Generator 1: a shipped scenario, mutated, run or validated."""
    source = draw(st.sampled_from(SCENARIOS))
    text, note = draw(mutated_yaml(source.read_text(), extra_paths=("years.end", "years.start", "seed", "name",
                                                                   "extends", "calibration", "description")
                                   + UNCERTAINTY_FIELDS * 2))
    name = f"scenarios/fuzz_{source.stem}.yaml"
    validate, draws, end = draw(command_style())
    return Case("scenario", {name: text.encode("utf-8", "surrogatepass")},
                _run_argv("{root}/" + name, validate, draws, end), (Path(name).name, "--set", "hk.yaml"),
                f"{source.name}: {note}")


@st.composite
def sweep_cases(draw) -> Case:
    """Generator 1 (sweeps): a shipped sweep file, mutated, swept with a tiny sample."""
    source = draw(st.sampled_from(SWEEPS))
    text, note = draw(mutated_yaml(source.read_text(), extra_paths=("samples", "design", "seed", "set",
                                                                   "scenario", "outcomes", "targets"), sweep=True))
    name = f"scenarios/sweeps/fuzz_{source.stem}.yaml"
    samples = draw(st.sampled_from(["2", "4"]))  # powers of 2 (sobol and saltelli need them)
    return Case("sweep", {name: text.encode("utf-8", "surrogatepass")},
                ["sweep", "{root}/" + name, "--out", "{out}", "--samples", samples, "--no-charts", "--workers", "1"],
                (Path(name).name, "baseline.yaml", "hk.yaml", "--samples"), f"{source.name}: {note}")


def _yaml_documents() -> st.SearchStrategy[str]:
    keys = st.one_of(st.sampled_from(["name", "years", "start", "end", "levers", "talent", "arrivals", "uncertainties",
                                      "value", "sd", "dist", "calibration", "extends", "seed", "targets", "unit_costs",
                                      "fitted", "retraining", "places", "importation", "workers", "participation"]),
                     st.text(max_size=6), st.integers(-5, 3000))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                        st.dates(), st.binary(max_size=4))
    tree = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(keys, c, max_size=5)),
                        max_leaves=20)
    top = st.dictionaries(keys, tree, min_size=0, max_size=8)
    return st.one_of(top, tree).map(lambda d: yaml.dump(d, allow_unicode=True, sort_keys=False))


BASELINE_BYTES = (ROOT / "scenarios" / "baseline.yaml").read_bytes()


@st.composite
def raw_bytes(draw) -> bytes:
    """Bytes as a scenario file: random, the baseline with bytes spliced in, other encodings,
    huge files and lines, deep nesting, many documents."""
    kind = draw(st.sampled_from(["random", "splice", "splice", "encoding", "big", "deep", "docs", "misc"]))
    if kind == "random":
        return draw(st.binary(max_size=400))
    if kind == "splice":
        data = bytearray(BASELINE_BYTES)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(data)))
            junk = draw(st.one_of(st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\x80", b"\xef\xbb\xbf", b"\r",
                                                   b"\t", b"\x1b[31m", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                                                   b"\n---\n", b"\n...\n", b": ", b"- ", b"&a ", b"*a", b"!!"]),
                                  st.binary(min_size=1, max_size=8)))
            data[at:at] = junk
        return bytes(data)
    if kind == "encoding":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig"]))
        text = BASELINE_BYTES.decode("utf-8").replace("baseline", draw(st.sampled_from(["baseline", "baséline", "基線"])))
        return text.encode(encoding, "replace")
    if kind == "big":
        size = draw(st.sampled_from([999_000, 1_000_000, 1_000_001, 1_100_000]))
        what = draw(st.sampled_from(["line", "list", "comment", "keys"]))
        if what == "line":
            return BASELINE_BYTES + b"description2: " + b"x" * size + b"\n"
        if what == "list":
            return b"name: big\nlevers: [" + b"1, " * (size // 3) + b"1]\n"
        if what == "comment":
            return BASELINE_BYTES + b"#" + b"x" * size + b"\n"
        return b"".join(b"k%d: 1\n" % i for i in range(size // 9))
    if kind == "deep":
        depth = draw(st.sampled_from([31, 32, 33, 100, 1000, 20_000]))
        style = draw(st.sampled_from(["flow_list", "flow_map", "block"]))
        if style == "flow_list":
            return b"name: deep\nlevers: " + b"[" * depth + b"]" * depth + b"\n"
        if style == "flow_map":
            return b"name: deep\nlevers: " + b"{a: " * depth + b"1" + b"}" * depth + b"\n"
        return b"levers:\n" + b"".join(b" " * (i + 1) + b"a:\n" for i in range(min(depth, 3000))) + b" " * 3001 + b"b: 1\n"
    if kind == "docs":
        return b"---\n".join([BASELINE_BYTES] * draw(st.integers(2, 3)))
    return draw(st.sampled_from([b"", b" ", b"\n", b"# only a comment\n", b"---\n", b"...\n", b"~\n", b"[]\n", b"{}\n",
                                 b"- a\n- b\n", b"a: &a [*a]\n", b"a: !!binary aGk=\n", b"\xef\xbb\xbf" + BASELINE_BYTES,
                                 b"a: &x [1]\nb: *x\n", BASELINE_BYTES.replace(b"\n", b"\r\n"),
                                 BASELINE_BYTES.replace(b"\n", b"\r"), BASELINE_BYTES.replace(b"  ", b"\t")]))


@st.composite
def document_cases(draw) -> Case:
    """Generator 2: random YAML documents and raw bytes as the scenario file."""
    if draw(st.booleans()):
        data = draw(_yaml_documents()).encode("utf-8", "surrogatepass")
        note = "random YAML document"
    else:
        data = draw(raw_bytes())
        note = "raw bytes"
    name = "scenarios/fuzz_doc.yaml"
    validate = draw(st.integers(0, 2)) == 0
    return Case("document", {name: data}, _run_argv("{root}/" + name, validate),
                ("fuzz_doc.yaml",), note)  # (an error about the file must name it, not --set)


SET_KEYS = ([v.path for v in VARIABLES] + ["years.end", "years.start", "seed", "name", "description", "calibration",
                                           "extends", "targets.shortage_2028.max", "targets.talent_admission.years",
                                           "targets.new.metric", "unit_costs.levers.talent.arrivals",
                                           "unit_costs.levers.talent.extension_rate", "levers.retraining.moves_from",
                                           "levers.retraining.trains_for", "levers", "levers.talent", "uncertainties"]
            + [f"uncertainties.{u}.{f}" for u in ("gdp_growth", "resident_net_migration", "mortality_scale",
                                                  "participation_trend", "occupation_shares", "fertility")
               for f in ("sd", "dist", "low", "high", "persistence", "value")])


@st.composite
def set_key(draw) -> tuple[str, object]:
    from sim.variables import BY_PATH

    key = draw(st.sampled_from(SET_KEYS))
    var = BY_PATH.get(key)
    how = draw(st.sampled_from(["plain", "plain", "plain", "year", "dotyear", "broken"]))
    if how == "year":
        key += f"[{draw(st.sampled_from(YEARS + ['x', '', '2026.5', '²', ' 2026', '2026][2027']))}]"
    elif how == "dotyear":
        key += f".{draw(st.sampled_from(YEARS + ['²', '٢٠٢٦', 'x', '']))}"
    elif how == "broken":
        edit = draw(st.sampled_from(["drop", "double_dot", "trailing", "leading", "unicode", "upper", "space",
                                     "bracket", "superscript", "empty"]))
        if edit == "drop" and len(key) > 1:
            i = draw(st.integers(0, len(key) - 1))
            key = key[:i] + key[i + 1:]
        elif edit == "double_dot":
            key = key.replace(".", "..", 1)
        elif edit == "trailing":
            key += "."
        elif edit == "leading":
            key = "." + key
        elif edit == "unicode":
            key = key.replace("a", "а", 1)  # Cyrillic a
        elif edit == "upper":
            key = key.upper()
        elif edit == "space":
            key = " " + key + " "
        elif edit == "bracket":
            key += "[2026"
        elif edit == "superscript":
            key += ".²"
        else:
            key = ""
    return key, var


@st.composite
def set_cases(draw) -> Case:
    """Generator 3: `--set KEY=VALUE` on a shipped scenario."""
    source = draw(st.sampled_from(SCENARIOS))
    argv = []
    notes = []
    for _ in range(draw(st.integers(1, 3))):
        key, var = draw(set_key())
        value = draw(st.one_of(any_value(var), st.sampled_from(["²", "1e308", "-1e308", "nan", ".inf", "", "=", "a=b",
                                                                "1,000", " 5 ", "0x10", "1e5", "None"])))
        pair = draw(st.sampled_from([f"{key}={value}", f"{key}={value}", f"{key}={value}", key, f"={value}"]))
        argv += ["--set", pair]
        notes.append(pair[:100])
    validate, draws, end = draw(command_style())
    base = _run_argv("{root}/scenarios/" + source.name, validate, draws, end)
    return Case("set", {}, base + argv, ("--set", source.name), "; ".join(notes))


def _csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


NUMBER_CELLS = ["-1", "-0.5", "0", "0.0", "-0", "1e-9", "1e9", "1e15", "1e308", "-1e308", "1e309", "nan", "NaN", "inf",
                "-inf", "", " ", "abc", "1,000", "1_000", "0x10", "²", "٣", HUGE_INT, "1e-320", "2", "1.5", "100",
                "999999999", "true", "None", "'5'", "5 ", "\x00", "2025-02-30"]


@st.composite
def mutated_csv(draw, path: Path) -> tuple[bytes, str]:
    """A mutation of a data CSV: numbers made negative, huge, zero or not numbers; rows and
    columns deleted or duplicated; headers swapped or renamed; years and keys changed."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    notes = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["number", "number", "number", "scale", "cell", "delete_row", "duplicate_row",
                                   "delete_column", "swap_header", "rename_header", "year", "add_row", "truncate",
                                   "empty", "extra_column"]))
        r = draw(st.integers(0, max(len(body) - 1, 0)))
        c = draw(st.integers(0, len(header) - 1))
        if op in ("number", "scale", "cell") and body:
            numeric = [j for j, h in enumerate(header) if h in ("value", "tolerance", "low", "high", "age_lo", "age_hi")]
            c = draw(st.sampled_from(numeric)) if numeric and op != "cell" else c
            if c >= len(body[r]):
                continue
            if op == "scale" and _float(body[r][c]) is not None:
                factor = draw(st.sampled_from([-1, 0, 1e-9, 1e-3, 0.5, 2, 10, 1e3, 1e6, 1e12]))
                body[r][c] = repr(float(body[r][c]) * factor)
            else:
                body[r][c] = draw(st.one_of(st.sampled_from(NUMBER_CELLS), st.floats().map(repr),
                                            st.text(max_size=6)))
            notes.append(f"row {r + 2} {header[c]} = {body[r][c][:60]!r}")
        elif op == "delete_row" and body:
            del body[r]
            notes.append(f"row {r + 2} deleted")
        elif op == "duplicate_row" and body:
            body.insert(r, list(body[r]))
            notes.append(f"row {r + 2} duplicated")
        elif op == "delete_column":
            notes.append(f"column {header[c]} deleted")
            del header[c]
            for row in body:
                if c < len(row):
                    del row[c]
        elif op == "swap_header":
            d = draw(st.integers(0, len(header) - 1))
            header[c], header[d] = header[d], header[c]
            notes.append(f"headers {header[d]} and {header[c]} swapped")
        elif op == "rename_header":
            header[c] = draw(st.sampled_from(["", "Value", "value ", "year", "x", "valeur", header[c].upper()]))
            notes.append(f"header {c} renamed {header[c]!r}")
        elif op == "year" and body and "year" in header:
            j = header.index("year")
            body[r][j] = draw(st.one_of(st.sampled_from([str(y) for y in YEARS] + ["", "x", "2024.5", "²"]),
                                        st.integers(1990, 2060).map(str)))
            notes.append(f"row {r + 2} year = {body[r][j]!r}")
        elif op == "add_row" and body:
            row = list(body[r])
            j = draw(st.integers(0, len(row) - 1))
            row[j] = draw(st.sampled_from(NUMBER_CELLS + ["unknown", "2040", "female", "both", "yes", "no"]))
            body.append(row)
            notes.append(f"added a copy of row {r + 2} with {header[j] if j < len(header) else j} = {row[j]!r}")
        elif op == "truncate":
            body = body[:r]
            notes.append(f"only the first {r} rows kept")
        elif op == "empty":
            return draw(st.sampled_from([b"", b"\n", (",".join(header) + "\n").encode()])), "empty or header only"
        else:
            header.append(draw(st.sampled_from(["extra", "value", "year"])))
            for row in body:
                row.append("1")
            notes.append(f"extra column {header[-1]}")
    return _csv_text(header, body), "; ".join(notes)


_HK = yaml.safe_load(CALIBRATION.read_text())
CALIBRATION_PATHS = tuple([f"parameters.{k}.value" for k in _HK.get("parameters", {})]
                          + [f"data.{k}" for k in _HK.get("data", {})]
                          + ["base_year", "last_observed_year", "demand_base_year", "parameters.unknown.value"])


@st.composite
def calibration_cases(draw) -> Case:
    """Generator 4: calibration/hk.yaml or one data CSV mutated; the baseline run or validated on it."""
    target = draw(st.sampled_from([CALIBRATION, CALIBRATION] + DATA))
    if target == CALIBRATION:
        text, note = draw(mutated_yaml(CALIBRATION.read_text(), extra_paths=CALIBRATION_PATHS, variables=False))
        data = text.encode("utf-8", "surrogatepass")
    else:
        data, note = draw(mutated_csv(target))
    name = str(target.relative_to(ROOT))
    validate, draws, end = draw(command_style())
    return Case("calibration", {name: data}, _run_argv("{root}/scenarios/baseline.yaml", validate, draws, end),
                (target.name, "hk.yaml", "baseline.yaml"), f"{name}: {note}")


USER_FILES = {
    "notes.txt": b"my notes on the baseline\n",
    "index.html": b"<html>a web app</html>\n",
    "manifest.json": b'{"name": "my web app", "start_url": "index.html"}\n',
    "charts/figure1.png": b"\x89PNG not really\n",
    "analysis/summary.csv": b"a,b\n1,2\n",
    ".hidden": b"dotfile\n",
    "yearly.csv": b"year,mine\n2020,1\n",
    "report.md": b"# my report, not simulate's\n",
}


@st.composite
def out_cases(draw) -> Case:
    """Output folders a planner also keeps files in (issue 9: user files are sacred), and odd --out
    paths: the user's files must survive every run, whatever it exits with."""
    scenario = "{root}/scenarios/" + draw(st.sampled_from(SCENARIOS)).name
    run = ["run", scenario, "--no-charts", "--out", "{out}", "--set", f"years.end={END}"]
    setup = draw(st.sampled_from(["user_files", "after_run", "after_run", "odd_out", "symlinked_out"]))
    names = (Path(scenario).name, "out", "--out")
    if setup == "odd_out":
        what = draw(st.sampled_from(["file", "loop", "dangling", "nested", "in_file", "dev_null", "proc", "root_link"]))
        links, files, out = {}, {}, "{out}"
        if what == "file":
            files = {"out": b"a file, not a folder\n"}
        elif what == "loop":
            links = {"out": "{root}/loop2", "loop2": "{root}/out"}
        elif what == "dangling":
            links = {"out": "{root}/nowhere/at/all"}
        elif what == "nested":
            out = "{out}/a/b/c"
        elif what == "in_file":
            files, out = {"out": b"x\n"}, "{out}/inside"
        elif what == "dev_null":
            out = "/dev/null"
        elif what == "proc":
            out = "/proc/self/fuzz"
        else:
            links = {"out": "/"}
            names += ("/:",)
        argv = ["run", scenario, "--no-charts", "--out", out, "--set", f"years.end={END}"]
        return Case("out", files, argv, names + ("/dev/null", "/proc", "nowhere", "loop2"), f"--out: {what}", links=links)
    keep = {f"out/{name}": data for name, data in USER_FILES.items()
            if draw(st.booleans()) or name == "notes.txt"}
    before = [list(run)] if setup == "after_run" else []
    if setup == "after_run":  # a simulate manifest is there: its own files may be replaced, not the user's
        keep = {k: v for k, v in keep.items() if Path(k).name not in ("yearly.csv", "report.md", "manifest.json")}
    links = {}
    if setup == "symlinked_out":
        links = {"out": "{root}/real_out"}
        keep = {k.replace("out/", "real_out/", 1): v for k, v in keep.items()}
    argv = list(run) + (["--draws", "3"] if draw(st.integers(0, 4)) == 0 else [])
    return Case("out", {}, argv, names, f"{setup}: user files {sorted(keep)}", links=links, before=before, keep=keep)


@st.composite
def path_cases(draw) -> Case:
    """`extends:` and `calibration:` pointing where they should not: symlink loops, folders, pipes,
    devices, itself, a chain of many files, NUL bytes."""
    field_name = draw(st.sampled_from(["extends", "calibration"]))
    target = draw(st.sampled_from(["loop", "folder", "fifo", "dev_null", "dev_zero", "proc", "self", "chain",
                                   "missing", "empty", "nul", "binary", "huge_file"]))
    links, fifos, files = {}, (), {}
    value = {"loop": "loop_a.yaml", "folder": ".", "fifo": "pipe.yaml", "dev_null": "/dev/null", "dev_zero": "/dev/zero",
             "proc": "/proc/self/status", "self": "fuzz_paths.yaml", "chain": "chain_1.yaml", "missing": "no/such.yaml",
             "empty": "''", "nul": '"a\0b.yaml"', "binary": "binary.yaml", "huge_file": "huge.yaml"}[target]
    if target == "loop":
        links = {"scenarios/loop_a.yaml": "loop_b.yaml", "scenarios/loop_b.yaml": "loop_a.yaml"}
    elif target == "fifo":
        fifos = ("scenarios/pipe.yaml",)
    elif target == "chain":
        n = draw(st.sampled_from([2, 40, 300, 1100]))
        for i in range(1, n):
            files[f"scenarios/chain_{i}.yaml"] = f"extends: chain_{i + 1}.yaml\n".encode()
        files[f"scenarios/chain_{n}.yaml"] = b"extends: baseline.yaml\n"
    elif target == "binary":
        files["scenarios/binary.yaml"] = bytes(range(256))
    elif target == "huge_file":
        files["scenarios/huge.yaml"] = b"# " + b"x" * 2_000_000 + b"\n"
    if field_name == "extends":
        body = f"extends: {value}\nname: fuzz_paths\n"
    else:
        body = BASELINE_BYTES.decode().replace("calibration: ../calibration/hk.yaml", f"calibration: {value}")
    files["scenarios/fuzz_paths.yaml"] = body.encode()
    validate = draw(st.booleans())
    return Case("paths", files, _run_argv("{root}/scenarios/fuzz_paths.yaml", validate),
                ("fuzz_paths.yaml", "loop_a.yaml", "loop_b.yaml", "pipe.yaml", "/dev/", "/proc/", "chain_", "such.yaml",
                 "binary.yaml", "huge.yaml", "hk.yaml"), f"{field_name}: {target}", links=links, fifos=fifos)


GENERATORS = {
    "scenario": scenario_cases,
    "set": set_cases,
    "document": document_cases,
    "calibration": calibration_cases,
    "sweep": sweep_cases,
    "out": out_cases,
    "paths": path_cases,
}


# --------------------------------------------------------------------------------------------
# The tests (derandomized: the same examples on every run)
# --------------------------------------------------------------------------------------------

def _settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, print_blob=False,
                    phases=(Phase.explicit, Phase.generate),  # no shrinking: the time bound holds on failure too
                    suppress_health_check=list(HealthCheck))


def _check(case: Case) -> None:
    verdict, _ = run_case(case)
    assert verdict.status != "fail", f"{verdict.detail}\n\ninput:\n{case.describe()}"


@_settings(600)
@given(case=scenario_cases())
def test_fuzz_scenario_mutations(case):
    _check(case)


@_settings(550)
@given(case=set_cases())
def test_fuzz_set_values(case):
    _check(case)


@_settings(500)
@given(case=document_cases())
def test_fuzz_documents_and_bytes(case):
    _check(case)


@_settings(400)
@given(case=calibration_cases())
def test_fuzz_calibration_files(case):
    _check(case)


@_settings(25)
@given(case=sweep_cases())
def test_fuzz_sweep_files(case):
    _check(case)


def _extreme_sweep(kind: str) -> bytes:
    """A sweep file varying every path of one kind (lever, uncertainty, fitted) between its two bounds
    (each run at a corner of what validation accepts)."""
    vary = {v.path: {"list": [int(v.lo), int(v.hi)] if v.integer else [v.lo, v.hi]} for v in VARIABLES if v.kind == kind}
    doc = {"name": f"extreme_{kind}", "scenario": "../baseline.yaml", "set": {"years.end": END}, "design": "lhs",
           "samples": 16, "seed": 1, "vary": vary,
           "outcomes": ["shortage[2028]", f"labour_force[2025..{END}]", f"shortage[{END}]"], "targets": True}
    return yaml.safe_dump(doc, sort_keys=False).encode()


@pytest.mark.parametrize("kind", ["lever", "uncertainty", "fitted"])
def test_fuzz_sweep_over_whole_ranges(kind):
    """Every path of the variables table varied together over its whole accepted range: the runs
    at the corners of what validation accepts are finite and possible (or refused cleanly)."""
    name = f"scenarios/sweeps/extreme_{kind}.yaml"
    case = Case("sweep", {name: _extreme_sweep(kind)},
                ["sweep", "{root}/" + name, "--out", "{out}", "--no-charts", "--workers", "1"],
                (Path(name).name, "baseline.yaml"))
    verdict, _ = run_case(case)
    assert verdict.status == "exit0", f"{verdict.detail}\n\ninput:\n{case.describe()}"


@_settings(30)
@given(case=out_cases())
def test_fuzz_output_folders(case):
    _check(case)


@_settings(40)
@given(case=path_cases())
def test_fuzz_paths(case):
    _check(case)


CORPUS = Path(__file__).resolve().parent / "fuzz"
"""Inputs the fuzz campaigns found (each a defect once): a scenario file (NAME.yaml, run from
scenarios/), or a folder whose tree is laid over scenarios/ and calibration/ (the baseline is run)."""


def _corpus_cases() -> list:
    cases = []
    for entry in sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []:
        if entry.suffix == ".yaml":
            files, target = {f"scenarios/{entry.name}": entry.read_bytes()}, f"scenarios/{entry.name}"
        elif entry.is_dir():
            files = {str(p.relative_to(entry)): p.read_bytes() for p in sorted(entry.rglob("*")) if p.is_file()}
            target = "scenarios/baseline.yaml"
        else:
            continue
        names = tuple(Path(name).name for name in files) + ("baseline.yaml", "hk.yaml")
        for validate in (True, False):
            cases.append(pytest.param(Case("corpus", files, _run_argv("{root}/" + target, validate), names, entry.name),
                                      id=f"{entry.stem}-{'validate' if validate else 'run'}"))
    return cases


@pytest.mark.parametrize("case", _corpus_cases())
def test_fuzz_corpus(case):
    """The inputs earlier campaigns found keep to the property."""
    _check(case)


def test_checker_accepts_the_shipped_scenarios():
    """The property holds for every shipped scenario as it is (the checker is not too strict)."""
    for path in SCENARIOS:
        name = str(path.relative_to(ROOT))
        for argv in (_run_argv("{root}/" + name, False), _run_argv("{root}/" + name, False, draws=3)):
            verdict, _ = run_case(Case("shipped", {}, argv, (path.name,)))
            assert verdict.status == "exit0", verdict.detail


@pytest.mark.parametrize("argv, status", [
    (["run", "{root}/scenarios/baseline.yaml", "--no-charts", "--out", "{out}", "--set", "levers.talent.arrivals=abc"], "exit2"),
    (["validate", "{root}/scenarios/missing.yaml"], "exit2"),
])
def test_checker_sees_clean_errors(argv, status):
    verdict, _ = run_case(Case("known", {}, argv, ("--set", "missing.yaml")))
    assert verdict.status == status, verdict.detail


def test_checker_flags_bad_outputs(tmp_path):
    """The output checks catch what the property forbids: NaN, inf, negative stocks, a labour
    force above the population, a broken ledger."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "yearly.csv").write_text("year,labour_force,population,population_15plus,participation_rate,births\n"
                                    "2017,10.0,5.0,5.0,1.5,\n2018,nan,5.0,-1.0,0.5,inf\n")
    (out / "ledger.csv").write_text("year,stock,item,value,unit\n2018,x,opening,1.0,persons\n"
                                    "2018,x,births,1.0,persons/year\n2018,x,closing,-5.0,persons\n")
    problems = "\n".join(check_outputs(out, DEMAND_BASE_YEAR))
    for expected in ("non-finite labour_force", "non-finite births", "negative population_15plus",
                     "participation_rate=1.5", "labour_force 10.0 above population", "negative stock x closing",
                     "opening + flows - closing"):
        assert expected in problems, problems
