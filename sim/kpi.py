"""Target attainment: each scenario target checked year by year against the central run.

A target `{metric, min, max, years: [first, last]}` yields one row per year in that span with
the metric's value, the bound(s) and whether it was met.
"""

from __future__ import annotations

import numpy as np

from sim.results import Results
from sim.scenario import Target


def evaluate(targets: dict[str, Target], results: Results, run: int = 0) -> list[dict]:
    """Rows `kpi, year, value, target, met` for every target and year (run `run` of the batch)."""
    rows = []
    for name, target in targets.items():
        series = results.metrics[target.metric][run]
        for year in range(target.years[0], target.years[1] + 1):
            index = np.searchsorted(results.years, year)
            if index >= results.years.size or results.years[index] != year:
                continue
            value = float(series[index])
            met = bool(meets(target, np.array(value)))
            rows.append({"kpi": name, "year": year, "value": value, "target": describe(target), "met": met})
    return rows


def probabilities(targets: dict[str, Target], results: Results) -> dict[tuple[str, int], tuple[float, bool]]:
    """Share of the runs of a batch (draws) meeting each target in each year, and whether the
    target's value varies between the draws at all: (kpi, year) -> ([0, 1], varies). A value that
    does not vary (set by a lever, or observed) is met in every draw or in none: its 0 or 1 is
    not a probability, and reports say so."""
    out = {}
    for name, target in targets.items():
        for year in range(target.years[0], target.years[1] + 1):
            index = np.searchsorted(results.years, year)
            if index >= results.years.size or results.years[index] != year:
                continue
            value = results.metrics[target.metric][:, index]
            met = meets(target, value)
            out[(name, year)] = (float(met.mean()), bool(np.ptp(value) > 1e-9 * max(1.0, np.abs(value).max())))
    return out


def meets(target: Target, value: np.ndarray) -> np.ndarray:
    """Elementwise: the value is within the target's bound(s); NaN (undefined) never is."""
    met = ~np.isnan(value)
    if target.min is not None:
        met &= value >= target.min
    if target.max is not None:
        met &= value <= target.max
    return met


def describe(target: Target) -> str:
    """`>= 35000`, `<= 100000` or `35000..50000`."""
    if target.min is not None and target.max is not None:
        return f"{target.min:g}..{target.max:g}"
    return f">= {target.min:g}" if target.min is not None else f"<= {target.max:g}"
