"""Fitting the free parameters of `assumptions.yaml` to the targets in `data/targets.csv`.

Least squares (scipy.optimize.least_squares, trust region reflective, within bounds) on
residuals r = (model - observed) x w / tolerance, with w = 1, 0.5, 0.25 for targets of
confidence H, M, L. The Jacobian is taken by forward differences, all columns in one batch run
of the engine (one run per parameter plus the base). Standard errors come from the Jacobian at
the optimum, cov = (J'J)^-1, which treats each target's tolerance over its weight as one
standard deviation.

Only the observed years are simulated: the targets are history (labour force, its women, its
workers aged 60+), the parameters describe participation in history, and no projection year
or scenario lever enters the fit. Two derived values are computed after it, in closed form:
the fertility level (observed births over the model's births at the published TFR) and the
residents' net migration that makes the projection's total net movement C&SD's (+1.52M over
2021-2046). The 2028 shortage and the requirement are not fitted at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim import inputs as inputs_module
from sim.engine import simulate
from sim.errors import InputError
from sim.inputs import Inputs
from sim.params import Params, build
from sim.scenario import Scenario

WEIGHTS = {"H": 1.0, "M": 0.5, "L": 0.25}


@dataclass(frozen=True)
class Target:
    """One chosen row of targets.csv (persons)."""

    year: int
    metric: str
    value: float
    tolerance: float
    confidence: str
    source: str

    @property
    def sigma(self) -> float:
        """Tolerance over the confidence weight: the residual's unit (persons)."""
        return self.tolerance / WEIGHTS[self.confidence]


@dataclass(frozen=True)
class Problem:
    """What to fit: free parameters, their bounds, the targets, and the model inputs."""

    names: tuple[str, ...]
    x0: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    steps: np.ndarray
    targets: tuple[Target, ...]
    inputs: Inputs
    scenario: Scenario
    upto: int | None  # last year of data used (None: all)


@dataclass(frozen=True)
class Fit:
    """The estimate, its standard errors and covariance, and the model at the estimate."""

    problem: Problem
    x: np.ndarray
    se: np.ndarray           # NaN for parameters the targets do not identify (kept at initial)
    covariance: np.ndarray   # (n, n); NaN rows/columns for unidentified parameters
    fitted: np.ndarray       # (n,) bool: estimated (True) or held at its initial value
    model: np.ndarray        # (m,) model value at each target (persons)
    cost: float
    evaluations: int

    @property
    def residuals(self) -> np.ndarray:
        """(model - observed) / sigma for each target."""
        return np.array([(m - t.value) / t.sigma for m, t in zip(self.model, self.problem.targets)])


FREE_PARAMETERS = inputs_module.FITTED_NAMES
"""The parameters the fit knows how to vary; any other name under `free:` is refused."""


def targets(rows: list[dict], upto: int | None) -> tuple[Target, ...]:
    """The chosen target rows (checked when read: observed years only), up to year `upto` if given."""
    out = []
    for r in rows:
        if r["chosen"] != "yes" or (upto is not None and r["year"] > upto):
            continue
        out.append(Target(r["year"], r["metric"], r["value"], r["tolerance"], r["confidence"], r["source"]))
    return tuple(out)


def problem(assumptions: Path, scenario: Scenario, upto: int | None = None) -> Problem:
    """Read the free parameters and targets; `upto` limits the data to years up to it (back-test)."""
    calib, doc = inputs_module.read_file(assumptions)
    names = tuple(calib.free)
    if not names:
        raise InputError(assumptions, "no free parameters to fit; declare them under `free:`", key="free")
    for name, free in calib.free.items():
        where = {"line": doc.lines.get(("free", name)), "key": f"free.{name}"}
        if name not in FREE_PARAMETERS:
            raise InputError(assumptions, f"the fit cannot vary this parameter; expected one of "
                             f"{', '.join(FREE_PARAMETERS)}", **where)
        if not free.lower <= free.initial <= free.upper or free.lower >= free.upper:
            raise InputError(assumptions, f"bounds {free.lower}..{free.upper} with initial {free.initial}; expected "
                             "lower < upper and the initial value between them", **where)
    x0 = np.array([calib.free[n].initial for n in names])
    data = inputs_module.load(assumptions, extra=dict(zip(names, x0.tolist())))
    chosen = targets(data.targets, upto)
    history = scenario.model_copy(update={"years": scenario.years.model_copy(update={"end": data.last_observed})})
    return Problem(names=names, x0=x0, lower=np.array([calib.free[n].lower for n in names]),
                   upper=np.array([calib.free[n].upper for n in names]),
                   steps=np.array([calib.free[n].step for n in names]), targets=chosen,
                   inputs=data, scenario=history, upto=upto)


