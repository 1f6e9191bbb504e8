"""The fit report: residuals, parameters, the back-test, the fertility fit, and the baseline beside
every official path (C&SD population estimates, census structure and projection; MP2023 supply,
requirement and shortages), each with its distance; charts and report.md.

Written into a folder (calibration/report/ by default) that replaces the previous one
atomically. Every number is computed from the fit and the baseline run, none typed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration import fit as fit_module
from calibration.fit import WEIGHTS, Fit
from sim import export, report
from sim.occupation import OCCUPATIONS

TOLERANCES = {"population": 0.005, "census": 0.03, "population_2046": 0.02, "supply": 0.01, "requirement": 0.015,
              "shortage_2028": 0.10}
"""Relative tolerances of the checks against official paths (issue 6): population estimates 0.5%,
census structure 3%, C&SD 2046 2%, MP2023 supply 1%, requirement 1.5%, 2028 shortage 10%."""


def residual_rows(fit: Fit) -> list[dict]:
    rows = []
    for target, model in zip(fit.problem.targets, fit.model):
        error = model - target.value
        rows.append({"year": target.year, "metric": target.metric, "observed": target.value, "model": model,
                     "error": error, "error_pct": 100.0 * error / target.value, "tolerance": target.tolerance,
                     "confidence": target.confidence, "weight": WEIGHTS[target.confidence],
                     "residual": error / target.sigma, "within_tolerance": abs(error) <= target.tolerance,
                     "source": target.source})
    return rows


def parameter_rows(fit: Fit, free: dict) -> list[dict]:
    return [{"name": name, "estimate": fit.x[k], "se": fit.se[k], "lower": free[name].lower,
             "upper": free[name].upper, "fitted": bool(fit.fitted[k]), "unit": free[name].unit,
             "meaning": free[name].meaning} for k, name in enumerate(fit.problem.names)]


def baseline(assumptions: Path, calibrated: dict, scenario):
    """The baseline scenario run on the assumptions with the calibrated values (what hk.yaml holds):
    (Results with the population by age, inputs)."""
    from sim import inputs as inputs_module
    from sim.engine import simulate
    from sim.params import build

    data = inputs_module.load(assumptions, extra=calibrated)
    return simulate(build(scenario, data), data, ages=True), data


def official_rows(results, data) -> list[dict]:
    """Model beside every official value it can be compared with: `kind, year, metric, official,
    low, high, model, distance, distance_pct, tolerance_pct, within` (persons)."""
    years = {int(y): i for i, y in enumerate(results.years)}
    m = results.metrics
    out = []

    def add(kind, year, metric, official, model, tolerance, low=None, high=None):
        """A range with no tolerance is met inside it; otherwise the tolerance decides (a range shown)."""
        distance = model - official
        inside = low <= model <= high if tolerance == 0 and low is not None else abs(distance) <= tolerance * abs(official)
        out.append({"kind": kind, "year": year, "metric": metric, "official": official, "low": low, "high": high,
                    "model": model, "distance": distance, "distance_pct": 100.0 * distance / official,
                    "tolerance_pct": 100.0 * tolerance, "within": inside})

    for row in data.population_rows:
        if row["metric"] == "population" and row["chosen"] == "yes" and row["year"] in years:
            i = years[row["year"]]
            add("C&SD mid-year estimate", row["year"], "population incl. FDH", row["value"],
                float(m["population"][0, i] + m["fdh"][0, i]), TOLERANCES["population"])
    for row in data.official:
        year, metric = int(row["year"]), row["metric"]
        if year not in years or metric == "net_movement":
            continue
        i = years[year]
        if metric == "population":
            add("C&SD projection", year, "population incl. FDH", row["value"],
                float(m["population"][0, i] + m["fdh"][0, i]), TOLERANCES["population_2046"], row["low"], row["high"])
        elif metric in ("supply", "requirement", "shortage"):
            model = float(m["labour_force" if metric == "supply" else metric][0, i])
            tol = TOLERANCES["shortage_2028"] if metric == "shortage" else TOLERANCES[metric]
            add("MP2023", year, metric, row["value"], model, tol if year != data.demand_base_year or
                metric != "shortage" else 0.0)
        else:
            from sim.occupation import OCCUPATIONS

            g = OCCUPATIONS.index(metric.removeprefix("shortage_"))
            add("MP2023 range", year, metric, row["value"], float(results.groups["shortage"][0, i, g]), 0.0,
                row["low"], row["high"])
    out += census_rows(results, data)
    return out


def census_rows(results, data) -> list[dict]:
    """The model's census-year population by sex and band (incl. FDH) beside the census table."""
    from sim.inputs import SEXES, fdh_by_age

    year = data.census["year"]
    i = int(np.searchsorted(results.years, year))
    if i >= results.years.size or results.years[i] != year:
        return []
    model = results.population_by_age[0, i] + fdh_by_age(data.history.fdh[i], data.params)
    bands = merged_bands(data.census["bands"])
    rows = []
    for sex, lo, hi, value in bands:
        got = float(model[sex, lo:hi + 1].sum())
        rows.append({"kind": "census", "year": year, "metric": f"population {SEXES[sex]} {lo}-{hi}", "official": value,
                     "low": None, "high": None, "model": got, "distance": got - value,
                     "distance_pct": 100.0 * (got - value) / value, "tolerance_pct": 100.0 * TOLERANCES["census"],
                     "within": abs(got - value) <= TOLERANCES["census"] * value})
    return rows


