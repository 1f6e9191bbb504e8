"""Monte Carlo draws: a design {path: per-run values} sampled from the scenario's uncertainties.

The draws are a design like any other (sim.params.build turns it into a batch): every
uncertainty path of the table in sim.variables gets its central value plus a drawn deviation,
clipped to the table's bounds, in every projection year. Every draw keeps the observed history
(build puts it into every run), so the central run and all draws agree on every observed year.
A normal uncertainty is a path of yearly deviations with persistence (AR(1)), so GDP growth
varies year to year around its path instead of one permanent rate; occupation shares and the
part of the 2023 shortage split that is assumed (all groups but the two MP2023 published) are
drawn as relative (log) errors, renormalised, while every observed total stays as observed.

Random numbers: run r's come from SeedSequence(seed, spawn_key=(r // BLOCK,)), row r % BLOCK,
with the same layout for every scenario (each uncertainty a fixed width, whatever its
distribution). So a run's draw depends only on the seed and its index, never on the chunk size
or the order of execution, and scenarios compared on one seed share their draws (common random
numbers).
"""

from __future__ import annotations

import numpy as np

from sim import kpi, variables
from sim.engine import simulate
from sim.inputs import Inputs
from sim.occupation import OCCUPATIONS
from sim.params import build
from sim.results import Results
from sim.scenario import GroupError, Scenario, Uncertainty
from sim.schedule import expand

BAND_METRICS = ("labour_force", "requirement", "shortage", "population")
QUANTILES = (5, 25, 50, 75, 95)
CHUNK = 10_000  # runs simulated at once; bounds memory, does not change any number
BLOCK = 1024    # runs per random-number block (part of the draws' definition: changing it changes the draws)


def _widths(scenario: Scenario, projected: int) -> dict[str, int]:
    """Normal numbers each uncertainty takes per run: a year each, one, or one a group."""
    out = {}
    for name in type(scenario.uncertainties).model_fields:
        rows = variables.uncertainty_paths(name)
        out[name] = len(rows) if rows[0].group is not None else (projected if rows[0].dated else 1)
    return out


