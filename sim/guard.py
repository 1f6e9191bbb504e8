"""The last check before anything is written: every number finite where a number belongs, and
physically possible (no negative stock, no labour force above the population aged 15+).

Inputs are bounded where they are read (scenario, calibration), and the engine caps flows that
would overdraw a stock, so a violation here means inputs the model cannot represent together;
it is an InputError naming the scenario, the run, the year and the value, never a file with NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.errors import InputError
from sim.results import FLOW_METRICS, Results

SIGNED = {"shortage", "resident_net_migration", "cost"}
"""Series that may be negative (a surplus, net emigration, a saving)."""
UNDEFINED_BEFORE_DEMAND = {"requirement", "shortage"}
IDENTITY_TOLERANCE = 1e-9
"""Largest ledger gap accepted, as a share of the population (rounding; real gaps are ~1e-9 persons)."""
"""Series undefined (NaN) before the demand base year."""


def check(results: Results, demand_base_year: int, where, what: str,
          describe: Callable[[int], str] | None = None) -> None:
    """InputError at the first run (and year) whose outputs are not finite where a number
    belongs, or impossible. `what` names the scenario; describe(run) the run and its parameters."""
    years = results.years
    for name, values in results.metrics.items():
        expected_nan = np.zeros(years.size, dtype=bool)
        if name in FLOW_METRICS:
            expected_nan[0] = True
        if name in UNDEFINED_BEFORE_DEMAND:
            expected_nan |= years < demand_base_year
        bad = ~np.isfinite(values) & ~expected_nan[None, :]
        _raise_first(bad, values, years, name, "is not a finite number", where, what, describe)
        if name not in SIGNED:
            _raise_first(values < 0, values, years, name, "is negative", where, what, describe)
    if "participation_rate" in results.metrics:
        rate = results.metrics["participation_rate"]
        _raise_first(rate > 1, rate, years, "participation_rate", "is above 1", where, what, describe)
    if results.ledger:
        gap = results.ledger_gap()  # (R, Y-1) |closing - opening - flows|, persons
        scale = max(1.0, float(np.nanmax(np.abs(results.metrics["population"]))))
        _raise_first(gap > IDENTITY_TOLERANCE * scale, gap, years[1:], "the ledger's closing - opening - flows",
                     "breaks the accounting identity", where, what, describe)
    supply = results.groups.get("supply")
    if supply is not None:
        low = np.nanmin(supply, axis=2)
        _raise_first(low < 0, low, years, "supply of an occupation group", "is negative", where, what, describe)


def _raise_first(bad: np.ndarray, values: np.ndarray, years: np.ndarray, name: str, problem: str, where, what: str,
                 describe) -> None:
    if not bad.any():
        return
    run, t = (int(i) for i in np.argwhere(bad)[0])
    which = describe(run) if describe is not None else f"run {run}"
    raise InputError(where, f"{what}: {which} gives {name} = {values[run, t]:.6g} in {int(years[t])}, which "
                     f"{problem}: the inputs together are outside what the model can represent; check them")
