"""Dated values: a lever or input given as `35000` or `{2024: 35000, 2026: 50000}`.

A mapping means "from that year on": each dated value holds until the next date. A scalar holds
for every year. A mapping must give a value for the scenario's first year (checked where the
scenario is loaded), so no year is ever left without a value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

Schedule = float | Mapping[int, float]


def first_year(schedule: Schedule) -> int | None:
    """The first dated year, or None for a scalar (or an empty mapping)."""
    return min(schedule) if isinstance(schedule, Mapping) and schedule else None


def expand(schedule: Schedule, years: np.ndarray) -> np.ndarray:
    """Value in force in each of `years` (float64, same shape as `years`).

    Years before the first dated entry take the first entry's value (loading rejects such
    schedules for scenario levers; the rule only keeps the function total).
    """
    years = np.asarray(years)
    if not isinstance(schedule, Mapping):
        return np.full(years.shape, float(schedule))
    dates = np.array(sorted(schedule), dtype=np.int64)
    values = np.array([float(schedule[d]) for d in dates])
    index = np.searchsorted(dates, years, side="right") - 1
    return values[np.clip(index, 0, len(dates) - 1)]
