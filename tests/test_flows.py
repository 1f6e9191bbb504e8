"""Rule tests for the pure model equations in sim.flows, on small hand-made arrays.

Values are chosen to be exact in binary floating point, so every assert is exact.
"""

from __future__ import annotations

import numpy as np

from sim import flows


def eq(actual, expected) -> None:
    """Exact equality of arrays (shape and every value)."""
    actual, expected = np.asarray(actual), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert np.array_equal(actual, expected), f"\n{actual}\n!=\n{expected}"


# --- demography -------------------------------------------------------------------------

def test_deaths():
    """Deaths are pop x min(1, q x scale), per run scale, capped at the whole cohort."""
    pop = np.array([[[8, 4, 2], [16, 32, 64]],
                    [[16, 8, 8], [8, 32, 4]]], dtype=float)
    q = np.array([[0.125, 0.5, 0.75], [0.25, 0.0625, 1.0]])
    out = flows.deaths(pop, q, np.array([2.0, 0.5]))
    eq(out, [[[2, 4, 2], [8, 4, 64]],      # q x 2 = .25, 1, 1.5->1 | .5, .125, 2->1
             [[1, 2, 3], [1, 1, 2]]])      # q x .5 = .0625, .25, .375 | .125, .03125, .5
    eq(flows.deaths(pop, q, np.array([0.0, 0.0])), np.zeros_like(pop))


def test_births():
    """Births per run = TFR x sum over ages of fertility share x women."""
    women = np.array([[100.0, 200.0, 400.0], [0.0, 0.0, 0.0], [100.0, 200.0, 400.0]])
    fertility = np.array([0.25, 0.5, 0.25])
    eq(flows.births(women, fertility, np.array([2.0, 1.5, 0.0])), [2.0 * 225.0, 0.0, 0.0])
    eq(flows.births(women[:1], fertility, np.array([1.0])), [225.0])


def test_distribute():
    """A yearly total per run is spread over sex and age as total x profile (negative totals too)."""
    profile = np.array([[0.25, 0.25], [0.5, 0.0]])
    out = flows.distribute(np.array([100.0, -50.0]), profile)
    eq(out, [[[25, 25], [50, 0]], [[-12.5, -12.5], [-25, 0]]])


def test_net_migration_caps_leavers_at_survivors():
    """Net migration is max(total x profile, -survivors): never more leavers than survivors; inflows uncapped."""
    survivors = np.array([[[10, 40], [20, 0]], [[10, 40], [20, 0]]], dtype=float)
    profile = np.array([[0.25, 0.25], [0.5, 0.0]])
    out = flows.net_migration(survivors, np.array([-100.0, 60.0]), profile)
    eq(out, [[[-10, -25], [-20, 0]],      # wants -25, -25, -50, 0: capped at -10 and -20
             [[15, 15], [30, 0]]])        # inflows as distributed
    assert (survivors + out >= 0).all()


def test_age_one_year_open_age_and_births_split():
    """Everyone moves up one age, the last (open) age keeps its own plus the previous age; births split by female share."""
    pop = np.array([[[1, 2, 3, 4], [5, 6, 7, 8]],
                    [[10, 20, 30, 40], [50, 60, 70, 80]]], dtype=float)
    out = flows.age_one_year(pop, np.array([100.0, 8.0]), 0.25)
    eq(out, [[[25, 1, 2, 7], [75, 5, 6, 15]],
             [[2, 10, 20, 70], [6, 50, 60, 150]]])
    full = np.ones((1, 2, 101))
    aged = flows.age_one_year(full, np.array([0.0]), 0.5)
    assert aged[0, 0, 100] == 2.0 and aged[0, 0, 99] == 1.0 and aged[0, :, 0].sum() == 0.0


def test_shift_ages():
    """A profile moved n years older: zeros at the young end, the last age collects what would pass it."""
    profile = np.array([[0.125, 0.25, 0.375, 0.25, 0.0], [0.5, 0.25, 0.125, 0.0625, 0.0625]])
    eq(flows.shift_ages(profile, 2), [[0, 0, 0.125, 0.25, 0.625], [0, 0, 0.5, 0.25, 0.25]])
    eq(flows.shift_ages(profile, 4), [[0, 0, 0, 0, 1.0], [0, 0, 0, 0, 1.0]])
    same = flows.shift_ages(profile, 0)
    eq(same, profile)
    assert same is not profile


