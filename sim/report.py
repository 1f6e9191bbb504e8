"""The Markdown report of a run: headline numbers, target attainment, and the charts embedded."""

from __future__ import annotations

from sim.occupation import LABELS, OCCUPATIONS
from sim.results import Results


def _persons(value: float) -> str:
    return f"{value:,.0f}"


def markdown(name: str, description: str, results: Results, kpis: list[dict], headline: dict,
             charts: list[str]) -> str:
    """report.md text. `headline` holds now_year (the last observed year shown); `charts` the chart files."""
    years = results.years
    m = results.metrics
    lf, shortage = m["labour_force"][0], m["shortage"][0]
    at = {int(y): i for i, y in enumerate(years)}
    now, end = headline["now_year"], int(years[-1])
    shown = [y for y in (now, 2028, 2030, 2035, end) if y in at]
    shown = sorted(set(shown))
    lines = [f"# Scenario `{name}`", "", description, "",
             "All figures are persons at mid-year (labour force and population excluding foreign domestic "
             "helpers); flows are persons a year. Shortage = requirement - supply (negative = surplus); the "
             "requirement starts in the MP2023 base year. Years up to the last observed year are history (data); "
             "levers and uncertainties act after it.", "",
             "## Key years", "",
             "| year | labour force | requirement | shortage | population (excl. FDH) |", "|---|---|---|---|---|"]
    lines += [f"| {y}{' (last observed)' if y == now else ''} | {_persons(lf[at[y]])} | "
              f"{_persons(m['requirement'][0, at[y]])} | {_persons(shortage[at[y]])} | "
              f"{_persons(m['population'][0, at[y]])} |" for y in shown]
    lines.append("")
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
        lines += ["", "Value and met: the central run. Probability: share of the Monte Carlo draws meeting the "
                  "target."] if drawn else []
        lines.append("")
    pngs = [c for c in charts if c.endswith(".png")]
    if pngs:
        lines += ["## Charts", ""]
        lines += [f"![{c[:-4].replace('_', ' ')}]({c})" + "\n" for c in pngs]
    lines += ["## Files", "",
              "`yearly.csv` (one row a year), `occupations.csv` (by group), `ledger.csv` (opening, flows, closing "
              "for every stock and year), `kpis.csv` (targets), `bands.csv` (with --draws: the central run in "
              "`central` beside the percentiles over the draws; the median `p50` is the middle draw, not the "
              "central run), `manifest.json` (inputs, hashes, units).", ""]
    return "\n".join(lines)
