"""What a sweep's results say: outcome distributions, target attainment, Sobol' indices, the frontier.

Written with the results by sim.sweep.run and again, from the folder alone, by `simulate report
DIR`; the same results give the same files.

  outcomes.csv     each outcome's distribution over the runs (mean, sd, percentiles)
  targets.csv      the share of runs meeting each target of the base (a probability when the
                   runs are draws of the uncertainties)
  sensitivity.csv  first-order and total Sobol' indices with 95% intervals (saltelli designs)
  frontier.csv     the cheapest lever mixes closing each share of the gap (sweeps with a frontier)
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from sim import export
from sim.assumptions import CONTEXT_UNITS
from sim.inputs import Inputs
from sim.sweepfile import LoadedSweep

PERCENTILES = (5, 25, 50, 75, 95)
OUTCOME_COLUMNS = ("outcome", "unit", "runs", "mean", "sd", "min", *(f"p{p:02d}" for p in PERCENTILES), "max")
TARGET_COLUMNS = ("target", "metric", "years", "bound", "runs", "share_met")
SENSITIVITY_COLUMNS = ("outcome", "input", "first_order", "first_low", "first_high", "total_order", "total_low",
                       "total_high")
FRONTIER_COLUMNS = ("year", "share_closed", "gap", "shortage_at_most", "runs_meeting", "run", "base_cumulative_cost_hkd",
                    "cumulative_cost_hkd", "shortage")
COLUMN_UNITS = {
    "outcomes.csv": {"outcome": "results column", "unit": "unit of the statistics", "runs": "runs",
                     "mean": "see unit", "sd": "see unit (standard deviation over the runs)", "min": "see unit",
                     **{f"p{p:02d}": f"see unit ({p}th percentile over the runs)" for p in PERCENTILES},
                     "max": "see unit"},
    "targets.csv": {"target": "target name (base scenario)", "metric": "yearly metric", "years": "first-last",
                    "bound": "bound(s)", "runs": "runs", "share_met": "share of runs meeting the target in every "
                    "year of its span (a probability when the runs are draws of the uncertainties)"},
    "sensitivity.csv": {"outcome": "results column", "input": "varied key path",
                        "first_order": "share of the outcome's variance due to the input alone",
                        "first_low": "95% interval, low", "first_high": "95% interval, high",
                        "total_order": "share including its interactions", "total_low": "95% interval, low",
                        "total_high": "95% interval, high"},
    "frontier.csv": {"year": "calendar year", "share_closed": "share of the gap closed",
                     "gap": "persons: the base scenario's shortage in the year (central run)",
                     "shortage_at_most": "persons: (1 - share) x gap", "runs_meeting": "runs with a shortage at most that",
                     "run": "the cheapest such run (empty if none; no share: the base has no gap that year)",
                     "base_cumulative_cost_hkd": "HK$: the base scenario's own cost of measures, summed likewise",
                     "cumulative_cost_hkd": "HK$: its cost of measures summed over the projection years to the year",
                     "shortage": "persons: its shortage in the year", "<lever path>": "its lever values",
                     "met.<target>": "whether it meets the base's target (the frontier does not require it)"},
}


def _g(value) -> str:
    """A number for a CSV cell: 10 significant digits; empty for NaN or None."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return format(float(value), ".10g") if not isinstance(value, (int, np.integer)) else str(int(value))


def results_csv(table) -> str:
    """results.csv: the results table as text (for small sweeps and spreadsheets): numbers as
    their shortest round-trip decimal, booleans true/false."""
    import pyarrow.csv

    body = io.BytesIO()
    pyarrow.csv.write_csv(table, body, write_options=pyarrow.csv.WriteOptions(include_header=False, quoting_style="none"))
    return ",".join(table.column_names) + "\n" + body.getvalue().decode("utf-8")