# --- participation ------------------------------------------------------------------------

def _by_age(bands: list[tuple[int, int, float]]) -> np.ndarray:
    out = np.full(101, np.nan)
    for lo, hi, value in bands:
        out[lo:hi + 1] = value
    assert not np.isnan(out).any()
    return out


def _flat_level(scale, runs: int = 2) -> np.ndarray:
    """A participation level (R, 2, A) of `scale` (number or (R,)) with no women's or older multiplier."""
    ones = np.ones(runs)
    return flows.participation_level(np.broadcast_to(np.asarray(scale, dtype=float), (runs,)), ones, ones, 101)


def test_participation_rates_trend_shifts_clip():
    """p = clip(level*base + trend/100 [15-64] + female_shift [women 25-59] + older_shift [60-69], 0, 1); 0 below 15."""
    base = np.full((2, 101), 0.5)                      # also nonzero below 15: must be zeroed
    zero = np.zeros(2)
    out = flows.participation_rates(base, _flat_level(0.75), np.array([[12.5, -25.0], [25.0, -50.0]]), zero, zero,
                                    female_shift=np.array([0.25, 0.0]), older_shift=np.array([0.0, 0.75]))
    # level x base = 0.375; run 0 trend: women +0.125, men -0.25; run 1: women +0.25, men -0.5
    expected = np.array([
        [_by_age([(0, 14, 0), (15, 24, 0.5), (25, 59, 0.75), (60, 64, 0.5), (65, 100, 0.375)]),
         _by_age([(0, 14, 0), (15, 64, 0.125), (65, 100, 0.375)])],
        [_by_age([(0, 14, 0), (15, 59, 0.625), (60, 69, 1.0), (70, 100, 0.375)]),      # 1.375, 1.125 clipped to 1
         _by_age([(0, 14, 0), (15, 59, 0.0), (60, 64, 0.625), (65, 69, 1.0), (70, 100, 0.375)])],  # -0.125 -> 0
    ])
    eq(out, expected)


def test_participation_rates_projected_trends_add_to_the_shifts():
    """women_pp / 100 adds to female_shift at women 25-59, older_pp / 100 to older_shift at ages 60-69."""
    base = np.full((2, 101), 0.5)
    zero = np.zeros(2)
    out = flows.participation_rates(base, _flat_level(0.5), 0.0, np.array([12.5, 0.0]), np.array([0.0, 25.0]),
                                    female_shift=np.array([0.125, 0.0]), older_shift=np.array([0.0, 0.25]))
    expected = np.array([
        [_by_age([(0, 14, 0), (15, 24, 0.25), (25, 59, 0.5), (60, 100, 0.25)]),      # 0.25 + 0.125 + 0.125
         _by_age([(0, 14, 0), (15, 100, 0.25)])],
        [_by_age([(0, 14, 0), (15, 59, 0.25), (60, 69, 0.75), (70, 100, 0.25)]),     # 0.25 + 0.25 + 0.25
         _by_age([(0, 14, 0), (15, 59, 0.25), (60, 69, 0.75), (70, 100, 0.25)])],
    ])
    eq(out, expected)
    same = flows.participation_rates(base, _flat_level(0.5), 0.0, zero, zero, np.array([0.25, 0.0]),
                                     np.array([0.0, 0.5]))
    eq(flows.participation_rates(base, _flat_level(0.5), 0.0, np.array([25.0, 0.0]), np.array([0.0, 50.0]), zero,
                                 zero), same)      # 25 points of trend = a shift of 0.25


def test_participation_rates_per_run_scale():
    """A per-run level multiplies the base profile run by run; no trend adds nothing."""
    base = np.tile(np.linspace(0.0, 1.0, 101), (2, 1))
    zero = np.zeros(2)
    out = flows.participation_rates(base, _flat_level(np.array([0.5, 0.25])), 0.0, zero, zero, zero, zero)
    expected = np.stack([0.5 * base, 0.25 * base])
    expected[:, :, :15] = 0.0
    eq(out, expected)


