"""Calibrated inputs: `calibration/hk.yaml` and its sourced CSV files -> arrays the model uses.

Ages run 0..100 (100 is open-ended: 100 and over); the sex axis is (female, male). Everything
here is the same for every run of a batch; what varies by run lives in `sim.params`.
Population figures from C&SD include foreign domestic helpers (FDH); they are removed here,
since the model's population excludes them everywhere.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import yamldoc
from sim.errors import InputError
from sim.flows import ADULT
from sim.occupation import OCCUPATIONS

AGES = 101
SEXES = ("female", "male")


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: Any
    unit: str
    source: str
    fitted: bool = False  # estimated by `simulate calibrate`
    se: Any = None        # standard error of a fitted value (same shape as value)


class FreeParameter(BaseModel):
    """A parameter `simulate calibrate` estimates: starting value, bounds and what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    initial: float
    lower: float
    upper: float
    step: float = Field(gt=0, description="finite-difference step for the Jacobian")
    unit: str
    meaning: str


class DataFiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    population_bands: str
    population_sex: str
    mortality: str
    participation: str
    profiles: str
    flows: str
    occupations: str
    targets: str


class CalibrationFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_year: int = Field(ge=1990, le=2100)
    demand_base_year: int = Field(ge=1990, le=2100)
    data: DataFiles
    parameters: dict[str, Parameter]
    free: dict[str, FreeParameter] = Field(default_factory=dict)  # in assumptions.yaml only
    fit: dict[str, Any] | None = None  # fit record, in the file `simulate calibrate` writes


@dataclass(frozen=True)
class Inputs:
    """Everything calibrated, as arrays (persons unless stated)."""

    base_year: int
    demand_base_year: int
    population: np.ndarray        # (2, 101) persons at mid base_year, excluding FDH
    mortality: np.ndarray         # (2, 101) probability of dying within the year
    participation: np.ndarray     # (2, 101) base participation rate, base year
    profiles: dict[str, np.ndarray]  # name -> (2, 101) shares summing to 1
    history: dict[str, dict[int, float]]  # metric -> {year: value}, flows.csv
    shares: dict[str, np.ndarray]  # resident / talent / retraining -> (G,) shares
    shortage_base: np.ndarray     # (G,) persons, demand base year
    params: dict[str, Any]        # parameter name -> value
    targets: list[dict]           # rows of targets.csv
    files: tuple[Path, ...]       # every file read
    fit: dict[str, Any] | None = None  # the fit record of a calibrated file (estimates, covariance)

    def param(self, name: str) -> Any:
        return self.params[name]


REQUIRED_PARAMETERS = (
    "population_weight_2020", "fdh_age_range", "fdh_female_share", "birth_female_share",
    "participation_scale", "participation_trend", "participation_trend_covid", "participation_trend_break",
    "participation_trend_end",
    "talent_participation", "retraining_exit_rate", "births_projection", "owp_projection",
    "requirement_base", "productivity_growth",
)


def read_file(path: str | Path) -> tuple[CalibrationFile, yamldoc.Document]:
    """Read and validate a calibration (or assumptions) file."""
    path = Path(path)
    doc = yamldoc.read(path)
    try:
        calib = CalibrationFile.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = next((doc.lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in doc.lines), None)
        raise InputError(path, f"{err['msg']}", line=line, key=yamldoc.dotted(loc)) from None
    return calib, doc


def load(path: str | Path, extra: dict[str, Any] | None = None) -> Inputs:
    """Read the calibration file and its data; raise InputError naming file, line and key.

    `extra` adds or replaces parameter values (the fit passes its trial values this way).
    """
    path = Path(path)
    calib, doc = read_file(path)
    params = {name: p.value for name, p in calib.parameters.items()} | (extra or {})
    missing = [name for name in REQUIRED_PARAMETERS if name not in params]
    if missing:
        raise InputError(path, f"missing parameter(s): {', '.join(missing)}", key="parameters")
    for name in REQUIRED_PARAMETERS:
        params[name] = _checked(name, params[name], path, doc.lines.get(("parameters", name, "value")))
    if calib.fit is not None:
        _check_fit(calib.fit, path, doc.lines.get(("fit",)))
    folder = path.parent
    files = {name: folder / rel for name, rel in calib.data.model_dump().items()}
    tables = {name: read_table(f) for name, f in files.items()}
    base = calib.base_year
    history = _history(tables["flows"], files["flows"])
    fdh = history.get("fdh_stock", {}).get(base)
    if fdh is None:
        raise InputError(files["flows"], f"no fdh_stock row for the base year {base}", key="metric")
    population = _population(tables["population_bands"], tables["population_sex"], params, fdh, files)
    return Inputs(
        base_year=base,
        demand_base_year=calib.demand_base_year,
        population=population,
        mortality=1.0 - np.exp(-_in_range(_by_age(tables["mortality"], files["mortality"]), 0.0, 10.0,
                                           files["mortality"], "death rates per person-year in [0, 10]")),
        participation=_in_range(_by_age(tables["participation"], files["participation"], first=ADULT), 0.0, 1.0,
                                files["participation"], "participation rates in [0, 1]"),
        profiles=_profiles(tables["profiles"], files["profiles"]),
        history=history,
        shares={kind: _shares(tables["occupations"], f"{kind}_share", files["occupations"])
                for kind in ("resident", "talent", "retraining")},
        shortage_base=_by_group(tables["occupations"], "shortage", files["occupations"]),
        params=params,
        targets=_targets(tables["targets"], files["targets"]),
        files=(path, *files.values()),
        fit=calib.fit,
    )


