"""Scenario files: YAML -> a validated, frozen Scenario.

A scenario names its years, its calibration file, its seed, its levers (policy choices, each a
dated schedule), its uncertainties (central value and distribution) and its targets. A variant
is an overlay: `extends: baseline.yaml` plus only what changes; mappings merge key by key (so a
dated schedule in the overlay adds or replaces dates), anything else replaces. `--set KEY=VALUE`
overlays single paths from the command line. Every error names the file, line and key path.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from sim import keypath, variables, yamldoc
from sim.errors import InputError, quote
from sim.occupation import OCCUPATIONS
from sim.schedule import first_year

METRICS = ("labour_force", "requirement", "shortage", "talent_arrivals", "talent_extensions",
           "talent_stock", "imported_workers", "retraining_places", "retraining_placements", "cost")
"""Yearly metrics a target may track (columns of yearly.csv)."""


class LocatedValueError(ValueError):
    """A bad value found by a validator, with the key path below the validated field (e.g. the
    year of a dated schedule entry) so the error names the exact key and line."""

    def __init__(self, message: str, *subpath) -> None:
        super().__init__(message)
        self.subpath = tuple(p for p in subpath if p is not None)


POINTS_FLOOR = 0.1
"""Smallest non-zero shift accepted for a lever in percentage points: below it, a share (0.02
for 2%) was almost surely meant, and would silently do nothing."""


def _schedule_checker(lo: float, hi: float | None, what: str, dated: bool = True, points: bool = False):
    def number(item: Any, year: int | None) -> float:
        x = _number(item, lo, hi, what, year)
        if points and 0 < abs(x) < POINTS_FLOOR:
            raise LocatedValueError(f"{x:g} percentage points is almost no shift; this lever is in points (1 = one "
                                    f"point), so 2% is written 2; use 0, or at least {POINTS_FLOOR:g}", year)
        return x

    def check(value: Any) -> float | dict[int, float]:
        if isinstance(value, Mapping) and not dated:
            raise LocatedValueError(f"takes a single value for every projection year, not {{year: value}}; expected {what}")
        if isinstance(value, Mapping):
            if not value:
                raise LocatedValueError("empty mapping; expected a value or {year: value, ...}")
            out = {}
            for year, item in value.items():
                if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
                    raise LocatedValueError(f"{quote(year)} is not a year; expected {{year: value}} with years like 2025", year)
                out[year] = number(item, year)
            return dict(sorted(out.items()))
        return number(value, None)

    return check


def _number(value: Any, lo: float, hi: float | None, what: str, year: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LocatedValueError(f"{quote(value)} is not a number; expected {what}", year)
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise LocatedValueError(f"{value} is not a finite number; expected {what}", year)
    if number < lo:
        raise LocatedValueError(f"{value} is below the minimum {lo:g}; expected {what}", year)
    if hi is not None and number > hi:
        raise LocatedValueError(f"{value} is above the maximum {hi:g}; expected {what}", year)
    return number


def _schedule(path: str) -> Any:
    """The type of a lever or uncertainty value at `path`: a number, or {year: number} where the
    table says the path is dated, in the table's bounds."""
    v = variables.get(path)
    what = v.what + (", or {year: value}" if v.dated else "")
    return Annotated[Any, BeforeValidator(_schedule_checker(v.lo, v.hi, what, dated=v.dated,
                                                            points=v.unit == "percentage points"))]