def test_participation_level():
    """Level = scale x female [women] x older [ages 60+], per run."""
    level = flows.participation_level(np.array([0.5, 2.0]), np.array([1.5, 1.0]), np.array([2.0, 0.25]), 101)
    assert level.shape == (2, 2, 101)
    eq(level[0], [_by_age([(0, 59, 0.75), (60, 100, 1.5)]), _by_age([(0, 59, 0.5), (60, 100, 1.0)])])
    eq(level[1], [_by_age([(0, 59, 2.0), (60, 100, 0.5)]), _by_age([(0, 59, 2.0), (60, 100, 0.5)])])


def test_trend_points_piecewise():
    """Trend points: slope `early` to the break year, `late` to the last observed year, then `projection`."""
    early, late, proj = np.array([1.0, 0.5]), np.array([-2.0, 0.0]), np.array([0.0, 0.25])
    points = {y: flows.trend_points(y, 2017, 2019, 2024, early, late, proj) for y in (2017, 2019, 2021, 2024, 2030)}
    eq(points[2017], [0.0, 0.0])
    eq(points[2019], [2.0, 1.0])             # 2 years x 1.0; 2 years x 0.5
    eq(points[2021], [-2.0, 1.0])            # + 2 years x -2.0; + 0
    eq(points[2024], [-8.0, 1.0])
    eq(points[2030], [-8.0, 2.5])            # + 6 years x 0 (held); + 6 years x 0.25
    eq(flows.trend_points(2030, 2017, 2019, 2018, early, late, np.zeros(2)), [1.0, 0.5])  # end before the break


def test_damped_points():
    """Damped trend: nothing up to the end year, then slope x (1 + h + ... + h^(n-1)), h = 0.5^(1/halflife)."""
    slope = np.array([1.0, -2.0])
    eq(flows.damped_points(2024, 2024, slope, 1.0), [0.0, 0.0])
    eq(flows.damped_points(2020, 2024, slope, 1.0), [0.0, 0.0])
    eq(flows.damped_points(2025, 2024, slope, 1.0), [1.0, -2.0])
    eq(flows.damped_points(2027, 2024, slope, 1.0), [1.75, -3.5])       # 1 + 0.5 + 0.25
    eq(flows.damped_points(2026, 2024, slope, 0.5), [1.25, -2.5])       # h = 0.25: 1 + 0.25
    assert flows.damped_points(2524, 2024, 1.0, 1.0) == 2.0            # converges to slope / (1 - h)


def test_labour_force():
    """Labour force per run is the sum over sex and age of pop x rate."""
    pop = np.array([[[10, 20, 30], [40, 50, 60]], [[1, 2, 3], [4, 5, 6]]], dtype=float)
    rates = np.array([[[0, 0.5, 0.25], [1, 0, 0.5]], [[1, 1, 1], [0, 0, 0]]])
    eq(flows.labour_force(pop, rates), [87.5, 6.0])


# --- talent schemes -----------------------------------------------------------------------

def test_visa_expiring():
    """A visa ends at tenure first, first+renewal, first+2*renewal, ... below 7 (mask columns = tenure 1..6)."""
    out = flows.visa_expiring(np.array([2, 1, 7, 3]), np.array([3, 1, 3, 2]))
    assert out.dtype == bool and out.shape == (4, 6)
    T, F = True, False
    assert out.tolist() == [[F, T, F, F, T, F],   # first 2, renewal 3: tenures 2 and 5 only
                            [T, T, T, T, T, T],   # yearly visas
                            [F, F, F, F, F, F],   # a 7-year first visa never ends before naturalising
                            [F, F, T, F, T, F]]   # tenures 3 and 5


def test_talent_step():
    """Expiring holders extend at the extension rate or leave; others move up; tenure 6 naturalises; arrivals enter at 0."""
    stock = np.array([[100, 90, 80, 70, 60, 50, 40]], dtype=float)
    expiring = flows.visa_expiring(np.array([2]), np.array([3]))
    out = flows.talent_step(stock, np.array([30.0]), np.array([0.25]), expiring)
    eq(out["extensions"], [[0, 22.5, 0, 0, 15, 0]])      # 90 and 60 expire on reaching tenure 2 and 5
    eq(out["departures"], [[0, 67.5, 0, 0, 45, 0]])
    eq(out["naturalised"], [40])
    eq(out["stock"], [[30, 100, 22.5, 80, 70, 15, 50]])
    assert out["stock"].sum() == stock.sum() + 30 - 67.5 - 45 - 40