RANGES = {  # parameter -> (low, high, what): checked when a calibration file is read
    "population_weight_2020": (0.0, 1.0, "a share in [0, 1]"),
    "fdh_female_share": (0.0, 1.0, "a share in [0, 1]"),
    "birth_female_share": (0.0, 1.0, "a share in [0, 1]"),
    "participation_scale": (0.0, 3.0, "a multiplier in [0, 3]"),
    "participation_trend": (-10.0, 10.0, "percentage points a year in [-10, 10]"),
    "participation_trend_covid": (-10.0, 10.0, "percentage points a year in [-10, 10]"),
    "participation_trend_break": (1990, 2100, "a whole year"),
    "participation_trend_end": (1990, 2100, "a whole year"),
    "talent_participation": (0.0, 1.0, "a share in [0, 1]"),
    "retraining_exit_rate": (1e-9, 1.0, "a share a year in (0, 1]"),
    "births_projection": (0.0, 1e7, "persons a year >= 0"),
    "owp_projection": (0.0, 1e7, "persons a year >= 0"),
}


def _checked(name: str, value: Any, path: Path, line: int | None) -> Any:
    """A calibration parameter's value, checked for type and range (InputError otherwise)."""
    key = f"parameters.{name}.value"

    def number(v: Any, low: float, high: float, what: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or not low <= v <= high:
            raise InputError(path, f"{v!r} is not {what}", line=line, key=key)
        return float(v)

    if name in ("requirement_base", "productivity_growth"):
        if not isinstance(value, dict) or set(value) != set(OCCUPATIONS):
            raise InputError(path, f"expected a mapping with one number for each of {', '.join(OCCUPATIONS)}",
                             line=line, key=key)
        low, what = (0.0, "persons >= 0") if name == "requirement_base" else (-0.5, "a fraction a year > -0.5")
        return np.array([number(value[g], low, 1e9, what) for g in OCCUPATIONS])
    if name == "fdh_age_range":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
                and 0 <= value[0] <= value[1] <= AGES - 1):
            raise InputError(path, f"{value!r} is not [first, last] ages with 0 <= first <= last <= 100",
                             line=line, key=key)
        return value
    low, high, what = RANGES[name]
    if what == "a whole year" and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(path, f"{value!r} is not {what}", line=line, key=key)
    return number(value, low, high, what)


def _check_fit(fit: dict, path: Path, line: int | None) -> None:
    """The fit record must carry parameter names, estimates and an n x n covariance (for --draws)."""
    names, estimates, cov = fit.get("parameters"), fit.get("estimates"), fit.get("covariance")
    n = len(names) if isinstance(names, list) else -1
    ok = (n > 0 and isinstance(estimates, list) and len(estimates) == n and isinstance(cov, list)
          and len(cov) == n and all(isinstance(row, list) and len(row) == n for row in cov)
          and all(isinstance(v, (int, float)) and np.isfinite(v) for v in estimates)
          and all(v is None or (isinstance(v, (int, float)) and np.isfinite(v)) for row in cov for v in row)
          and all(cov[k][k] is None or cov[k][k] >= 0 for k in range(n)))
    if not ok:
        raise InputError(path, "expected parameters (names), estimates (one number each) and an n x n covariance "
                         "(numbers or null, variances >= 0)", line=line, key="fit")
    unknown = [name for name in names if name not in FITTED_NAMES]
    if unknown:
        raise InputError(path, f"unknown fitted parameter(s) {', '.join(map(str, unknown))}; expected names from "
                         f"{', '.join(FITTED_NAMES)}", line=line, key="fit.parameters")


FITTED_NAMES = ("participation_scale", "participation_trend", "participation_trend_covid",
                *(f"productivity_growth.{g}" for g in OCCUPATIONS))
"""Parameters a fit record may carry (the draws sample them by these names)."""

TARGET_METRICS = ("labour_force", "shortage", *(f"shortage_{g}" for g in OCCUPATIONS))