def merged_bands(bands: list) -> list:
    """The census bands, with the two youngest of each sex merged (the 0-5 band of the source
    looks mislabelled: 128k against 506k at 6-11; hk-statistics.md part 2 §1b)."""
    out = []
    for sex in (0, 1):
        own = sorted((lo, hi, v) for s, lo, hi, v in bands if s == sex)
        if len(own) > 1:
            own = [(own[0][0], own[1][1], own[0][2] + own[1][2])] + own[2:] if own[0][1] < 6 else own
        out += [(sex, lo, hi, v) for lo, hi, v in own]
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(value).lower()
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if abs(value) >= 1e4:
            return f"{value:.1f}"  # persons in full
        return f"{round(float(value), 6) + 0.0:.6g}"  # rates to 6 digits; rounding noise shows as 0
    return str(value)


def table_csv(rows: list[dict]) -> str:
    return export.csv_text(list(rows[0]), [[_cell(v) for v in row.values()] for row in rows]) if rows else ""


def markdown(fit: Fit, backtest: Fit, residuals: list[dict], parameters: list[dict], back: list[dict],
             fitted_on: str, charts: list[str], derived: dict, official: list[dict]) -> str:
    dof = len(residuals) - sum(1 for p in parameters if p["fitted"])
    lines = ["# Calibration report", "",
             f"Fitted on {fitted_on} by `simulate calibrate`: {sum(p['fitted'] for p in parameters)} free parameters "
             f"on {len(residuals)} targets ({dof} degrees of freedom), cost {fit.cost:.4g}, {fit.evaluations} "
             "evaluations.", "",
             "Residual = (model - observed) x weight / tolerance, weight by confidence (H 1, M 0.5, L 0.25). "
             "Standard errors from the Jacobian at the optimum, treating tolerance / weight as one standard "
             "deviation.", "",
             "What the fit tests: every target is an observed year's labour force (total, women, workers aged 60+); "
             "all are over-identified. Nothing after the last observed year is fitted: the 2028 supply, "
             "requirement and shortage and the 2046 population below are results of sourced assumptions "
             "(calibration/assumptions.yaml, scenarios/baseline.yaml).", "",
             "## Parameters", "", "| parameter | estimate | s.e. | bounds | unit |", "|---|---|---|---|---|"]
    lines += [f"| {p['name']} | {p['estimate']:.5g} | {_cell(p['se']) or 'n/a'} | {p['lower']:g} .. {p['upper']:g} "
              f"| {p['unit']} |" for p in parameters]
    lines += ["", "## Residuals", "", "| year | target | observed | model | error | error % | within tolerance |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['year']} | {r['metric']} | {r['observed']:,.0f} | {r['model']:,.0f} | {r['error']:+,.0f} | "
              f"{r['error_pct']:+.2f} | {'yes' if r['within_tolerance'] else 'no'} |" for r in residuals]
    level, births = derived["fertility_level"], derived["births"]
    lines += ["", "## Fertility level", "",
              f"Observed births against the model's births at the published TFR (women of the model, residents and "
              f"talents): level {level:.4f} (1 parameter, {len(births)} years).", "",
              "| year | TFR | observed births | model births | error % |", "|---|---|---|---|---|"]
    lines += [f"| {r['year']} | {r['tfr']:.3f} | {r['observed_births']:,.0f} | {r['model_births']:,.0f} | "
              f"{100 * (r['model_births'] / r['observed_births'] - 1):+.1f} |" for r in births]
    mig = derived["csd_migration"]
    lines += ["", "## Residents' net migration in the projection", "",
              f"C&SD's baseline assumes net movement of {mig['csd_total']:,.0f} over mid-2021 to mid-2046; "
              f"{mig['observed']:,.0f} of it is observed (residual method, 2022 on), and the baseline's one-way "
              f"permits, talents, imported workers and FDH bring {mig['other_flows']:,.0f} over the {mig['years']} "
              f"projection years. The rest, {mig['value']:,.0f} persons a year, is the baseline's "
              "`resident_net_migration`. For comparison, the derived history of residents' own migration "
              "(persons a year, calibration data):", "",
              "| year | " + " | ".join(str(int(y)) for y in derived["history_years"]) + " |",
              "|---|" + "---|" * len(derived["history_years"]),
              "| resident net migration | " + " | ".join(f"{v:,.0f}" for v in derived["history_migration"]) + " |"]
    upto = backtest.problem.upto
    lines += ["", f"## Back-test: fit on data up to {upto}, project with the observed flows after it", "",
              f"Fitted on the {len(backtest.problem.targets)} targets up to {upto} "
              f"({', '.join(n for n, f in zip(backtest.problem.names, backtest.fitted) if f)}); participation "
              f"held after {upto}; births, deaths, migration, one-way permits and talent arrivals as observed.", "",
              "| year | observed | projected | error | error % | target |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['year']} | {r['observed']:,.0f} | {r['projected']:,.0f} | {r['error']:+,.0f} | "
              f"{r['error_pct']:+.2f} | {'chosen' if r['chosen'] == 'yes' else 'alternative source'} |" for r in back]
    lines += ["", "## The baseline beside the official paths", "",
              "`scenarios/baseline.yaml` on the calibrated file. Distance = model - official; a published range "
              "without a tolerance counts as met when the model lies inside it. The observed years' population "
              "holds by construction (net movement by the residual method, observed births and deaths), and so "
              "does the census year's structure (the initial population is reverse-survived from it); 2025 is "
              "the first projection year, and everything after it is a result.", "",
              "| source | year | quantity | official | model | distance | distance % | tolerance % | met |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in official:
        shown = f"{r['official']:,.0f}" + (f" ({r['low']:,.0f}-{r['high']:,.0f})" if r["low"] is not None else "")
        lines.append(f"| {r['kind']} | {r['year']} | {r['metric']} | {shown} | {r['model']:,.0f} | "
                     f"{r['distance']:+,.0f} | {r['distance_pct']:+.2f} | {r['tolerance_pct']:g} | "
                     f"{'yes' if r['within'] else 'no'} |")
    lines += ["", "## Charts", ""] + [f"![{c[:-4]}]({c})\n" for c in charts if c.endswith(".png")]
    lines += ["Tables: `residuals.csv`, `parameters.csv`, `backtest.csv`, `births.csv`, `official.csv`.", ""]
    return "\n".join(lines)


def write(folder: Path, fit: Fit, backtest: Fit, back: list[dict], free: dict, fitted_on: str, derived: dict,
          calibrated: dict, scenario) -> list[str]:
    """Write the report folder atomically; returns the file names. `calibrated`: the fitted and
    derived parameter values (for the baseline run)."""
    residuals = residual_rows(fit)
    parameters = parameter_rows(fit, free)
    results, data = baseline(fit.problem.inputs.files[0], calibrated, scenario)
    official = official_rows(results, data)
    history = data.history
    derived = {**derived, "history_years": history.years[1:], "history_migration": history.resident_migration[1:]}
    with export.staged(folder, marker="report.md") as temp:
        files = {"residuals.csv": table_csv(residuals), "parameters.csv": table_csv(parameters),
                 "backtest.csv": table_csv(back), "births.csv": table_csv(derived["births"]),
                 "official.csv": table_csv(official)}
        for name, text in files.items():
            export.write_text(temp, name, text)
        from sim import charts

        try:
            modelled = fit_module.path(fit)
            estimates = {int(r["year"]): r["value"] for r in data.population_rows
                         if r["metric"] == "population" and r["chosen"] == "yes"}
            canvas = charts.Canvas(temp, f"simulate calibrate, fitted {fitted_on} (calibration/hk.yaml); data: "
                                         f"{report.DATA}.", data.last_observed)
            at = int(np.searchsorted(results.years, 2028))
            groups = ({g: float(results.groups["shortage"][0, at, k]) for k, g in enumerate(OCCUPATIONS)}
                      if at < results.years.size else {})
            drawn = [f for d in (charts.calibration_fit(residuals, back, modelled.years,
                                                         modelled.metrics["labour_force"][0], canvas),
                                 charts.official_paths(results.years, {k: v[0] for k, v in results.metrics.items()},
                                                       groups, data.official, estimates, canvas)) for f in d.files]
        finally:
            charts.close_all()
        export.write_text(temp, "report.md", markdown(fit, backtest, residuals, parameters, back, fitted_on, drawn,
                                                      derived, official))
    return sorted([*files, *drawn, "report.md"])
