"""Calibrated inputs: `calibration/hk.yaml` and its sourced CSV files -> arrays the model uses.

Ages run 0..100 (100 is open-ended: 100 and over); the sex axis is (female, male). Everything
here is the same for every run of a batch; what varies by run lives in `sim.params`. The
observed history (up to `last_observed_year`) is read here once and turned into the flows the
back-cast needs (sim.history): it is data, the same in every run, whatever the scenario says.
Population figures from C&SD include foreign domestic helpers (FDH); the model's residents
exclude them (and the talents and imported workers it keeps as stocks of their own).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError

from sim import history, keypath, yamldoc
from sim.errors import InputError, quote
from sim.flows import ADULT, TALENT_YEARS, distribute, shift_ages
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
    initial: Number
    lower: Number
    upper: Number
    step: Number = Field(gt=0, description="finite-difference step for the Jacobian")
    unit: str
    meaning: str


class DataFiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    population: str
    population_sex: str
    population_bands: str
    mortality: str
    fertility: str
    participation: str
    profiles: str
    flows: str
    occupations: str
    targets: str
    official: str


class CalibrationFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_year: StrictInt = Field(ge=1990, le=2100)
    last_observed_year: StrictInt = Field(ge=1990, le=2100)
    demand_base_year: StrictInt = Field(ge=1990, le=2100)
    data: DataFiles
    parameters: dict[str, Parameter]
    free: dict[str, FreeParameter] = Field(default_factory=dict)  # in assumptions.yaml only
    fit: dict[str, Any] | None = None  # fit record, in the file `simulate calibrate` writes


@dataclass(frozen=True)
class History:
    """The observed years base_year..last_observed_year as arrays (index 0 = base year; the flows
    of index t are those of the period ending at mid-year t; index 0 of a flow is unused)."""

    years: np.ndarray               # (H,)
    population: np.ndarray          # (H,) C&SD mid-year population, incl. FDH (chosen rows)
    births: np.ndarray              # (H,) persons/year
    deaths: np.ndarray              # (H,) persons/year
    owp: np.ndarray                 # (H,) one-way-permit arrivals, persons/year
    fdh: np.ndarray                 # (H,) FDH stock, persons
    talent_arrivals: np.ndarray     # (H,) persons/year
    imported_arrivals: np.ndarray   # (H, G) persons/year
    retraining_places: np.ndarray   # (H,) places/year
    net_movement: np.ndarray        # (H,) derived by the residual method, persons/year
    resident_migration: np.ndarray  # (H,) derived: residents' own net migration, persons/year
    talent_stock: np.ndarray        # (H, K) talents by years since arrival
    imported_stock: np.ndarray      # (H, G, C) imported workers by group and contract year


@dataclass(frozen=True)
class Inputs:
    """Everything calibrated, as arrays (persons unless stated)."""

    base_year: int
    last_observed: int
    demand_base_year: int
    population: np.ndarray        # (2, 101) residents at mid base_year (excl. FDH, talents, imported workers)
    mortality: np.ndarray         # (2, 101) probability of dying within the year, base period
    projection_mortality: np.ndarray  # (2, 101) the same scaled to the anchor year's life expectancy
    participation: np.ndarray     # (2, 101) base participation rate, base year
    fertility: np.ndarray         # (101,) share of the TFR at each age of the mother (sums to 1)
    tfr: dict[int, float]         # dated TFR points (births per woman); linear between them
    profiles: dict[str, np.ndarray]  # name -> (2, 101) shares summing to 1
    history: History
    observed: dict[str, dict[int, float]]  # flows.csv as read: metric -> {year: value}
    shares: dict[str, np.ndarray]  # resident (under 60), resident_60plus, talent, retraining -> (G,)
    shortage_base: np.ndarray     # (G,) persons, demand base year
    shortage_assumed: np.ndarray  # (G,) True where that group's base-year shortage is assumed (confidence L)
    census: dict                  # year, bands [(sex, lo, hi, persons incl. FDH)] of population_sex
    params: dict[str, Any]        # parameter name -> value
    targets: list[dict]           # rows of targets.csv
    official: list[dict]          # rows of official.csv
    population_rows: list[dict]   # rows of population.csv
    files: tuple[Path, ...]       # every file read
    fit: dict[str, Any] | None = None  # the fit record of a calibrated file (estimates, covariance)

    def param(self, name: str) -> Any:
        return self.params[name]


REQUIRED_PARAMETERS = (
    "fdh_age_range", "fdh_female_share", "fdh_projection", "birth_female_share", "life_expectancy_anchor",
    "mortality_improvement",
    "participation_scale", "participation_female", "participation_older", "participation_trend",
    "participation_trend_covid", "participation_trend_break",
    "participation_women_trend", "participation_older_trend", "participation_trend_halflife",
    "talent_participation", "history_extension_rate", "history_first_visa_years", "history_renewal_visa_years",
    "history_contract_years", "history_completion_rate", "history_placement_rate", "history_activation_share",
    "placement_tied_share", "retraining_exit_rate", "employment_elasticity", "occupational_drift",
    "occupational_drift_halflife",
    "gdp_growth_observed", "fertility_level",
)


def last_observed_year(path: str | Path) -> int:
    """The last observed year stated by a calibration file (InputError if it states none)."""
    calib, _ = read_file(path)
    return calib.last_observed_year


def read_file(path: str | Path) -> tuple[CalibrationFile, yamldoc.Document]:
    """Read and validate a calibration (or assumptions) file. A run reads the same file up to
    three times (its last observed year, its inputs, the assumptions table); the parsed file is
    kept while its path, inode, size and modification time stay the same. Treat the result as
    read-only."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _read_file(path)
    return _read_cached(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, inode: int, size: int, mtime: int) -> tuple[CalibrationFile, yamldoc.Document]:
    return _read_file(Path(path))


