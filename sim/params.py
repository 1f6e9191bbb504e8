"""Scenario + calibrated inputs -> a batch parameter table: arrays over runs (and years).

Every lever and uncertainty becomes an array with a leading run axis, so one engine pass
advances a whole batch. `build(scenario, inputs, runs, values={path: per-run array})` is the one
way to make a batch: each path of the table in sim.variables takes its scenario value, or the
per-run values given for it, and the derived fields (talent arrivals x their forecast error,
the extension rate plus its shift, renormalised occupation shares...) are computed after the
values are applied. History is data: in the observed years (up to the calibration's last
observed year) every lever and uncertainty holds the observed or historical value from the
inputs, whatever the scenario or the values say, so nothing can move an observed-year output.
`stack`, `take` and `repeat` join, cut and copy batches run-wise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np

from sim import keypath, variables
from sim.history import linear_path
from sim.inputs import Inputs
from sim.occupation import OCCUPATIONS
from sim.scenario import Scenario
from sim.schedule import expand
from sim.variables import Variable


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
    later_exit: np.ndarray            # (R, Y) years by which participation at ages 50+ moves later
    trains_for: np.ndarray            # (R, Y, G) 1 for groups courses train for, else 0
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
    cost: np.ndarray                  # (R, Y) HK$/year: the measures' cost against the last observed year

    @property
    def runs(self) -> int:
        return self.talent_arrivals.shape[0]


HISTORY_MOVES = np.array([float(g != "managers_professionals") for g in OCCUPATIONS])
"""Groups that retrained workers moved out of in the observed years: all but managers and
professionals (ERB courses are for workers with sub-degree education or below, hk-statistics.md §6)."""

Values = Mapping[str, np.ndarray]
"""A design: key path (sim.keypath grammar, with an optional [year]) -> (R,) values, one per run."""


def observed_mask(inputs: Inputs, years: np.ndarray) -> np.ndarray:
    """(Y,) True for the observed years (up to the calibration's last observed year)."""
    return years <= inputs.last_observed


def tfr_path(inputs: Inputs, years: np.ndarray) -> np.ndarray:
    """(Y,) TFR: linear between the dated points of the calibration (births per woman)."""
    return linear_path(inputs.tfr, years) * float(inputs.param("fertility_level"))


def central(scenario: Scenario, inputs: Inputs, row: Variable):
    """The scenario's value at a table path: a number or {year: number}, in scenario units."""
    parts = row.path.split(".")
    if row.kind == "fitted":
        return scenario.fitted.get(parts[1], float(inputs.param(parts[1])))
    if row.kind == "uncertainty":
        group = OCCUPATIONS[row.group] if row.group is not None else None
        return getattr(scenario.uncertainties, parts[1]).central(group)
    node = scenario.levers
    for part in parts[1:]:
        node = getattr(node, part)
    if node is None and row.path == "levers.retraining.placement_tied_share":
        return float(inputs.param("placement_tied_share"))
    return node


def history(inputs: Inputs, years: np.ndarray) -> dict[str, np.ndarray]:
    """Observed values (Y_obs,) of every year-shaped path, for the observed part of `years`:
    the data, and the neutral value (no shift, a multiplier of 1) of the forecast errors."""
    n = int(observed_mask(inputs, years).sum())
    h, p = inputs.history, inputs.param
    const = {"levers.talent.extension_rate": p("history_extension_rate"),
             "levers.retraining.completion_rate": p("history_completion_rate"),
             "levers.retraining.placement_rate": p("history_placement_rate"),
             "levers.retraining.activation_share": p("history_activation_share"),
             "levers.retraining.placement_tied_share": p("placement_tied_share"),
             "uncertainties.fertility.value": 1.0, "uncertainties.talent_arrivals.value": 1.0}
    series = {"levers.talent.arrivals": h.talent_arrivals, "levers.retraining.places": h.retraining_places,
              "uncertainties.resident_net_migration.value": h.resident_migration,
              "uncertainties.one_way_permits.value": h.owp,
              "uncertainties.gdp_growth.value": np.array([p("gdp_growth_observed").get(int(y), np.nan)
                                                          for y in years[:n]])}
    series |= {f"levers.importation.workers.{g}": h.imported_arrivals[:, k] for k, g in enumerate(OCCUPATIONS)}
    out = {}
    for row in variables.VARIABLES:
        if row.dated:
            past = series.get(row.path, const.get(row.path, 0.0))
            out[row.path] = np.broadcast_to(np.asarray(past, dtype=float)[:n] if np.ndim(past) else float(past), (n,))
    return out


def _design(values: Values, runs: int, years: np.ndarray, first: int) -> dict[str, list[tuple[int | None, np.ndarray]]]:
    """Group a design by table path: path -> [(year or None, (R,) values)], the whole value first
    and then by year. ValueError for a path not in the table, a year outside the projection or
    values of the wrong length."""
    grouped: dict[str, list] = {}
    for key, value in values.items():
        parts, year = keypath.split_year(keypath.parse(key, "values"))
        path = keypath.format(parts)
        row = variables.BY_PATH.get(path)
        if row is None:
            raise ValueError(f"{key}: not a path a batch may vary (see sim.variables)")
        if year is not None and (not row.dated or not first <= year <= years[-1]):
            raise ValueError(f"{key}: {'takes no [year]' if not row.dated else f'{year} is not a projection year'}")
        array = np.broadcast_to(np.asarray(value, dtype=float), (runs,))
        grouped.setdefault(path, []).append((year, array))
    return {path: sorted(items, key=lambda item: -1 if item[0] is None else item[0])
            for path, items in grouped.items()}


def _year_path(schedule, past: np.ndarray, items: list, years: np.ndarray, observed: np.ndarray,
               runs: int) -> np.ndarray:
    """(R, Y) a dated path: the schedule's values, the observed years from `past`, and the design's
    items applied as --set would: a whole value replaces the schedule; a dated one holds from its
    year to the next date of the schedule or the design."""
    path = expand(schedule, years)
    path[observed] = past
    if not items:
        return np.broadcast_to(path, (runs, years.size))
    out = np.repeat(path[None], runs, axis=0)
    dates = set() if any(y is None for y, _ in items) else set(schedule) if isinstance(schedule, Mapping) else set()
    dates |= {y for y, _ in items if y is not None}
    ahead = ~observed
    for year, value in items:
        if year is None:
            out[:, ahead] = value[:, None]
            continue
        later = [d for d in dates if d > year]
        span = (years >= year) & (years < (min(later) if later else years[-1] + 1))
        out[:, span] = value[:, None]
    return out


def _run_value(value, items: list, runs: int, row: Variable) -> np.ndarray:
    """(R,) a value held for the whole projection (the design's if given)."""
    out = np.full(runs, float(value)) if not items else items[-1][1].astype(float)
    return np.rint(out).astype(np.int64) if row.integer else out


def _mask(groups, runs: int, years: np.ndarray, observed: np.ndarray, past: np.ndarray) -> np.ndarray:
    """(R, Y, G) 1 for the named groups in the projection years, `past` (G,) in the observed ones."""
    mask = np.broadcast_to([float(g in groups) for g in OCCUPATIONS], (years.size, len(OCCUPATIONS))).copy()
    mask[observed] = past
    return np.broadcast_to(mask, (runs, *mask.shape))


def _with_errors(shares: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """(R, G) occupation shares (G,) x exp(log errors (R, G)), renormalised (the data as they are
    where a run has no error)."""
    runs = errors.shape[0]
    if not errors.any():
        return np.broadcast_to(shares, (runs, shares.size))
    drawn = shares * np.exp(errors)
    return drawn / drawn.sum(axis=1, keepdims=True)


def build(scenario: Scenario, inputs: Inputs, runs: int = 1, values: Values | None = None) -> Params:
    """Parameters for a batch of `runs` runs of `scenario`; `values` gives chosen table paths
    per-run values (scenario units; a path with [year] is that dated value), the rest keep the
    scenario's values (central values of uncertainties)."""
    if scenario.years.start != inputs.base_year:
        raise ValueError(f"start year {scenario.years.start} differs from the calibration's base year "
                         f"{inputs.base_year}; the model starts from the calibration's initial stocks")
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    observed = observed_mask(inputs, years)
    design = _design(values or {}, runs, years, inputs.last_observed + 1)
    past = history(inputs, years)
    raw = {}
    for row in variables.VARIABLES:
        items = design.get(row.path, [])
        value = central(scenario, inputs, row)
        raw[row.path] = (_year_path(value, past[row.path], items, years, observed, runs) if row.dated
                         else _run_value(value, items, runs, row))

    def scaled(path: str) -> np.ndarray:
        return raw[path] * variables.get(path).scale if variables.get(path).scale != 1.0 else raw[path]

    def grouped(prefix: str) -> np.ndarray:
        return np.stack([raw[f"{prefix}.{g}"] for g in OCCUPATIONS], axis=-1)

    errors = grouped("uncertainties.occupation_shares.value")
    split = np.exp(grouped("uncertainties.shortage_split.value") * inputs.shortage_assumed)
    base = np.tile(inputs.shortage_base, (runs, 1))
    assumed = base * inputs.shortage_assumed
    split = np.where(inputs.shortage_assumed, assumed * split * (assumed.sum(axis=1, keepdims=True)
                                                                 / (assumed * split).sum(axis=1, keepdims=True)), base)
    trains = scenario.levers.retraining.trains_for
    params = Params(
        years=years,
        talent_arrivals=raw["levers.talent.arrivals"] * np.maximum(raw["uncertainties.talent_arrivals.value"], 0.0),
        extension_rate=np.clip(raw["levers.talent.extension_rate"] + raw["uncertainties.extension_rate.value"], 0, 1),
        first_visa_years=raw["levers.talent.first_visa_years"],
        renewal_visa_years=raw["levers.talent.renewal_visa_years"],
        retraining_places=raw["levers.retraining.places"],
        placement_tied_share=raw["levers.retraining.placement_tied_share"],
        completion_rate=raw["levers.retraining.completion_rate"],
        placement_rate=raw["levers.retraining.placement_rate"],
        activation_share=raw["levers.retraining.activation_share"],
        moves_from=_mask(scenario.levers.retraining.moves_from, runs, years, observed, HISTORY_MOVES),
        imported_arrivals=grouped("levers.importation.workers"),
        contract_years=raw["levers.importation.contract_years"],
        female_shift=scaled("levers.participation.female_shift"),
        older_shift=scaled("levers.participation.older_shift"),
        later_exit=raw["levers.participation.later_exit"],
        trains_for=_mask(OCCUPATIONS if trains is None else trains, runs, years, observed, np.ones(len(OCCUPATIONS))),
        resident_net_migration=raw["uncertainties.resident_net_migration.value"],
        owp_arrivals=raw["uncertainties.one_way_permits.value"],
        gdp_growth=raw["uncertainties.gdp_growth.value"],
        tfr=tfr_path(inputs, years) * np.maximum(raw["uncertainties.fertility.value"], 0.0),
        participation_trend=raw["uncertainties.participation_trend.value"],
        participation_projection=np.maximum(raw["uncertainties.participation_projection.value"], 0.0),
        mortality_scale=np.maximum(raw["uncertainties.mortality_scale.value"], 0.0),
        participation_scale=raw["fitted.participation_scale"],
        participation_female=raw["fitted.participation_female"],
        participation_older=raw["fitted.participation_older"],
        participation_trend_pp=raw["fitted.participation_trend"],
        participation_trend_late_pp=raw["fitted.participation_trend_covid"],
        resident_shares=_with_errors(inputs.shares["resident"], errors),
        older_shares=_with_errors(inputs.shares["resident_60plus"], errors),
        shortage_base=split,
        cost=np.zeros((1, years.size)),
    )
    return replace(params, cost=measures_cost(params, scenario.unit_costs, observed))


def lever_values(params: Params, row: Variable) -> np.ndarray:
    """(R, Y) a dated lever's values in scenario units, as they act (x forecast errors, clipped)."""
    values = getattr(params, row.field)
    values = values[..., row.group] if row.group is not None else values
    return values / row.scale if row.scale != 1.0 else values


def measures_cost(params: Params, unit_costs: Mapping[str, float], observed: np.ndarray) -> np.ndarray:
    """(R, Y) HK$/year: sum over levers with a unit cost of unit cost x (the lever's value - its
    value in the last observed year), in the projection years; 0 in the observed years."""
    runs, last = params.runs, int(observed.sum()) - 1
    cost = np.zeros((runs, params.years.size))
    for path, unit_cost in unit_costs.items():
        values = lever_values(params, variables.get(path))
        cost += unit_cost * (values - values[:, last:last + 1])
    cost[:, observed] = 0.0
    return cost


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
