"""Sweep files: YAML -> a validated sweep (a base scenario, what to vary, the design, what to keep).

    name: levers                      # output folder outputs/sweeps/<name> [default: the file's stem]
    scenario: ../baseline.yaml        # the base scenario, relative to this file
    set: {years.end: 2035}            # overrides of the base, as --set
    design: sobol                     # grid | lhs | sobol | saltelli
    samples: 4096                     # runs (lhs, sobol); base samples N for saltelli (N x (d + 2) runs)
    seed: 7                           # [default: the base scenario's]
    vary:                             # key paths of sim.variables, as --set writes them
      levers.talent.arrivals: {range: [35000, 120000]}
      levers.importation.workers.service: {list: [3000, 6000, 12000]}
      levers.retraining.places: {range: [130000, 200000], levels: 4}   # levels: grid only
    outcomes: [shortage.2028, shortage.2035, cumulative_cost.2035]   # or a block list of metric[year];
                                      # metric[2025..2035]: every year (a trajectory)
    targets: true                     # a met.<target> column per target of the base
    draws: false                      # also draw the base's uncertainties, run by run
    frontier: {years: [2028, 2035], shares: [0.25, 0.5, 0.75, 1.0]}   # lever sweeps
    format: auto                      # parquet | csv | auto (csv too up to CSV_RUNS runs)

Every error names the file, line and key. A value to vary is uniform over its range (or over
its list, each item equally likely) in lhs, sobol and saltelli designs; a grid takes every list
item and `levels` evenly spaced points of a range.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, ValidationError, model_validator

from sim import keypath, variables, yamldoc
from sim.errors import InputError, quote
from sim.results import FLOW_METRICS, STOCK_METRICS
from sim.scenario import Loaded, LocatedValueError, Strict, _located, _number
from sim.scenario import load as load_scenario

DESIGNS = ("grid", "lhs", "sobol", "saltelli")
METRICS = STOCK_METRICS + FLOW_METRICS + ("cumulative_cost",)
"""Outcomes a sweep may keep, as metric[year]: the yearly series of yearly.csv, and
cumulative_cost (HK$: the measures' cost summed over the projection years up to that year)."""
MAX_RUNS = 100_000_000
MAX_VARIED = 32
CSV_RUNS = 100_000
"""Up to this many runs, format auto writes results.csv beside results.parquet."""


class Varied(Strict):
    range: tuple[StrictFloat | StrictInt, StrictFloat | StrictInt] | None = Field(None, description="[low, high], uniform")
    values: tuple[StrictFloat | StrictInt, ...] | None = Field(None, alias="list", min_length=1, max_length=10_000)
    levels: StrictInt | None = Field(None, ge=2, le=10_000, description="grid points of a range (grid only)")

    @model_validator(mode="after")
    def _one(self) -> "Varied":
        if (self.range is None) == (self.values is None):
            raise ValueError("give either range: [low, high] or list: [values, ...]")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise LocatedValueError(f"{list(self.range)} is not [low, high] with low < high", "range")
        if self.values is not None and self.levels is not None:
            raise LocatedValueError("levels applies to a range; a list is taken item by item", "levels")
        return self


class Frontier(Strict):
    years: tuple[StrictInt, ...] = Field(min_length=1, max_length=10)
    shares: tuple[StrictFloat | StrictInt, ...] = Field((0.25, 0.5, 0.75, 1.0), min_length=1, max_length=20)

    @model_validator(mode="after")
    def _shares(self) -> "Frontier":
        for k, year in enumerate(self.years):
            if year in self.years[:k]:
                raise LocatedValueError(f"{year} is listed twice", "years", k)
        for k, share in enumerate(self.shares):
            if not 0.0 < share <= 1.0:
                raise LocatedValueError(f"{share} is not a share of the gap in (0, 1]", "shares", k)
        return self


class Sweep(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)
    description: str = ""
    scenario: str = Field(description="the base scenario file, relative to the sweep file")
    set: dict[str, Any] = Field(default_factory=dict, description="overrides of the base, key path: value")
    design: Literal[DESIGNS]  # type: ignore[valid-type]
    samples: StrictInt | None = Field(None, ge=1, le=MAX_RUNS)
    seed: StrictInt | None = Field(None, ge=0, lt=2**63)
    vary: dict[str, Varied] = Field(min_length=1, max_length=MAX_VARIED)
    outcomes: tuple[str, ...] = Field(min_length=1, max_length=200)
    targets: StrictBool = True
    draws: StrictBool = False
    frontier: Frontier | None = None
    format: Literal["auto", "parquet", "csv"] = "auto"


@dataclass(frozen=True)
class Axis:
    """One varied input: its results column (the key path as written by keypath.format) and values."""

    column: str
    row: variables.Variable
    year: int | None
    low: float
    high: float
    items: tuple[float, ...] | None   # a list's values; None for a range
    levels: int | None                # grid points of a range

    def grid(self) -> tuple[float, ...]:
        """The values a grid takes."""
        if self.items is not None:
            return self.items
        n = self.levels
        return tuple(self.low + (self.high - self.low) * k / (n - 1) for k in range(n))


@dataclass(frozen=True)
class Outcome:
    column: str       # e.g. "shortage[2028]"
    metric: str
    year: int


@dataclass(frozen=True)
class LoadedSweep:
    sweep: Sweep
    path: Path
    base: Loaded
    axes: tuple[Axis, ...]
    outcomes: tuple[Outcome, ...]
    runs: int
    seed: int
    digest: str       # sha256 of the sweep file and every file it reads, and the samples
    lines: dict       # key path -> line of the sweep file
    samples: int | None = None  # --samples, if given (overrides the file's)

    @property
    def targets(self) -> dict:
        return dict(self.base.scenario.targets) if self.sweep.targets else {}

    def units(self) -> dict[str, str]:
        """Column -> unit, for every column of the results table."""
        from sim.results import UNITS

        out = {"run": "run index (0-based; the run's random numbers derive from the seed and this index alone)"}
        out |= {a.column: a.row.unit for a in self.axes}
        for o in self.outcomes:
            out[o.column] = ("HK$: the measures' cost summed over the projection years up to the year"
                             if o.metric == "cumulative_cost" else UNITS[o.metric])
        out |= {f"met.{name}": "true if the target is met in every year of its span within the run"
                for name in self.targets}
        return out


def load(path: str | Path, samples: int | None = None) -> LoadedSweep:
    """Read and validate a sweep file and its base scenario; InputError naming file, line and key."""
    path = Path(path)
    doc = yamldoc.read(path)
    return _loaded(doc.data, doc.lines, path, path.read_bytes(), samples)


def from_mapping(data: dict, folder: str | Path = ".", samples: int | None = None) -> LoadedSweep:
    """A sweep given as a mapping (as a sweep file would hold; `scenario` relative to `folder`),
    for notebooks: sim.sweep.run(from_mapping({...})). Errors name `<mapping>` and the key."""
    text = json.dumps(data, sort_keys=True, default=str).encode()
    return _loaded(dict(data), {}, Path(folder) / "<mapping>", text, samples)


def _loaded(data: dict, lines: dict, path: Path, source: bytes, samples: int | None) -> LoadedSweep:
    origins = {key: (str(path), line) for key, line in lines.items()}
    data = dict(data)
    data.setdefault("name", path.stem.strip("<>"))
    if "vary" not in data and ("levers" in data or "years" in data):
        raise InputError(path, "this looks like a scenario file; simulate sweep takes a sweep file (a base scenario, "
                         "vary, design, outcomes; see scenarios/sweeps/)")
    try:
        sweep = Sweep.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise _located(errors[0], origins, path, Sweep) from None

    def fail(message: str, *key) -> InputError:
        return InputError(path, message, line=_line(lines, key), key=keypath.format(key))

    base = _base(sweep, path, lines)
    years = range(base.scenario.years.start, base.scenario.years.end + 1)
    first = (base.last_observed or base.scenario.years.start) + 1
    axes = tuple(_axis(key, value, sweep.design, first, years, fail) for key, value in sweep.vary.items())
    columns = [a.column for a in axes]
    for column in columns:
        if columns.count(column) > 1:
            raise fail(f"{column} is varied twice (written two ways)", "vary", column)
    if sweep.draws and sweep.frontier is not None:
        raise fail("a frontier ranks lever mixes; with draws a lucky draw would pass for a good policy. Run the "
                   "frontier without draws, and a separate sweep with draws for the uncertainty", "draws")
    if sweep.draws and sweep.design == "saltelli":
        raise fail("Sobol' indices need each run to be a function of the varied inputs alone; random draws "
                   "would count as an input the design cannot see. Vary the uncertainties you want indices for "
                   "instead, or use lhs or sobol with draws", "draws")
    runs = _runs(sweep, axes, samples, fail)
    outcomes = _outcomes(sweep, years, first, fail)
    if sweep.frontier is not None:
        for k, year in enumerate(sweep.frontier.years):
            if year not in years or year < first:
                raise fail(f"{year} is not a projection year {first}-{years.stop - 1}", "frontier", "years", k)
        if not all(a.row.kind == "lever" for a in axes):
            raise fail("a frontier ranks lever mixes by cost: vary only levers", "frontier")
        missing = [a.column for a in axes if a.row.path not in base.scenario.unit_costs]
        if missing:
            raise fail(f"{', '.join(missing)} have no unit cost in the base scenario's unit_costs, so the frontier "
                       "would count them as free; give them a unit cost or vary only costed levers", "frontier")
        names = {o.column for o in outcomes}
        outcomes += tuple(Outcome(f"{m}[{y}]", m, y) for y in sweep.frontier.years for m in ("shortage", "cumulative_cost")
                          if f"{m}[{y}]" not in names)
    seed = sweep.seed if sweep.seed is not None else base.scenario.seed
    digest = hashlib.sha256(source)
    for file in base.files:
        digest.update(file.read_bytes())
    digest.update(json.dumps({"samples": samples}).encode())
    loaded = LoadedSweep(sweep=sweep, path=path, base=base, axes=axes, outcomes=outcomes, runs=runs, seed=seed,
                         digest=digest.hexdigest(), lines=lines, samples=samples)
    return loaded


def _line(lines: dict, key: tuple) -> int | None:
    for n in range(len(key), 0, -1):
        if key[:n] in lines:
            return lines[key[:n]]
    return None


def _base(sweep: Sweep, path: Path, lines: dict) -> Loaded:
    """The base scenario with the sweep's overrides."""
    overrides = tuple(f"{key}={json.dumps(value)}" for key, value in sweep.set.items())
    base = path.parent / sweep.scenario
    try:
        found = base.is_file()
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(path, f"not a usable file name ({exc})", line=_line(lines, ("scenario",)), key="scenario") from None
    if not found:
        raise InputError(path, f"base scenario {quote(sweep.scenario)} not found (looked for {base})",
                         line=_line(lines, ("scenario",)), key="scenario")
    try:
        return load_scenario(base, overrides)
    except InputError as exc:
        if exc.file != "--set":
            raise
        raise InputError(path, exc.message, line=_line(lines, ("set", exc.key)), key=f"set.{exc.key}") from None


def _axis(key: str, value: Varied, design: str, first: int, years: range, fail) -> Axis:
    try:
        parts, year = keypath.split_year(keypath.parse(key, "vary"))
    except InputError as exc:
        raise fail(exc.message, "vary", key) from None
    path = keypath.format(parts)
    row = variables.BY_PATH.get(path)
    if row is None:
        from difflib import get_close_matches

        hint = get_close_matches(path, list(variables.BY_PATH), n=1)
        raise fail(f"{quote(path)} is not a path a sweep may vary" + (f"; did you mean {hint[0]!r}?" if hint else
                   "; see the key paths in the README (levers.*, uncertainties.*.value, fitted.*)"), "vary", key)
    if year is not None and not row.dated:
        raise fail(f"{path} is one value for the whole projection; it takes no [year]", "vary", key)
    if year is not None and not first <= year <= years.stop - 1:
        raise fail(f"{year} is not a projection year {first}-{years.stop - 1}", "vary", key)
    if value.values is not None:
        items = tuple(_bounded(x, row, fail, "vary", key, "list", k) for k, x in enumerate(value.values))
        low, high = min(items), max(items)
        if row.integer and any(x != int(x) for x in items):
            raise fail(f"{row.path} takes whole numbers; expected {row.what}", "vary", key, "list")
    else:
        items = None
        low, high = (_bounded(x, row, fail, "vary", key, "range", k) for k, x in enumerate(value.range))
        if row.integer:
            raise fail(f"{row.path} takes whole numbers: give a list, e.g. list: [2, 3, 5]", "vary", key, "range")
    if design == "grid" and items is None and value.levels is None:
        raise fail("a grid needs levels: N for a range (or give a list)", "vary", key)
    if design != "grid" and value.levels is not None:
        raise fail(f"levels applies to a grid; the {design} design samples the range", "vary", key, "levels")
    column = keypath.format(parts + ((year,) if year is not None else ()))
    return Axis(column=column, row=row, year=year, low=low, high=high, items=items, levels=value.levels)


def _bounded(x: float, row: variables.Variable, fail, *key) -> float:
    try:
        return _number(x, row.lo, row.hi, row.what, None)
    except LocatedValueError as exc:
        raise fail(str(exc), *key) from None


def _runs(sweep: Sweep, axes: tuple[Axis, ...], samples: int | None, fail) -> int:
    """Runs of the design: the grid's product, samples for lhs and sobol, N (d + 2) for saltelli."""
    if sweep.design == "grid":
        if samples is not None:
            raise InputError("--samples", "does not apply to a grid: its size is the product of its levels")
        if sweep.samples is not None:
            raise fail("a grid's size is the product of its levels; remove samples", "samples")
        runs = math.prod(len(a.grid()) for a in axes)
    else:
        n = samples if samples is not None else sweep.samples
        if n is None:
            raise fail(f"the {sweep.design} design needs samples: N", "design")
        if sweep.design in ("sobol", "saltelli") and n & (n - 1):
            below = 1 << (n.bit_length() - 1)
            message = (f"{n} is not a power of 2, which a {sweep.design} design needs for its balance; "
                       f"try {below} or {below * 2}")
            raise InputError("--samples", message) if samples is not None else fail(message, "samples")
        runs = n * (len(axes) + 2) if sweep.design == "saltelli" else n
    if runs > MAX_RUNS:
        raise fail(f"the design has {runs:,} runs; the limit is {MAX_RUNS:,}", "design")
    return runs


def _outcomes(sweep: Sweep, years: range, first: int, fail) -> tuple[Outcome, ...]:
    out = []
    for k, text in enumerate(sweep.outcomes):
        span = _SPAN.match(text.strip())
        try:
            parts, year = (((span["metric"],), None) if span else keypath.split_year(keypath.parse(text, "outcomes")))
        except InputError as exc:
            raise fail(exc.message, "outcomes", k) from None
        metric = keypath.format(parts)
        if metric not in METRICS or (year is None and span is None):
            raise fail(f"{quote(text)} is not metric[year]; expected one of {', '.join(METRICS)} with a year, "
                       "e.g. shortage[2028], or with years, e.g. shortage[2025..2035]", "outcomes", k)
        wanted = range(int(span["first"]), int(span["last"]) + 1) if span else (year,)
        if not wanted:
            raise fail(f"{quote(text)}: the first year is after the last; expected metric[first..last]", "outcomes", k)
        for year in wanted:
            if year not in years:
                raise fail(f"{year} is outside the base scenario's years {years.start}-{years.stop - 1}", "outcomes", k)
            if year < first:
                raise fail(f"{year} is an observed year: the same data in every run; expected a projection year "
                           f"{first}-{years.stop - 1}", "outcomes", k)
            column = f"{metric}[{year}]"
            if any(o.column == column for o in out):
                raise fail(f"{column} is listed twice", "outcomes", k)
            out.append(Outcome(column, metric, year))
    return tuple(out)


_SPAN = re.compile(r"(?P<metric>[a-z_]+)\[(?P<first>[0-9]{4})\.\.(?P<last>[0-9]{4})\]\Z")
"""metric[first..last]: the metric in every year of the span (a trajectory, one column a year)."""
