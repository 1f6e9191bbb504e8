"""Engine tests: stock-flow accounting, closed forms, batching, a plain reference implementation,
the baseline calibration anchors and the phase order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import first_years, quiet_inputs, quiet_params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import engine
from sim import params as sim_params
from sim.inputs import AGES
from sim.occupation import OCCUPATIONS
from sim.params import Params

G = len(OCCUPATIONS)


def run(params: Params, inputs):
    return engine.simulate(params, inputs)


def flow_items(res, stock: str) -> list[str]:
    return [item for item in res.items(stock) if item not in ("opening", "closing")]


# --- accounting identity (property test) ----------------------------------------------------

def _run_draw(n_years: int):
    """Strategy for one run's levers and uncertainties."""
    per_year = lambda lo, hi: st.lists(st.floats(lo, hi, allow_nan=False), min_size=n_years,  # noqa: E731
                                       max_size=n_years)
    return st.fixed_dictionaries({
        "talent_arrivals": per_year(0, 200_000),
        "extension_rate": st.floats(0, 1),
        "first_visa_years": st.integers(1, 4),
        "renewal_visa_years": st.integers(1, 4),
        "contract_years": st.integers(1, 4),
        "retraining_places": st.floats(0, 400_000),
        "placement_tied_share": st.floats(0, 1),
        "completion_rate": st.floats(0, 1),
        "placement_rate": st.floats(0, 1),
        "activation_share": st.floats(0, 1),
        "imported_arrivals": st.lists(st.floats(0, 50_000), min_size=G, max_size=G),
        "resident_net_migration": per_year(-5_000_000, 200_000),   # down to emptying whole cohorts
        "mortality_scale": st.floats(0, 5),
        "female_shift": st.floats(-0.5, 0.5),
        "older_shift": st.floats(-0.5, 0.5),
        "participation_trend": st.floats(-5, 5),
        "participation_projection": st.floats(0, 5),
        "gdp_growth": st.floats(-0.05, 0.08),
        "tfr": st.floats(0, 3),
    })


def _perturbed(base: Params, draws: list[dict]) -> Params:
    """Baseline parameters for len(draws) runs, each run's levers replaced by its draw in every
    year (observed years too: the accounting must hold whatever the inputs)."""
    runs, years = len(draws), base.years.size
    col = lambda key: np.array([d[key] for d in draws], dtype=float)  # noqa: E731
    per_year = lambda key: np.broadcast_to(col(key)[:, None], (runs, years)).copy()  # noqa: E731
    return replace(
        sim_params.repeat(base, runs),
        talent_arrivals=np.array([d["talent_arrivals"] for d in draws]),
        extension_rate=per_year("extension_rate"),
        first_visa_years=col("first_visa_years").astype(np.int64),
        renewal_visa_years=col("renewal_visa_years").astype(np.int64),
        retraining_places=per_year("retraining_places"),
        placement_tied_share=per_year("placement_tied_share"),
        completion_rate=per_year("completion_rate"),
        placement_rate=per_year("placement_rate"),
        activation_share=per_year("activation_share"),
        imported_arrivals=np.broadcast_to(np.array([d["imported_arrivals"] for d in draws])[:, None, :],
                                          (runs, years, G)).copy(),
        contract_years=col("contract_years").astype(np.int64),
        female_shift=per_year("female_shift"),
        older_shift=per_year("older_shift"),
        resident_net_migration=np.array([d["resident_net_migration"] for d in draws]),
        gdp_growth=per_year("gdp_growth"),
        tfr=per_year("tfr"),
        participation_trend=col("participation_trend"),
        participation_projection=col("participation_projection"),
        mortality_scale=col("mortality_scale"),
    )