def batch_params(prob: Problem, xs: np.ndarray) -> Params:
    """Engine parameters for a batch with one row of free parameter values per run."""
    return build(prob.scenario, prob.inputs, runs=xs.shape[0],
                 values={f"fitted.{name}": xs[:, k] for k, name in enumerate(prob.names)})


def model_values(prob: Problem, xs: np.ndarray) -> np.ndarray:
    """Model value of every target for each row of `xs` (R, m), persons."""
    results = simulate(batch_params(prob, xs), prob.inputs)
    index = {int(y): i for i, y in enumerate(results.years)}
    return np.stack([results.metrics[t.metric][:, index[t.year]] for t in prob.targets], axis=1)


def _scaled(prob: Problem, values: np.ndarray) -> np.ndarray:
    observed = np.array([t.value for t in prob.targets])
    sigma = np.array([t.sigma for t in prob.targets])
    return (values - observed) / sigma


def run(prob: Problem) -> Fit:
    """Fit the free parameters the targets move, at most as many as there are targets (in the
    declared order); the rest stay at their initial values."""
    from scipy.optimize import least_squares

    n = len(prob.names)
    probe = _jacobian(prob, prob.x0)
    moving = np.flatnonzero(np.abs(probe).sum(axis=0) > 0)
    free = moving[: len(prob.targets)]  # never more parameters than targets: the declared order decides
    fitted = np.isin(np.arange(n), free)

    def full(z: np.ndarray) -> np.ndarray:
        x = prob.x0.copy()
        x[free] = z
        return x

    def fun(z: np.ndarray) -> np.ndarray:
        return _scaled(prob, model_values(prob, full(z)[None])[0])

    def jac(z: np.ndarray) -> np.ndarray:
        return _jacobian(prob, full(z))[:, free]

    solution = least_squares(fun, prob.x0[free], jac=jac, bounds=(prob.lower[free], prob.upper[free]),
                             method="trf", x_scale=prob.steps[free], xtol=1e-12, ftol=1e-12, gtol=1e-12)
    x = full(solution.x)
    j = jac(solution.x)
    cov_free = np.linalg.pinv(j.T @ j)
    covariance = np.full((n, n), np.nan)
    covariance[np.ix_(free, free)] = cov_free
    se = np.sqrt(np.diag(covariance))
    model = model_values(prob, x[None])
    return Fit(problem=prob, x=x, se=se, covariance=covariance, fitted=fitted, model=model[0],
               cost=float(solution.cost), evaluations=int(solution.nfev))


def _jacobian(prob: Problem, x: np.ndarray) -> np.ndarray:
    """(m, n) forward-difference Jacobian of the scaled residuals, in one batch run."""
    xs = np.vstack([x, x + np.diag(prob.steps)])
    values = model_values(prob, xs)
    scaled = _scaled(prob, values)
    return ((scaled[1:] - scaled[0]) / prob.steps[:, None]).T


def path(fit: Fit):
    """The model's Results (a batch of one) at the estimate."""
    return simulate(batch_params(fit.problem, fit.x[None]), fit.problem.inputs)