def test_talent_steady_state():
    """Constant arrivals a, extension e: stock at tenure k = a x e^(visas ended by k); it is a fixed point of talent_step."""
    expiring = flows.visa_expiring(np.array([2, 2]), np.array([3, 3]))
    arrivals, ext = np.array([1000.0, 400.0]), np.array([0.5, 1.0])
    ss = flows.talent_steady_state(arrivals, ext, expiring)
    eq(ss, [[1000, 1000, 500, 500, 500, 250, 250], [400] * 7])
    step = flows.talent_step(ss, arrivals, ext, expiring)
    eq(step["stock"], ss)
    eq(step["naturalised"] + step["departures"].sum(axis=1), arrivals)


def test_talents_by_age():
    """Talents by age: the arrival profile moved k years older for tenure k, weighted by the stock at k."""
    from sim.inputs import talents_by_age

    profile = np.array([[0.5, 0.25, 0.0, 0.0], [0.25, 0.0, 0.0, 0.0]])
    out = talents_by_age(np.array([[8.0, 4.0], [0.0, 1.0]]), profile)
    eq(out, [[[4, 4, 1, 0], [2, 1, 0, 0]],
             [[0, 0.5, 0.25, 0], [0, 0.25, 0, 0]]])
    eq(talents_by_age(np.array([8.0, 4.0]), profile), out[0])        # one stock without a run axis


# --- imported workers ---------------------------------------------------------------------

def test_contract_ending():
    """The mask is True from contract year index contract_years - 1 on (workers past a shortened contract leave too)."""
    out = flows.contract_ending(np.array([1, 3, 2]), 3)
    assert out.tolist() == [[True, True, True], [False, False, True], [False, True, True]]


def test_imported_step():
    """Workers in their last contract year leave (by group); the rest move up a year; arrivals start at year 0."""
    stock = np.array([[[10, 20, 0], [5, 7, 0]],
                      [[1, 2, 3], [4, 5, 6]]], dtype=float)
    ending = flows.contract_ending(np.array([2, 3]), 3)
    out = flows.imported_step(stock, np.array([[3.0, 4.0], [9.0, 8.0]]), ending)
    eq(out["contract_ends"], [[20, 7], [3, 6]])
    eq(out["stock"], [[[3, 10, 0], [4, 5, 0]],
                      [[9, 1, 2], [8, 4, 5]]])
    shortened = flows.imported_step(stock, np.zeros((2, 2)), flows.contract_ending(np.array([1, 1]), 3))
    eq(shortened["contract_ends"], stock.sum(axis=2))                # contract cut to 1 year: everyone leaves
    eq(shortened["stock"], np.zeros_like(stock))


def test_imported_steady_state():
    """Constant arrivals: one intake in each running contract year, zero beyond; a fixed point of imported_step."""
    arrivals = np.array([[3.0, 4.0], [1.0, 2.0]])
    contract = np.array([2, 1])
    ss = flows.imported_steady_state(arrivals, contract, 3)
    eq(ss, [[[3, 3, 0], [4, 4, 0]], [[1, 0, 0], [2, 0, 0]]])
    out = flows.imported_step(ss, arrivals, flows.contract_ending(contract, 3))
    eq(out["stock"], ss)
    eq(out["contract_ends"], arrivals)


# --- retraining ---------------------------------------------------------------------------

def test_retraining_placements():
    """Placements = places x placement-tied share x completion rate x placement rate."""
    eq(flows.retraining_placements(np.array([1000.0, 64.0, 64.0]), np.array([0.5, 1.0, 0.0]),
                                   np.array([0.5, 1.0, 1.0]), np.array([0.25, 0.0, 1.0])),
       [62.5, 0.0, 0.0])


def test_movers_step():
    """Movers: + this year's moves, - exit_rate of the opening stock."""
    out = flows.movers_step(np.array([40.0, 0.0]), np.array([37.5, 8.0]), 0.25)
    eq(out["exits"], [10.0, 0.0])
    eq(out["movers"], [67.5, 8.0])


