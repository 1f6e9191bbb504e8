"""Engine tests: stock-flow accounting, closed forms, batching, a plain reference implementation,
the baseline calibration anchors and the phase order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import first_years, quiet_params
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
        "completion_rate": st.floats(0, 1),
        "placement_rate": st.floats(0, 1),
        "activation_share": st.floats(0, 1),
        "imported_arrivals": st.lists(st.floats(0, 50_000), min_size=G, max_size=G),
        "resident_net_migration": per_year(-5_000_000, 200_000),   # down to emptying whole cohorts
        "mortality_scale": st.floats(0, 5),
        "female_shift": st.floats(-0.5, 0.5),
        "older_shift": st.floats(-0.5, 0.5),
        "participation_trend": st.floats(-5, 5),
        "gdp_growth": st.floats(-0.05, 0.08),
    })


def _perturbed(base: Params, draws: list[dict]) -> Params:
    """Baseline parameters for len(draws) runs, each run's levers replaced by its draw."""
    runs, years = len(draws), base.years.size
    col = lambda key: np.array([d[key] for d in draws], dtype=float)  # noqa: E731
    per_year = lambda key: np.broadcast_to(col(key)[:, None], (runs, years)).copy()  # noqa: E731
    migration = np.array([d["resident_net_migration"] for d in draws])
    migration[:, 0] = np.nan                      # the start year's flows are never simulated
    return replace(
        base,
        talent_arrivals=np.array([d["talent_arrivals"] for d in draws]),
        extension_rate=per_year("extension_rate"),
        first_visa_years=col("first_visa_years").astype(np.int64),
        renewal_visa_years=col("renewal_visa_years").astype(np.int64),
        retraining_places=per_year("retraining_places"),
        completion_rate=per_year("completion_rate"),
        placement_rate=per_year("placement_rate"),
        activation_share=per_year("activation_share"),
        imported_arrivals=np.broadcast_to(np.array([d["imported_arrivals"] for d in draws])[:, None, :],
                                          (runs, years, G)).copy(),
        contract_years=col("contract_years").astype(np.int64),
        female_shift=per_year("female_shift"),
        older_shift=per_year("older_shift"),
        resident_net_migration=migration,
        owp_arrivals=np.broadcast_to(base.owp_arrivals[:1], (runs, years)).copy(),
        births=np.broadcast_to(base.births[:1], (runs, years)).copy(),
        gdp_growth=col("gdp_growth"),
        participation_trend=col("participation_trend"),
        mortality_scale=col("mortality_scale"),
    )


N_YEARS = 19  # baseline 2017-2035


@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(draws=st.lists(_run_draw(N_YEARS), min_size=2, max_size=2))
def test_ledger_balances_and_stocks_stay_nonnegative(baseline_params, inputs, draws):
    """For every ledger stock, run and year: closing = opening + sum(flows), closing(t) = opening(t+1), stocks >= 0."""
    assert baseline_params.years.size == N_YEARS
    p = _perturbed(baseline_params, draws)
    with np.errstate(invalid="ignore", divide="ignore"):   # participation_rate of an emptied population
        res = run(p, inputs)
    expected_stocks = {"talent_stock", "resident_population", "child_population", "imported_workers",
                       "retraining_active", "retraining_movers", "resident_labour_force", "labour_force"}
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
            assert (closing >= 0).all() and (opening >= 0).all(), stock
    # ledger stocks agree with the recorded metrics
    for stock, metric in [("talent_stock", "talent_stock"), ("resident_population", "population_15plus"),
                          ("imported_workers", "imported_workers"), ("retraining_active", "retraining_active"),
                          ("labour_force", "labour_force"), ("resident_labour_force", "resident_labour_force")]:
        np.testing.assert_allclose(res.ledger[(stock, "closing")][:, 1:], res.metrics[metric][:, 1:],
                                   rtol=1e-12, atol=1e-6, err_msg=stock)
    for metric in ("population_15plus", "talent_stock", "imported_workers", "labour_force",
                   "resident_labour_force", "retraining_active"):
        assert (res.metrics[metric] >= 0).all(), metric
    assert np.nanmax(res.ledger_gap()) <= 1e-9 * max(1.0, np.abs(res.metrics["labour_force"]).max())


# --- closed forms ---------------------------------------------------------------------------

