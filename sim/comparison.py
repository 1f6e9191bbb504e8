"""Comparing scenarios against a base: differences, exact lever attribution, costs, paired draws.

Every scenario is run on the base's calibration and years. For each scenario, the table paths
(sim.variables) whose projection values differ from the base's are its levers; the 2^k hybrid
scenarios are one batch built through `params.build(base, values=...)` and the change in the
shortage is split among the levers by their Shapley values (sim.attribution). With draws,
every scenario runs on the same draws (the same seed: common random numbers), so the
difference from the base has its own, narrower band.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim import attribution, uncertainty, variables
from sim.engine import simulate
from sim.errors import InputError
from sim.inputs import Inputs
from sim.occupation import OCCUPATIONS
from sim.params import Params, build, central, lever_values
from sim.results import Results
from sim.scenario import Loaded
from sim.schedule import expand

KEY_YEARS = (2028, 2030, 2035)
"""Years shown side by side (with the horizon) where they fall in the run."""

DIFF_METRICS = ("labour_force", "shortage", *(f"shortage_{g}" for g in OCCUPATIONS))
"""Series whose paired difference from the base gets a band with draws."""


@dataclass
class Member:
    """One scenario of a comparison: its central batch of one and results."""

    loaded: Loaded
    params: Params
    results: Results

    @property
    def name(self) -> str:
        return self.loaded.scenario.name


@dataclass
class Attribution:
    """Lever i's part of the change in the total shortage in each year (persons, (k, Y))."""

    levers: list[str]
    contributions: np.ndarray
    total: np.ndarray            # (Y,) scenario shortage - base shortage, from their own runs
    costs: dict[str, np.ndarray]  # lever -> (Y,) HK$/year: its unit cost x (scenario - base value)


@dataclass
class Comparison:
    base: Member
    others: list[Member]
    inputs: Inputs
    attributions: dict[str, Attribution]
    draws: int = 0
    seed: int = 0
    differences: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # name -> metric -> (N, Y)

    @property
    def members(self) -> list[Member]:
        return [self.base, *self.others]

    @property
    def years(self) -> np.ndarray:
        return self.base.results.years

    @property
    def projected(self) -> np.ndarray:
        """(Y,) True for the projection years."""
        return self.years > self.inputs.last_observed


def series(results: Results, metric: str) -> np.ndarray:
    """(R, Y) a metric of yearly.csv, or `shortage_<group>`."""
    if metric.startswith("shortage_"):
        return results.groups["shortage"][:, :, OCCUPATIONS.index(metric.removeprefix("shortage_"))]
    return results.metrics[metric]


def differing(scenario: Loaded, base: Loaded, inputs: Inputs, years: np.ndarray) -> list[variables.Variable]:
    """The table rows whose values in the projection years differ between `scenario` and `base`.

    InputError when they differ in anything attribution cannot split (years, calibration, the
    groups courses draw from or train for)."""
    s, b = scenario.scenario, base.scenario
    for what, mine, theirs in (("years", s.years, b.years), ("calibration", scenario.calibration_path,
                                                                 base.calibration_path),
                               ("levers.retraining.moves_from", s.levers.retraining.moves_from,
                                b.levers.retraining.moves_from),
                               ("levers.retraining.trains_for", s.levers.retraining.trains_for,
                                b.levers.retraining.trains_for)):
        if mine != theirs:
            file, line = scenario.where(*what.split("."))
            raise InputError(file, f"differs from the base {b.name!r} ({theirs}); scenarios are compared on the "
                             "base's years and calibration, and attribution splits only the levers and "
                             "uncertainties of the path table (sim/variables.py)", line=line, key=what)
    ahead = years[years > inputs.last_observed]
    out = []
    for row in variables.VARIABLES:
        mine, theirs = central(s, inputs, row), central(b, inputs, row)
        if row.dated:
            if not np.array_equal(expand(mine, ahead), expand(theirs, ahead)):
                out.append(row)
        elif float(mine) != float(theirs):
            out.append(row)
    return out


def hybrid_values(scenario: Loaded, base: Loaded, inputs: Inputs, rows: list[variables.Variable],
                  years: np.ndarray) -> dict[str, np.ndarray]:
    """The design of the 2^k hybrids: run m takes row i at the scenario's values when bit i of m is set."""
    on = attribution.subsets(len(rows))
    ahead = years[years > inputs.last_observed]
    values = {}
    for i, row in enumerate(rows):
        mine, theirs = central(scenario.scenario, inputs, row), central(base.scenario, inputs, row)
        if row.dated:
            a, b = expand(mine, ahead), expand(theirs, ahead)
            values.update({f"{row.path}[{int(y)}]": np.where(on[:, i], a[t], b[t]) for t, y in enumerate(ahead)})
        else:
            values[row.path] = np.where(on[:, i], float(mine), float(theirs))
    return values


def levers(scenario: Loaded, base: Loaded, inputs: Inputs, years: np.ndarray) -> list[variables.Variable]:
    """The levers to attribute: the differing rows, at most attribution.MAX_LEVERS (InputError beyond)."""
    rows = differing(scenario, base, inputs, years)
    if len(rows) > attribution.MAX_LEVERS:
        raise InputError(scenario.path, f"{len(rows)} levers differ from the base {base.scenario.name!r} "
                         f"({', '.join(r.path for r in rows)}); exact attribution takes at most "
                         f"{attribution.MAX_LEVERS} (2^k hybrid runs): compare against a nearer base with --against")
    return rows