FLOW_METRICS = ("births", "owp_arrivals", "net_other_movement", "fdh_stock", "talent_arrivals_observed")

REQUIRED_COLUMNS = ("year", "metric", "value", "unit", "source", "confidence")
CONFIDENCE = ("H", "M", "L")  # official; media quoting officials; third-party, assumed or derived


def read_table(path: Path) -> list[dict]:
    """Rows of a calibration CSV. Every file has at least year, metric, value, unit, source and
    confidence (H, M or L); value must be a number and year a whole number."""
    if not path.is_file():
        raise InputError(path, "data file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the file as UTF-8 text ({exc.__class__.__name__})") from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            rows = _rows(reader, path)
        except csv.Error as exc:
            raise InputError(path, f"not readable as CSV ({exc})", line=reader.line_num) from None
    if not rows:
        raise InputError(path, "no data rows")
    return rows


def _rows(reader: csv.DictReader, path: Path) -> list[dict]:
    """Checked rows of a CSV reader (see read_table); `_line` is each row's line in the file."""
    missing = [col for col in REQUIRED_COLUMNS if col not in (reader.fieldnames or [])]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}; every file needs "
                         f"{', '.join(REQUIRED_COLUMNS)}", line=1)
    rows = []
    for row in reader:
        number = row["_line"] = reader.line_num
        try:
            row["value"] = float(row["value"])
        except (TypeError, ValueError):
            raise InputError(path, f"value {row.get('value')!r} is not a number", line=number, key="value") from None
        if not np.isfinite(row["value"]):
            raise InputError(path, f"value {row['value']} is not a finite number", line=number, key="value")
        row["year"] = _int(row, "year", path)
        if row["confidence"] not in CONFIDENCE:
            raise InputError(path, f"confidence {row['confidence']!r} is not one of H, M, L", line=number,
                             key="confidence")
        rows.append(row)
    return rows


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _int(row: dict, col: str, path: Path) -> int:
    try:
        return int(row[col])
    except (KeyError, TypeError, ValueError):
        raise InputError(path, f"{col} {row.get(col)!r} is not a whole number", line=row["_line"], key=col) from None


def _spread(lo: int, hi: int, total: float) -> np.ndarray:
    """Spread a band total over single years of age: evenly, except an open band 80+ (hi 100),
    which declines geometrically (x0.85 a year) so that few reach 100."""
    out = np.zeros(AGES)
    ages = np.arange(lo, hi + 1)
    weights = 0.85 ** (ages - lo) if hi == AGES - 1 and lo >= 80 else np.ones(ages.size)
    out[lo:hi + 1] = total * weights / weights.sum()
    return out


def _by_age(rows: list[dict], path: Path, first: int = 0) -> np.ndarray:
    """(2, 101) array from rows with sex, age_lo, age_hi and a rate in value (same rate each age);
    ages below `first` are 0 and need no rows."""
    out = np.full((2, AGES), np.nan)
    out[:, :first] = 0.0
    for row in rows:
        sex = _sex(row, path)
        lo, hi = _ages(row, path)
        out[sex, lo:hi + 1] = row["value"]
    if np.isnan(out).any():
        raise InputError(path, f"rows do not cover every age {first}-100 for both sexes")
    return out


def _ages(row: dict, path: Path) -> tuple[int, int]:
    """(age_lo, age_hi) of a row, checked: 0 <= age_lo <= age_hi <= 100."""
    lo, hi = _int(row, "age_lo", path), _int(row, "age_hi", path)
    if not 0 <= lo <= hi <= AGES - 1:
        raise InputError(path, f"ages {lo}-{hi} are not within 0-100 with age_lo <= age_hi", line=row["_line"],
                         key="age_lo")
    return lo, hi


def _sex(row: dict, path: Path) -> int:
    if row.get("sex") not in SEXES:
        raise InputError(path, f"sex {row.get('sex')!r} is not one of {', '.join(SEXES)}", line=row["_line"], key="sex")
    return SEXES.index(row["sex"])


def _profiles(rows: list[dict], path: Path) -> dict[str, np.ndarray]:
    """Age-sex profiles (metric `<name>_share`) -> name -> (2, 101) shares summing to 1."""
    out: dict[str, np.ndarray] = {}
    for row in rows:
        profile = out.setdefault(row["metric"].removesuffix("_share"), np.zeros((2, AGES)))
        profile[_sex(row, path)] += _spread(*_ages(row, path), row["value"])
    for name, profile in out.items():
        if abs(profile.sum() - 1.0) > 1e-6:
            raise InputError(path, f"profile {name!r} sums to {profile.sum():.6f}; expected 1", key="value")
    return out


