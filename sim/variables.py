"""The table of every path a batch may vary: levers, uncertainties and fitted parameters.

Plain data, read by the scenario schema (bounds and what is expected), by `--set` and its
errors, by `sim.params.build(..., values={path: per-run array})`, by the draws, by compare's
hybrid scenarios and by sweep files. A row names the path (grammar of sim.keypath), the Params
field it feeds, its shape, unit, scale and bounds. Adding a lever means a row here, its
equation in sim.flows and a test; draws, compare and sweeps then handle it with no other edit.

shape:
  "year"  a value per projection year: the scenario gives a number or {year: value}; the path
          takes a `[year]` suffix (that dated value, merged into the schedule);
  "run"   one number per run for the whole projection (visa and contract lengths, multipliers
          drawn once, fitted parameters).
group: the occupation group a per-group path addresses (index into the field's last axis).
scale: the Params value is the scenario value x scale (0.01 turns percentage points into a fraction).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.occupation import OCCUPATIONS


@dataclass(frozen=True)
class Variable:
    path: str            # key path, e.g. "levers.talent.arrivals"
    kind: str            # "lever", "uncertainty" or "fitted"
    field: str           # the Params field it feeds
    shape: str           # "year" or "run"
    unit: str
    lo: float
    hi: float
    what: str            # what is expected, for error messages
    scale: float = 1.0
    group: int | None = None
    integer: bool = False
    max_sd: float | None = None  # uncertainties: the largest spread accepted

    @property
    def dated(self) -> bool:
        """Whether the path takes dated values ({year: value}, `path[year]`)."""
        return self.shape == "year"

    @property
    def name(self) -> str:
        """The last name of the path (`arrivals`)."""
        parts = self.path.split(".")
        return parts[-2] if parts[-1] == "value" else parts[-1]


def _lever(path, field, unit, lo, hi, what, shape="year", **extra) -> Variable:
    return Variable(path, "lever", field, shape, unit, lo, hi, what, **extra)


def _uncertainty(name, field, unit, lo, hi, what, max_sd, shape="run", group=None) -> Variable:
    path = f"uncertainties.{name}.value" + ("" if group is None else f".{OCCUPATIONS[group]}")
    return Variable(path, "uncertainty", field, shape, unit, lo, hi, what, max_sd=max_sd, group=group)


def _fitted(name, field, lo, hi, what) -> Variable:
    return Variable(f"fitted.{name}", "fitted", field, "run", "see calibration/hk.yaml", lo, hi, what)


PERSONS = "a count of persons in [0, 1,000,000] a year"
RATE = "a rate in [0, 1]"

VARIABLES: tuple[Variable, ...] = (
    # --- levers: policy choices, each a value or {year: value} over the projection years -------
    _lever("levers.talent.arrivals", "talent_arrivals", "persons/year", 0, 1e6, PERSONS),
    _lever("levers.talent.extension_rate", "extension_rate", "share of expiring visas", 0, 1, RATE),
    _lever("levers.talent.first_visa_years", "first_visa_years", "years", 1, 7, "whole years in [1, 7]",
           shape="run", integer=True),
    _lever("levers.talent.renewal_visa_years", "renewal_visa_years", "years", 1, 7, "whole years in [1, 7]",
           shape="run", integer=True),
    _lever("levers.retraining.places", "retraining_places", "places/year", 0, 1e6,
           "a count of places in [0, 1,000,000] a year"),
    _lever("levers.retraining.completion_rate", "completion_rate", "share of places", 0, 1, RATE),
    _lever("levers.retraining.placement_rate", "placement_rate", "share of placement-tied completers", 0, 1, RATE),
    _lever("levers.retraining.activation_share", "activation_share", "share of placed trainees", 0, 1, RATE),
    _lever("levers.retraining.placement_tied_share", "placement_tied_share", "share of places", 0, 1, RATE),
    *(_lever(f"levers.importation.workers.{g}", "imported_arrivals", "persons/year", 0, 1e6, PERSONS, group=k)
      for k, g in enumerate(OCCUPATIONS)),
    _lever("levers.importation.contract_years", "contract_years", "years", 1, 10, "whole years in [1, 10]",
           shape="run", integer=True),
    _lever("levers.participation.female_shift", "female_shift", "percentage points", -50, 50,
           "percentage points in [-50, 50] (1 = one point)", scale=0.01),
    _lever("levers.participation.older_shift", "older_shift", "percentage points", -50, 50,
           "percentage points in [-50, 50] (1 = one point)", scale=0.01),
    _lever("levers.participation.later_exit", "later_exit", "years", 0, 10,
           "years in [0, 10] by which exit from the labour force at ages 50+ is delayed"),
    # --- uncertainties: central values (the draws add deviations to them) ---------------------
    _uncertainty("gdp_growth", "gdp_growth", "fraction a year", -0.5, 0.5, "a growth rate a year, e.g. 0.032",
                 0.1, shape="year"),
    _uncertainty("resident_net_migration", "resident_net_migration", "persons/year", -1e6, 1e6,
                 "persons a year within +/-1,000,000", 1e6, shape="year"),
    _uncertainty("one_way_permits", "owp_arrivals", "persons/year", 0, 2e5, "persons a year in [0, 200,000]", 1e5,
                 shape="year"),
    _uncertainty("participation_trend", "participation_trend", "percentage points a year", -5, 5,
                 "percentage points a year in [-5, 5]", 5),
    _uncertainty("participation_projection", "participation_projection", "multiplier", 0, 10,
                 "a multiplier in [0, 10]", 5),
    _uncertainty("mortality_scale", "mortality_scale", "multiplier", 0, 10, "a multiplier in [0, 10]", 5),
    _uncertainty("fertility", "tfr", "multiplier", 0, 10, "a multiplier in [0, 10]", 5, shape="year"),
    _uncertainty("talent_arrivals", "talent_arrivals", "multiplier", 0, 10, "a multiplier in [0, 10]", 5,
                 shape="year"),
    _uncertainty("extension_rate", "extension_rate", "share", -1, 1, "a shift of a share in [-1, 1]", 1,
                 shape="year"),
    *(_uncertainty("occupation_shares", "resident_shares", "log error", -2, 2,
                   "a relative (log) error in [-2, 2]", 0.5, group=k) for k, g in enumerate(OCCUPATIONS)),
    *(_uncertainty("shortage_split", "shortage_base", "log error", -2, 2,
                   "a relative (log) error in [-2, 2]", 1, group=k) for k, g in enumerate(OCCUPATIONS)),
    # --- fitted calibration parameters (calibration/hk.yaml), for sensitivity and the fit -----
    _fitted("participation_scale", "participation_scale", 0.5, 1.5, "a multiplier in [0.5, 1.5]"),
    _fitted("participation_female", "participation_female", 0.5, 1.5, "a multiplier in [0.5, 1.5]"),
    _fitted("participation_older", "participation_older", 0.2, 5, "a multiplier in [0.2, 5]"),
    _fitted("participation_trend", "participation_trend_pp", -5, 5, "percentage points a year in [-5, 5]"),
    _fitted("participation_trend_covid", "participation_trend_late_pp", -5, 5, "percentage points a year in [-5, 5]"),
)

BY_PATH: dict[str, Variable] = {v.path: v for v in VARIABLES}

GROUPED = ("occupation_shares", "shortage_split")
"""Uncertainties given per occupation group ({group: log error}), not per year."""


def get(path: str) -> Variable:
    """The row of `path` (without a year); KeyError if the path is not in the table."""
    return BY_PATH[path]


def uncertainty_paths(name: str) -> list[Variable]:
    """The rows of one uncertainty (one, or one per group)."""
    prefix = f"uncertainties.{name}.value"
    return [v for v in VARIABLES if v.path == prefix or v.path.startswith(prefix + ".")]
