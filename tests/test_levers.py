"""Every lever acts in the direction a planner expects: raised, it lowers the projected 2028
shortage; lowered, it raises it. And the counterfactual without the 2022-2024 measures has a
larger shortage than the baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import runner, variables
from sim.engine import simulate
from sim.params import build, central
from sim.scenario import load

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
LEVERS = [v for v in variables.VARIABLES if v.kind == "lever"]


@pytest.fixture(scope="module")
def base():
    loaded = load(SCENARIOS / "baseline.yaml")
    inputs = runner.prepare(loaded)
    return loaded.scenario, inputs


def _step(row: variables.Variable, value: float) -> tuple[float, float]:
    """A lowered and a raised value around `value`, inside the row's bounds."""
    if row.integer:
        return max(row.lo, value - 1), min(row.hi, value + 1)
    step = {"years": 0.5, "percentage points": 1.0}.get(row.unit, 0.1 if row.hi <= 1 else 5000.0)
    return max(row.lo, value - step), min(row.hi, value + step)


@pytest.mark.parametrize("row", LEVERS, ids=lambda r: r.path)
def test_each_lever_moves_the_2028_shortage_the_right_way(base, row):
    scenario, inputs = base
    value = central(scenario, inputs, row)
    now = float(value if not isinstance(value, dict) else value[min(value)])
    low, high = _step(row, now)
    batch = build(scenario, inputs, 3, values={row.path: np.array([low, now, high])})
    shortage = simulate(batch, inputs).metrics["shortage"][:, int(np.searchsorted(batch.years, 2028))]
    if low < now:
        assert shortage[0] > shortage[1], f"lowering {row.path} from {now} to {low} does not raise the shortage"
    assert shortage[2] < shortage[1], f"raising {row.path} from {now} to {high} does not lower the shortage"


def test_the_counterfactual_has_a_larger_shortage_than_the_baseline():
    out = {}
    for name in ("baseline", "no_new_measures"):
        loaded = load(SCENARIOS / f"{name}.yaml")
        inputs = runner.prepare(loaded)
        results = simulate(build(loaded.scenario, inputs), inputs)
        out[name] = results.value("shortage", 2028)
    assert out["no_new_measures"] > out["baseline"] + 50_000


@pytest.mark.parametrize("variant", ["talent_plus", "retention_plus", "retraining_plus", "importation_plus",
                                     "participation_plus", "combined"])
def test_each_plus_variant_lowers_the_shortage(variant):
    shortage = {}
    for name in ("baseline", variant):
        loaded = load(SCENARIOS / f"{name}.yaml")
        inputs = runner.prepare(loaded)
        shortage[name] = simulate(build(loaded.scenario, inputs), inputs).value("shortage", 2028)
    assert shortage[variant] < shortage["baseline"]
