"""Shapley attribution: exact, additive, zero for a lever that changes nothing; and on the
engine, the hybrids reproduce the scenario and the contributions add up to the total."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim import attribution, comparison, runner
from sim.errors import InputError
from sim.scenario import load

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def brute_force(v: np.ndarray) -> np.ndarray:
    """Shapley values as the average marginal effect over every order of switching levers on."""
    k = v.shape[0].bit_length() - 1
    out = np.zeros(k)
    orders = list(permutations(range(k)))
    for order in orders:
        mask = 0
        for i in order:
            out[i] += v[mask | (1 << i)] - v[mask]
            mask |= 1 << i
    return out / len(orders)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6).flatmap(lambda k: arrays(np.float64, 2 ** k, elements=st.floats(-1e6, 1e6))))
def test_shapley_adds_up_and_matches_the_definition(v):
    phi = attribution.shapley(v)
    assert abs(phi.sum() - (v[-1] - v[0])) <= 1e-6 * max(1.0, np.abs(v).max())
    np.testing.assert_allclose(phi, brute_force(v), rtol=1e-9, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 6), st.data())
def test_a_lever_that_changes_nothing_gets_exactly_zero(k, data):
    """v depends on the other levers only: the idle lever's value is exactly 0."""
    idle = data.draw(st.integers(0, k - 1))
    effects = data.draw(arrays(np.float64, 2 ** (k - 1), elements=st.floats(-1e6, 1e6)))
    on = attribution.subsets(k)
    others = [i for i in range(k) if i != idle]
    index = (on[:, others] * (1 << np.arange(k - 1))).sum(axis=1)
    phi = attribution.shapley(effects[index])
    assert phi[idle] == 0.0


def test_subsets_enumerate_every_combination():
    on = attribution.subsets(3)
    assert on.shape == (8, 3) and len({tuple(r) for r in on}) == 8
    assert not on[0].any() and on[-1].all()


@pytest.fixture(scope="module")
def combined():
    base, other = load(SCENARIOS / "baseline.yaml"), load(SCENARIOS / "combined.yaml")
    inputs = runner.prepare(base)
    return comparison.compare([base, other], base, inputs), inputs


def test_contributions_add_up_to_the_scenario_change(combined):
    """On the engine: the levers' contributions add up to the combined scenario's own shortage
    minus the baseline's in every projection year (1e-6 persons), i.e. the all-levers hybrid
    is the scenario itself."""
    result, inputs = combined
    a = result.attributions["combined"]
    assert len(a.levers) >= 5
    ahead = result.projected
    np.testing.assert_allclose(a.contributions[:, ahead].sum(axis=0), a.total[ahead], atol=1e-6, rtol=0)
    assert (np.nan_to_num(a.contributions[:, ~ahead]) == 0).all()  # history: nothing to split (NaN before 2023)


def test_only_differing_levers_are_attributed(combined):
    result, _ = combined
    a = result.attributions["combined"]
    assert "levers.talent.first_visa_years" not in a.levers
    assert all(path.startswith("levers.") for path in a.levers)


def test_too_many_differing_levers_are_refused(tmp_path):
    """Beyond 10 differing levers, a clear refusal naming the levers."""
    base = load(SCENARIOS / "baseline.yaml")
    sets = ["levers.talent.arrivals=80000", "levers.talent.extension_rate=0.6", "levers.retraining.places=150000",
            "levers.retraining.completion_rate=0.8", "levers.retraining.placement_rate=0.8",
            "levers.retraining.activation_share=0.4", "levers.importation.workers.service=5000",
            "levers.importation.workers.manual=5000", "levers.participation.female_shift=1",
            "levers.participation.older_shift=1", "levers.participation.later_exit=1"]
    many = load(SCENARIOS / "baseline.yaml", ("name=many", *sets))
    inputs = runner.prepare(base)
    with pytest.raises(InputError, match="11 levers differ"):
        comparison.compare([base, many], base, inputs)


def test_structural_differences_are_refused():
    base = load(SCENARIOS / "baseline.yaml")
    other = load(SCENARIOS / "baseline.yaml", ("name=other", "levers.retraining.moves_from=[manual]"))
    with pytest.raises(InputError, match="moves_from"):
        comparison.compare([base, other], base, runner.prepare(base))