def test_age_rates():
    """A cohort rate moves one year older; 0 at age 0; the open age keeps its own."""
    rate = np.array([[[0.5, 0.25, 0.125, 0.0625], [1.0, 0.0, 0.5, 0.75]]])
    eq(flows.age_rates(rate), [[[0.0, 0.5, 0.25, 0.0625], [0.0, 1.0, 0.0, 0.75]]])


def test_uplift_step():
    """Uplift = carried x (1 - exit) + min(activations x profile / pop, room), room = 1 - rate - kept, >= 0."""
    profile = np.array([[0.25, 0.25], [0.5, 0.0]])
    pop = np.array([[[80.0, 32.0], [40.0, 0.0]]])
    rates = np.array([[[0.5, 0.875], [0.25, 0.5]]])
    carried = np.array([[[0.25, 0.125], [0.0, 0.5]]])
    out = flows.uplift_step(carried, 0.5, np.array([80.0]), profile, pop, rates)
    # kept .125, .0625, 0, .25; wanted 20/80, 20/32, 40/40, 0 (no people: 0); room .375, .0625, .75, .25
    eq(out, [[[0.375, 0.125], [0.75, 0.25]]])
    assert (rates + out <= 1.0).all()
    eq(flows.uplift_step(carried, 1.0, np.array([0.0]), profile, pop, rates), np.zeros_like(carried))


# --- demand -------------------------------------------------------------------------------

def test_drifted():
    """Shares drift by exp(drift x t) and are renormalised; no drift or t = 0 keeps them."""
    shares = np.array([0.5, 0.25, 0.25])
    drift = np.array([np.log(2.0), 0.0, 0.0])
    eq(flows.drifted(shares, drift, 1), [2 / 3, 1 / 6, 1 / 6])        # 1, .25, .25 over 1.5
    eq(flows.drifted(shares, drift, 0), shares)
    eq(flows.drifted(np.array([[0.5, 0.5], [0.75, 0.25]]), np.zeros(2), 7), [[0.5, 0.5], [0.75, 0.25]])


def test_requirement_grows_with_output_and_drifts():
    """Requirement = total(base) x (Y_t / Y_base)^elasticity, split by the drifted base shares."""
    base = np.array([[100.0, 300.0], [200.0, 200.0]])
    output = np.array([4.0, 1.0])                                    # run 0 output x4, run 1 unchanged
    eq(flows.requirement(base, output, 0.5, np.zeros(2), 3), [[200, 600], [200, 200]])   # 4^0.5 = 2
    eq(flows.requirement(base, output, 0.0, np.zeros(2), 3), base)   # elasticity 0: no growth
    eq(flows.requirement(base, np.ones(2), 1.0, np.zeros(2), 0), base)
    drifting = np.array([[100.0, 200.0], [0.0, 400.0]])
    out = flows.requirement(drifting, np.ones(2), 1.0, np.array([np.log(2.0), 0.0]), 1)   # 200 : 200 and 0 : 400
    eq(out, [[150, 150], [0, 400]])
    eq(out.sum(axis=1), drifting.sum(axis=1))                        # drift moves the mix, not the total


def test_supply_by_group():
    """Supply_g = resident x s_res + older x s_60 + talent x s_tal + imported_g + active x s_ret + movers x (s_ret - origin)."""
    shares = {"resident": np.array([0.75, 0.25]), "resident_60plus": np.array([0.5, 0.5]),
              "talent": np.array([0.5, 0.5]), "retraining": np.array([0.25, 0.75])}
    origin = np.array([1.0, 0.0])                                    # movers may only come from group 0
    out = flows.supply_by_group(np.array([100.0]), np.array([16.0]), np.array([8.0]), np.array([[1.0, 2.0]]),
                                np.array([4.0]), np.array([8.0]), shares, origin)
    eq(out, [[75 + 8 + 4 + 1 + 1 + 2 - 8, 25 + 8 + 4 + 2 + 3 + 6]])
    assert out.sum() == 100 + 16 + 8 + 3 + 4          # movers change the mix, not the total
    per_run = dict(shares, resident=np.array([[0.75, 0.25], [0.5, 0.5]]))   # shares per run (R, G)
    two = flows.supply_by_group(np.array([100.0, 100.0]), np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.zeros(2),
                                np.zeros(2), per_run, origin)
    eq(two, [[75, 25], [50, 50]])