def test_closed_form_equal_mortality_and_participation(baseline_params, make_inputs):
    """No births or migration, death probability q at every age, rate p at every age 15+: P(t) = P0 (1-q)^t, LF = p P(t)."""
    q, rate = 0.03, 0.6
    inp = make_inputs(q=q, rate=rate, children=False)
    p = quiet_params(baseline_params)
    res = run(p, inp)
    t = np.arange(p.years.size)
    p0 = inp.population[:, 15:].sum()
    assert p0 > 5e6
    expected = p0 * (1 - q) ** t
    np.testing.assert_allclose(res.metrics["population_15plus"][0], expected, rtol=1e-12)
    np.testing.assert_allclose(res.metrics["labour_force"][0], rate * expected, rtol=1e-12)
    np.testing.assert_allclose(res.metrics["participation_rate"][0], rate, rtol=1e-12)
    np.testing.assert_allclose(res.ledger[("resident_population", "deaths")][0, 1:], -q * expected[:-1], rtol=1e-12)
    np.testing.assert_allclose(res.ledger[("labour_force", "deaths")][0, 1:], -q * rate * expected[:-1], rtol=1e-12)
    assert (res.ledger[("child_population", "closing")][0, 1:] == 0).all()
    for metric in ("talent_stock", "imported_workers", "retraining_active"):
        assert (res.metrics[metric] == 0).all(), metric


def test_zero_flows_give_flat_paths(baseline_params, make_inputs):
    """With no deaths, births, migration, schemes or trend, the population 15+ and every labour stock stay flat."""
    inp = make_inputs(q=0.0, rate=0.6, children=False)
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
    assert np.ptp(res.metrics["shortage"][0]) > 1e4


def test_constant_scheme_intakes_start_and_stay_in_steady_state(baseline_params, inputs):
    """Constant talent, import and retraining intakes: their stocks start at the steady state and stay there."""
    p = quiet_params(baseline_params)
    p = replace(p, talent_arrivals=np.full_like(p.talent_arrivals, 40_000.0),
                extension_rate=np.full_like(p.extension_rate, 0.6),
                imported_arrivals=np.broadcast_to(np.arange(1.0, G + 1) * 1000, p.imported_arrivals.shape).copy(),
                contract_years=np.array([3]), retraining_places=np.full_like(p.retraining_places, 100_000.0))
    res = run(p, inputs)
    for metric, expected in [
        ("talent_stock", 40_000 * (2 + 3 * 0.6 + 2 * 0.36)),       # visas end at tenure 2 and 5
        ("imported_workers", 3 * 15_000),
        ("retraining_active", 100_000 * 0.9 * 0.7 * 0.3 / 0.2),
    ]:
        np.testing.assert_allclose(res.metrics[metric][0], expected, rtol=1e-12, err_msg=metric)
    np.testing.assert_allclose(res.ledger[("retraining_movers", "closing")][0, 1:],
                               100_000 * 0.9 * 0.7 * 0.7 / 0.2, rtol=1e-12)
    np.testing.assert_allclose(res.metrics["talent_labour_force"][0], 0.8 * res.metrics["talent_stock"][0], rtol=1e-15)


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

