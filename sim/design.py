"""Sweep designs: the varied inputs of runs start..start+n-1, from the seed and the run index alone.

Whatever the shard or the worker, run r gets the same inputs, so a sweep's results do not depend
on how it was cut up. The designs (d varied inputs, each uniform over its range or its list):

  grid      every combination of the axes' values (the last axis varies fastest);
  lhs       Latin hypercube: dimension j takes stratum perm_j(r) of `runs`, jittered (perm_j a
            keyed bijection computed run by run, so memory follows the shard, not the design);
  sobol     a scrambled Sobol' sequence (scipy.stats.qmc), point r;
  saltelli  the matrices of Saltelli's scheme for Sobol' indices, in N-run blocks:
            A, B, then AB_1..AB_d (A with column i taken from B), from a 2d-dimensional
            scrambled Sobol' sequence (A its first d columns, B the rest), as
            scipy.stats.sobol_indices draws them.
"""

from __future__ import annotations

import numpy as np

from sim.sweepfile import Axis, LoadedSweep

DESIGN_KEY = 1 << 40
"""First spawn-key entry of the design's random streams (the draws use one-entry keys (block,))."""


def points(sweep: LoadedSweep, start: int, n: int) -> dict[str, np.ndarray]:
    """{column: (n,) values in scenario units} for runs start..start+n-1 of the sweep."""
    axes, design = sweep.axes, sweep.sweep.design
    if design == "grid":
        shape = tuple(len(a.grid()) for a in axes)
        index = np.unravel_index(np.arange(start, start + n), shape)
        return {a.column: np.asarray(a.grid(), dtype=float)[k] for a, k in zip(axes, index)}
    if design == "lhs":
        unit = np.column_stack([_lhs(sweep.seed, j, sweep.runs, start, n) for j in range(len(axes))])
    elif design == "sobol":
        unit = _sobol(sweep.seed, len(axes), start, n)
    else:
        unit = saltelli(sweep.seed, len(axes), sweep.runs // (len(axes) + 2), start, n)
    return {a.column: scale(a, unit[:, j]) for j, a in enumerate(axes)}


def scale(axis: Axis, unit: np.ndarray) -> np.ndarray:
    """Points of [0, 1) onto the axis: its range linearly, or its list in equal parts."""
    if axis.items is None:
        return axis.low + (axis.high - axis.low) * unit
    items = np.asarray(axis.items, dtype=float)
    return items[np.minimum((unit * items.size).astype(np.int64), items.size - 1)]


BLOCK = 1024
"""Runs a block of the Latin hypercube's jitter streams."""


def _lhs(seed: int, j: int, runs: int, start: int, n: int) -> np.ndarray:
    """(n,) dimension j of runs start..start+n-1 of a Latin hypercube of `runs` points: stratum
    perm_j(r) of `runs`, jittered uniformly within it. perm_j is a keyed pseudo-random bijection
    evaluated run by run (see _permute) and the jitter comes in blocks of BLOCK runs, so a shard
    needs memory for its own runs only, whatever the size of the design."""
    sequence = np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY, j))
    strata = _permute(np.arange(start, start + n, dtype=np.uint64), runs, sequence.generate_state(4, np.uint64))
    jitter = np.empty(n)
    for block in range(start // BLOCK, (start + n - 1) // BLOCK + 1 if n else 0):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY, j, block)))
        values = rng.random(BLOCK)
        lo, hi = max(start, block * BLOCK), min(start + n, (block + 1) * BLOCK)
        jitter[lo - start:hi - start] = values[lo - block * BLOCK:hi - block * BLOCK]
    return (strata + jitter) / runs


def _permute(index: np.ndarray, n: int, keys: np.ndarray) -> np.ndarray:
    """A pseudo-random permutation of 0..n-1 evaluated at `index` (uint64): a 4-round Feistel
    network on the smallest even number of bits covering n, cycle-walking (applied again) until
    the value falls below n. A bijection for any keys, so every stratum is taken exactly once."""
    bits = max(2, int(n - 1).bit_length())
    half = np.uint64((bits + bits % 2) // 2)
    mask = np.uint64((1 << int(half)) - 1)
    out = index.copy()
    todo = np.ones(out.size, dtype=bool)
    while todo.any():
        x = out[todo]
        left, right = x >> half, x & mask
        for key in keys:
            left, right = right, left ^ (_mix(right ^ key) & mask)
        out[todo] = (left << half) | right
        todo[todo] = out[todo] >= n
    return out.astype(np.int64)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a well-mixed uint64 function of x (wrapping arithmetic)."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _sobol(seed: int, d: int, start: int, n: int) -> np.ndarray:
    """(n, d) points start..start+n-1 of the scrambled Sobol' sequence of the seed."""
    import warnings

    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY,)))
    engine = qmc.Sobol(d, scramble=True, rng=rng)
    if start:
        engine.fast_forward(start)
    with warnings.catch_warnings():  # a shard of the sequence need not be a power of 2: the whole is
        warnings.filterwarnings("ignore", "The balance properties", UserWarning)
        return engine.random(n)


def saltelli(seed: int, d: int, base: int, start: int, n: int) -> np.ndarray:
    """(n, d) runs start..start+n-1 of the Saltelli layout with `base` (N) points a block."""
    out = np.empty((n, d))
    r = start
    while r < start + n:
        block, k = divmod(r, base)
        stop = min(start + n, (block + 1) * base)
        both = _sobol(seed, 2 * d, k, stop - r)
        a, b = both[:, :d], both[:, d:]
        rows = a if block == 0 else b if block == 1 else a.copy()
        if block >= 2:
            rows[:, block - 2] = b[:, block - 2]
        out[r - start:stop - start] = rows
        r = stop
    return out
