"""The lean path (issue 8): simulate(keep=...) records only the kept series, each bitwise equal
to the full path's (keep=None) for the same batch, whether the observed years are simulated once
and broadcast (warm start) or for every run, whatever the chunk and block sizes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim import engine
from sim.params import build
from sim.results import FLOW_METRICS, GROUP_SERIES, KEEP_NAMES, STOCK_METRICS, keep_names

R = 23   # not a multiple of the chunk or block sizes used below


def _levers(rng) -> dict[str, np.ndarray]:
    """Lever and uncertainty values a sweep varies; they act on the projection only."""
    later = rng.uniform(0.0, 3.0, R)
    later[::2] = 0.0   # some runs delay exit, some do not
    return {"levers.talent.arrivals": rng.uniform(0, 100_000, R),
            "levers.talent.extension_rate": rng.uniform(0.2, 0.9, R),
            "levers.talent.first_visa_years": rng.integers(1, 4, R).astype(float),
            "levers.retraining.places": rng.uniform(0, 300_000, R),
            "levers.importation.workers.service": rng.uniform(0, 50_000, R),
            "levers.importation.contract_years": rng.integers(1, 6, R).astype(float),
            "levers.participation.female_shift": rng.uniform(-5, 5, R),
            "levers.participation.later_exit": later,
            "uncertainties.gdp_growth.value": rng.uniform(-0.02, 0.05, R),
            "uncertainties.resident_net_migration.value": rng.uniform(-80_000, 60_000, R),
            "uncertainties.mortality_scale.value": rng.uniform(0.6, 1.6, R),
            "uncertainties.fertility.value": rng.uniform(0.7, 1.3, R),
            "uncertainties.participation_trend.value": rng.uniform(-0.5, 0.5, R)}


DESIGNS = {
    "levers": lambda rng: _levers(rng),
    "fitted": lambda rng: {"fitted.participation_scale": rng.uniform(0.9, 1.1, R),
                           "levers.talent.arrivals": rng.uniform(0, 100_000, R)},
    "shares": lambda rng: {"uncertainties.occupation_shares.value.service": rng.uniform(-0.3, 0.3, R),
                           "uncertainties.shortage_split.value.other": rng.uniform(-0.5, 0.5, R),
                           "uncertainties.gdp_growth.value": rng.uniform(-0.02, 0.05, R)},
    "central": lambda rng: {},
}
WARM = {"levers": True, "fitted": False, "shares": False, "central": True}


@pytest.fixture(scope="module")
def batches(baseline, inputs):
    """design name -> (params, full-path Results) for R runs of the baseline."""
    out = {}
    for k, (name, design) in enumerate(DESIGNS.items()):
        params = build(baseline.scenario, inputs, runs=R, values=design(np.random.default_rng(k)))
        out[name] = params, engine.simulate(params, inputs)
    return out


def assert_same(lean, full, keep=KEEP_NAMES) -> None:
    """Every kept series of `lean` equals the full path's, NaN positions alike; nothing else kept."""
    metrics = [name for name in STOCK_METRICS + FLOW_METRICS if name in keep]
    groups = [name for name in GROUP_SERIES if f"group:{name}" in keep]
    assert sorted(lean.metrics) == sorted(metrics) and sorted(lean.groups) == sorted(groups)
    assert lean.ledger == {}
    for name in metrics:
        np.testing.assert_array_equal(lean.metrics[name], full.metrics[name], err_msg=name)
    for name in groups:
        np.testing.assert_array_equal(lean.groups[name], full.groups[name], err_msg=f"group:{name}")


@pytest.mark.parametrize("design", list(DESIGNS))
def test_warm_start_applies_exactly_when_the_history_is_shared(batches, inputs, design):
    params, _ = batches[design]
    assert engine.history_shared(params, inputs) is WARM[design]


@pytest.mark.parametrize("design", list(DESIGNS))
@pytest.mark.parametrize("chunk,block", [(4, 10), (5, 5), (1, 3), (None, None)])
def test_every_kept_series_is_bitwise_the_full_path_s(batches, inputs, design, chunk, block):
    """All keep names at once, with and without warm start, R not a multiple of chunk or block."""
    params, full = batches[design]
    lean = engine.simulate(params, inputs, keep=KEEP_NAMES, chunk=chunk, block=block)
    assert_same(lean, full)


