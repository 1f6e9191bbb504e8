"""Exact Shapley attribution of a change among the levers that differ.

With k levers differing between a scenario and its base, the 2^k hybrid scenarios (each subset
of the levers at the scenario's values, the rest at the base's) give v(S) for every subset S.
Lever i's share of the change v(all) - v(none) is its Shapley value

    phi_i = sum over S not containing i of |S|! (k - |S| - 1)! / k! x (v(S + i) - v(S)),

the average of its marginal effect over every order of switching the levers on; the phi_i add up
to v(all) - v(none) exactly, and a lever that changes nothing gets exactly zero. Hybrid m (0 <=
m < 2^k) holds lever i at the scenario's value when bit i of m is set.
"""

from __future__ import annotations

from math import factorial

import numpy as np

MAX_LEVERS = 10
"""Largest number of differing levers attributed exactly (2^10 = 1,024 hybrid runs)."""


def subsets(k: int) -> np.ndarray:
    """(2^k, k) bool: row m, column i is True when lever i is on in hybrid m."""
    m = np.arange(2 ** k)[:, None]
    return (m >> np.arange(k)[None, :]) & 1 == 1


def shapley(values: np.ndarray) -> np.ndarray:
    """Shapley values (k, ...) from v (2^k, ...): the outcome of every hybrid, indexed as `subsets`."""
    n = values.shape[0]
    k = n.bit_length() - 1
    if 2 ** k != n:
        raise ValueError(f"{n} hybrid outcomes; expected 2^k")
    on = subsets(k)
    size = on.sum(axis=1)
    out = np.zeros((k, *values.shape[1:]))
    for i in range(k):
        without = np.flatnonzero(~on[:, i])
        weight = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in size[without]])
        marginal = values[without | (1 << i)] - values[without]
        out[i] = np.tensordot(weight, marginal, axes=1)
    return out