def column(table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


class Columns:
    """A finished sweep's results.parquet, read a column at a time (memory: one column, not the
    table); answers column(), column_names and num_rows as a pyarrow Table does."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        self.column_names = self.file.schema_arrow.names
        self.num_rows = self.file.metadata.num_rows

    def column(self, name: str):
        return self.file.read(columns=[name]).column(0)


def outcome_rows(sweep: LoadedSweep, table) -> list[list]:
    units = sweep.units()
    rows = []
    for o in sweep.outcomes:
        x = column(table, o.column)
        q = np.percentile(x, PERCENTILES)
        rows.append([o.column, units[o.column], x.size, _g(x.mean()), _g(x.std()), _g(x.min()), *map(_g, q), _g(x.max())])
    return rows


def target_rows(sweep: LoadedSweep, table) -> list[list]:
    from sim.kpi import describe

    rows = []
    for name, target in sweep.targets.items():
        if f"met.{name}" in table.column_names:
            met = column(table, f"met.{name}")
            rows.append([name, target.metric, f"{target.years[0]}-{target.years[1]}", describe(target), met.size,
                         _g(met.mean())])
    return rows


def sensitivity_rows(sweep: LoadedSweep, table) -> list[list]:
    from sim import sensitivity

    rows = []
    for o in sweep.outcomes:  # one outcome at a time: memory of one column
        s = sensitivity.indices(column(table, o.column)[None], len(sweep.axes), sweep.seed)
        rows += [[o.column, a.column, *(_g(s[k][0, j]) for k in ("first", "first_low", "first_high", "total", "total_low",
                                                                "total_high"))] for j, a in enumerate(sweep.axes)]
    return rows


def base_run(sweep: LoadedSweep, inputs: Inputs) -> dict[int, tuple[float, float]]:
    """The base scenario's central run in each frontier year: (shortage, persons; cumulative
    cost of its measures, HK$), what the sweep's mixes are measured against."""
    from sim.engine import simulate
    from sim.params import build

    results = simulate(build(sweep.base.scenario, inputs), inputs, keep=("shortage", "cost"))
    years = list(results.years)
    first = years.index(inputs.last_observed + 1)
    return {y: (float(results.metrics["shortage"][0, years.index(y)]),
                float(sum(results.metrics["cost"][0, k] for k in range(first, years.index(y) + 1))))
            for y in sweep.sweep.frontier.years}


def frontier_rows(sweep: LoadedSweep, table, base: dict[int, tuple[float, float]]) -> list[list]:
    """Rows of frontier.csv: for each year and share, the cheapest run closing that share of the
    base's gap, with its lever values and which targets it meets; one row with no share when the
    base has no gap that year (a surplus: nothing to close)."""
    from sim import frontier

    levers = [a.column for a in sweep.axes]
    met = [c for c in table.column_names if c.startswith("met.")]
    rows = []
    for year in sweep.sweep.frontier.years:
        gap, base_cost = base[year]
        if gap <= 0:
            rows.append([year, "", _g(gap), "", 0, "", _g(base_cost), "", ""] + [""] * (len(levers) + len(met)))
            continue
        cost, short = column(table, f"cumulative_cost[{year}]"), column(table, f"shortage[{year}]")
        for pick in frontier.cheapest(cost, short, gap, sweep.sweep.frontier.shares):
            r = pick["run"]
            chosen = ([cost[r], short[r], *(column(table, c)[r] for c in levers), *(column(table, c)[r] for c in met)]
                      if r is not None else [None] * (2 + len(levers) + len(met)))
            rows.append([year, _g(pick["share"]), _g(gap), _g(pick["target"]), pick["meeting"],
                         "" if r is None else int(column(table, "run")[r]), _g(base_cost),
                         *(_g(v) if not isinstance(v, (bool, np.bool_)) else ("true" if v else "false") for v in chosen)])
    return rows


def frontier_header(sweep: LoadedSweep, table) -> tuple[str, ...]:
    return FRONTIER_COLUMNS + tuple(a.column for a in sweep.axes) + tuple(c for c in table.column_names
                                                                            if c.startswith("met."))


def write(sweep: LoadedSweep, inputs: Inputs, table, folder: Path) -> list[str]:
    """Write the analysis tables into `folder`; returns their names (the charts and report come
    from sim.report, drawn from these). `table`: the results as a pyarrow Table or Columns."""
    outcomes = outcome_rows(sweep, table)
    tables = {"outcomes.csv": export.csv_text(OUTCOME_COLUMNS, outcomes)}
    targets = target_rows(sweep, table)
    if targets:
        tables["targets.csv"] = export.csv_text(TARGET_COLUMNS, targets)
    sens = sensitivity_rows(sweep, table) if sweep.sweep.design == "saltelli" else []
    if sens:
        tables["sensitivity.csv"] = export.csv_text(SENSITIVITY_COLUMNS, sens)
    front, base = [], {}
    if sweep.sweep.frontier is not None:
        base = base_run(sweep, inputs)
        front = frontier_rows(sweep, table, base)
        tables["frontier.csv"] = export.csv_text(frontier_header(sweep, table), front)
    units = [["results.parquet", k, v] for k, v in sweep.units().items()]
    units += [[f, k, v] for f, units_of in COLUMN_UNITS.items() for k, v in units_of.items() if f in tables]
    units += [[f, k, v] for f, units_of in CONTEXT_UNITS.items() for k, v in units_of.items()]  # written by sim.sweep
    tables["columns.csv"] = export.csv_text(("file", "column", "unit"), units)
    for name, text in tables.items():
        export.write_text(folder, name, text)
    return list(tables)