def backtest(fit: Fit, observed: list[dict]) -> list[dict]:
    """Project the labour force from a fit on data up to `fit.problem.upto`, with the observed
    flows after it, and compare with the observed labour force year by year (persons)."""
    prob = fit.problem
    later = [r for r in observed if r["metric"] == "labour_force" and r["year"] > prob.upto]
    results = path(fit)
    index = {int(y): i for i, y in enumerate(results.years)}
    rows = []
    for r in sorted(later, key=lambda r: (r["year"], r["chosen"] != "yes")):
        projected = float(results.metrics["labour_force"][0, index[r["year"]]])
        rows.append({"year": r["year"], "observed": r["value"], "projected": projected,
                     "error": projected - r["value"], "error_pct": 100.0 * (projected - r["value"]) / r["value"],
                     "chosen": r["chosen"], "source": r["source"]})
    return rows


def _g(value: float, digits: int) -> float:
    """Round to `digits` significant digits (stable text in the written file)."""
    return float(f"{value:.{digits}g}")


def fertility_level(fit: Fit) -> tuple[float, list[dict]]:
    """The multiplier k of the TFR path that best turns the published TFR into the observed births
    (least squares over the observed years with a TFR point, model women at the estimate):
    k = sum(B x M) / sum(M x M), M = TFR x sum f(a) W(a). Returns k and one row per year."""
    results = path(fit)
    inputs = fit.problem.inputs
    rows = []
    for i, year in enumerate(results.years[1:].tolist(), start=1):
        if year in inputs.tfr:
            model = inputs.tfr[year] * float(results.metrics["births_at_tfr1"][0, i])
            rows.append({"year": year, "tfr": inputs.tfr[year], "observed_births": float(inputs.history.births[i]),
                         "model_births_at_tfr": model})
    if not rows:
        return 1.0, rows
    m = np.array([r["model_births_at_tfr"] for r in rows])
    b = np.array([r["observed_births"] for r in rows])
    k = float((b * m).sum() / (m * m).sum())
    for r in rows:
        r["model_births"] = k * r["model_births_at_tfr"]
    return k, rows


def csd_migration(fit: Fit, scenario: Scenario, level: float) -> dict:
    """Residents' net migration a year (projection) that makes total net movement C&SD's baseline
    (official.csv `net_movement`, cumulative from mid-year `since` to mid-year `year`): C&SD's total less the
    observed net movement since its base, less what the other flows bring over the projection
    (one-way permits, talents, imported workers, FDH), spread evenly over the projection years.
    Net movement = change of (population + FDH) - births + deaths, which is linear in it."""
    inputs = fit.problem.inputs
    row = next((r for r in inputs.official if r["metric"] == "net_movement"), None)
    if row is None:
        raise InputError(inputs.files[0], "official.csv has no net_movement row (C&SD's cumulative net movement)")
    end, base = int(row["year"]), int(row["since"])
    zero = scenario.model_copy(update={"years": scenario.years.model_copy(update={"end": end})})
    zero = zero.model_copy(update={"uncertainties": zero.uncertainties.model_copy(update={
        "resident_net_migration": zero.uncertainties.resident_net_migration.model_copy(update={"value": 0.0})})})
    data = inputs_module.load(inputs.files[0], extra={**dict(zip(fit.problem.names, fit.x.tolist())),
                                                       "fertility_level": level})
    results = simulate(build(zero, data, values={f"fitted.{n}": fit.x[k:k + 1] for k, n in enumerate(fit.problem.names)}),
                       data)
    m = results.metrics
    movement = np.diff(m["population"][0] + m["fdh"][0]) - m["births"][0, 1:] + m["deaths"][0, 1:]
    projected = results.years[1:] > data.last_observed
    observed = data.history.net_movement[1:][data.history.years[1:] > base].sum()
    rest = row["value"] - observed - movement[projected].sum()
    return {"value": float(rest / projected.sum()), "csd_total": row["value"], "observed": float(observed),
            "other_flows": float(movement[projected].sum()), "years": int(projected.sum())}