def attribute(member: Member, base: Member, inputs: Inputs, rows: list[variables.Variable]) -> Attribution:
    """Shapley attribution of member's change in the shortage against the base among `rows` (see levers)."""
    years = base.results.years
    total = series(member.results, "shortage")[0] - series(base.results, "shortage")[0]
    if not rows:
        return Attribution([], np.zeros((0, years.size)), total, {})
    batch = build(base.loaded.scenario, inputs, 2 ** len(rows),
                  values=hybrid_values(member.loaded, base.loaded, inputs, rows, years))
    hybrids = simulate(batch, inputs).metrics["shortage"]
    contributions = attribution.shapley(hybrids)
    costs = {}
    for path, unit_cost in member.loaded.scenario.unit_costs.items():
        row = variables.get(path)
        if row in rows:
            costs[path] = unit_cost * (lever_values(member.params, row)[0] - lever_values(base.params, row)[0])
    return Attribution([r.path for r in rows], contributions, total, costs)


def _member(loaded: Loaded, inputs: Inputs) -> Member:
    params = build(loaded.scenario, inputs)
    return Member(loaded, params, simulate(params, inputs))


def check_compatible(members: list[Loaded], base: Loaded) -> None:
    """Distinct names; the same calibration file and years as the base (InputError otherwise)."""
    seen: dict[str, Loaded] = {base.scenario.name: base}
    for loaded in members:
        other = seen.get(loaded.scenario.name)
        if other is not None and not _same(other, loaded):
            file, line = loaded.where("name")
            raise InputError(file, f"{loaded.scenario.name!r} is also the name of {other.path}; scenarios compared "
                             "need distinct names", line=line, key="name")
        seen[loaded.scenario.name] = loaded


def _same(a: Loaded, b: Loaded) -> bool:
    """The same scenario: the same file read with the same overrides."""
    return a.path.resolve() == b.path.resolve() and a.scenario == b.scenario


def compare(scenarios: list[Loaded], base: Loaded, inputs: Inputs, draws: int = 0, seed: int | None = None) -> Comparison:
    """Run the base and every scenario, attribute each change, and with draws the paired differences."""
    check_compatible(scenarios, base)
    others_loaded = list({s.scenario.name: s for s in scenarios if not _same(s, base)}.values())
    years = np.arange(base.scenario.years.start, base.scenario.years.end + 1)
    chosen = [levers(loaded, base, inputs, years) for loaded in others_loaded]  # refuse before running anything
    base_member = _member(base, inputs)
    attributions, others = {}, []
    for loaded, rows in zip(others_loaded, chosen):
        member = _member(loaded, inputs)
        others.append(member)
        attributions[member.name] = attribute(member, base_member, inputs, rows)
    seed = base.scenario.seed if seed is None else seed
    result = Comparison(base_member, others, inputs, attributions, draws, seed)
    if draws > 0:
        reference = _drawn(base, inputs, draws, seed)
        for member in others:
            mine = _drawn(member.loaded, inputs, draws, seed)
            result.differences[member.name] = {m: mine[m] - reference[m] for m in DIFF_METRICS}
    return result


def _drawn(loaded: Loaded, inputs: Inputs, n: int, seed: int) -> dict[str, np.ndarray]:
    results = uncertainty.simulate_draws(loaded.scenario, inputs, n, seed)
    return {m: series(results, m) for m in DIFF_METRICS}


def difference_bands(comparison: Comparison) -> list[list]:
    """Rows `scenario, year, metric, p05, p25, p50, p75, p95, probability_below_base` over the draws
    of the paired difference (scenario - base), projection years."""
    rows = []
    years = comparison.years
    for name, metrics in comparison.differences.items():
        for metric, diff in metrics.items():
            q = np.percentile(diff, uncertainty.QUANTILES, axis=0)
            below = (diff < 0).mean(axis=0)
            rows += [[name, int(y), metric, *q[:, i], below[i]] for i, y in enumerate(years)
                     if comparison.projected[i] and not np.isnan(diff[:, i]).any()]
    return rows


def cost_effectiveness(comparison: Comparison, year: int) -> list[list]:
    """Rows `scenario, year, lever, cost_hkd, closed_persons, hkd_per_person_closed`: each costed lever,
    and `package` (every differing lever costed: the whole change) or `costed levers` (only those
    with a unit cost, against their own contributions, so uncosted levers never look free)."""
    i = int(np.searchsorted(comparison.years, year))
    rows = []
    for name, a in comparison.attributions.items():
        for k, lever in enumerate(a.levers):
            if lever in a.costs:
                closed = -a.contributions[k, i]
                rows.append([name, year, lever, a.costs[lever][i], closed, _per(a.costs[lever][i], closed)])
        if a.costs:  # the package only if every lever is costed; else the costed levers together
            cost = sum(c[i] for c in a.costs.values())
            whole = len(a.costs) == len(a.levers)
            closed = -a.total[i] if whole else -sum(a.contributions[k, i] for k, lever in enumerate(a.levers)
                                                    if lever in a.costs)
            rows.append([name, year, "package" if whole else "costed levers", cost, closed, _per(cost, closed)])
    return rows


def _per(cost: float, closed: float) -> float:
    """HK$ per person closed; NaN where nothing is closed (the ratio would mislead)."""
    return cost / closed if closed > 0 else float("nan")