def _whole(path: str) -> Any:
    """The type of a whole-number lever (visa or contract years): one int in the table's bounds."""
    v = variables.get(path)

    def check(value: Any) -> int:
        if isinstance(value, Mapping):
            raise LocatedValueError(f"takes a single value for every projection year, not {{year: value}}; "
                                    f"expected {v.what}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise LocatedValueError(f"{quote(value)} is not a whole number; expected {v.what}")
        if not v.lo <= value <= v.hi:
            raise LocatedValueError(f"{value} is outside [{v.lo:g}, {v.hi:g}]; expected {v.what}")
        return value

    return Annotated[int, BeforeValidator(check)]


Number = StrictFloat | StrictInt
"""A number as YAML writes one: not a string ("1.5"), not a boolean (true)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class Years(Strict):
    start: StrictInt = Field(ge=1990, le=2200, description="first year (mid-year stocks); the calibration's base year")
    end: StrictInt = Field(ge=1990, le=2200, description="last year projected")

    @model_validator(mode="after")
    def _ordered(self) -> "Years":
        if self.start >= self.end:
            raise ValueError(f"start year {self.start} is not before end year {self.end}; expected start < end")
        return self


class Talent(Strict):
    """Talent admission schemes (TTPS, QMAS, GEP, ASMTP, IANG, TechTAS together)."""

    arrivals: _schedule("levers.talent.arrivals") = Field(
        description="talents arriving a year, staying 12 months or more (persons/year)")
    extension_rate: _schedule("levers.talent.extension_rate") = Field(
        description="share of expiring visas that are extended")
    first_visa_years: _whole("levers.talent.first_visa_years") = Field(2, description="length of the first visa (years)")
    renewal_visa_years: _whole("levers.talent.renewal_visa_years") = Field(3, description="length of each renewal (years)")


GROUPS = Literal[OCCUPATIONS]  # type: ignore[valid-type]


class Retraining(Strict):
    """Employees Retraining Board courses."""

    places: _schedule("levers.retraining.places") = Field(description="training places a year (persons/year)")
    completion_rate: _schedule("levers.retraining.completion_rate") = Field(0.9, description="share of places completed")
    placement_rate: _schedule("levers.retraining.placement_rate") = Field(
        0.7, description="share of completers of placement-tied courses placed in a job")
    activation_share: _schedule("levers.retraining.activation_share") = Field(
        0.3, description="share of placed trainees who were outside the labour force")
    placement_tied_share: _schedule("levers.retraining.placement_tied_share") | None = Field(
        None, description="share of places in placement-tied courses, the only ones that place trainees "
                          "[default: the calibration's]")
    moves_from: tuple[GROUPS, ...] = Field(
        tuple(g for g in OCCUPATIONS if g != "managers_professionals"), min_length=1,
        description="occupation groups that placed trainees already in work move out of")
    trains_for: tuple[GROUPS, ...] | None = Field(
        None, min_length=1, description="occupation groups courses train for; placed trainees go to them in the "
                                        "calibration's proportions [default: all the calibration's groups]")


class Workers(Strict):
    """Imported workers arriving a year, by occupation group (persons/year)."""

    managers_professionals: _schedule("levers.importation.workers.managers_professionals") = 0.0
    skilled_technical: _schedule("levers.importation.workers.skilled_technical") = 0.0
    service: _schedule("levers.importation.workers.service") = 0.0
    manual: _schedule("levers.importation.workers.manual") = 0.0
    other: _schedule("levers.importation.workers.other") = 0.0


class Importation(Strict):
    """Labour importation schemes (Supplementary Labour Scheme and sector schemes)."""

    workers: Workers = Field(default_factory=Workers)
    contract_years: _whole("levers.importation.contract_years") = Field(
        2, description="contract length (years); workers leave at its end")


class Participation(Strict):
    """Measures that raise participation, as shifts of the participation rate."""

    female_shift: _schedule("levers.participation.female_shift") = Field(
        0.0, description="percentage points added for women aged 25-59")
    older_shift: _schedule("levers.participation.older_shift") = Field(
        0.0, description="percentage points added for people aged 60-69")
    later_exit: _schedule("levers.participation.later_exit") = Field(
        0.0, description="years by which the age profile of participation at ages 50+ moves later (e.g. a "
                         "later retirement age): the rate at age a becomes the rate at age a - later_exit")


class Levers(Strict):
    talent: Talent
    retraining: Retraining
    importation: Importation = Field(default_factory=Importation)
    participation: Participation = Field(default_factory=Participation)


class Uncertainty(Strict):
    """An input outside the planner's control: a central value (a number, or {year: value} from
    that year on) and a distribution for Monte Carlo draws.

    A draw adds e_t to the central path: e_t = rho x e_(t-1) + sd x sqrt(1 - rho^2) x z_t with
    e_first ~ N(0, sd) (normal), so `persistence` rho = 1 is one shift held for every year and
    rho = 0 is independent yearly noise; uniform draws one value in [low, high] for all years.
    """

    value: Any
    dist: Literal["fixed", "normal", "uniform"] = "fixed"
    sd: Number = Field(0.0, ge=0)
    low: Number | None = None
    high: Number | None = None
    persistence: Number = Field(1.0, ge=0, le=1, description="year-to-year correlation of a normal draw's deviations")

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> Any:
        return _schedule_checker(-math.inf, None, "a number, or {year: number}", dated=True)(value)

    @model_validator(mode="after")
    def _consistent(self) -> "Uncertainty":
        if self.dist == "uniform":
            if isinstance(self.value, Mapping):
                raise ValueError("a uniform uncertainty needs a single central value, not {year: value}")
            low = self.value if self.low is None else self.low
            high = self.value if self.high is None else self.high
            if not low <= self.value <= high:
                raise ValueError(f"uniform needs low <= value <= high; got low {low}, value {self.value}, high {high}")
        return self

    def central(self, group: str | None = None) -> Any:
        """The central value (a number or {year: number}); of one group for a grouped uncertainty."""
        return self.value


class GroupError(Uncertainty):
    """A relative (log) error of a quantity split by occupation group: 0 (the data as they are) or
    {group: log error} (a group's share times exp(error), renormalised); draws add N(0, sd) to
    every group's error."""

    dist: Literal["fixed", "normal"] = "fixed"

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            unknown = [g for g in value if g not in OCCUPATIONS]
            if unknown:
                raise LocatedValueError(f"{quote(unknown[0])} is not an occupation group; expected one of "
                                        f"{', '.join(OCCUPATIONS)}", unknown[0])
            return {g: _number(x, -math.inf, None, "a log error", g) for g, x in value.items()}
        number = _number(value, 0, 0, "0, or {group: log error}", None)
        return number

    def central(self, group: str | None = None) -> float:
        return float(self.value.get(group, 0.0)) if isinstance(self.value, Mapping) else float(self.value)


class Uncertainties(Strict):
    """Central values and distributions of what the planner does not control. Each applies from
    the first projection year; the observed years are data."""

    gdp_growth: Uncertainty = Field(description="real GDP growth a year (fraction); a path {year: growth} with "
                                                "yearly deviations of `sd` and `persistence`")
    resident_net_migration: Uncertainty = Field(
        description="net migration of residents a year (persons/year), excluding one-way permits, talents, "
                    "imported workers and FDH")
    one_way_permits: Uncertainty = Field(Uncertainty(value=40000.0), description="one-way-permit arrivals (persons/year)")
    participation_trend: Uncertainty = Field(
        Uncertainty(value=0.0), description="extra participation trend at ages 15-64 (percentage points a year)")
    participation_projection: Uncertainty = Field(
        Uncertainty(value=1.0), description="multiplier of the projected women's and older people's participation "
                                            "trends (1 = as calibrated, 0 = rates held at the last observed year)")
    mortality_scale: Uncertainty = Field(Uncertainty(value=1.0), description="multiplier of death probabilities")
    fertility: Uncertainty = Field(Uncertainty(value=1.0), description="multiplier of the TFR path")
    talent_arrivals: Uncertainty = Field(
        Uncertainty(value=1.0), description="multiplier of the talent arrivals lever (forecast error)")
    extension_rate: Uncertainty = Field(
        Uncertainty(value=0.0), description="shift added to the extension-rate lever (share, result clipped to [0, 1])")
    occupation_shares: GroupError = Field(
        GroupError(value=0.0), description="relative error of each group's share of the labour force (sd, "
                                           "lognormal, renormalised)")
    shortage_split: GroupError = Field(
        GroupError(value=0.0), description="relative error of each group's part of the observed 2023 shortage "
                                           "(sd, lognormal, renormalised to the total)")

    @model_validator(mode="after")
    def _in_range(self) -> "Uncertainties":
        for name in type(self).model_fields:
            u = getattr(self, name)
            rows = variables.uncertainty_paths(name)
            if not rows[0].dated and not isinstance(u, GroupError) and isinstance(u.value, Mapping):
                raise LocatedValueError("takes a single central value, not {year: value}; dated paths are for "
                                        f"{', '.join(DATED)}", name, "value", max(u.value))
            for row in rows:
                group = OCCUPATIONS[row.group] if row.group is not None else None
                try:
                    _bounded(row.lo, row.hi, row.what, row.max_sd)(u, group)
                except LocatedValueError as exc:
                    raise LocatedValueError(str(exc), name, *exc.subpath) from None
        return self


def _bounded(lo: float, hi: float, what: str, max_sd: float | None = None):
    """A validator: every central value and bound of an uncertainty (of one group) in [lo, hi]; sd <= max_sd."""

    def check(u: Uncertainty, group: str | None) -> Uncertainty:
        for key in ("value", "low", "high"):
            v = u.central(group) if key == "value" else getattr(u, key)
            items = v.items() if isinstance(v, Mapping) else [(group, v)]
            for year, x in items:
                if x is not None and not lo <= x <= hi:
                    raise LocatedValueError(f"{x} is outside [{lo:g}, {hi:g}]; expected {what}", key, year)
        if max_sd is not None and u.sd > max_sd:
            raise LocatedValueError(f"{u.sd} is above {max_sd:g}; expected the spread of {what}", "sd")
        return u

    return check


DATED = tuple(v.path.split(".")[1] for v in variables.VARIABLES if v.kind == "uncertainty" and v.dated)
"""Uncertainties whose central value may be a dated path; the others are one number for every year."""


class Target(Strict):
    metric: Literal[METRICS]  # type: ignore[valid-type]
    min: Number | None = None
    max: Number | None = None
    years: tuple[StrictInt, StrictInt]

    @model_validator(mode="after")
    def _bounded(self) -> "Target":
        if self.min is None and self.max is None:
            raise ValueError("a target needs min, max or both")
        if self.years[0] > self.years[1]:
            raise ValueError(f"years {list(self.years)} are not in order; expected [first, last]")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}; no value could meet the target")
        return self


