"""Scenario + calibrated inputs -> a batch parameter table: arrays over runs (and years).

Every lever and uncertainty becomes an array with a leading run axis, so one engine pass
advances a whole batch. `build` makes a batch of `runs` identical copies of one scenario;
`stack` joins batches (same years, same calibration) run-wise, e.g. for sweeps.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from sim import flows
from sim.inputs import Inputs
from sim.occupation import OCCUPATIONS
from sim.scenario import Scenario
from sim.schedule import expand


@dataclass(frozen=True)
class Params:
    """Batch parameters. R = runs, Y = years (start..end), G = occupation groups.

    Year-indexed arrays hold, at index i, the value for the period ending at mid-year years[i]
    (index 0, the start year, is the initial state and its flows are not simulated).
    """

    years: np.ndarray                 # (Y,) calendar years
    talent_arrivals: np.ndarray       # (R, Y) persons/year
    extension_rate: np.ndarray        # (R, Y) share of expiring visas extended
    first_visa_years: np.ndarray      # (R,) years
    renewal_visa_years: np.ndarray    # (R,) years
    retraining_places: np.ndarray     # (R, Y) places/year
    completion_rate: np.ndarray       # (R, Y)
    placement_rate: np.ndarray        # (R, Y)
    activation_share: np.ndarray      # (R, Y)
    imported_arrivals: np.ndarray     # (R, Y, G) persons/year
    contract_years: np.ndarray        # (R,) years
    female_shift: np.ndarray          # (R, Y) participation points as a fraction (0.01 = 1 pp)
    older_shift: np.ndarray           # (R, Y) fraction
    resident_net_migration: np.ndarray  # (R, Y) persons/year
    owp_arrivals: np.ndarray          # (R, Y) persons/year
    births: np.ndarray                # (R, Y) persons/year
    gdp_growth: np.ndarray            # (R,) fraction a year
    participation_trend: np.ndarray   # (R,) participation trend after the last observed year, points a year
    mortality_scale: np.ndarray       # (R,) multiplier of death probabilities
    participation_scale: np.ndarray   # (R,) calibrated multiplier of the base participation profile
    participation_trend_pp: np.ndarray  # (R,) calibrated trend to the break year, points a year, ages 15-64
    participation_trend_late_pp: np.ndarray  # (R,) calibrated trend after the break year, points a year
    requirement_base: np.ndarray      # (R, G) persons required in the demand base year
    productivity_growth: np.ndarray   # (R, G) fraction a year

    @property
    def runs(self) -> int:
        return self.talent_arrivals.shape[0]


def resident_migration_history(inputs: Inputs, years: np.ndarray, extension_rate: np.ndarray,
                               expiring: np.ndarray) -> np.ndarray:
    """Net migration of residents by run and period, derived from observed flows (R, Y), persons/year.

    resident = net "other" movement (all but one-way permits) - change in the FDH stock
               - net talent movement (observed arrivals - departures),
    where departures follow from the observed arrivals under the run's extension rate (R, Y)
    and visa lengths (`expiring`, see flows.visa_expiring). NaN where a year has no observation.
    """
    h = inputs.history
    other, fdh, talent = h["net_other_movement"], h["fdh_stock"], h["talent_arrivals_observed"]
    arrivals = _observed_or(talent, years, 0.0)
    stock = flows.talent_steady_state(np.full(expiring.shape[0], arrivals[0]), extension_rate[:, 0], expiring)
    out = np.full(extension_rate.shape, np.nan)
    for i, year in enumerate(years[1:].tolist(), start=1):
        step = flows.talent_step(stock, np.full(stock.shape[0], arrivals[i]), extension_rate[:, i], expiring)
        stock = step["stock"]
        if year in other and year in fdh and year - 1 in fdh and year in talent:
            net_talent = arrivals[i] - step["departures"].sum(axis=1)
            out[:, i] = other[year] - (fdh[year] - fdh[year - 1]) - net_talent
    return out


def _observed_or(history: dict[int, float], years: np.ndarray, projection: float) -> np.ndarray:
    """Observed value for years that have one; `projection` after the last observed year;
    the first observed value before it (only the start year, whose flows are not simulated)."""
    last = max(history)
    values = [history.get(int(y), projection if y > last else history[min(history)]) for y in years]
    return np.array(values, dtype=float)


def build(scenario: Scenario, inputs: Inputs, runs: int = 1) -> Params:
    """Parameters for `runs` identical copies of `scenario` (central values of uncertainties)."""
    if scenario.years.start != inputs.base_year:
        raise ValueError(f"start year {scenario.years.start} differs from the calibration's base year "
                         f"{inputs.base_year}; the model starts from the calibration's initial stocks")
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    lev, unc = scenario.levers, scenario.uncertainties

    def per_year(schedule) -> np.ndarray:
        return np.broadcast_to(expand(schedule, years), (runs, years.size)).copy()

    def per_run(value: float) -> np.ndarray:
        return np.full(runs, float(value))

    extension_rate = per_year(lev.talent.extension_rate)
    first_visa = per_run(lev.talent.first_visa_years).astype(np.int64)
    renewal = per_run(lev.talent.renewal_visa_years).astype(np.int64)
    observed = resident_migration_history(inputs, years, extension_rate, flows.visa_expiring(first_visa, renewal))
    last_observed = max(inputs.history["net_other_movement"])
    migration = np.where(years[None, :] > last_observed, unc.resident_net_migration.value, observed)
    gaps = [int(y) for y in years[1:][np.isnan(migration[0, 1:])]]
    if gaps:
        raise ValueError(f"observed flows missing for {gaps}: net_other_movement, fdh_stock (and the year "
                         f"before) and talent_arrivals_observed are needed for every year up to {last_observed}")
    owp = _observed_or(inputs.history["owp_arrivals"], years, inputs.param("owp_projection"))
    births = _observed_or(inputs.history["births"], years, inputs.param("births_projection"))
    workers = lev.importation.workers
    imported = np.stack([expand(getattr(workers, g), years) for g in OCCUPATIONS], axis=-1)
    return Params(
        years=years,
        talent_arrivals=per_year(lev.talent.arrivals),
        extension_rate=extension_rate,
        first_visa_years=first_visa,
        renewal_visa_years=renewal,
        retraining_places=per_year(lev.retraining.places),
        completion_rate=per_year(lev.retraining.completion_rate),
        placement_rate=per_year(lev.retraining.placement_rate),
        activation_share=per_year(lev.retraining.activation_share),
        imported_arrivals=np.broadcast_to(imported, (runs, *imported.shape)).copy(),
        contract_years=per_run(lev.importation.contract_years).astype(np.int64),
        female_shift=per_year(lev.participation.female_shift) / 100.0,
        older_shift=per_year(lev.participation.older_shift) / 100.0,
        resident_net_migration=migration,
        owp_arrivals=np.broadcast_to(owp, (runs, years.size)).copy(),
        births=np.broadcast_to(births, (runs, years.size)).copy(),
        gdp_growth=per_run(unc.gdp_growth.value),
        participation_trend=per_run(unc.participation_trend.value),
        mortality_scale=per_run(unc.mortality_scale.value),
        participation_scale=per_run(inputs.param("participation_scale")),
        participation_trend_pp=per_run(inputs.param("participation_trend")),
        participation_trend_late_pp=per_run(inputs.param("participation_trend_covid")),
        requirement_base=np.tile(inputs.param("requirement_base"), (runs, 1)),
        productivity_growth=np.tile(inputs.param("productivity_growth"), (runs, 1)),
    )


CALIBRATED_FIELDS = {"participation_scale": "participation_scale", "participation_trend": "participation_trend_pp",
                     "participation_trend_covid": "participation_trend_late_pp"}
"""Fitted parameter name (as in calibration/hk.yaml) -> Params field; productivity_growth.<group>
names map to a column of `productivity_growth`."""


def with_fitted(params: Params, values: dict[str, np.ndarray]) -> Params:
    """`params` with calibrated parameters replaced by per-run values (R,), keyed by their fitted
    names (participation_scale, participation_trend, participation_trend_covid,
    productivity_growth.<group>); names not given keep their values."""
    productivity = params.productivity_growth.copy()
    for g, group in enumerate(OCCUPATIONS):
        productivity[:, g] = values.get(f"productivity_growth.{group}", productivity[:, g])
    fields_ = {field: values[name] for name, field in CALIBRATED_FIELDS.items() if name in values}
    return replace(params, productivity_growth=productivity, **fields_)


def repeat(params: Params, n: int) -> Params:
    """A batch of n copies of a batch of one."""
    return replace(params, **{f.name: np.repeat(getattr(params, f.name), n, axis=0) for f in fields(Params)
                              if f.name != "years"})


def take(params: Params, runs: slice) -> Params:
    """The runs `runs` of a batch, as a batch of their own."""
    return replace(params, **{f.name: getattr(params, f.name)[runs] for f in fields(Params) if f.name != "years"})


def stack(batches: list[Params]) -> Params:
    """Join batches run-wise; all must cover the same years."""
    first = batches[0]
    if any(not np.array_equal(b.years, first.years) for b in batches):
        raise ValueError("batches cover different years; stack only batches of one time span")
    joined = {f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(Params)
              if f.name != "years"}
    return replace(first, **joined)