N_YEARS = 30  # baseline 2017-2046


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(draws=st.lists(_run_draw(N_YEARS), min_size=2, max_size=2))
def test_ledger_balances_and_stocks_stay_nonnegative(baseline_params, inputs, draws):
    """For every ledger stock, run and year: closing = opening + sum(flows), closing(t) = opening(t+1), stocks >= 0."""
    assert baseline_params.years.size == N_YEARS
    p = _perturbed(baseline_params, draws)
    with np.errstate(invalid="ignore", divide="ignore"):   # participation_rate of an emptied population
        res = run(p, inputs)
    expected_stocks = {"talent_stock", "resident_population", "child_population", "imported_workers",
                       "retraining_movers", "resident_labour_force", "labour_force"}
    assert set(res.stocks()) == expected_stocks
    for stock in res.stocks():
        opening, closing = res.ledger[(stock, "opening")][:, 1:], res.ledger[(stock, "closing")][:, 1:]
        items = np.array([res.ledger[(stock, item)][:, 1:] for item in flow_items(res, stock)])
        assert np.isfinite(items).all() and np.isfinite(opening).all() and np.isfinite(closing).all(), stock
        size = np.maximum.reduce([np.abs(opening), np.abs(closing), np.abs(items).max(axis=0), np.ones_like(opening)])
        gap = closing - opening - items.sum(axis=0)
        assert (np.abs(gap) <= 1e-9 * size).all(), (stock, np.abs(gap / size).max())
        np.testing.assert_allclose(closing[:, :-1], opening[:, 1:], rtol=1e-12, atol=1e-6, err_msg=stock)
        if stock not in ("resident_labour_force", "labour_force"):
            assert (closing >= -1e-6).all() and (opening >= -1e-6).all(), stock
    # ledger stocks agree with the recorded metrics
    for stock, metric in [("talent_stock", "talent_stock"), ("imported_workers", "imported_workers"),
                          ("labour_force", "labour_force"), ("resident_labour_force", "resident_labour_force")]:
        np.testing.assert_allclose(res.ledger[(stock, "closing")][:, 1:], res.metrics[metric][:, 1:],
                                   rtol=1e-12, atol=1e-6, err_msg=stock)
    for metric in ("population", "population_15plus", "talent_stock", "imported_workers", "labour_force",
                   "resident_labour_force", "retraining_active"):
        assert (res.metrics[metric] >= -1e-6).all(), metric
    assert np.nanmax(res.ledger_gap()) <= 1e-9 * max(1.0, np.abs(res.metrics["labour_force"]).max())


# --- closed forms ---------------------------------------------------------------------------

def test_closed_form_equal_mortality_and_participation(baseline_params, make_inputs):
    """No births or migration; no deaths observed in the observed years, then probability q at every
    age; rate p at every age 15+: P(t) = P0 (1-q)^max(0, t - E), LF = p P(t)."""
    q, rate = 0.03, 0.6
    inp = quiet_inputs(make_inputs(q=q, rate=rate, children=False))
    p = quiet_params(baseline_params)
    res = run(p, inp)
    t = np.maximum(p.years - inp.last_observed, 0)
    p0 = inp.population[:, 15:].sum()
    assert p0 > 5e6
    expected = p0 * (1 - q) ** t
    np.testing.assert_allclose(res.metrics["population_15plus"][0], expected, rtol=1e-12)
    np.testing.assert_allclose(res.metrics["labour_force"][0], rate * expected, rtol=1e-12)
    np.testing.assert_allclose(res.metrics["participation_rate"][0], rate, rtol=1e-12)
    ahead = p.years[1:] > inp.last_observed
    np.testing.assert_allclose(res.ledger[("resident_population", "deaths")][0, 1:][ahead],
                               -q * expected[:-1][ahead], rtol=1e-12)
    np.testing.assert_allclose(res.ledger[("labour_force", "deaths")][0, 1:][ahead],
                               -q * rate * expected[:-1][ahead], rtol=1e-12)
    assert (res.ledger[("child_population", "closing")][0, 1:] == 0).all()
    for metric in ("talent_stock", "imported_workers", "retraining_active"):
        assert (res.metrics[metric] == 0).all(), metric


def test_zero_flows_give_flat_paths(baseline_params, make_inputs):
    """With no deaths, births, migration, schemes or trend, the population 15+ and every labour stock stay flat."""
    inp = quiet_inputs(make_inputs(q=0.0, rate=0.6, children=False))
    res = run(quiet_params(baseline_params), inp)
    p0 = inp.population.sum()
    np.testing.assert_allclose(res.metrics["population_15plus"][0], p0, rtol=1e-13)
    np.testing.assert_allclose(res.metrics["labour_force"][0], 0.6 * p0, rtol=1e-13)
    np.testing.assert_allclose(res.metrics["resident_labour_force"][0], 0.6 * p0, rtol=1e-13)
    for metric in ("talent_stock", "imported_workers", "retraining_active"):
        assert (res.metrics[metric] == 0).all(), metric
    for stock in res.stocks():
        for item in flow_items(res, stock):
            assert (res.ledger[(stock, item)][:, 1:] == 0).all(), (stock, item)
    # demand still moves with GDP: the shortage is not flat, so the test is not vacuous
    assert np.nanmax(res.metrics["shortage"][0]) - np.nanmin(res.metrics["shortage"][0]) > 1e4


