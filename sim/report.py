"""The Markdown report of a run: headline numbers, target attainment, and the charts embedded."""

from __future__ import annotations

import numpy as np

from sim.occupation import LABELS, OCCUPATIONS
from sim.results import Results


def _persons(value: float) -> str:
    return f"{value:,.0f}"


def markdown(name: str, description: str, results: Results, kpis: list[dict], headline: dict,
             charts: list[str]) -> str:
    """report.md text. `headline` holds now_year (the last observed year shown) and peak_year;
    `charts` the chart files."""
    years = results.years
    lf = results.metrics["labour_force"][0]
    shortage = results.metrics["shortage"][0]
    at = {int(y): i for i, y in enumerate(years)}
    now, peak, end = headline["now_year"], headline["peak_year"], int(years[-1])
    lines = [f"# Scenario `{name}`", "", description, "",
             "All figures are persons (labour force excluding foreign domestic helpers) at mid-year; "
             "flows are persons a year. Shortage = requirement - supply (negative = surplus).", "",
             "## Headline", "",
             "| measure | value |", "|---|---|",
             f"| labour force {now} (last observed year) | {_persons(lf[at[now]])} |",
             f"| labour force {end} | {_persons(lf[at[end]])} |",
             f"| shortage {now} | {_persons(shortage[at[now]])} |",
             f"| peak shortage | {_persons(shortage[at[peak]])} in {peak} |",
             f"| shortage {end} | {_persons(shortage[at[end]])} |", ""]
    if 2028 in at:
        lines += ["## Shortage by occupation group, 2028", "", "| group | shortage (persons) |", "|---|---|"]
        lines += [f"| {LABELS[g]} | {_persons(results.groups['shortage'][0, at[2028], k])} |"
                  for k, g in enumerate(OCCUPATIONS)]
        lines.append("")
    if kpis:
        drawn = "probability" in kpis[0]
        lines += ["## Targets", "", "| target | year | value | bound | met |" + (" probability |" if drawn else ""),
                  "|---|---|---|---|---|" + ("---|" if drawn else "")]
        lines += [f"| {r['kpi']} | {r['year']} | {_persons(r['value'])} | {r['target']} | "
                  f"{'yes' if r['met'] else 'no'} |" + (f" {r['probability']:.0%} |" if drawn else "") for r in kpis]
        lines += ["", "Probability: share of the Monte Carlo draws meeting the target."] if drawn else []
        lines.append("")
    pngs = [c for c in charts if c.endswith(".png")]
    if pngs:
        lines += ["## Charts", ""]
        lines += [f"![{c[:-4].replace('_', ' ')}]({c})" + "\n" for c in pngs]
    lines += ["## Files", "",
              "`yearly.csv` (one row a year), `occupations.csv` (by group), `ledger.csv` (opening, flows, closing "
              "for every stock and year), `kpis.csv` (targets), `bands.csv` (percentiles over the draws, with "
              "--draws), `manifest.json` (inputs, hashes, units).", ""]
    return "\n".join(lines)


def peak_year(results: Results) -> int:
    """Year of the largest shortage of the central run."""
    return int(results.years[int(np.nanargmax(results.metrics["shortage"][0]))])
