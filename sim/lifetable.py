"""Period life tables: life expectancy from death probabilities, and the level of death rates
that gives an observed life expectancy.

Single years of age 0..100 (100 open-ended); deaths spread evenly within each year of age
(half a year lived by those who die), so e0 = sum over ages of l(a) x (1 - q(a)/2) with the
open age lived for 1/q(100) years.
"""

from __future__ import annotations

import numpy as np


def life_expectancy(q: np.ndarray) -> np.ndarray:
    """Life expectancy at birth (years) for death probabilities q (..., A)."""
    q = np.clip(q, 0.0, 1.0)
    survivors = np.cumprod(np.concatenate([np.ones(q.shape[:-1] + (1,)), 1.0 - q[..., :-1]], axis=-1), axis=-1)
    lived = survivors[..., :-1] * (1.0 - q[..., :-1] / 2.0)
    return lived.sum(axis=-1) + survivors[..., -1] / np.maximum(q[..., -1], 1e-9)


def scale_for(q: np.ndarray, target: float) -> float:
    """The multiplier s of death probabilities q (A,) whose life expectancy is `target` years
    (bisection on log s; e0 falls as s rises)."""
    lo, hi = -5.0, 5.0
    for _ in range(80):
        mid = (lo + hi) / 2.0
        if life_expectancy(np.clip(q * np.exp(mid), 0.0, 1.0)) > target:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2.0))