def document(fit: Fit, assumptions: Path, fitted_on: str, version: str, hashes: dict[str, str],
             derived: dict) -> str:
    """The calibrated parameter file (YAML text): assumptions + estimates + derived values + the fit record."""
    import yaml

    from sim import yamldoc

    source = yamldoc.read(assumptions).data
    calib, _ = inputs_module.read_file(assumptions)
    prob = fit.problem
    parameters = dict(source["parameters"])
    for k, name in enumerate(prob.names):
        free = calib.free[name]
        how = "fitted by `simulate calibrate`" if fit.fitted[k] else "not identified by the targets: initial value"
        se = None if np.isnan(fit.se[k]) else _g(fit.se[k], 4)
        parameters[name] = {"value": _g(fit.x[k], 7), "unit": free.unit, "source": f"{how}; {free.meaning}",
                            "fitted": bool(fit.fitted[k]), "se": se}
    parameters["fertility_level"] = {**parameters["fertility_level"], "value": _g(derived["fertility_level"], 6)}
    migration = derived["csd_migration"]
    parameters["resident_migration_csd"] = {
        "value": round(migration["value"], 1), "unit": "persons/year",
        "source": f"derived: C&SD's baseline net movement {migration['csd_total']:,.0f} (official.csv) less the observed "
                  f"{migration['observed']:,.0f} since its base year and the {migration['other_flows']:,.0f} the "
                  f"baseline's other flows bring over {migration['years']} projection years; the baseline scenario's "
                  "resident_net_migration"}
    record = {
        "fitted_on": fitted_on, "code_version": version,
        "method": "scipy.optimize.least_squares (trf, bounded); residual = (model - observed) x weight / "
                  "tolerance, weight H 1, M 0.5, L 0.25; forward-difference Jacobian in one batch run",
        "assumptions": assumptions.name, "data_hashes": hashes, "targets": len(prob.targets),
        "degrees_of_freedom": len(prob.targets) - int(fit.fitted.sum()),
        "cost": _g(fit.cost, 6), "evaluations": fit.evaluations,
        "parameters": list(prob.names),
        "estimates": [_g(v, 7) for v in fit.x],
        "covariance": [[None if np.isnan(c) else _g(c, 4) for c in row] for row in fit.covariance],
    }
    body = {"base_year": source["base_year"], "last_observed_year": source["last_observed_year"],
            "demand_base_year": source["demand_base_year"], "data": source["data"], "parameters": parameters,
            "fit": record}
    header = ("# Calibrated parameters of the Hong Kong labour-supply model, written by `simulate calibrate`\n"
              f"# from {assumptions.name} and data/ (see fit.data_hashes). Do not edit by hand: change\n"
              "# the assumptions or the data and rerun `simulate calibrate`. Fit report: report/report.md.\n")

    class Dumper(yaml.SafeDumper):
        """Mappings as blocks, lists on one line (the covariance reads as a matrix)."""

    Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    return header + yaml.dump(body, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=200)


def calibrate(assumptions: Path, scenario: Scenario, out: Path, report: Path, backtest_year: int,
              fitted_on: str) -> tuple[Fit, list[dict], list[str]]:
    """Fit, back-test, derive, write the calibrated file and the report; returns (fit, back-test rows, report files)."""
    from calibration import diagnostics
    from sim import __version__, export
    from sim.inputs import file_hash

    if out.is_dir():
        raise InputError(out, "is a folder; expected the path of the calibrated file to write")
    full = run(problem(assumptions, scenario))
    early = run(problem(assumptions, scenario, upto=backtest_year))
    back = backtest(early, full.problem.inputs.targets)
    level, births = fertility_level(full)
    derived = {"fertility_level": level, "births": births, "csd_migration": csd_migration(full, scenario, level)}
    folder = assumptions.parent
    hashes = {str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p): file_hash(p)
              for p in full.problem.inputs.files}
    text = document(full, assumptions, fitted_on, __version__, hashes, derived)
    calib, _ = inputs_module.read_file(assumptions)
    calibrated = {**dict(zip(full.problem.names, full.x.tolist())), "fertility_level": level}
    with export.staged_file(out, text):  # the file and the report land together or not at all
        files = diagnostics.write(report, full, early, back, calib.free, fitted_on, derived, calibrated, scenario)
    return full, back, files