def _history(rows: list[dict], path: Path) -> dict[str, dict[int, float]]:
    """metric -> {year: value} from flows.csv: known metrics, one row per metric and year, no gaps."""
    out: dict[str, dict[int, float]] = {}
    for row in rows:
        if row["metric"] not in FLOW_METRICS:
            raise InputError(path, f"metric {row['metric']!r} is not one of {', '.join(FLOW_METRICS)}",
                             line=row["_line"], key="metric")
        series = out.setdefault(row["metric"], {})
        if row["year"] in series:
            raise InputError(path, f"a second {row['metric']} row for {row['year']}; keep one", line=row["_line"])
        series[row["year"]] = row["value"]
    for metric, series in out.items():
        gaps = sorted(set(range(min(series), max(series) + 1)) - set(series))
        if gaps:
            raise InputError(path, f"{metric} has no row for {gaps}; the years must follow on", key="year")
    return out


def _targets(rows: list[dict], path: Path) -> list[dict]:
    """targets.csv rows with `tolerance` (persons > 0) as a number and `chosen` yes or no."""
    for row in rows:
        try:
            row["tolerance"] = float(row.get("tolerance") or "nan")
        except ValueError:
            row["tolerance"] = float("nan")
        problem = (f"metric {row['metric']!r} is not one of {', '.join(TARGET_METRICS)}"
                   if row["metric"] not in TARGET_METRICS else
                   "tolerance is not a number > 0 (persons)" if not (np.isfinite(row["tolerance"])
                                                                     and row["tolerance"] > 0) else
                   f"chosen {row.get('chosen')!r} is not yes or no" if row.get("chosen") not in ("yes", "no") else None)
        if problem:
            raise InputError(path, problem, line=row["_line"])
    return rows


def _in_range(values: np.ndarray, low: float, high: float, path: Path, what: str) -> np.ndarray:
    if ((values < low) | (values > high)).any():
        raise InputError(path, f"values outside the range; expected {what}", key="value")
    return values


def _shares(rows: list[dict], metric: str, path: Path) -> np.ndarray:
    """(G,) shares of `metric` by occupation group, each in [0, 1] and summing to 1."""
    shares = _by_group(rows, metric, path)
    if (shares < 0).any() or abs(shares.sum() - 1.0) > 1e-6:
        raise InputError(path, f"{metric} sums to {shares.sum():.6f} over the groups; expected shares >= 0 summing to 1",
                         key="value")
    return shares


def _by_group(rows: list[dict], metric: str, path: Path) -> np.ndarray:
    """(G,) values of `metric` from rows keyed by occupation, in OCCUPATIONS order."""
    by_group = {row.get("occupation"): row["value"] for row in rows if row["metric"] == metric}
    if set(by_group) != set(OCCUPATIONS):
        raise InputError(path, f"metric {metric!r} needs one row for each of {', '.join(OCCUPATIONS)}",
                         key="occupation")
    return np.array([by_group[g] for g in OCCUPATIONS])


def _population(bands: list[dict], by_sex: list[dict], params: dict, fdh: float, files: dict) -> np.ndarray:
    """Mid-base-year population by sex and single year of age, excluding FDH (persons).

    Both-sexes 10-year bands for 2015 and 2020 are mixed by `population_weight_2020`, split by
    sex with the mid-2021 female share of the overlapping band, spread over single years, and
    the FDH stock of the base year is taken out of women (`fdh_female_share`) and men aged
    `fdh_age_range`, evenly.
    """
    weight = float(params["population_weight_2020"])
    total = np.zeros(AGES)
    for row in bands:
        year_weight = {2015: 1.0 - weight, 2020: weight}.get(row["year"])
        if year_weight is None:
            raise InputError(files["population_bands"], f"year {row['year']} is not 2015 or 2020", line=row["_line"])
        total += year_weight * _spread(*_ages(row, files["population_bands"]), row["value"])
    female = np.zeros(AGES)
    both = np.zeros(AGES)
    for row in by_sex:
        lo, hi = _ages(row, files["population_sex"])
        band = np.zeros(AGES)
        band[lo:hi + 1] = row["value"]
        both += band
        if _sex(row, files["population_sex"]) == 0:
            female += band
    share = np.divide(female, both, out=np.full(AGES, 0.5), where=both > 0)
    pop = np.stack([total * share, total * (1.0 - share)])
    lo, hi = (int(a) for a in params["fdh_age_range"])
    fdh_share = float(params["fdh_female_share"])
    pop[0, lo:hi + 1] -= fdh * fdh_share / (hi - lo + 1)
    pop[1, lo:hi + 1] -= fdh * (1.0 - fdh_share) / (hi - lo + 1)
    if (pop < 0).any():
        raise InputError(files["flows"], "removing FDH leaves a negative population at some age", key="fdh_stock")
    return pop