@pytest.mark.parametrize("name", KEEP_NAMES)
def test_one_kept_series_alone(batches, inputs, name):
    """Each name alone computes what it needs (e.g. the requirement the base year's supply)."""
    for design in ("levers", "fitted"):
        params, full = batches[design]
        assert_same(engine.simulate(params, inputs, keep=[name], chunk=4, block=10), full, keep=(name,))


def test_a_sweep_s_pair_and_a_single_run(batches, inputs, baseline):
    params, full = batches["levers"]
    assert_same(engine.simulate(params, inputs, keep={"shortage", "labour_force"}), full,
                keep=("shortage", "labour_force"))
    one = build(baseline.scenario, inputs)
    assert_same(engine.simulate(one, inputs, keep=KEEP_NAMES), engine.simulate(one, inputs))


def test_observed_inputs_that_differ_fall_back_to_the_whole_batch(batches, inputs):
    """A batch made by hand whose runs differ in an observed year (no build() would): not shared,
    and still bitwise the full path's."""
    params, _ = batches["central"]
    arrivals = np.array(params.talent_arrivals, dtype=float)
    arrivals[3, 2] += 1000.0                               # 2019, an observed year
    changed = replace(params, talent_arrivals=arrivals)
    assert not engine.history_shared(changed, inputs)
    assert_same(engine.simulate(changed, inputs, keep=KEEP_NAMES, chunk=4, block=10), engine.simulate(changed, inputs))


def test_history_shared_reads_every_input_of_the_observed_years(batches, inputs):
    params, _ = batches["central"]
    observed = int((params.years <= inputs.last_observed).sum())
    assert engine.history_shared(params, inputs)
    for field in ("extension_rate", "gdp_growth", "female_shift", "resident_net_migration"):
        value = np.array(getattr(params, field), dtype=float)
        value[1, observed - 1] += 0.5
        assert not engine.history_shared(replace(params, **{field: value}), inputs), field
        value = np.array(getattr(params, field), dtype=float)
        value[1, observed] += 0.5                          # the first projection year: still shared
        assert engine.history_shared(replace(params, **{field: value}), inputs), field
    for field in ("participation_older", "older_shares", "shortage_base"):
        value = np.array(getattr(params, field), dtype=float)
        value[1] *= 1.01
        assert not engine.history_shared(replace(params, **{field: value}), inputs), field
    trend = np.array(params.participation_trend, dtype=float)
    trend[2] = np.inf                                      # x 0 years would be NaN, not 0
    assert not engine.history_shared(replace(params, participation_trend=trend), inputs)


def test_every_params_field_is_classified(batches):
    """history_shared reads a field by its shape: run fields whole, year fields up to the last
    observed year; a new Params field must be one or the other."""
    params, _ = batches["central"]
    years = params.years.size
    for name, value in vars(params).items():
        if name == "years":
            continue
        if name in engine.RUN_FIELDS:
            assert value.ndim == 1 or value.shape[1] != years, name
        else:
            assert value.shape[1] == years, name


def test_populations_with_empty_ages(baseline, make_inputs):
    """No children at the start (a population of 0 at some ages): retraining's spread divides
    only where people are, as the full path does."""
    inputs = make_inputs(children=False)
    params = build(baseline.scenario, inputs, runs=R, values=_levers(np.random.default_rng(9)))
    assert_same(engine.simulate(params, inputs, keep=KEEP_NAMES, chunk=4, block=10), engine.simulate(params, inputs))


def test_unknown_and_malformed_keeps_are_refused(batches, inputs):
    params, _ = batches["central"]
    with pytest.raises(ValueError, match="unknown keep names group:jobs, shortfall"):
        engine.simulate(params, inputs, keep=["shortage", "shortfall", "group:jobs"])
    with pytest.raises(ValueError, match="names no outcome"):
        engine.simulate(params, inputs, keep=[])
    with pytest.raises(TypeError, match="not the string"):
        engine.simulate(params, inputs, keep="shortage")
    with pytest.raises(ValueError, match="full path only"):
        engine.simulate(params, inputs, ages=True, keep=["shortage"])
    with pytest.raises(ValueError, match="at least 1 run"):
        engine.simulate(params, inputs, keep=["shortage"], chunk=0)
    with pytest.raises(ValueError, match="lean path"):
        engine.simulate(params, inputs, chunk=64)


def test_keep_names_are_the_metrics_and_group_series():
    assert keep_names() == KEEP_NAMES == engine.KEEP_NAMES
    assert set(KEEP_NAMES) == set(STOCK_METRICS + FLOW_METRICS) | {f"group:{g}" for g in GROUP_SERIES}
