"""Scenario + calibrated inputs -> a batch parameter table: arrays over runs (and years).

Every lever and uncertainty becomes an array with a leading run axis, so one engine pass
advances a whole batch. History is data: in the observed years (up to the calibration's last
observed year) every lever and uncertainty array holds the observed or historical value from
the inputs, whatever the scenario says, so no scenario, `--set` or draw can move an
observed-year output. `build` makes a batch of `runs` identical copies of one scenario;
`stack`, `take` and `repeat` join, cut and copy batches run-wise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from sim.history import linear_path
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
    first_visa_years: np.ndarray      # (R,) years, projection (history: the calibration's)
    renewal_visa_years: np.ndarray    # (R,) years, projection
    retraining_places: np.ndarray     # (R, Y) places/year
    placement_tied_share: np.ndarray  # (R, Y) share of places in placement-tied courses
    completion_rate: np.ndarray       # (R, Y)
    placement_rate: np.ndarray        # (R, Y) of placement-tied completers
    activation_share: np.ndarray      # (R, Y)
    moves_from: np.ndarray            # (R, Y, G) 1 for groups trainees in work may move out of, else 0
    imported_arrivals: np.ndarray     # (R, Y, G) persons/year
    contract_years: np.ndarray        # (R,) years, projection (history: the calibration's)
    female_shift: np.ndarray          # (R, Y) participation points as a fraction (0.01 = 1 pp)
    older_shift: np.ndarray           # (R, Y) fraction
    resident_net_migration: np.ndarray  # (R, Y) persons/year
    owp_arrivals: np.ndarray          # (R, Y) persons/year
    gdp_growth: np.ndarray            # (R, Y) real GDP growth of the period, fraction
    tfr: np.ndarray                   # (R, Y) total fertility rate, births per woman (projection years)
    participation_trend: np.ndarray   # (R,) extra trend after the last observed year, points a year
    participation_projection: np.ndarray  # (R,) multiplier of the projected women's and older trends
    mortality_scale: np.ndarray       # (R,) multiplier of death probabilities (projection years)
    participation_scale: np.ndarray   # (R,) calibrated multiplier of the base participation profile
    participation_female: np.ndarray  # (R,) calibrated multiplier of women's rates
    participation_older: np.ndarray   # (R,) calibrated multiplier of the rates at ages 60+
    participation_trend_pp: np.ndarray  # (R,) calibrated trend to the break year, points a year, ages 15-64
    participation_trend_late_pp: np.ndarray  # (R,) calibrated trend after the break year, points a year
    resident_shares: np.ndarray       # (R, G) occupation shares of resident workers under 60
    older_shares: np.ndarray          # (R, G) occupation shares of resident workers 60+
    shortage_base: np.ndarray         # (R, G) persons short in the demand base year, by group

    @property
    def runs(self) -> int:
        return self.talent_arrivals.shape[0]


HISTORY_MOVES = np.array([float(g != "managers_professionals") for g in OCCUPATIONS])
"""Groups that retrained workers moved out of in the observed years: all but managers and
professionals (ERB courses are for workers with sub-degree education or below, hk-statistics.md §6)."""


def observed_mask(inputs: Inputs, years: np.ndarray) -> np.ndarray:
    """(Y,) True for the observed years (up to the calibration's last observed year)."""
    return years <= inputs.last_observed


def with_history(values: np.ndarray, history: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(R, Y[, G]) scenario values with the observed years replaced by `history` (Y_obs[, G])."""
    out = values.copy()
    out[:, observed] = history[None]
    return out


def _history_on(inputs: Inputs, years: np.ndarray, series: np.ndarray) -> np.ndarray:
    """An observed series (H[, G]) indexed base..last observed, cut to the observed part of `years`."""
    return series[: int(observed_mask(inputs, years).sum())]


def tfr_path(inputs: Inputs, years: np.ndarray) -> np.ndarray:
    """(Y,) TFR: linear between the dated points of the calibration (births per woman)."""
    return linear_path(inputs.tfr, years) * float(inputs.param("fertility_level"))


def build(scenario: Scenario, inputs: Inputs, runs: int = 1) -> Params:
    """Parameters for `runs` identical copies of `scenario` (central values of uncertainties)."""
    if scenario.years.start != inputs.base_year:
        raise ValueError(f"start year {scenario.years.start} differs from the calibration's base year "
                         f"{inputs.base_year}; the model starts from the calibration's initial stocks")
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    observed = observed_mask(inputs, years)
    h, p = inputs.history, inputs.param
    lev, unc = scenario.levers, scenario.uncertainties

    def per_year(schedule, past) -> np.ndarray:
        values = np.broadcast_to(expand(schedule, years), (runs, years.size))
        before = _history_on(inputs, years, past) if np.ndim(past) else float(past)
        return with_history(values, np.broadcast_to(before, (int(observed.sum()),)), observed)

    def per_run(value: float) -> np.ndarray:
        return np.full(runs, float(value))

    workers = lev.importation.workers
    imported = np.stack([expand(getattr(workers, g), years) for g in OCCUPATIONS], axis=-1)
    imported = with_history(np.broadcast_to(imported, (runs, *imported.shape)), _history_on(inputs, years,
                                                                                          h.imported_arrivals), observed)
    gdp = np.array([p("gdp_growth_observed").get(int(y), np.nan) for y in years[observed]])
    tied = lev.retraining.placement_tied_share
    return Params(
        years=years,
        talent_arrivals=per_year(lev.talent.arrivals, h.talent_arrivals) * np.where(observed, 1.0,
                                                                                   max(float(unc.talent_arrivals.value), 0)),
        extension_rate=np.clip(per_year(lev.talent.extension_rate, p("history_extension_rate"))
                               + np.where(observed, 0.0, float(unc.extension_rate.value)), 0.0, 1.0),
        first_visa_years=per_run(lev.talent.first_visa_years).astype(np.int64),
        renewal_visa_years=per_run(lev.talent.renewal_visa_years).astype(np.int64),
        retraining_places=per_year(lev.retraining.places, h.retraining_places),
        placement_tied_share=per_year(p("placement_tied_share") if tied is None else tied, p("placement_tied_share")),
        completion_rate=per_year(lev.retraining.completion_rate, p("history_completion_rate")),
        placement_rate=per_year(lev.retraining.placement_rate, p("history_placement_rate")),
        activation_share=per_year(lev.retraining.activation_share, p("history_activation_share")),
        moves_from=with_history(np.broadcast_to([float(g in lev.retraining.moves_from) for g in OCCUPATIONS],
                                                (runs, years.size, len(OCCUPATIONS))), HISTORY_MOVES, observed),
        imported_arrivals=imported,
        contract_years=per_run(lev.importation.contract_years).astype(np.int64),
        female_shift=per_year(lev.participation.female_shift, 0.0) / 100.0,
        older_shift=per_year(lev.participation.older_shift, 0.0) / 100.0,
        resident_net_migration=per_year(unc.resident_net_migration.value, h.resident_migration),
        owp_arrivals=per_year(unc.one_way_permits.value, h.owp),
        gdp_growth=with_history(np.broadcast_to(expand(unc.gdp_growth.value, years), (runs, years.size)), gdp,
                                observed),
        tfr=np.broadcast_to(tfr_path(inputs, years) * np.where(observed, 1.0, float(unc.fertility.value)),
                            (runs, years.size)).copy(),
        participation_trend=per_run(float(unc.participation_trend.value)),
        participation_projection=per_run(float(unc.participation_projection.value)),
        mortality_scale=per_run(float(unc.mortality_scale.value)),
        participation_scale=per_run(p("participation_scale")),
        participation_female=per_run(p("participation_female")),
        participation_older=per_run(p("participation_older")),
        participation_trend_pp=per_run(p("participation_trend")),
        participation_trend_late_pp=per_run(p("participation_trend_covid")),
        resident_shares=np.tile(inputs.shares["resident"], (runs, 1)),
        older_shares=np.tile(inputs.shares["resident_60plus"], (runs, 1)),
        shortage_base=np.tile(inputs.shortage_base, (runs, 1)),
    )


CALIBRATED_FIELDS = {"participation_scale": "participation_scale", "participation_female": "participation_female",
                     "participation_older": "participation_older", "participation_trend": "participation_trend_pp",
                     "participation_trend_covid": "participation_trend_late_pp"}
"""Fitted parameter name (as in calibration/hk.yaml) -> Params field."""


def with_fitted(params: Params, values: dict[str, np.ndarray]) -> Params:
    """`params` with calibrated parameters replaced by per-run values (R,), keyed by their fitted
    names; names not given keep their values."""
    return replace(params, **{field: values[name] for name, field in CALIBRATED_FIELDS.items() if name in values})


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
