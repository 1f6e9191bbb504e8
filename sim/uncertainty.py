"""Monte Carlo draws: a batch of parameter sets sampled from the scenario's uncertainties and the
calibration's parameter covariance.

One seed, passed explicitly: `numpy.random.default_rng(SeedSequence(seed))`; all N draws are
made up front in a fixed order (fitted parameters first, then each uncertainty as declared), so
the same scenario, calibration and seed always give the same draws.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim import kpi
from sim.engine import simulate
from sim.inputs import Inputs
from sim.occupation import OCCUPATIONS
from sim.params import Params, repeat, take, with_fitted
from sim.results import Results
from sim.scenario import Scenario, Uncertainty

BAND_METRICS = ("labour_force", "requirement", "shortage")
QUANTILES = (5, 25, 50, 75, 95)
CHUNK = 10_000  # runs simulated at once; bounds memory, does not change any number


def _draw(rng: np.random.Generator, u: Uncertainty, n: int) -> np.ndarray:
    """n values of one uncertainty: its value (fixed), normal(value, sd) or uniform(low, high)."""
    if u.dist == "normal":
        return u.value + u.sd * rng.standard_normal(n)
    if u.dist == "uniform":
        low = u.value if u.low is None else u.low
        high = u.value if u.high is None else u.high
        return rng.uniform(low, high, n)
    return np.full(n, u.value)


def _fitted(rng: np.random.Generator, fit: dict | None, n: int) -> dict[str, np.ndarray]:
    """n draws of the fitted parameters from N(estimates, covariance), by parameter name."""
    if not fit:
        return {}
    names, estimates = fit["parameters"], np.array(fit["estimates"], dtype=float)
    cov = np.array([[np.nan if c is None else c for c in row] for row in fit["covariance"]], dtype=float)
    known = np.flatnonzero(np.isfinite(np.diag(cov)))
    sub = cov[np.ix_(known, known)]
    values, vectors = np.linalg.eigh((sub + sub.T) / 2.0)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # cov = root @ root.T, also if only semi-definite
    z = rng.standard_normal((n, known.size))
    drawn = np.tile(estimates, (n, 1))
    drawn[:, known] = estimates[known] + z @ root.T
    return {name: drawn[:, k] for k, name in enumerate(names)}


def sample(central: Params, scenario: Scenario, inputs: Inputs, n: int, seed: int) -> Params:
    """A batch of n runs: `central` (a batch of one) with every uncertain parameter drawn."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    batch = repeat(central, n)
    fitted = _fitted(rng, inputs.fit, n)
    if "participation_scale" in fitted:
        fitted["participation_scale"] = np.clip(fitted["participation_scale"], 0, None)
    unc = scenario.uncertainties
    drawn = {name: _draw(rng, getattr(unc, name), n) for name in type(unc).model_fields}
    projection = batch.years > max(inputs.history["net_other_movement"])
    migration = batch.resident_net_migration.copy()
    migration[:, projection] = drawn["resident_net_migration"][:, None]
    return replace(with_fitted(batch, fitted), gdp_growth=drawn["gdp_growth"], resident_net_migration=migration,
                   participation_trend=drawn["participation_trend"],
                   mortality_scale=np.clip(drawn["mortality_scale"], 0, None))


def anchor_requirement(batch: Params, results: Results, inputs: Inputs) -> Params:
    """Each run's base-year requirement = its own base-year supply + the observed base-year
    shortage (the MP2023 definition), so that every draw reproduces the observed shortage."""
    at = np.flatnonzero(results.years == inputs.demand_base_year)
    if at.size == 0:
        return batch
    return replace(batch, requirement_base=results.groups["supply"][:, at[0]] + inputs.shortage_base[None, :])


def run(central: Params, scenario: Scenario, inputs: Inputs, n: int, seed: int) -> tuple[list[list], dict]:
    """Simulate n draws in chunks of CHUNK runs; returns (bands rows, KPI probabilities)."""
    batch = sample(central, scenario, inputs, n, seed)
    pieces: list[Results] = []
    for start in range(0, n, CHUNK):
        part = take(batch, slice(start, start + CHUNK))
        first = simulate(part, inputs)
        pieces.append(_summary(simulate(anchor_requirement(part, first, inputs), inputs)))
    joined = Results(years=batch.years,
                     metrics={k: np.concatenate([p.metrics[k] for p in pieces]) for k in pieces[0].metrics},
                     groups={k: np.concatenate([p.groups[k] for p in pieces]) for k in pieces[0].groups})
    return bands(joined.years, band_series(joined)), kpi.probabilities(scenario.targets, joined)


def _summary(results: Results) -> Results:
    """Only the series bands and KPIs need (drops the ledger of a chunk)."""
    return Results(years=results.years, metrics=results.metrics, groups={"shortage": results.groups["shortage"]})


def band_series(results: Results) -> dict[str, np.ndarray]:
    """The (R, Y) series summarised in bands.csv: totals and the shortage by group."""
    series = {metric: results.metrics[metric] for metric in BAND_METRICS}
    return series | {f"shortage_{g}": results.groups["shortage"][:, :, k] for k, g in enumerate(OCCUPATIONS)}


def bands(years: np.ndarray, series: dict[str, np.ndarray]) -> list[list]:
    """Rows `year, metric, p05, p25, p50, p75, p95` over the runs of each (R, Y) series."""
    rows = []
    for metric, values in series.items():
        q = np.percentile(values, QUANTILES, axis=0)  # (5, Y)
        rows += [[int(y), metric, *q[:, i]] for i, y in enumerate(years)]
    return rows
