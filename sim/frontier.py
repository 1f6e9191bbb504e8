"""The cost-effectiveness frontier of a lever sweep: the cheapest lever mixes that close a share of the gap.

The gap in a year is the base scenario's shortage then (its central run). A mix closes share s
of it when its shortage is at most (1 - s) x gap; the cheapest such mix is the one with the
lowest cumulative cost of the measures (HK$, sim.params.measures_cost summed over the projection
years up to that year). The Pareto front is every mix that no cheaper mix beats on shortage.
"""

from __future__ import annotations

import numpy as np


def cheapest(cost: np.ndarray, shortage: np.ndarray, gap: float, shares) -> list[dict]:
    """For each share s: {share, target, meeting, run} with run the index (into the arrays) of the
    cheapest mix that closes s of the gap, gap - shortage >= s x gap (the first such index on a
    tie), None if none; target = gap - s x gap, the shortage that leaves."""
    out = []
    for share in shares:
        target = gap - share * gap
        ok = np.flatnonzero(gap - shortage >= share * gap)
        run = int(ok[np.argmin(cost[ok])]) if ok.size else None
        out.append({"share": float(share), "target": target, "meeting": int(ok.size), "run": run})
    return out


def pareto(cost: np.ndarray, shortage: np.ndarray) -> np.ndarray:
    """Indices of the Pareto front (lower cost and lower shortage are better), by rising cost."""
    order = np.lexsort((shortage, cost))
    best = np.minimum.accumulate(shortage[order])
    keep = np.concatenate([[True], best[1:] < best[:-1]])
    return order[keep]
