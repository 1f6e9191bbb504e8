"""Sobol' sensitivity indices from a Saltelli design: which inputs drive each outcome.

The point estimates are scipy.stats.sobol_indices (Saltelli 2010 estimators) on the outputs of
the design's blocks A, B and AB_1..AB_d (sim.design.saltelli). Confidence intervals are
percentile bootstraps of the same call on resampled rows of the blocks, with a generator of the
sweep's seed (so they are reproducible); scipy's own BCa bootstrap needs a jackknife whose cost
grows with the square of the sample, which a sweep of a million runs cannot afford.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
MAX_RESAMPLES = 200
BOOTSTRAP_BUDGET = 2e8
"""Upper bound on the values copied by the bootstrap (resamples x outputs x (d + 2) x N), so it
stays a few seconds at any size (never fewer than 30 resamples)."""


def blocks(y: np.ndarray, d: int) -> dict[str, np.ndarray]:
    """f_A (s, N), f_B (s, N), f_AB (d, s, N) from outputs y (s, N (d + 2)) in the design's run order."""
    n = y.shape[1] // (d + 2)
    pages = y.reshape(y.shape[0], d + 2, n)
    return {"f_A": pages[:, 0], "f_B": pages[:, 1], "f_AB": np.moveaxis(pages[:, 2:], 1, 0)}


def indices(y: np.ndarray, d: int, seed: int) -> dict[str, np.ndarray]:
    """First-order and total indices (s, d) of the outputs y (s, runs), with their confidence
    bounds: first, first_low, first_high, total, total_low, total_high. An output that does not
    vary has no indices (NaN)."""
    from scipy.stats import sobol_indices

    f = blocks(np.asarray(y, dtype=float), d)
    s, n = f["f_A"].shape
    out = {k: np.full((s, d), np.nan) for k in ("first", "first_low", "first_high", "total", "total_low", "total_high")}
    both = np.concatenate([f["f_A"], f["f_B"]], axis=1)
    varies = np.isfinite(both).all(axis=1) & (np.ptp(both, axis=1) > 1e-12 * np.maximum(1.0, np.abs(both).max(axis=1)))
    if not varies.any():
        return out
    f = {k: v[varies] if k != "f_AB" else v[:, varies] for k, v in f.items()}
    if d == 1:  # scipy fails on one input: add an inert second one (AB_2 = A), whose indices are 0
        f["f_AB"] = np.concatenate([f["f_AB"], f["f_A"][None]])
    shape = (int(varies.sum()), max(d, 2))  # scipy squeezes a single output away
    result = sobol_indices(func=f, n=n)
    out["first"][varies] = np.reshape(result.first_order, shape)[:, :d]
    out["total"][varies] = np.reshape(result.total_order, shape)[:, :d]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1 << 41,)))
    resamples = int(np.clip(BOOTSTRAP_BUDGET / (varies.sum() * (d + 2) * n), 30, MAX_RESAMPLES))
    first, total = [], []
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        again = sobol_indices(func={"f_A": f["f_A"][:, rows], "f_B": f["f_B"][:, rows], "f_AB": f["f_AB"][..., rows]},
                              n=n)
        first.append(np.reshape(again.first_order, shape)[:, :d])
        total.append(np.reshape(again.total_order, shape)[:, :d])
    tail = 100 * (1 - CONFIDENCE) / 2
    out["first_low"][varies], out["first_high"][varies] = np.percentile(first, (tail, 100 - tail), axis=0)
    out["total_low"][varies], out["total_high"][varies] = np.percentile(total, (tail, 100 - tail), axis=0)
    return out