def reference(p: Params, r: int, inp) -> dict[str, list[float]]:
    """One run, written out with loops over years, sexes and ages, no batching: phases talent,
    demography, importation, retraining, labour market, as documented in sim.flows / sim.engine."""
    A, K = 101, 7
    years = [int(y) for y in p.years]
    scale = float(p.participation_scale[r])
    early, late = float(p.participation_trend_pp[r]), float(p.participation_trend_late_pp[r])
    trend_break = int(inp.param("participation_trend_break"))
    trend_end = int(inp.param("participation_trend_end"))
    tr = float(inp.param("talent_participation"))
    exit_rate = float(inp.param("retraining_exit_rate"))
    female_share = float(inp.param("birth_female_share"))
    req_base = [float(x) for x in p.requirement_base[r]]
    prod = [float(x) for x in p.productivity_growth[r]]
    sh_res, sh_tal, sh_ret = (list(map(float, inp.shares[k])) for k in ("resident", "talent", "retraining"))
    first, renew, contract = int(p.first_visa_years[r]), int(p.renewal_visa_years[r]), int(p.contract_years[r])

    def expires(k: int) -> bool:        # a visa ends on reaching tenure k (1..6)
        return k == first or (k > first and (k - first) % renew == 0)

    def rate(sex: int, age: int, i: int) -> float:
        if age < 15:
            return 0.0
        y = min(years[i], trend_end)
        if y <= trend_break:
            points = early * (y - inp.base_year)
        else:
            points = early * (trend_break - inp.base_year) + late * (y - trend_break)
        points += p.participation_trend[r] * max(years[i] - trend_end, 0)
        v = scale * inp.participation[sex][age]
        if age <= 64:
            v += points / 100.0
        if sex == 0 and 25 <= age <= 59:
            v += p.female_shift[r, i]
        if 60 <= age <= 69:
            v += p.older_shift[r, i]
        return min(max(v, 0.0), 1.0)

    # talent profile moved 6 years older (age 100 open): where the naturalised are
    prof_t = inp.profiles["talent"]
    older = [[0.0] * A for _ in range(2)]
    for s in range(2):
        for a in range(A):
            target = min(a + K - 1, A - 1)
            older[s][target] += prof_t[s][a]

    # initial state: talents and imported workers are taken out of the population estimate
    a0, e0 = p.talent_arrivals[r, 0], p.extension_rate[r, 0]
    talent = [a0]
    for k in range(1, K):
        talent.append(talent[-1] * (e0 if expires(k) else 1.0))
    imported = [[p.imported_arrivals[r, 0, g] if c < contract else 0.0 for c in range(contract)] for g in range(G)]
    imported_total = sum(sum(row) for row in imported)
    prof_i = inp.profiles["imported"]
    pop = [[float(inp.population[s][a]) - imported_total * prof_i[s][a] for a in range(A)] for s in range(2)]
    for k in range(K):
        for s in range(2):
            for a in range(A):
                pop[s][min(a + k, A - 1)] -= talent[k] * prof_t[s][a]
    pop = [[max(v, 0.0) for v in row] for row in pop]
    placed0 = p.retraining_places[r, 0] * p.completion_rate[r, 0] * p.placement_rate[r, 0]
    active = placed0 * p.activation_share[r, 0] / exit_rate
    movers = (placed0 - placed0 * p.activation_share[r, 0]) / exit_rate
    rates = [[rate(s, a, 0) for a in range(A)] for s in range(2)]

    out = {"labour_force": [], "talent_stock": [], "imported_workers": [], "shortage": []}

    def record(i: int) -> None:
        resident_lf = sum(pop[s][a] * rates[s][a] for s in range(2) for a in range(A))
        talent_lf = sum(talent) * tr
        imp = [sum(imported[g]) for g in range(G)]
        supply = [resident_lf * sh_res[g] + talent_lf * sh_tal[g] + imp[g] + active * sh_ret[g]
                  + movers * (sh_ret[g] - sh_res[g]) for g in range(G)]
        t = years[i] - inp.demand_base_year
        required = [req_base[g] * ((1 + p.gdp_growth[r]) / (1 + prod[g])) ** t for g in range(G)]
        out["labour_force"].append(resident_lf + talent_lf + sum(imp) + active)
        out["talent_stock"].append(sum(talent))
        out["imported_workers"].append(sum(imp))
        out["shortage"].append(sum(required) - sum(supply))

    record(0)
    for i in range(1, len(years)):
        # talent
        naturalised = talent[K - 1]
        new_talent = [p.talent_arrivals[r, i]]
        for k in range(1, K):
            moving = talent[k - 1]
            new_talent.append(moving * p.extension_rate[r, i] if expires(k) else moving)
        talent = new_talent
        # demography
        x = [[0.0] * A for _ in range(2)]
        for s in range(2):
            for a in range(A):
                dead = pop[s][a] * min(1.0, inp.mortality[s][a] * p.mortality_scale[r])
                survivors = pop[s][a] - dead
                moved = max(p.resident_net_migration[r, i] * inp.profiles["resident_migration"][s][a], -survivors)
                owp = p.owp_arrivals[r, i] * inp.profiles["owp"][s][a]
                x[s][a] = survivors + moved + owp + naturalised * older[s][a]
        births = p.births[r, i]
        pop = [[births * (female_share if s == 0 else 1 - female_share)] + x[s][:A - 2] + [x[s][A - 2] + x[s][A - 1]]
               for s in range(2)]
        # importation
        imported = [[p.imported_arrivals[r, i, g]] + imported[g][:contract - 1] for g in range(G)]
        # retraining
        placed = p.retraining_places[r, i] * p.completion_rate[r, i] * p.placement_rate[r, i]
        activations = placed * p.activation_share[r, i]
        active, movers = (active + activations - active * exit_rate,
                          movers + (placed - activations) - movers * exit_rate)
        # labour market
        rates = [[rate(s, a, i) for a in range(A)] for s in range(2)]
        record(i)
    return out


def _updated(model, changes: dict):
    """A pydantic model with dotted-path changes applied, e.g. {"talent.arrivals": 5}."""
    nested: dict[str, dict] = {}
    direct = {}
    for key, value in changes.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, sub in nested.items():
        direct[head] = _updated(getattr(model, head), sub)
    return model.model_copy(update=direct)


