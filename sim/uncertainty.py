"""Monte Carlo draws: a batch of parameter sets sampled from the scenario's uncertainties.

Every draw keeps the observed history (sim.params puts it into every run): uncertainties act
from the first projection year only, so the central run and all draws agree on every observed
year. A normal uncertainty is a path of yearly deviations with persistence (AR(1)), so GDP
growth varies year to year around its path instead of one permanent rate; occupation shares
and the part of the 2023 shortage split that is assumed (all groups but the two MP2023
published) are drawn as relative (lognormal) errors, renormalised. These group splits are not
observed: they vary between draws in every year, while every observed total (and the published
2023 group shortages) stays as observed.

One seed, passed explicitly: `numpy.random.default_rng(SeedSequence(seed))`; all N draws are
made up front in a fixed order (each uncertainty as declared), so the same scenario,
calibration and seed always give the same draws whatever the chunk size.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim import kpi
from sim.engine import simulate
from sim.inputs import Inputs
from sim.occupation import OCCUPATIONS
from sim.params import Params, repeat, take
from sim.results import Results
from sim.scenario import Scenario, Uncertainty

BAND_METRICS = ("labour_force", "requirement", "shortage", "population")
QUANTILES = (5, 25, 50, 75, 95)
CHUNK = 10_000  # runs simulated at once; bounds memory, does not change any number
BY_GROUP = ("occupation_shares", "shortage_split")  # drawn per occupation group, after the others


def deviations(rng: np.random.Generator, u: Uncertainty, n: int, years: int) -> np.ndarray:
    """(n, years) draws of an uncertainty's deviation from its central path.

    normal: e_1 ~ N(0, sd), e_t = rho e_(t-1) + sd sqrt(1 - rho^2) z_t (stationary, sd each year);
    uniform: one value in [low, high] less the central value, for every year; fixed: zeros.
    """
    if u.dist == "normal":
        z = rng.standard_normal((n, years))
        rho = u.persistence
        out = np.empty((n, years))
        out[:, 0] = u.sd * z[:, 0]
        for t in range(1, years):
            out[:, t] = rho * out[:, t - 1] + u.sd * np.sqrt(1.0 - rho * rho) * z[:, t]
        return out
    if u.dist == "uniform":
        low = u.value if u.low is None else u.low
        high = u.value if u.high is None else u.high
        return np.repeat((rng.uniform(low, high, n) - u.value)[:, None], years, axis=1)
    return np.zeros((n, years))


def sample(central: Params, scenario: Scenario, inputs: Inputs, n: int, seed: int) -> Params:
    """A batch of n runs: `central` (a batch of one) with every uncertainty drawn for the
    projection years (the observed years stay as they are)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    batch = repeat(central, n)
    ahead = batch.years > inputs.last_observed
    k = int(ahead.sum())
    unc = scenario.uncertainties
    drawn = {name: deviations(rng, getattr(unc, name), n, max(k, 1)) for name in type(unc).model_fields
             if name not in BY_GROUP}

    def shifted(values: np.ndarray, name: str, low: float = -np.inf, high: float = np.inf) -> np.ndarray:
        out = values.copy()
        out[:, ahead] = np.clip(out[:, ahead] + drawn[name][:, :k], low, high)
        return out

    def scaled(values: np.ndarray, name: str) -> np.ndarray:
        """values (already x the central multiplier c) x (c + deviation) / c, never below 0."""
        central = float(getattr(unc, name).value)
        out = values.copy()
        if central > 0:
            out[:, ahead] = out[:, ahead] * np.clip(1.0 + drawn[name][:, :k] / central, 0.0, None)
        return out

    def first(name: str) -> np.ndarray:
        return drawn[name][:, 0]

    resident, older, base = batch.resident_shares, batch.older_shares, batch.shortage_base
    if _varies(unc.occupation_shares):
        shares = np.exp(_relative(rng, unc.occupation_shares, n))
        resident, older = _normalised(resident * shares), _normalised(older * shares)
    if _varies(unc.shortage_split):  # only the groups whose 2023 shortage is assumed; their total kept
        assumed = inputs.shortage_assumed
        split = np.where(assumed, base * np.exp(_relative(rng, unc.shortage_split, n)), base)
        scale = (base * assumed).sum(axis=1, keepdims=True) / (split * assumed).sum(axis=1, keepdims=True)
        base = np.where(assumed, split * scale, base)
    return replace(
        batch,
        gdp_growth=shifted(batch.gdp_growth, "gdp_growth", -0.49, 0.49),
        resident_net_migration=shifted(batch.resident_net_migration, "resident_net_migration"),
        owp_arrivals=shifted(batch.owp_arrivals, "one_way_permits", 0.0),
        talent_arrivals=scaled(batch.talent_arrivals, "talent_arrivals"),
        extension_rate=shifted(batch.extension_rate, "extension_rate", 0.0, 1.0),
        tfr=scaled(batch.tfr, "fertility"),
        participation_trend=batch.participation_trend + first("participation_trend"),
        participation_projection=np.clip(batch.participation_projection + first("participation_projection"), 0, None),
        mortality_scale=np.clip(batch.mortality_scale + first("mortality_scale"), 0, None),
        resident_shares=resident,
        older_shares=older,
        shortage_base=base,
    )