def _unit_costs(value: Any) -> dict[str, float]:
    """{lever path: HK$ per unit of the lever a year}; every path a lever of the table."""
    if not isinstance(value, Mapping):
        raise LocatedValueError("expected a mapping {lever path: HK$ per unit a year}, e.g. "
                                "{levers.retraining.places: 20000}")
    out = {}
    for path, cost in value.items():
        row = variables.BY_PATH.get(path) if isinstance(path, str) else None
        if row is None or row.kind != "lever" or not row.dated:
            levers = [v.path for v in variables.VARIABLES if v.kind == "lever" and v.dated]
            hint = difflib.get_close_matches(str(path), levers, n=1)
            raise LocatedValueError(f"{quote(path)} is not a lever given per year" + (f"; did you mean {hint[0]!r}?" if hint else
                                    f"; expected one of: {', '.join(levers)}"), path)
        out[path] = _number(cost, -1e9, 1e9, "HK$ per unit of the lever a year, within +/-1e9", path)
    return out


def _fitted(value: Any) -> dict[str, float]:
    """{fitted parameter: value} overriding the calibration's, in the table's bounds."""
    if not isinstance(value, Mapping):
        raise LocatedValueError("expected a mapping {fitted parameter: value}, e.g. {participation_scale: 0.96}")
    names = {v.path.removeprefix("fitted."): v for v in variables.VARIABLES if v.kind == "fitted"}
    out = {}
    for name, x in value.items():
        if name not in names:
            hint = difflib.get_close_matches(str(name), list(names), n=1)
            raise LocatedValueError(f"{quote(name)} is not a fitted parameter" + (f"; did you mean {hint[0]!r}?" if hint
                                    else f"; expected one of: {', '.join(names)}"), name)
        row = names[name]
        out[name] = _number(x, row.lo, row.hi, row.what, name)
    return out


