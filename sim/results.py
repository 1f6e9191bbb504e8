"""Results of a batch: series over (run, year), by occupation group, the ledger and the KPIs.

Year index 0 is the start year's initial state; flows are recorded from index 1 on (the period
from the previous mid-year to this one), index 0 of a flow series is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.occupation import OCCUPATIONS

STOCK_METRICS = ("labour_force", "labour_force_female", "labour_force_60plus", "resident_labour_force",
                 "talent_labour_force", "imported_workers", "retraining_active", "population", "fdh",
                 "population_15plus", "requirement", "shortage",
                 "talent_stock", "participation_rate")
FLOW_METRICS = ("talent_arrivals", "talent_extensions", "talent_departures", "naturalisations",
                "retraining_places", "retraining_placements", "births", "deaths", "resident_net_migration",
                "births_at_tfr1", "cost")
UNITS = {name: "persons" for name in STOCK_METRICS} | {name: "persons/year" for name in FLOW_METRICS}
UNITS["retraining_places"] = "places/year (ERB training places)"
UNITS["cost"] = ("HK$/year: cost of the measures, sum over levers with a unit cost of unit cost x (lever - its "
                 "last observed level); 0 in the observed years")
UNITS["participation_rate"] = "share: labour force over the population aged 15+ (both excl. FDH)"
UNITS["population"] = "persons: residents of all ages excl. FDH (talents and imported workers included)"
UNITS["births_at_tfr1"] = "persons/year: births the year's women would have at a TFR of 1 (for the fertility fit)"
UNITS["labour_force_60plus"] = "persons: residents aged 60+ in the labour force"
UNITS["fdh"] = "persons: foreign domestic helpers (population + fdh is C&SD's population)"
UNITS["requirement"] = "persons (from the demand base year on)"
UNITS["shortage"] = "persons: requirement - supply (from the demand base year on; < 0 is a surplus)"
GROUP_SERIES = ("supply", "requirement", "shortage", "openings")
GROUP_PREFIX = "group:"
KEEP_NAMES = STOCK_METRICS + FLOW_METRICS + tuple(GROUP_PREFIX + name for name in GROUP_SERIES)
"""What `sim.engine.simulate(keep=...)` may be asked to record: a metric (R, Y) by its name, or a
series by occupation group (R, Y, G) as "group:<series>"."""


def keep_names() -> tuple[str, ...]:
    """The valid names of `simulate(keep=...)` (KEEP_NAMES)."""
    return KEEP_NAMES


def split_keep(keep) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(metrics, group series) named by `keep`, in KEEP_NAMES order. ValueError naming the names
    that are not in KEEP_NAMES, or for a keep that names nothing; TypeError for a bare string."""
    if isinstance(keep, str):
        raise TypeError(f"keep takes a collection of names, not the string {keep!r} (write keep=[{keep!r}])")
    names = set(keep)
    unknown = sorted(str(name) for name in names - set(KEEP_NAMES))
    if unknown:
        raise ValueError(f"unknown keep name{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"expected metric names or {GROUP_PREFIX}<series> (see sim.results.KEEP_NAMES)")
    if not names:
        raise ValueError("keep names no outcome; pass keep=None to record everything")
    metrics = tuple(name for name in STOCK_METRICS + FLOW_METRICS if name in names)
    groups = tuple(name for name in GROUP_SERIES if GROUP_PREFIX + name in names)
    return metrics, groups


@dataclass
class Results:
    """Everything a run records. metrics: name -> (R, Y); groups: name -> (R, Y, G);
    ledger: (stock, item) -> (R, Y), items in insertion order, `opening` first, `closing` last."""

    years: np.ndarray
    metrics: dict[str, np.ndarray]
    groups: dict[str, np.ndarray]
    ledger: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    population_by_age: np.ndarray | None = None  # (R, Y, 2, A) residents, talents, imported workers; on request

    @classmethod
    def empty(cls, years: np.ndarray, runs: int) -> "Results":
        shape = (runs, years.size)
        return cls(years=years,
                   metrics={name: np.full(shape, np.nan) for name in STOCK_METRICS + FLOW_METRICS},
                   groups={name: np.full((*shape, len(OCCUPATIONS)), np.nan) for name in GROUP_SERIES})

    @classmethod
    def kept(cls, years: np.ndarray, runs: int, metrics: tuple[str, ...], groups: tuple[str, ...]) -> "Results":
        """NaN-filled series of only the named metrics and group series, and no ledger (the lean path)."""
        shape = (runs, years.size)
        return cls(years=years, metrics={name: np.full(shape, np.nan) for name in metrics},
                   groups={name: np.full((*shape, len(OCCUPATIONS)), np.nan) for name in groups})

    @property
    def runs(self) -> int:
        return next(iter({**self.metrics, **self.groups}.values())).shape[0]

    def metric(self, i: int, **values: np.ndarray) -> None:
        for name, value in values.items():
            self.metrics[name][:, i] = value

    def group(self, i: int, **values: np.ndarray) -> None:
        for name, value in values.items():
            self.groups[name][:, i] = value

    def ledger_row(self, stock: str, i: int, opening: np.ndarray, closing: np.ndarray, **flows: np.ndarray) -> None:
        """Record a stock's opening, its named flows (inflows > 0, outflows < 0) and closing for year i."""
        for item, value in {"opening": opening, **flows, "closing": closing}.items():
            if (stock, item) not in self.ledger:  # allocate once, not every year
                self.ledger[(stock, item)] = np.full(self.metrics["labour_force"].shape, np.nan)
            self.ledger[(stock, item)][:, i] = value

    def stocks(self) -> list[str]:
        return list(dict.fromkeys(stock for stock, _ in self.ledger))

    def items(self, stock: str) -> list[str]:
        return [item for s, item in self.ledger if s == stock]

    def ledger_gap(self) -> np.ndarray:
        """Largest |closing - opening - sum(flows)| over stocks, for each run and year (R, Y-1), persons."""
        gaps = []
        for stock in self.stocks():
            flows = [self.ledger[(stock, item)] for item in self.items(stock) if item not in ("opening", "closing")]
            gap = self.ledger[(stock, "closing")] - self.ledger[(stock, "opening")] - np.sum(flows, axis=0)
            gaps.append(np.abs(gap[:, 1:]))
        return np.max(gaps, axis=0)

    def value(self, metric: str, year: int, r: int = 0) -> float:
        return float(self.metrics[metric][r, int(np.searchsorted(self.years, year))])