def _read_file(path: Path) -> tuple[CalibrationFile, yamldoc.Document]:
    doc = yamldoc.read(path)
    try:
        calib = CalibrationFile.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = next((doc.lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in doc.lines), None)
        raise InputError(path, f"{err['msg']}", line=line, key=keypath.format(loc)) from None
    if not calib.base_year < calib.last_observed_year:
        raise InputError(path, f"{calib.last_observed_year} is not after the base year {calib.base_year}",
                         line=doc.lines.get(("last_observed_year",)), key="last_observed_year")
    if not calib.base_year <= calib.demand_base_year <= calib.last_observed_year:
        raise InputError(path, f"{calib.demand_base_year} is not an observed year {calib.base_year}-"
                         f"{calib.last_observed_year}", line=doc.lines.get(("demand_base_year",)),
                         key="demand_base_year")
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
    tables = {name: read_table(file) for name, file in files.items()}
    base, last = calib.base_year, calib.last_observed_year
    observed = _history(tables["flows"], files["flows"])
    profiles = _profiles(tables["profiles"], files["profiles"])
    missing_profiles = [p for p in PROFILES if p not in profiles]
    if missing_profiles:
        raise InputError(files["profiles"], f"no rows for the profile(s) {', '.join(missing_profiles)}; expected "
                         f"<name>_share rows for each of {', '.join(PROFILES)}", key="metric")
    mortality = 1.0 - np.exp(-_in_range(_by_age(tables["mortality"], files["mortality"]), 0.0, 10.0,
                                        files["mortality"], "death rates per person-year in [0, 10]"))
    shares = _occupation_shares(tables["occupations"], files["occupations"])
    hist = _observed_history(observed, tables["population"], files, params, base, last)
    census = _census(tables["population_sex"], files["population_sex"])
    population = _initial_population(census, hist, mortality, profiles, params, base, files)
    fertility, tfr = _fertility(tables["fertility"], files["fertility"])
    return Inputs(
        base_year=base,
        last_observed=last,
        demand_base_year=calib.demand_base_year,
        population=population,
        mortality=mortality,
        projection_mortality=_anchored(mortality, params["life_expectancy_anchor"]),
        participation=_in_range(_by_age(tables["participation"], files["participation"], first=ADULT), 0.0, 1.0,
                                files["participation"], "participation rates in [0, 1]"),
        fertility=fertility,
        tfr=tfr,
        profiles=profiles,
        history=hist,
        observed=observed,
        shares=shares,
        shortage_base=_by_group(tables["occupations"], "shortage", files["occupations"]),
        shortage_assumed=np.array([any(r["metric"] == "shortage" and r.get("occupation") == g and r["confidence"] == "L"
                                       for r in tables["occupations"]) for g in OCCUPATIONS]),
        census=census,
        params=params,
        targets=_targets(tables["targets"], files["targets"], range(base, last + 1)),
        official=_official(tables["official"], files["official"]),
        population_rows=tables["population"],
        files=(path, *files.values()),
        fit=calib.fit,
    )