class Scenario(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80,
                      description="names the output folder: letters, digits, _ . - [default: the file's stem]")
    description: str = ""
    years: Years
    calibration: str = Field(description="calibrated parameter file, relative to the scenario file")
    seed: StrictInt = Field(2024, ge=0, lt=2**63)
    levers: Levers
    uncertainties: Uncertainties
    targets: dict[str, Target] = Field(default_factory=dict)
    unit_costs: Annotated[dict[str, float], BeforeValidator(_unit_costs)] = Field(
        default_factory=dict, description="HK$ per unit of a lever a year, by lever path; a run's cost is "
                                          "sum of unit cost x (lever - its last observed level)")
    fitted: Annotated[dict[str, float], BeforeValidator(_fitted)] = Field(
        default_factory=dict, description="fitted parameters overriding the calibration's (sensitivity only)")

    @model_validator(mode="after")
    def _targets_in_years(self) -> "Scenario":
        """A target starts within the run's years or after (years after the end are not checked,
        so a shorter run of a scenario keeps its targets)."""
        for name, target in self.targets.items():
            if target.years[0] < self.years.start:
                raise LocatedValueError(f"{list(target.years)} starts before the scenario's years "
                                        f"{self.years.start}-{self.years.end}", "targets", name, "years")
        return self


