"""The seam: every path of the table in sim.variables reaches the batch the same way through
`build(values=...)` (the fast route of draws, compare and sweeps) as through `--set` (the
validated route), and a batch cut into chunks gives the numbers of one batch."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import keypath, runner, uncertainty, variables
from sim.engine import simulate
from sim.errors import InputError
from sim.params import Params, build, stack
from sim.scenario import POINTS_FLOOR, load

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
PROJECTION = list(range(2025, 2047))


@pytest.fixture(scope="module")
def base():
    loaded = load(BASELINE)
    return loaded, runner.prepare(loaded)


def assert_same(a: Params, b: Params) -> None:
    for f in fields(Params):
        x, y = getattr(a, f.name), getattr(b, f.name)
        np.testing.assert_array_equal(np.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape)),
                                      np.broadcast_to(y, np.broadcast_shapes(x.shape, y.shape)), err_msg=f.name)


@st.composite
def setting(draw):
    """A table path, a value within its bounds and, for dated paths, maybe a year."""
    row = draw(st.sampled_from(variables.VARIABLES))
    if row.integer:
        value = float(draw(st.integers(int(row.lo), int(row.hi))))
    else:
        value = draw(st.floats(row.lo, row.hi, allow_nan=False, allow_infinity=False))
        if row.unit == "percentage points" and 0 < abs(value) < POINTS_FLOOR:
            value = 0.0  # refused as a likely share (sim.scenario.POINTS_FLOOR)
    year = draw(st.none() | st.sampled_from(PROJECTION)) if row.dated else None
    return row, value, year


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(setting())
def test_values_route_equals_set_route(base, case):
    """For every path of the table: build(values={path: [v]}) == build of the scenario with --set path=v."""
    loaded, inputs = base
    row, value, year = case
    key = row.path if year is None else f"{row.path}[{year}]"
    text = repr(int(value)) if row.integer else repr(value)
    fast = build(loaded.scenario, inputs, 1, values={key: np.array([value])})
    first = ()
    if row.path == "levers.retraining.placement_tied_share" and year is not None:
        first = (f"{row.path}={inputs.param('placement_tied_share')!r}",)  # its default is the calibration's
    slow = build(load(BASELINE, (*first, f"{key}={text}")).scenario, inputs)
    assert_same(fast, slow)


def test_values_keep_a_schedule_s_later_dates(base):
    """A dated value holds to the schedule's next date, as --set merges it (not to the horizon)."""
    loaded, inputs = base
    key = "levers.talent.arrivals"
    dated = load(BASELINE, (f"{key}={{2025: 70000, 2030: 90000}}",))
    fast = build(dated.scenario, inputs, 2, values={f"{key}[2027]": np.array([50000.0, 60000.0])})
    slow = build(load(BASELINE, (f"{key}={{2025: 70000, 2030: 90000}}", f"{key}.2027=60000")).scenario, inputs)
    np.testing.assert_array_equal(fast.talent_arrivals[1], slow.talent_arrivals[0])
    at = {int(y): i for i, y in enumerate(fast.years)}
    assert fast.talent_arrivals[0, at[2029]] == 50000.0 and fast.talent_arrivals[0, at[2030]] == 90000.0


def test_every_path_parses_and_formats_back():
    for row in variables.VARIABLES:
        assert keypath.format(keypath.parse(row.path)) == row.path
        if row.dated:
            assert keypath.parse(f"{row.path}[2026]") == keypath.parse(f"{row.path}.2026")


@pytest.mark.parametrize("text", ["levers..talent", "levers.talent.arrivals.²", "levers.talent[20]",
                                  "levers.tal ent", "levers.talent.arrivals[2026].x", "", "a" * 300])
def test_bad_key_paths_are_input_errors(text):
    with pytest.raises(InputError):
        keypath.parse(text)


def test_values_refuse_observed_years_and_unknown_paths(base):
    loaded, inputs = base
    for bad in ({"levers.talent.arrivals[2024]": [1.0]}, {"levers.talent.arival": [1.0]},
                {"levers.talent.first_visa_years[2026]": [2.0]}):
        with pytest.raises(ValueError):
            build(loaded.scenario, inputs, 1, values=bad)


def test_history_is_data_on_the_fast_route(base):
    """A whole value from values= leaves every observed year as observed."""
    loaded, inputs = base
    fast = build(loaded.scenario, inputs, 1, values={"levers.talent.arrivals": [1.0],
                                                    "uncertainties.gdp_growth.value": [0.4]})
    central = build(loaded.scenario, inputs)
    observed = fast.years <= inputs.last_observed
    np.testing.assert_array_equal(fast.talent_arrivals[:, observed], central.talent_arrivals[:, observed])
    np.testing.assert_array_equal(fast.gdp_growth[:, observed], central.gdp_growth[:, observed])


def test_chunked_batches_equal_one_batch(base):
    """Draws 0-6 simulated as one batch equal draws 0-2 and 3-6 simulated apart."""
    loaded, inputs = base
    whole = simulate(uncertainty.sample(loaded.scenario, inputs, 7, seed=11), inputs)
    parts = simulate(stack([uncertainty.sample(loaded.scenario, inputs, 3, seed=11),
                            uncertainty.sample(loaded.scenario, inputs, 4, seed=11, start=3)]), inputs)
    for metric in ("labour_force", "shortage", "population", "cost"):
        np.testing.assert_array_equal(whole.metrics[metric], parts.metrics[metric])
    np.testing.assert_array_equal(whole.groups["shortage"], parts.groups["shortage"])


def test_a_run_s_draw_depends_on_its_index_only():
    """Runs 1000-1099 drawn alone equal the same rows of runs 0-1999 (blocks cut anywhere)."""
    z, u = uncertainty.random_numbers(5, 0, 2000, 7, 3)
    z2, u2 = uncertainty.random_numbers(5, 1000, 100, 7, 3)
    np.testing.assert_array_equal(z[1000:1100], z2)
    np.testing.assert_array_equal(u[1000:1100], u2)


@pytest.mark.parametrize("override,message", [
    ("levers.retraining.trains_for=[managers_professionals]", "train for none of managers_professionals"),
    ("uncertainties.shortage_split.value.service=0.1", "service's 2023 shortage is published"),
    ("levers.talent.first_visa_years[2026]=3", "takes a single value for every projection year"),
    ("levers.talent.arival=5", "did you mean 'arrivals'?"),
    ("unit_costs={levers.talent.arival: 5}", "did you mean 'levers.talent.arrivals'?"),
    ("fitted.participation_scal=1", "did you mean 'participation_scale'?"),
])
def test_group_and_path_choices_the_calibration_cannot_act_on_are_refused(override, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("?", r"\?")) as info:
        runner.prepare(load(BASELINE, (override,)))
    assert info.value.file == "--set"


def test_a_variant_with_a_dated_value_on_a_default_starts_from_the_default(tmp_path):
    """later_exit is not in the baseline: {2027: 1} holds 0 (the default) in 2025-2026."""
    variant = tmp_path / "later.yaml"
    variant.write_text(f"extends: {BASELINE}\nlevers:\n  participation:\n    later_exit: {{2027: 1.0}}\n")
    loaded = load(variant)
    assert loaded.scenario.name == "later"
    assert loaded.scenario.levers.participation.later_exit == {2025: 0.0, 2027: 1.0}