PROFILES = ("owp", "resident_migration", "talent", "imported", "trainee")
"""Age-sex profiles the model needs from profiles.csv (metric `<name>_share`)."""

Number = StrictFloat | StrictInt
"""A number as YAML writes one: not a string, not a boolean."""
FLOW_MAX = 2_000_000
"""Largest value of a row of flows.csv (persons, or persons a year): no yearly flow or FDH stock of
Hong Kong comes near it, so anything above is a typing error."""
FLOW_METRICS = ("births", "deaths", "owp_arrivals", "fdh_stock", "talent_arrivals", "imported_arrivals",
                "retraining_places")

HISTORY_SERIES = ("births", "deaths", "owp_arrivals", "fdh_stock", "talent_arrivals", "retraining_places",
                  *(f"imported_arrivals.{g}" for g in OCCUPATIONS))
"""Series that must cover every observed year (births, deaths and one-way permits from the year
after the base year; stocks and intakes from the base year, which sets the initial stocks). A
group with no imported_arrivals rows at all imports nobody."""


def _observed_history(observed: dict, population_rows: list[dict], files: dict, params: dict, base: int,
                      last: int) -> History:
    """The observed years as arrays, with the derived flows (sim.history)."""
    years = np.arange(base, last + 1)
    for name in HISTORY_SERIES:
        if name.startswith("imported_arrivals.") and name not in observed:
            continue  # a group no scheme imports for: none
        first = base + 1 if name in ("births", "deaths", "owp_arrivals") else base
        have = observed.get(name, {})
        gaps = [int(y) for y in years if y >= first and y not in have]
        if gaps:
            raise InputError(files["flows"], f"{name} has no row for {gaps}; every observed year "
                             f"{first}-{last} needs one (the calibration's last observed year is {last})",
                             key="metric")

    def series(name: str) -> np.ndarray:
        return np.array([observed.get(name, {}).get(int(y), 0.0) for y in years])

    chosen = {}
    for row in population_rows:
        if row["metric"] == "population" and row.get("chosen") == "yes":
            if row["year"] in chosen:
                raise InputError(files["population"], f"a second chosen population row for {row['year']}; choose one",
                                 line=row["_line"])
            chosen[row["year"]] = row["value"]
    gaps = [int(y) for y in years if y not in chosen]
    if gaps:
        raise InputError(files["population"], f"no chosen population row for {gaps}; every observed year "
                         f"{base}-{last} needs one", key="chosen")
    population = np.array([chosen[int(y)] for y in years])
    imported = np.stack([series(f"imported_arrivals.{g}") for g in OCCUPATIONS], axis=1)
    talents = history.talent_path(series("talent_arrivals"), params["history_extension_rate"],
                                  int(params["history_first_visa_years"]), int(params["history_renewal_visa_years"]))
    workers = history.imported_path(imported, int(params["history_contract_years"]))
    births, deaths = series("births"), series("deaths")
    movement = history.net_movement(population, births, deaths)
    talent_net = series("talent_arrivals") - talents["departures"]
    imported_net = imported.sum(axis=1) - workers["contract_ends"].sum(axis=1)
    migration = history.resident_migration(movement, series("owp_arrivals"), series("fdh_stock"), talent_net,
                                           imported_net)
    return History(years=years, population=population, births=births, deaths=deaths, owp=series("owp_arrivals"),
                   fdh=series("fdh_stock"), talent_arrivals=series("talent_arrivals"), imported_arrivals=imported,
                   retraining_places=series("retraining_places"), net_movement=movement,
                   resident_migration=migration, talent_stock=talents["stock"], imported_stock=workers["stock"])