class Loaded(BaseModel):
    """A validated scenario and where it came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    scenario: Scenario
    path: Path
    calibration_path: Path
    files: tuple[Path, ...]  # every file read: the scenario, what it extends, the calibration
    origins: dict  # key path -> (file, line) of where each value was given
    last_observed: int | None = None  # the calibration's last observed year (levers act after it)

    def where(self, *key) -> tuple[str, int | None]:
        """The file and line that gave the value at key path `key`."""
        return _origin(tuple(key), self.origins, self.path)


def load(path: str | Path, overrides: tuple[str, ...] = (), check_calibration: bool = True,
         last_observed: int | None = None) -> Loaded:
    """Read, overlay, override and validate a scenario file; raise InputError on any problem.

    Levers and uncertainties apply from the first projection year, the year after the last
    observed year that the calibration file states (or `last_observed`, if given): a single
    value holds from then on, and a dated value for an observed year is refused.
    `check_calibration=False` skips the check that the calibration file exists (for
    `simulate calibrate`, which may be about to write it)."""
    path = Path(path)
    data, origins, files = _resolve(path, ())
    _own_name(data, origins, path)
    for item in overrides:
        _apply_override(data, origins, item)
    if last_observed is None:
        last_observed = _last_observed(data, origins, path)
    years = data.get("years")
    start = years.get("start") if isinstance(years, dict) else None
    first = last_observed + 1 if last_observed is not None else start
    data = _date_from_start(_from_defaults(data, ()), first)
    scenario = _validate(data, origins, path)
    if last_observed is not None:  # else the calibration file is missing: said below, where it matters
        _check_schedules(scenario, origins, path, first, last_observed)
    calib_file, calib_line = origins.get(("calibration",), (path, None))
    try:
        calibration_path = (Path(calib_file).parent / scenario.calibration).resolve() if calib_file != "--set" \
            else Path(scenario.calibration).resolve()
        found = calibration_path.is_file()
    except (ValueError, OSError, RuntimeError) as exc:
        raise InputError(calib_file, f"not a usable file name ({exc})", line=calib_line, key="calibration") from None
    if check_calibration and not found:
        exists = calibration_path.exists()
        raise InputError(calib_file, f"calibration file {quote(scenario.calibration)} "
                         + ("is not a regular file" if exists else "not found") + f" (looked for {calibration_path})",
                         line=calib_line, key="calibration")
    return Loaded(scenario=scenario, path=path, calibration_path=calibration_path,
                  files=tuple(files) + (calibration_path,), origins=origins, last_observed=last_observed)


def _own_name(data: dict, origins: dict, path: Path) -> None:
    """A file that does not give its own `name:` is named after its stem (never its parent's, so a
    variant never writes into its parent's folder), and does not inherit its parent's description."""
    for key in ("name", "description"):
        if key in data and origins.get((key,), (None,))[0] != str(path):
            del data[key]
            origins.pop((key,), None)
    if "name" not in data:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem).lstrip("_.-")[:80] or "scenario"
        data["name"] = stem
        origins[("name",)] = (str(path), None)


def _last_observed(data: dict, origins: dict, path: Path) -> int | None:
    """The last observed year of the calibration file the scenario names, if it can be read
    (None when it does not exist yet: `load` reports that where it matters)."""
    from sim.inputs import last_observed_year

    name = data.get("calibration")
    if not isinstance(name, str):
        return None
    calib_file, _ = origins.get(("calibration",), (path, None))
    try:
        calibration_path = (Path(calib_file).parent / name) if calib_file != "--set" else Path(name)
        if not calibration_path.is_file():
            return None
    except (ValueError, OSError):
        return None
    return last_observed_year(calibration_path)


def _resolve(path: Path, chain: tuple[Path, ...]) -> tuple[dict, dict, list[Path]]:
    """Read `path` and what it extends; returns (merged data, key path -> (file, line), files)."""
    doc = yamldoc.read(path)
    data = dict(doc.data)
    origins = {key: (str(path), line) for key, line in doc.lines.items()}
    files = [path]
    parent = data.pop("extends", None)
    if parent is None:
        return data, origins, files
    if not isinstance(parent, str):
        raise InputError(path, "expected the path of another scenario file", line=doc.lines.get(("extends",)),
                         key="extends")
    if len(chain) >= MAX_EXTENDS:
        raise InputError(path, f"extends a chain of more than {MAX_EXTENDS} files; real variants extend one or two",
                         line=doc.lines.get(("extends",)), key="extends")
    try:
        base_path = (path.parent / parent).resolve()
        base_path.is_file()
    except (ValueError, OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise InputError(path, f"not a usable file name ({exc})", line=doc.lines.get(("extends",)),
                         key="extends") from None
    if base_path in chain or base_path == _resolved(path):
        raise InputError(path, f"{parent!r} extends itself in a cycle", line=doc.lines.get(("extends",)),
                         key="extends")
    if not base_path.is_file():
        raise InputError(path, f"extended file {parent!r} not found (looked for {base_path})",
                         line=doc.lines.get(("extends",)), key="extends")
    base, base_origins, base_files = _resolve(base_path, chain + (_resolved(path),))
    merged = _merge(base, data)
    base_origins.update({k: v for k, v in origins.items() if k != ("extends",)})
    return merged, base_origins, base_files + files


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare the path as given
        return path.absolute()


MAX_EXTENDS = 16
"""Longest chain of `extends:` accepted."""

FROM_START = "from the first projection year"
"""Placeholder key: a single value overlaid by dated values holds from the first projection year
(filled in by _date_from_start once that year is known)."""


def _merge(base: Any, over: Any) -> Any:
    """Deep merge: mappings merge key by key; a single number overlaid by dated values
    ({year: value}) keeps holding before the first date; anything else in `over` replaces."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    if _is_number(base) and isinstance(over, Mapping) and over and all(isinstance(k, int) for k in over):
        return {FROM_START: base, **over}
    return over


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _date_from_start(node: Any, start: Any) -> Any:
    """Replace FROM_START keys by the year `start` (unless that year is dated already)."""
    if not isinstance(node, dict):
        return node
    out = {key: _date_from_start(value, start) for key, value in node.items()}
    if FROM_START in out and isinstance(start, int):
        value = out.pop(FROM_START)
        out = {start: value, **out} if start not in out else out
    return out


def _apply_override(data: dict, origins: dict, item: str) -> None:
    """Apply one `--set a.b.c=VALUE` (VALUE parsed as YAML) in place."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise InputError("--set", f"{quote(item)} is not KEY=VALUE; e.g. --set levers.talent.arrivals=50000")
    parts = keypath.parse(key)
    try:
        value, _ = yamldoc.parse(f"v: {raw}", "--set")
    except InputError as exc:
        raise InputError("--set", exc.message.replace("the file is", "the value is"), key=key) from None
    node = data
    for n, part in enumerate(parts[:-1], start=1):
        child = node.get(part) if isinstance(node, dict) else None
        if _is_number(child) and isinstance(parts[n], int):  # a.b.2026=x on a single value: dated from here
            child = {FROM_START: child}
            node[part] = child
            origins[parts[:n]] = ("--set", None)
        elif not isinstance(child, dict):
            child = {}
            node[part] = child
            origins[parts[:n]] = ("--set", None)  # a mapping made by --set: errors inside it name --set
        node = child
    node[parts[-1]] = _merge(node.get(parts[-1]), value["v"])
    for path in [p for p in origins if p[: len(parts)] == parts]:
        del origins[path]
    origins[parts] = ("--set", None)


def _from_defaults(node: Any, loc: tuple) -> Any:
    """Dated values for a key left at the schema's single default ({2027: 1.0} on later_exit) hold
    from their first date; before it, the default (as dated values over a parent's value do)."""
    if not isinstance(node, dict):
        return node
    out = {key: _from_defaults(value, loc + (key,)) for key, value in node.items()}
    if out and FROM_START not in out and all(isinstance(k, int) and not isinstance(k, bool) for k in out):
        default = _default(loc)
        if _is_number(default):
            out = {FROM_START: default, **out}
    return out


def _default(loc: tuple) -> Any:
    """The schema's default at key path `loc` (None where there is none)."""
    model: Any = Scenario
    for n, part in enumerate(loc, start=1):
        field = getattr(model, "model_fields", {}).get(part) if isinstance(part, str) else None
        if field is None:
            return None
        if n == len(loc):
            return field.get_default(call_default_factory=True)
        model = field.annotation
    return None


def _validate(data: dict, origins: dict, path: Path) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # root cause first
        raise _located(errors[0], origins, path) from None


UNION_TAGS = {"float", "int", "str", "bool"}
"""Names pydantic adds to an error's location for the member of a union (Number = float | int)."""


def _located(error: dict, origins: dict, path: Path, model: type[BaseModel] | None = None) -> InputError:
    """Turn one pydantic error into an InputError with file, line and key path (`model`: the
    schema validated, for "did you mean"; the Scenario by default)."""
    loc = tuple(error["loc"])
    if error["type"] != "extra_forbidden":  # there every part is a key the file gave
        loc = tuple(p for p in loc if not (isinstance(p, str) and (p in UNION_TAGS or "[" in p)))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, LocatedValueError):
        loc = loc + cause.subpath
    file, line = _origin(loc, origins, path)
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], model or Scenario)
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        message = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else "") + \
            (f"; expected one of: {', '.join(allowed)}" if allowed else "")
    elif kind == "missing":
        message = "missing; this key is required"
        if file == "--set":  # missing from the file, whatever --set added around it
            file, line = str(path), None
    elif isinstance(cause, ValueError):
        message = str(cause)
    else:
        message = f"{error['msg']}; got {quote(error.get('input'))}"
        message = message.replace("Value error, ", "")
    return InputError(file, message, line=line, key=keypath.format(loc))