def test_batch_engine_matches_plain_reference(baseline, inputs):
    """A batch of 3 runs with different levers equals, run by run, a plain loop implementation of the equations."""
    scen = baseline.scenario
    variants = [
        {},
        {"levers.talent.arrivals": {2017: 50_000, 2026: 80_000}, "levers.talent.extension_rate": 0.8,
         "levers.talent.first_visa_years": 1, "levers.talent.renewal_visa_years": 2,
         "levers.importation.contract_years": 3, "levers.retraining.places": 200_000,
         "levers.retraining.activation_share": 0.5, "levers.participation.female_shift": 2.0,
         "levers.participation.older_shift": {2017: 0.0, 2025: 5.0},
         "uncertainties.gdp_growth.value": 0.02, "uncertainties.resident_net_migration.value": -80_000,
         "uncertainties.participation_trend.value": 0.5, "uncertainties.mortality_scale.value": 1.3},
        {"levers.talent.extension_rate": 0.2, "levers.talent.first_visa_years": 3,
         "levers.talent.renewal_visa_years": 1, "levers.importation.contract_years": 1,
         "levers.retraining.places": 0.0, "levers.participation.older_shift": -3.0,
         "uncertainties.gdp_growth.value": 0.045, "uncertainties.resident_net_migration.value": 20_000,
         "uncertainties.participation_trend.value": 2.0, "uncertainties.mortality_scale.value": 0.7},
    ]
    builds = [sim_params.build(_updated(scen, v), inputs) for v in variants]
    p = sim_params.stack(builds)
    assert p.runs == 3 and len({tuple(b.first_visa_years) for b in builds}) == 3
    res = run(p, inputs)
    for r in range(3):
        ref = reference(p, r, inputs)
        for metric, series in ref.items():
            np.testing.assert_allclose(res.metrics[metric][r], series, rtol=1e-9, err_msg=f"{metric} run {r}")
    # the three runs really differ
    assert np.ptp(res.metrics["labour_force"][:, -1]) > 1e4


# --- calibration anchors ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline_results(baseline_params, inputs):
    return run(baseline_params, inputs)


@pytest.mark.parametrize("year, target, rel", [(2018, 3_680_000, 0.01), (2022, 3_430_000, 0.01),
                                               (2024, 3_470_000, 0.005)])
def test_baseline_labour_force_anchors(baseline_results, year, target, rel):
    """The baseline labour force is within tolerance of the observed 2018, 2022 and 2024 figures."""
    assert abs(baseline_results.value("labour_force", year) - target) <= rel * target


def test_baseline_shortage_anchors(baseline_results):
    """Baseline shortage: 2023 within 15,000 of 50,000; 2028 within 5% of 180,000."""
    assert abs(baseline_results.value("shortage", 2023) - 50_000) <= 15_000
    assert abs(baseline_results.value("shortage", 2028) - 180_000) <= 0.05 * 180_000


@pytest.mark.parametrize("group, lo, hi", [("skilled_technical", 60_000, 65_000), ("manual", 44_000, 49_000),
                                           ("service", 43_000, 48_000), ("managers_professionals", 27_000, 32_000)])
def test_baseline_2028_shortage_by_group(baseline_results, group, lo, hi):
    """The 2028 shortage by group falls in the MP2023 published ranges."""
    i = int(np.searchsorted(baseline_results.years, 2028))
    assert baseline_results.years[i] == 2028
    assert lo <= baseline_results.groups["shortage"][0, i, OCCUPATIONS.index(group)] <= hi


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


def test_migration_history_ignores_gaps_in_other_years(inputs):
    """The derived resident migration of a year depends only on that year's data and the talent history."""
    from sim import flows
    years = np.arange(2017, 2036)
    ext = np.full((1, years.size), 0.51)
    expiring = flows.visa_expiring(np.array([2]), np.array([3]))
    full = sim_params.resident_migration_history(inputs, years, ext, expiring)
    history = {k: dict(v) for k, v in inputs.history.items()}
    del history["net_other_movement"][2020]
    gappy = sim_params.resident_migration_history(replace(inputs, history=history), years, ext, expiring)
    assert np.isnan(gappy[0, 3])                                   # 2020 is now unobserved: NaN, as documented
    keep = [i for i in range(1, years.size) if years[i] != 2020]
    np.testing.assert_array_equal(gappy[0, keep], full[0, keep])


def test_gap_in_observed_flows_is_refused(baseline, inputs):
    """A history year without observed flows is refused, never simulated with NaN."""
    history = {k: dict(v) for k, v in inputs.history.items()}
    del history["net_other_movement"][2020]
    with pytest.raises(ValueError, match=r"observed flows missing for \[2020\]"):
        sim_params.build(baseline.scenario, replace(inputs, history=history))


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
    inp = replace(inputs, mortality=np.zeros((2, AGES)), participation=part, population=pop,
                  params={**inputs.params, "participation_scale": 1.0})
    p = replace(quiet_params(baseline_params), participation_scale=np.ones(1))
    res = run(p, inp)
    total = res.groups["openings"][0].sum(axis=1)
    requirement = res.metrics["requirement"][0]
    withdrawals = 2 * 1000.0 * 0.6  # both sexes at age 59 become 60 each year
    np.testing.assert_allclose(total[1:], np.diff(requirement) + withdrawals, rtol=1e-12)
    assert np.isnan(total[0])