def _anchored(mortality: np.ndarray, anchor: dict) -> np.ndarray:
    """Death probabilities (2, A) scaled by sex to the anchor year's life expectancy."""
    from sim.lifetable import scale_for

    return np.stack([mortality[s] * scale_for(mortality[s], anchor[sex]) for s, sex in enumerate(SEXES)])


def fdh_by_age(total: float, params: dict) -> np.ndarray:
    """FDH (2, 101) spread evenly over `fdh_age_range`, `fdh_female_share` of them women."""
    lo, hi = (int(a) for a in params["fdh_age_range"])
    out = np.zeros((2, AGES))
    share = float(params["fdh_female_share"])
    out[0, lo:hi + 1] = total * share / (hi - lo + 1)
    out[1, lo:hi + 1] = total * (1.0 - share) / (hi - lo + 1)
    return out


def talents_by_age(stock: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Talents by sex and age (..., 2, A) from a stock by years since arrival (..., K): the arrival
    profile (2, A) moved k years older for tenure k."""
    shifted = np.stack([shift_ages(profile, k) for k in range(stock.shape[-1])])  # (K, 2, A)
    return np.einsum("...k,ksa->...sa", stock, shifted)


def _census(rows: list[dict], path: Path) -> dict:
    """The census-year population by sex and band (persons, incl. FDH): one year, both sexes,
    bands covering every age 0-100."""
    years = {row["year"] for row in rows}
    if len(years) != 1:
        raise InputError(path, f"rows for {sorted(years)}; expected one census year", key="year")
    bands = [(_sex(row, path), *_ages(row, path), row["value"]) for row in rows]
    for s in range(2):
        covered = np.zeros(AGES, dtype=int)
        for sex, lo, hi, _ in bands:
            if sex == s:
                covered[lo:hi + 1] += 1
        if (covered != 1).any():
            raise InputError(path, f"the {SEXES[s]} bands do not cover every age 0-100 exactly once", key="age_lo")
    return {"year": years.pop(), "bands": bands}


def _census_by_age(census: dict, hist: History, params: dict) -> np.ndarray:
    """Census-year population (2, A) by single year of age, incl. FDH. The youngest ages of the
    first band are the births of those years (persons born in the year to mid-year t are aged
    0 at t); the rest of each band is spread smoothly (sim.history.spread_bands)."""
    year = census["year"]
    born = {int(y) - year: b for y, b in zip(hist.years, hist.births) if y <= year and b > 0}
    out = np.zeros((2, AGES))
    for s in range(2):
        bands = sorted((lo, hi, v) for sex, lo, hi, v in census["bands"] if sex == s)
        lo, hi, total = bands[0]
        share = params["birth_female_share"] if s == 0 else 1.0 - params["birth_female_share"]
        young = [-k for k in sorted(born, reverse=True) if lo <= -k <= hi - 1]
        known = np.zeros(AGES)
        for age in young:
            known[age] = born[-age] * share
        if known.sum() < total and young:
            rest = max(young) + 1
            bands[0] = (rest, hi, total - known.sum())
            out[s] = known + history.spread_bands(bands)
        else:
            out[s] = history.spread_bands(bands)
    return out


def _initial_population(census: dict, hist: History, mortality: np.ndarray, profiles: dict, params: dict,
                        base: int, files: dict) -> np.ndarray:
    """Residents (2, A) at mid base year by reverse survival from the census year.

    Census-year residents = census population - FDH - talents - imported workers (by age); each
    year back inverts the forward step with the observed flows of that year (sim.history)."""
    year = census["year"]
    if not base <= year <= hist.years[-1]:
        raise InputError(files["population_sex"], f"census year {year} is outside the observed years "
                         f"{base}-{hist.years[-1]}", key="year")
    at = int(year - base)
    total = _census_by_age(census, hist, params)
    talents = talents_by_age(hist.talent_stock[at], profiles["talent"])
    imported = distribute(np.array([hist.imported_stock[at].sum()]), profiles["imported"])[0]
    residents = np.maximum(total - fdh_by_age(hist.fdh[at], params) - talents - imported, 0.0)
    older = shift_ages(profiles["talent"], TALENT_YEARS - 1)
    for t in range(at, 0, -1):
        naturalised = hist.talent_stock[t - 1][-1] * older
        residents = history.reverse_year(residents, mortality, hist.deaths[t], hist.resident_migration[t], hist.owp[t],
                                         naturalised, profiles)
    return residents


def _fertility(rows: list[dict], path: Path) -> tuple[np.ndarray, dict[int, float]]:
    """(101,) share of the TFR at each age of the mother (rows `fertility_share`, summing to 1)
    and the dated TFR points (rows `tfr`)."""
    shape = np.zeros(AGES)
    tfr: dict[int, float] = {}
    for row in rows:
        if row["metric"] == "fertility_share":
            lo, hi = _ages(row, path)
            shape[lo:hi + 1] += row["value"] / (hi - lo + 1)
        elif row["metric"] == "tfr":
            if not 0.0 < row["value"] <= 10.0:
                raise InputError(path, f"TFR {row['value']:g} is not in (0, 10] births per woman", line=row["_line"],
                                 key="value")
            tfr[row["year"]] = row["value"]
        else:
            raise InputError(path, f"metric {quote(row['metric'])} is not fertility_share or tfr", line=row["_line"],
                             key="metric")
    if abs(shape.sum() - 1.0) > 1e-6 or (shape < 0).any():
        raise InputError(path, f"fertility_share sums to {shape.sum():.6f}; expected shares >= 0 summing to 1",
                         key="value")
    if not tfr:
        raise InputError(path, "no tfr rows; expected dated TFR points", key="metric")
    return shape, tfr


def _occupation_shares(rows: list[dict], path: Path) -> dict[str, np.ndarray]:
    """Occupation shares (G,): resident (workers under 60), resident_60plus, talent, retraining.

    Workers aged 60+ by group come from MP2023 where published (`workers_60plus` rows); the
    other groups' 60+ workers are split in proportion to their shares of the whole labour force;
    the under-60 shares follow so that the whole labour force keeps `resident_share`
    (2023 labour force: the MP2023 supply of `workers_60plus` row `all` and the official 3.5M).
    """
    overall = _shares(rows, "resident_share", path)
    counts = {row.get("occupation"): row["value"] for row in rows if row["metric"] == "workers_60plus"}
    total60 = counts.pop("all", None)
    if total60 is None or any(g not in OCCUPATIONS for g in counts):
        raise InputError(path, "workers_60plus needs an `all` row and rows only for known groups", key="occupation")
    rest = [g for g in OCCUPATIONS if g not in counts]
    left = total60 - sum(counts.values())
    weight = sum(overall[OCCUPATIONS.index(g)] for g in rest)
    older = np.array([counts[g] if g in counts else left * overall[OCCUPATIONS.index(g)] / weight
                      for g in OCCUPATIONS])
    workforce = SUPPLY_2023
    younger = (overall * workforce - older) / (workforce - total60)
    if (younger < 0).any() or (older < 0).any():
        raise InputError(path, "workers_60plus leaves a negative share of workers under 60 in some group", key="value")
    return {"resident": younger, "resident_60plus": older / total60,
            **{kind: _shares(rows, f"{kind}_share", path) for kind in ("talent", "retraining")}}


SUPPLY_2023 = 3_500_000.0
"""Manpower supply in 2023 (persons), LWB Report on 2023 Manpower Projection: the labour force
that the 60+ worker counts of the same report belong to (official.csv)."""



RANGES = {  # parameter -> (low, high, what): checked when a calibration file is read
    "fdh_female_share": (0.0, 1.0, "a share in [0, 1]"),
    "fdh_projection": (0.0, 1e7, "persons >= 0"),
    "birth_female_share": (0.0, 1.0, "a share in [0, 1]"),
    "mortality_improvement": (-0.1, 0.1, "a fraction a year in [-0.1, 0.1]"),
    "participation_scale": (0.0, 3.0, "a multiplier in [0, 3]"),
    "participation_female": (0.0, 3.0, "a multiplier in [0, 3]"),
    "participation_older": (0.0, 3.0, "a multiplier in [0, 3]"),
    "participation_trend": (-10.0, 10.0, "percentage points a year in [-10, 10]"),
    "participation_trend_covid": (-10.0, 10.0, "percentage points a year in [-10, 10]"),
    "participation_trend_break": (1990, 2100, "a whole year"),
    "participation_women_trend": (-5.0, 5.0, "percentage points a year in [-5, 5]"),
    "participation_older_trend": (-5.0, 5.0, "percentage points a year in [-5, 5]"),
    "participation_trend_halflife": (0.1, 1000.0, "years in [0.1, 1000]"),
    "talent_participation": (0.0, 1.0, "a share in [0, 1]"),
    "history_extension_rate": (0.0, 1.0, "a share in [0, 1]"),
    "history_first_visa_years": (1, 7, "a whole number of years"),
    "history_renewal_visa_years": (1, 7, "a whole number of years"),
    "history_contract_years": (1, 10, "a whole number of years"),
    "history_completion_rate": (0.0, 1.0, "a share in [0, 1]"),
    "history_placement_rate": (0.0, 1.0, "a share in [0, 1]"),
    "history_activation_share": (0.0, 1.0, "a share in [0, 1]"),
    "placement_tied_share": (0.0, 1.0, "a share in [0, 1]"),
    "retraining_exit_rate": (0.01, 1.0, "a share a year in [0.01, 1]"),
    "employment_elasticity": (0.0, 2.0, "an elasticity in [0, 2]"),
    "occupational_drift_halflife": (0.1, 1000.0, "years in [0.1, 1000]"),
    "fertility_level": (0.1, 10.0, "a multiplier in [0.1, 10]"),
}


def _checked(name: str, value: Any, path: Path, line: int | None) -> Any:
    """A calibration parameter's value, checked for type and range (InputError otherwise)."""
    key = f"parameters.{name}.value"

    def number(v: Any, low: float, high: float, what: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or not low <= v <= high:
            raise InputError(path, f"{quote(v)} is not {what}", line=line, key=key)
        return float(v)

    if name == "occupational_drift":
        if not isinstance(value, dict) or set(value) != set(OCCUPATIONS):
            raise InputError(path, f"expected a mapping with one number for each of {', '.join(OCCUPATIONS)}",
                             line=line, key=key)
        return np.array([number(value[g], -0.1, 0.1, "a fraction a year in [-0.1, 0.1]") for g in OCCUPATIONS])
    if name == "gdp_growth_observed":
        if not isinstance(value, dict) or not value or not all(isinstance(y, int) for y in value):
            raise InputError(path, "expected {year: growth} for the observed years after the demand base year",
                             line=line, key=key)
        return {int(y): number(v, -0.5, 0.5, "a fraction a year in (-0.5, 0.5)") for y, v in value.items()}
    if name == "life_expectancy_anchor":
        if not (isinstance(value, dict) and set(value) == {"year", *SEXES} and isinstance(value["year"], int)):
            raise InputError(path, "expected {year: YYYY, female: years, male: years}", line=line, key=key)
        return {"year": value["year"], **{s: number(value[s], 20.0, 120.0, "years in [20, 120]") for s in SEXES}}
    if name == "fdh_age_range":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
                and 0 <= value[0] <= value[1] <= AGES - 1):
            raise InputError(path, f"{quote(value)} is not [first, last] ages with 0 <= first <= last <= 100",
                             line=line, key=key)
        return value
    low, high, what = RANGES[name]
    if what.startswith("a whole") and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(path, f"{quote(value)} is not {what}", line=line, key=key)
    return number(value, low, high, what)


def _check_fit(fit: dict, path: Path, line: int | None) -> None:
    """The fit record must carry parameter names, estimates and an n x n covariance."""
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


FITTED_NAMES = ("participation_scale", "participation_female", "participation_older", "participation_trend",
                "participation_trend_covid")
"""Parameters a fit record may carry."""

REQUIRED_COLUMNS = ("year", "metric", "value", "unit", "source", "confidence")
CONFIDENCE = ("H", "M", "L")  # official; media quoting officials; third-party, assumed or derived


TARGET_METRICS = ("labour_force", "labour_force_female", "labour_force_60plus")


def _targets(rows: list[dict], path: Path, observed: range) -> list[dict]:
    """targets.csv rows (labour force, its women, its workers aged 60+) for observed years, with a
    value > 0 and `tolerance` (persons > 0) as numbers and `chosen` yes or no; at least one chosen
    labour_force row (the fit needs the total)."""
    for row in rows:
        try:
            row["tolerance"] = float(row.get("tolerance") or "nan")
        except ValueError:
            row["tolerance"] = float("nan")
        problem = (f"metric {quote(row['metric'])} is not one of {', '.join(TARGET_METRICS)}"
                   if row["metric"] not in TARGET_METRICS else
                   "tolerance is not a number > 0 (persons)" if not (np.isfinite(row["tolerance"])
                                                                     and row["tolerance"] > 0) else
                   f"chosen {quote(row.get('chosen'))} is not yes or no" if row.get("chosen") not in ("yes", "no") else
                   f"year {row['year']} is outside the model's years {observed.start}-{observed.stop - 1}"
                   if row["year"] not in observed else
                   f"value {row['value']:g} is not a number of persons > 0" if not row["value"] > 0 else None)
        if problem:
            raise InputError(path, problem, line=row["_line"])
    if not any(row["chosen"] == "yes" and row["metric"] == "labour_force" for row in rows):
        raise InputError(path, "no chosen labour_force target; mark at least one labour_force row chosen = yes",
                         key="chosen")
    return rows


OFFICIAL_METRICS = ("supply", "requirement", "shortage", "population", "net_movement", *(f"shortage_{g}" for g in OCCUPATIONS))


def _official(rows: list[dict], path: Path) -> list[dict]:
    """official.csv rows: published paths to compare with (never fitted); low/high optional; a
    cumulative net_movement row names the year it counts from in `since`."""
    for row in rows:
        if row["metric"] not in OFFICIAL_METRICS:
            raise InputError(path, f"metric {quote(row['metric'])} is not one of {', '.join(OFFICIAL_METRICS)}",
                             line=row["_line"], key="metric")
        for col in ("low", "high"):
            text = row.get(col) or ""
            try:
                row[col] = float(text) if text else None
            except ValueError:
                raise InputError(path, f"{col} {quote(text)} is not a number", line=row["_line"], key=col) from None
        if row["metric"] == "net_movement":
            row["since"] = _int(row, "since", path)  # the mid-year the cumulation starts from
    return rows


VALUE_MAX = 1e9
"""Largest magnitude of any value in a calibration CSV (persons, rates, shares)."""
TABLE_BYTES = 5_000_000
"""Size cap of a calibration CSV (bytes read); the real ones are a few kilobytes."""


def read_table(path: Path) -> list[dict]:
    """Rows of a calibration CSV. Every file has at least year, metric, value, unit, source and
    confidence (H, M or L); value must be a number and year a whole number."""
    try:
        if not path.is_file():
            raise InputError(path, "data file not found")
        with path.open("rb") as handle:
            raw = handle.read(TABLE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, RuntimeError) as exc:
        raise InputError(path, f"cannot read the file as UTF-8 text ({exc.__class__.__name__})") from None
    if len(raw) > TABLE_BYTES:
        raise InputError(path, f"file is over {TABLE_BYTES:,} bytes, the limit; real ones are a few kilobytes")
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
            raise InputError(path, f"value {quote(row.get('value'))} is not a number", line=number, key="value") from None
        if not np.isfinite(row["value"]) or abs(row["value"]) > VALUE_MAX:
            raise InputError(path, f"value {row['value']:g} is not a finite number within +/-{VALUE_MAX:g}; no quantity "
                             "in these files comes near it", line=number, key="value")
        row["year"] = _int(row, "year", path)
        if not 1900 <= row["year"] <= 2200:
            raise InputError(path, f"year {row['year']} is not a year 1900-2200", line=number, key="year")
        if row["confidence"] not in CONFIDENCE:
            raise InputError(path, f"confidence {quote(row['confidence'])} is not one of H, M, L", line=number,
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
        raise InputError(path, f"{col} {quote(row.get(col))} is not a whole number", line=row["_line"], key=col) from None


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
        raise InputError(path, f"sex {quote(row.get('sex'))} is not one of {', '.join(SEXES)}", line=row["_line"], key="sex")
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
    """metric -> {year: value} from flows.csv: known metrics (imported arrivals as
    `imported_arrivals.<group>`), one row per metric and year, no gaps."""
    out: dict[str, dict[int, float]] = {}
    for row in rows:
        metric = row["metric"]
        if metric not in FLOW_METRICS:
            raise InputError(path, f"metric {quote(metric)} is not one of {', '.join(FLOW_METRICS)}",
                             line=row["_line"], key="metric")
        if metric == "imported_arrivals":
            if row.get("occupation") not in OCCUPATIONS:
                raise InputError(path, f"occupation {quote(row.get('occupation'))} is not one of {', '.join(OCCUPATIONS)}",
                                 line=row["_line"], key="occupation")
            metric = f"imported_arrivals.{row['occupation']}"
        if row["value"] < 0:
            raise InputError(path, f"value {row['value']:g} is negative; expected persons >= 0", line=row["_line"],
                             key="value")
        if row["value"] > FLOW_MAX:
            raise InputError(path, f"value {row['value']:g} is above {FLOW_MAX:,.0f}; expected persons (a year) for "
                             "Hong Kong, whose whole population is 7.5 million", line=row["_line"], key="value")
        series = out.setdefault(metric, {})
        if row["year"] in series:
            raise InputError(path, f"a second {metric} row for {row['year']}; keep one", line=row["_line"])
        series[row["year"]] = row["value"]
    for metric, series in out.items():
        gaps = sorted(set(range(min(series), max(series) + 1)) - set(series))
        if gaps:
            raise InputError(path, f"{metric} has no row for {gaps}; the years must follow on", key="year")
    return out


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
        raise InputError(path, f"metric {quote(metric)} needs one row for each of {', '.join(OCCUPATIONS)}",
                         key="occupation")
    return np.array([by_group[g] for g in OCCUPATIONS])