def _origin(loc: tuple, origins: dict, path: Path) -> tuple[str, int | None]:
    """The file and line of the longest prefix of `loc` that has one."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            return origins[loc[:n]]
    return str(path), None


def _allowed_keys(loc: tuple, model: Any) -> list[str]:
    """The keys allowed in the mapping at `loc` of schema `model` (for "did you mean"); [] where any
    key goes (a mapping of names, such as targets)."""
    for part in loc:
        if typing.get_origin(model) is dict:
            model = typing.get_args(model)[1]
            continue
        field = getattr(model, "model_fields", {}).get(part) if isinstance(part, str) else None
        if field is None:
            return []
        model = _model_of(field.annotation)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _model_of(annotation: Any) -> Any:
    """The schema inside an optional annotation (`Frontier | None` -> Frontier)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if models else annotation
    return annotation


def _check_schedules(scenario: Scenario, origins: dict, path: Path, first: int, last: int) -> None:
    """Every dated lever or uncertainty starts at the first projection year `first` and dates no
    observed year (history is data: it comes from the calibration, up to `last`); and none is
    after the run's last year where it is given by --set or by the file that sets that year:
    the value would never apply. (A run shortened elsewhere, by --set years.end or a variant, keeps the later
    dates of the file it shortens.)"""
    end_file = _origin(("years", "end"), origins, path)[0]

    def check(value: Any, loc: tuple) -> None:
        if not isinstance(value, dict) or not all(isinstance(k, int) for k in value) or first_year(value) is None:
            return  # a single value, or a mapping by group
        early = [y for y in value if y < first]
        if early:
            file, line = _origin(loc + (early[0],), origins, path)
            raise InputError(file, f"{early[0]} is an observed year: the calibration's history runs to {last} and "
                             f"comes from its data; levers and uncertainties apply from {first}", line=line,
                             key=keypath.format(loc + (early[0],)))
        late = [y for y in value if y > scenario.years.end]
        if late and _origin(loc + (late[0],), origins, path)[0] in (end_file, "--set"):
            file, line = _origin(loc + (late[0],), origins, path)
            raise InputError(file, f"{late[0]} is after the last year {scenario.years.end} of the run, so this value "
                             "would never apply; remove it or extend years.end", line=line,
                             key=keypath.format(loc + (late[0],)))
        if first_year(value) > first:
            file, line = _origin(loc, origins, path)
            raise InputError(file, f"first dated value is for {first_year(value)}, after the first projection year "
                             f"{first}; add a value for {first}", line=line, key=keypath.format(loc))

    def walk(model: BaseModel, loc: tuple) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, Uncertainty):
                check(value.value, loc + (name, "value"))
            elif isinstance(value, BaseModel):
                walk(value, loc + (name,))
            else:
                check(value, loc + (name,))

    walk(scenario.levers, ("levers",))
    walk(scenario.uncertainties, ("uncertainties",))


def resolved(scenario: Scenario) -> dict:
    """The scenario as plain data (for the manifest)."""
    return scenario.model_dump(mode="json")

