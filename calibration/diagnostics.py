"""The fit report: residuals per target, parameter estimates, the back-test, a chart, report.md.

Written into a folder (calibration/report/ by default) that replaces the previous one
atomically. Every number is computed from the fit, none typed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration import fit as fit_module
from calibration.fit import WEIGHTS, Fit
from sim import export


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


def _cell(value) -> str:
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
    return export._csv(list(rows[0]), [[_cell(v) for v in row.values()] for row in rows]) if rows else ""


def markdown(fit: Fit, backtest: Fit, residuals: list[dict], parameters: list[dict], back: list[dict],
             fitted_on: str, charts: list[str]) -> str:
    lines = ["# Calibration report", "",
             f"Fitted on {fitted_on} by `simulate calibrate`: {len(parameters)} free parameters, "
             f"{len(residuals)} targets, cost {fit.cost:.4g}, {fit.evaluations} evaluations.", "",
             "Residual = (model - observed) x weight / tolerance, weight by confidence (H 1, M 0.5, L 0.25). "
             "Standard errors from the Jacobian at the optimum, treating tolerance / weight as one standard "
             "deviation.", "", identification(fit), "", "## Parameters", "", "| parameter | estimate | s.e. | bounds | unit |",
             "|---|---|---|---|---|"]
    lines += [f"| {p['name']} | {p['estimate']:.5g} | {_cell(p['se']) or 'n/a'} | {p['lower']:g} .. {p['upper']:g} "
              f"| {p['unit']} |" for p in parameters]
    lines += ["", "## Residuals", "", "| year | target | observed | model | error | error % | within tolerance |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['year']} | {r['metric']} | {r['observed']:,.0f} | {r['model']:,.0f} | {r['error']:+,.0f} | "
              f"{r['error_pct']:+.2f} | {'yes' if r['within_tolerance'] else 'no'} |" for r in residuals]
    upto = backtest.problem.upto
    lines += ["", f"## Back-test: fit on data up to {upto}, project with the observed flows after it", "",
              f"Fitted on the {len(backtest.problem.targets)} labour-force targets up to {upto} "
              f"({', '.join(n for n, f in zip(backtest.problem.names, backtest.fitted) if f)}); participation "
              f"held after {upto}; net migration, one-way permits and talent arrivals as observed.", "",
              "| year | observed | projected | error | error % | target |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['year']} | {r['observed']:,.0f} | {r['projected']:,.0f} | {r['error']:+,.0f} | "
              f"{r['error_pct']:+.2f} | {'chosen' if r['chosen'] == 'yes' else 'alternative source'} |" for r in back]
    lines += ["", "## Charts", ""] + [f"![{c[:-4]}]({c})\n" for c in charts if c.endswith(".png")]
    lines += ["Tables: `residuals.csv`, `parameters.csv`, `backtest.csv`.", ""]
    return "\n".join(lines)


def identification(fit: Fit) -> str:
    """What the fit really tests: which targets are over-identified and which hold by construction."""
    from calibration.fit import SUPPLY_PARAMETERS

    targets = fit.problem.targets
    supply = [t for t in targets if t.metric == "labour_force"]
    base = [t for t in targets if t.metric != "labour_force" and t.year == fit.problem.inputs.demand_base_year]
    later = [t for t in targets if t.metric != "labour_force" and t.year != fit.problem.inputs.demand_base_year]
    n_supply = sum(1 for name, f in zip(fit.problem.names, fit.fitted) if f and name in SUPPLY_PARAMETERS)
    n_demand = sum(1 for name, f in zip(fit.problem.names, fit.fitted) if f and name not in SUPPLY_PARAMETERS)
    return (f"What the fit tests: the {len(supply)} labour-force targets are fitted by {n_supply} supply "
            f"parameters (over-identified: their residuals are the test). The {len(base)} base-year shortage "
            f"target(s) hold by construction (the base-year requirement is defined as supply plus that shortage), "
            f"and the {len(later)} later shortage targets are matched by {n_demand} productivity parameters, "
            f"one per group (exactly identified: zero residuals, standard errors that restate the tolerances).")


def write(folder: Path, fit: Fit, backtest: Fit, back: list[dict], free: dict, fitted_on: str) -> list[str]:
    """Write the report folder atomically; returns the file names."""
    residuals = residual_rows(fit)
    parameters = parameter_rows(fit, free)
    with export.staged(folder, marker="report.md") as temp:
        files = {"residuals.csv": table_csv(residuals), "parameters.csv": table_csv(parameters),
                 "backtest.csv": table_csv(back)}
        for name, text in files.items():
            export.write_text(temp, name, text)
        from sim import charts

        try:
            modelled = fit_module.path(fit)
            drawn = charts.calibration_fit(residuals, back, modelled.years, modelled.metrics["labour_force"][0], temp)
        finally:
            charts.close_all()
        export.write_text(temp, "report.md", markdown(fit, backtest, residuals, parameters, back, fitted_on, drawn))
    return sorted([*files, *drawn, "report.md"])