def test_retraining_uplift_closed_form(baseline_params, make_inputs):
    """One year's activations A spread by the trainees' profile raise the labour force by exactly A
    (room permitting), and the uplift then decays by the exit rate as the cohort ages."""
    inp = quiet_inputs(make_inputs(q=0.0, rate=0.5))  # with children: trainees' cohorts are never empty
    p = quiet_params(baseline_params)
    places = np.zeros_like(p.retraining_places)
    at = int(np.searchsorted(p.years, 2030))
    places[:, at] = 100_000.0
    p = replace(p, retraining_places=places)
    res = run(p, inp)
    active = (100_000 * p.placement_tied_share * p.completion_rate * p.placement_rate * p.activation_share)[0, at]
    exit_rate = inp.param("retraining_exit_rate")
    got = res.metrics["retraining_active"][0]
    np.testing.assert_allclose(got[at], active, rtol=1e-9)
    np.testing.assert_allclose(got[at + 1:at + 4], active * (1 - exit_rate) ** np.arange(1, 4), rtol=1e-9)
    np.testing.assert_allclose(res.ledger[("labour_force", "retraining_activations")][0, at], active, rtol=1e-9)


# --- batching -------------------------------------------------------------------------------

def test_batch_of_identical_runs_equals_single_run(baseline, inputs):
    """N identical runs in one batch give N times exactly the single run's metrics, group series and ledger."""
    n = 4
    single = run(sim_params.build(baseline.scenario, inputs, runs=1), inputs)
    batch = run(sim_params.build(baseline.scenario, inputs, runs=n), inputs)
    assert batch.runs == n
    for name, series in single.metrics.items():
        for r in range(n):
            assert np.array_equal(batch.metrics[name][r], series[0], equal_nan=True), (name, r)
    for name, series in single.groups.items():
        for r in range(n):
            assert np.array_equal(batch.groups[name][r], series[0], equal_nan=True), (name, r)
    assert list(batch.ledger) == list(single.ledger)
    for key, series in single.ledger.items():
        for r in range(n):
            assert np.array_equal(batch.ledger[key][r], series[0], equal_nan=True), (key, r)


# --- plain per-run reference implementation -------------------------------------------------

@pytest.fixture(scope="module")
def baseline_results(baseline_params, inputs):
    return run(baseline_params, inputs)


@pytest.mark.parametrize("year, target, rel", [(2018, 3_680_000, 0.01), (2022, 3_430_000, 0.01),
                                               (2024, 3_470_000, 0.005)])
def test_baseline_labour_force_anchors(baseline_results, year, target, rel):
    """The baseline labour force is within tolerance of the observed 2018, 2022 and 2024 figures."""
    assert abs(baseline_results.value("labour_force", year) - target) <= rel * target


def test_baseline_official_anchors(baseline_results, inputs):
    """The 2023 shortage is the observed 50,000 (the MP2023 definition of the base-year requirement);
    supply 2023 within 1% of MP2023's 3.50M, requirement 2023 and 2028 within 1.5% of 3.55M and
    3.75M; population (incl. FDH) 2046 within 2% of C&SD's baseline 8.19M."""
    r = baseline_results
    assert r.value("shortage", 2023) == pytest.approx(50_000, abs=1e-6)
    assert abs(r.value("labour_force", 2023) / 3_500_000 - 1) <= 0.01
    assert abs(r.value("requirement", 2023) / 3_550_000 - 1) <= 0.015
    assert abs(r.value("requirement", 2028) / 3_750_000 - 1) <= 0.015
    assert abs((r.value("population", 2046) + r.value("fdh", 2046)) / 8_190_000 - 1) <= 0.02


