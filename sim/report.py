"""The Markdown report of a run: headline numbers, target attainment, and the charts embedded."""

from __future__ import annotations

from sim.occupation import LABELS, OCCUPATIONS
from sim.results import Results


def _persons(value: float) -> str:
    return f"{value:,.0f}"


def _chance(row: dict) -> str:
    return f"{row['probability']:.0%}" if row["uncertain"] else f"fixed ({'met' if row['met'] else 'not met'})"


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
    if headline.get("migration_capped", 0.0) > 0.5:
        lines += [f"**Capped:** {headline['migration_capped']:,.0f} persons of the emigration the scenario asks for "
                  "could not leave, because no residents of that age were left (the population never goes negative; "
                  "ledger.csv shows the cap as `migration_capped`, year by year).", ""]
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
                  f"{'yes' if r['met'] else 'no'} |" + (f" {_chance(r)} |" if drawn else "") for r in kpis]
        lines += ["", "Value and met: the central run. Probability: share of the Monte Carlo draws meeting the "
                  "target; \"fixed\" where a lever or the data set the value in every draw (met in all draws "
                  "or none: not a probability)."] if drawn else []
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


def compare_markdown(result, year: int, spread: list[list], costs: list[list], charts: list[str]) -> str:
    """report.md of a comparison: the headline difference, key years, attribution, costs, charts."""
    years = [int(y) for y in result.years]
    at = {y: i for i, y in enumerate(years)}
    base = result.base
    below = {(r[0], r[1]): r for r in spread if r[2] == "shortage"}
    lines = [f"# Comparison against `{base.name}`", "",
             f"Scenarios: {', '.join(f'`{m.name}`' for m in result.others)}. Persons at mid-year (excluding foreign "
             "domestic helpers); shortage = requirement - supply (negative = surplus); a negative change closes the "
             f"gap. History (to {result.inputs.last_observed}) is the same data in every scenario.", "",
             "## Headline", ""]
    for m in result.others:
        change = result.attributions[m.name].total[at[year]]
        mine, theirs = m.results.value("shortage", year), base.results.value("shortage", year)
        text = (f"`{m.name}` {'lowers' if change < 0 else 'raises'} the {year} shortage by {_persons(abs(change))} "
                f"persons ({_persons(mine)} against {_persons(theirs)}).")
        row = below.get((m.name, year))
        if row is not None:
            text += (f" Over {result.draws:,} paired draws the change lies between {_persons(row[3])} and "
                     f"{_persons(row[7])} (5th-95th percentile), and the scenario's shortage is below the base's in "
                     f"{row[8]:.0%} of them.")
        lines.append(text)
    lines += ["", "## Key years", "", "| scenario | year | labour force | shortage | change in shortage | cost (HK$ m/year) |",
              "|---|---|---|---|---|---|"]
    shown = [y for y in (year, 2030, 2035, years[-1]) if y in at and y > result.inputs.last_observed]
    for m in result.members:
        for y in sorted(set(shown)):
            i = at[y]
            change = m.results.metrics["shortage"][0, i] - base.results.metrics["shortage"][0, i]
            lines.append(f"| {m.name} | {y} | {_persons(m.results.metrics['labour_force'][0, i])} | "
                         f"{_persons(m.results.metrics['shortage'][0, i])} | {_persons(change)} | "
                         f"{m.results.metrics['cost'][0, i] / 1e6:,.1f} |")
    lines += ["", f"## Which lever did what ({year})", "",
              "Exact Shapley values over all 2^k combinations of the levers that differ (`attribution.csv` has every "
              "year); they add up to the total.", "", "| scenario | lever | change in shortage (persons) |", "|---|---|---|"]
    for name, a in result.attributions.items():
        lines += [f"| {name} | `{lever}` | {_persons(a.contributions[k, at[year]])} |" for k, lever in enumerate(a.levers)]
        lines.append(f"| {name} | **total** | **{_persons(a.total[at[year]])}** |")
    if costs:
        lines += ["", f"## Cost-effectiveness ({year})", "", "| scenario | lever | cost (HK$ m/year) | shortage closed | "
                  "HK$ per person closed |", "|---|---|---|---|---|"]
        lines += [f"| {s} | `{lever}` | {c / 1e6:,.1f} | {_persons(p)} | "
                  f"{'n/a (closes nothing)' if h != h else f'{h:,.0f}'} |" for s, _, lever, c, p, h in costs]
        lines += ["", "Costs only for levers with a `unit_cost` in the scenario file."]
    else:
        lines += ["", "No lever that differs has a `unit_cost`; no cost-effectiveness is reported."]
    pngs = [c for c in charts if c.endswith(".png")]
    if pngs:
        lines += ["", "## Charts", ""] + [f"![{c[:-4].replace('_', ' ')}]({c})\n" for c in pngs]
    lines += ["", "## Files", "", "`compare.csv` (every scenario, year and metric with its difference from the base), "
              "`attribution.csv` (lever contributions and the total, every projection year), `cost_effectiveness.csv`, "
              + ("`compare_bands.csv` (percentiles of the paired difference), " if spread else "")
              + "`manifest.json` (inputs, hashes, units).", ""]
    return "\n".join(lines)