def random_numbers(seed: int, start: int, n: int, width: int, uniforms: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) standard normals and (n, uniforms) uniforms in [0, 1) for runs start..start+n-1."""
    z, u = np.empty((n, width)), np.empty((n, uniforms))
    for block in range(start // BLOCK, (start + n - 1) // BLOCK + 1 if n else 0):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
        bz, bu = rng.standard_normal((BLOCK, width)), rng.random((BLOCK, uniforms))
        lo, hi = max(start, block * BLOCK), min(start + n, (block + 1) * BLOCK)
        z[lo - start:hi - start] = bz[lo - block * BLOCK:hi - block * BLOCK]
        u[lo - start:hi - start] = bu[lo - block * BLOCK:hi - block * BLOCK]
    return z, u


def deviations(u: Uncertainty, z: np.ndarray) -> np.ndarray:
    """(n, T) a normal uncertainty's deviations from its central path, from standard normals z (n, T):
    e_1 = sd z_1, e_t = rho e_(t-1) + sd sqrt(1 - rho^2) z_t (stationary, sd each year)."""
    out = np.empty_like(z)
    if z.shape[1] == 0:  # no projection years: nothing to deviate
        return out
    out[:, 0] = u.sd * z[:, 0]
    scale = u.sd * np.sqrt(1.0 - u.persistence ** 2)
    for t in range(1, z.shape[1]):
        out[:, t] = u.persistence * out[:, t - 1] + scale * z[:, t]
    return out


def design(scenario: Scenario, inputs: Inputs, start: int, n: int, seed: int) -> dict[str, np.ndarray]:
    """The draws of runs start..start+n-1 as a design {path: (n,) values} (scenario units)."""
    years = np.arange(scenario.years.start, scenario.years.end + 1)
    ahead = years[years > inputs.last_observed]
    widths = _widths(scenario, ahead.size)
    names = list(widths)
    z, uniform = random_numbers(seed, start, n, sum(widths.values()), len(names))
    out: dict[str, np.ndarray] = {}
    column = 0
    for k, name in enumerate(names):
        u: Uncertainty = getattr(scenario.uncertainties, name)
        zs = z[:, column:column + widths[name]]
        column += widths[name]
        rows = variables.uncertainty_paths(name)
        if u.dist == "fixed" or (u.dist == "normal" and u.sd == 0):
            continue
        if isinstance(u, GroupError):
            for g, row in enumerate(rows):
                if name == "shortage_split" and not inputs.shortage_assumed[g]:
                    continue  # a published group's 2023 shortage is data
                out[row.path] = np.clip(u.central(OCCUPATIONS[g]) + u.sd * zs[:, g], row.lo, row.hi)
            continue
        row = rows[0]
        if u.dist == "uniform":
            low = u.value if u.low is None else u.low
            high = u.value if u.high is None else u.high
            out[row.path] = np.clip(low + (high - low) * uniform[:, k], row.lo, row.hi)
        elif row.dated:
            values = expand(u.value, ahead)[None] + deviations(u, zs)
            out.update({f"{row.path}[{int(y)}]": np.clip(values[:, t], row.lo, row.hi) for t, y in enumerate(ahead)})
        else:
            out[row.path] = np.clip(u.value + u.sd * zs[:, 0], row.lo, row.hi)
    return out


def sample(scenario: Scenario, inputs: Inputs, n: int, seed: int, start: int = 0):
    """A batch of the draws start..start+n-1 of `scenario` (Params)."""
    return build(scenario, inputs, n, values=design(scenario, inputs, start, n, seed))


def kept(scenario: Scenario) -> tuple[str, ...]:
    """What draws record (the engine's lean path): the band series, the targets' metrics and the
    shortage by group; nothing else (no ledger)."""
    return tuple(sorted({*BAND_METRICS, "fdh", *(t.metric for t in scenario.targets.values()), "group:shortage"}))


BYTES_A_VALUE = 8 * 3
"""Bytes a kept value costs at the peak of a draws run: the chunks' series, their concatenation,
and the percentiles' sorted copies (float64 each)."""


def bytes_needed(scenario: Scenario, n: int) -> int:
    """Estimated peak memory (bytes) of n draws of `scenario`: every kept series (R, Y), with
    the groups' (R, Y, G), three times over (see BYTES_A_VALUE), plus a chunk's engine state."""
    years = scenario.years.end - scenario.years.start + 1
    series = len(kept(scenario)) - 1 + len(OCCUPATIONS)
    return n * years * series * BYTES_A_VALUE + min(n, CHUNK) * 40_000


def simulate_draws(scenario: Scenario, inputs: Inputs, n: int, seed: int) -> Results:
    """The kept series (see kept) of n draws, simulated in chunks of CHUNK runs."""
    keep = kept(scenario)
    pieces = [simulate(sample(scenario, inputs, min(CHUNK, n - start), seed, start), inputs, keep=keep)
              for start in range(0, n, CHUNK)]
    return Results(years=pieces[0].years,
                   metrics={k: np.concatenate([p.metrics[k] for p in pieces]) for k in pieces[0].metrics},
                   groups={k: np.concatenate([p.groups[k] for p in pieces]) for k in pieces[0].groups})


def run(scenario: Scenario, inputs: Inputs, n: int, seed: int, check=None) -> tuple[list[list], dict]:
    """Simulate n draws; returns (bands rows, KPI probabilities). check(results), if given, sees
    the draws first (and raises on what must not be summarised)."""
    joined = simulate_draws(scenario, inputs, n, seed)
    if check is not None:
        check(joined)
    return bands(joined.years, band_series(joined)), kpi.probabilities(scenario.targets, joined)


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