def test_baseline_2028_supply_and_shortage_are_results(baseline_results):
    """Not fitted: the 2028 supply and shortage follow from the assumptions. Pinned where they land
    (supply 1.5% under MP2023's 3.56M, shortage about 250,000 against the published 180,000), so a
    change that moves them is seen; calibration/report states the distance."""
    assert baseline_results.value("labour_force", 2028) == pytest.approx(3_507_611, rel=2e-3)
    assert baseline_results.value("shortage", 2028) == pytest.approx(251_182, rel=1e-2)


def test_requirement_grows_with_gdp_and_upgrading_is_the_only_fall(baseline_results, inputs):
    """From the base year on, the total requirement rises every year GDP grows; a group's requirement
    falls only where occupational upgrading shrinks its share (drift < 0, C&SD indicator 9.9), and
    then by less than 0.3% a year; the upgrading groups never fall."""
    i = int(np.searchsorted(baseline_results.years, inputs.demand_base_year))
    assert (np.diff(baseline_results.metrics["requirement"][0, i:]) > 0).all()
    growth = np.diff(np.log(baseline_results.groups["requirement"][0, i:]), axis=0)
    drift = inputs.param("occupational_drift")
    assert (growth[:, drift >= 0] > 0).all()
    assert (growth > -0.003).all()


# --- phase order ----------------------------------------------------------------------------

def test_phases_run_in_order_each_year(baseline_params, inputs, monkeypatch):
    """Each simulated year calls the phases once each, in the order of engine.PHASES, years in sequence."""
    assert engine.PHASES == ("talent", "demography", "importation", "retraining", "labour_market")
    log: list[tuple[int, str]] = []
    for name in engine.PHASES:
        original = getattr(engine.Model, name)

        def wrapped(self, i, _name=name, _original=original):
            log.append((i, _name))
            return _original(self, i)

        monkeypatch.setattr(engine.Model, name, wrapped)
    p = first_years(baseline_params, 4)               # start year + 3 simulated years
    res = engine.simulate(p, inputs)
    assert log == [(i, name) for i in (1, 2, 3) for name in engine.PHASES]
    assert np.isfinite(res.metrics["labour_force"]).all() and res.years.size == 4


# --- regressions: bugs found in review, now fixed -----------------------------------------------

def _updated(scenario, changes: dict):
    """A copy of a validated scenario with dotted paths replaced (e.g. {"years.start": 2020})."""
    data = scenario.model_dump()
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return type(scenario).model_validate(data)


def test_start_year_other_than_base_year_is_refused_or_consistent(baseline, inputs, baseline_params):
    """A scenario starting after the calibration base year must be refused or start from the right stocks."""
    from sim.errors import InputError
    try:
        res = run(sim_params.build(_updated(baseline.scenario, {"years.start": 2020}), inputs), inputs)
    except (InputError, ValueError):
        return
    full = run(baseline_params, inputs)
    # the population 15+ in 2020 cannot be the 2017 one (6,104,900) after three years of ageing and flows
    assert res.value("population_15plus", 2020) == pytest.approx(full.value("population_15plus", 2020), rel=1e-6)


def test_openings_are_expansion_plus_gross_replacement(baseline_params, inputs):
    """Openings = change in requirement + gross exits; exits by withdrawal are not netted against entrants.

    Closed form: no deaths or flows; rate 0.3 at 15-19, 0.6 at 20-59 and 0 from 60: each year the
    cohort turning 60 withdraws (0.6 x X(59)) while the cohort turning 20 joins (+0.3 x X(19)); only
    the withdrawals are replacement demand.
    """
    part = np.zeros((2, AGES))
    part[:, 15:20] = 0.3
    part[:, 20:60] = 0.6
    pop = np.zeros((2, AGES))
    pop[:, 15:] = 1000.0
    inp = quiet_inputs(replace(inputs, mortality=np.zeros((2, AGES)), projection_mortality=np.zeros((2, AGES)),
                               participation=part, population=pop))
    res = run(quiet_params(baseline_params), inp)
    total = res.groups["openings"][0].sum(axis=1)
    requirement = res.metrics["requirement"][0]
    withdrawals = 2 * 1000.0 * 0.6  # both sexes at age 59 become 60 each year
    after = res.years > inp.demand_base_year
    np.testing.assert_allclose(total[after], np.diff(requirement)[after[1:]] + withdrawals, rtol=1e-12)
    assert np.isnan(total[res.years <= inp.demand_base_year]).all()  # no requirement before its base year