def _varies(u: Uncertainty) -> bool:
    """Whether a relative (log) error is drawn (its central value is 0 by validation)."""
    return u.dist == "normal" and u.sd > 0


def _relative(rng: np.random.Generator, u: Uncertainty, n: int) -> np.ndarray:
    """(n, G) log errors of group quantities: N(0, sd) for each group."""
    return u.sd * rng.standard_normal((n, len(OCCUPATIONS)))


def _normalised(shares: np.ndarray) -> np.ndarray:
    return shares / shares.sum(axis=1, keepdims=True)


def run(central: Params, scenario: Scenario, inputs: Inputs, n: int, seed: int) -> tuple[list[list], dict]:
    """Simulate n draws in chunks of CHUNK runs; returns (bands rows, KPI probabilities)."""
    batch = sample(central, scenario, inputs, n, seed)
    pieces = [_summary(simulate(take(batch, slice(start, start + CHUNK)), inputs)) for start in range(0, n, CHUNK)]
    joined = Results(years=batch.years,
                     metrics={k: np.concatenate([p.metrics[k] for p in pieces]) for k in pieces[0].metrics},
                     groups={k: np.concatenate([p.groups[k] for p in pieces]) for k in pieces[0].groups})
    return bands(joined.years, band_series(joined)), kpi.probabilities(scenario.targets, joined)


def _summary(results: Results) -> Results:
    """Only the series bands and KPIs need (drops the ledger of a chunk)."""
    return Results(years=results.years, metrics=results.metrics, groups={"shortage": results.groups["shortage"]})


def band_series(results: Results) -> dict[str, np.ndarray]:
    """The (R, Y) series summarised in bands.csv: totals (population incl. FDH) and the shortage by group."""
    series = {metric: results.metrics[metric] for metric in BAND_METRICS}
    series["population"] = results.metrics["population"] + results.metrics["fdh"]
    return series | {f"shortage_{g}": results.groups["shortage"][:, :, k] for k, g in enumerate(OCCUPATIONS)}


def bands(years: np.ndarray, series: dict[str, np.ndarray]) -> list[list]:
    """Rows `year, metric, p05, p25, p50, p75, p95` over the runs of each (R, Y) series (empty
    where the series is undefined, e.g. the requirement before its base year)."""
    rows = []
    for metric, values in series.items():
        defined = ~np.isnan(values).any(axis=0)
        q = np.full((len(QUANTILES), years.size), np.nan)
        if defined.any():
            q[:, defined] = np.percentile(values[:, defined], QUANTILES, axis=0)
        rows += [[int(y), metric, *q[:, i]] for i, y in enumerate(years)]
    return rows
