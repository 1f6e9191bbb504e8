"""The model's equations: pure functions (stocks, parameters) -> flows, over a batch of runs.

Shapes: R runs, 2 sexes (female, male), A = 101 single years of age (100 open-ended),
K = 7 years since a talent's arrival, G occupation groups, C contract years. Persons unless
stated. No function here loops over runs, reads files or knows about SimPy.
"""

from __future__ import annotations

import numpy as np

ADULT = 15          # age at which people enter the working-age population (years)
TALENT_YEARS = 7    # years of residence after which a talent becomes a permanent resident


# --- demography -------------------------------------------------------------------------

def deaths(pop: np.ndarray, death_prob: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Deaths in the year: D = P x min(1, q x scale). pop (R,2,A), death_prob (2,A), scale (R,)."""
    return pop * np.clip(death_prob[None] * scale[:, None, None], 0.0, 1.0)


def births(women: np.ndarray, fertility: np.ndarray, tfr: np.ndarray) -> np.ndarray:
    """Births in the year (R,): B = TFR x sum over ages of f(a) x W(a).

    women (R, A) resident women at the start of the year; fertility (A,) the share of the TFR
    at each age (sums to 1, so sum f(a) x TFR is the age-specific rate); tfr (R,) births per
    woman over a lifetime at this year's rates.
    """
    return tfr * (women * fertility).sum(axis=-1)  # not a matmul: BLAS sums in a batch-size-dependent order


def distribute(total: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Spread a yearly total (R,) over sex and age with a profile (2,A) summing to 1."""
    return total[:, None, None] * profile[None]


def net_migration(survivors: np.ndarray, total: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Net migration by sex and age: total x profile, but never more leavers than are there.

    M = max(total x profile, -survivors), so the population stays >= 0.
    """
    return np.maximum(distribute(total, profile), -survivors)


def age_one_year(pop: np.ndarray, births: np.ndarray, female_share: float, out: np.ndarray | None = None) -> np.ndarray:
    """Move everyone up one year of age; age 100 is open-ended; births (R,) enter at age 0.
    `out`: an array to write into (not `pop`), else a new one."""
    aged = np.empty_like(pop) if out is None else out
    _shift_one_age(aged, pop)
    aged[:, :, -1] += pop[:, :, -1]
    aged[:, 0, 0] = births * female_share
    aged[:, 1, 0] = births * (1.0 - female_share)
    return aged


def _shift_one_age(out: np.ndarray, x: np.ndarray) -> None:
    """out[..., 1:] = x[..., :-1] over the last (age) axis; out[..., 0] is left to the caller.
    For C-contiguous arrays one copy of the flattened array (each row's last age lands on the
    next row's age 0, which the caller overwrites)."""
    if out.flags.c_contiguous and x.flags.c_contiguous and out.shape == x.shape:
        out.reshape(-1)[1:] = x.reshape(-1)[:-1]
    else:
        out[..., 1:] = x[..., :-1]


def shift_ages(profile: np.ndarray, years: int) -> np.ndarray:
    """An age profile (2,A) moved `years` older, the open age 100 collecting the overflow."""
    if years == 0:
        return profile.copy()
    out = np.zeros_like(profile)
    out[:, years:] = profile[:, :-years]
    out[:, -1] += profile[:, -years:].sum(axis=1)
    return out


# --- participation ------------------------------------------------------------------------

def trend_points(year: int, base_year: int, break_year: int, end_year: int, early: np.ndarray,
                 late: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """Cumulative participation trend at `year` (percentage points, (R,)), piecewise linear.

    early x (min(y, B) - base) + late x (max(y, B) - B) + projection x max(year - E, 0), with
    y = min(year, E): the calibrated slope `early` up to the break year B, `late` from B to the
    last observed year E, then the assumed slope `projection` (all points a year, (R,)).
    """
    y = min(year, end_year)
    return (early * (min(y, break_year) - base_year) + late * (max(y, break_year) - break_year)
            + projection * max(year - end_year, 0))


def damped_points(year: int, end_year: int, slope: float, halflife: float) -> float:
    """Cumulative points of a trend that starts after `end_year` at `slope` points a year and
    halves every `halflife` years: slope x sum_{k=1..n} h^(k-1), h = 0.5^(1/halflife), n = year - E."""
    n = max(year - end_year, 0)
    h = 0.5 ** (1.0 / halflife)
    return slope * (1.0 - h ** n) / (1.0 - h)


WORKING_AGES = (ADULT, 64)  # ages of the general participation trend
WOMEN_AGES = (25, 59)   # ages of the women's participation trend and the female_shift lever
OLDER_AGES = (60, 69)   # ages of the older people's trend and the older_shift lever


def participation_level(scale: np.ndarray, female: np.ndarray, older: np.ndarray, ages: int) -> np.ndarray:
    """Multiplier of the base participation profile (R, 2, A): scale x female [women] x older [ages 60+]
    (all (R,), calibrated)."""
    is_older = (np.arange(ages) >= OLDER_AGES[0]).astype(float)
    sex = np.stack([female, np.ones_like(female)], axis=1)[:, :, None]
    return scale[:, None, None] * sex * (1.0 + (older[:, None, None] - 1.0) * is_older[None, None, :])


def participation_rates(base: np.ndarray, level: np.ndarray, trend_pp, women_pp: np.ndarray, older_pp: np.ndarray,
                        female_shift: np.ndarray, older_shift: np.ndarray) -> np.ndarray:
    """Participation rate by run, sex and age, in [0, 1] (retraining's uplift comes on top).

    p = clip(level x base + trend/100 [ages 15-64] + (women_pp/100 + female_shift) [women 25-59]
             + (older_pp/100 + older_shift) [ages 60-69], 0, 1); 0 below 15.
    `level` (R, 2, A) see participation_level; `trend_pp` (percentage points, broadcastable to
    (R, 2)) is the cumulative general trend (see trend_points); women_pp and older_pp (R,) the
    cumulative projected trends of women and older people (see damped_points); shifts (R,) are
    fractions.
    """
    runs = female_shift.shape[0]
    ages = np.arange(base.shape[1])
    working = ((ages >= WORKING_AGES[0]) & (ages <= WORKING_AGES[1])).astype(float)
    women = np.array([1.0, 0.0])[:, None] * ((ages >= WOMEN_AGES[0]) & (ages <= WOMEN_AGES[1]))[None, :]
    older = ((ages >= OLDER_AGES[0]) & (ages <= OLDER_AGES[1])).astype(float)
    trend = np.broadcast_to(trend_pp, (runs, 2))[:, :, None]
    rate = level * base[None] + trend / 100.0 * working[None, None, :]
    rate = rate + (women_pp / 100.0 + female_shift)[:, None, None] * women[None]
    rate = rate + (older_pp / 100.0 + older_shift)[:, None, None] * older[None, None, :]
    rate[:, :, :ADULT] = 0.0
    return np.clip(rate, 0.0, 1.0)


EXIT_AGES = 50   # first age of the exit part of the participation profile (the later_exit lever)


def later_exit(rate: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Participation (R, 2, A) with exit from the labour force delayed by `years` (R,) >= 0.

    For ages a >= EXIT_AGES the rate becomes the rate at age a - years (linear between single
    years), as a later retirement age moves the whole exit profile later; younger ages unchanged.
    """
    if not years.any():
        return rate
    return delayed_exit(rate, years)


def delayed_exit(rate: np.ndarray, years: np.ndarray) -> np.ndarray:
    """later_exit without its shortcut for a batch that delays nothing (a run with years 0 keeps
    its rates: weight 0 on the next age)."""
    ages = np.arange(rate.shape[2])
    source = np.where(ages[None, :] >= EXIT_AGES, ages[None, :] - years[:, None], ages[None, :])  # (R, A)
    below = np.floor(source).astype(np.int64)
    weight = (source - below)[:, None, :]
    lower = np.take_along_axis(rate, np.broadcast_to(below[:, None, :], rate.shape), axis=2)
    upper = np.take_along_axis(rate, np.broadcast_to(np.minimum(below + 1, ages[-1])[:, None, :], rate.shape), axis=2)
    return lower * (1.0 - weight) + upper * weight


def labour_force(pop: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Persons in the labour force (R,): sum over sex and age of P x p (each run summed in the
    same order whatever the batch size)."""
    return np.einsum("rsa,rsa->r", pop, rates)


# --- talent schemes -----------------------------------------------------------------------

def visa_expiring(first: np.ndarray, renewal: np.ndarray) -> np.ndarray:
    """(R, K-1) mask: True where moving from tenure k to k+1 ends a visa.

    A visa ends at tenure e = first, first + renewal, first + 2 x renewal, ... below 7 years.
    """
    tenure = np.arange(1, TALENT_YEARS)[None, :]
    first, renewal = first[:, None], renewal[:, None]
    return (tenure == first) | ((tenure > first) & ((tenure - first) % renewal == 0))


def talent_step(stock: np.ndarray, arrivals: np.ndarray, extension_rate: np.ndarray,
                expiring: np.ndarray) -> dict[str, np.ndarray]:
    """One year of the talent stock (R, K) by years since arrival.

    Holders whose visa ends extend with probability `extension_rate` (R,) or leave; those
    reaching 7 years become permanent residents; `arrivals` (R,) enter at tenure 0.
    Returns the new stock and the flows by tenure: extensions and departures (R, K-1) at the
    tenure they reach, naturalised (R,).
    """
    moving = stock[:, :-1]
    expiring_now = moving * expiring
    extensions = expiring_now * extension_rate[:, None]
    departures = expiring_now - extensions
    new = np.empty_like(stock)
    new[:, 0] = arrivals
    new[:, 1:] = moving - departures
    return {"stock": new, "extensions": extensions, "departures": departures, "naturalised": stock[:, -1]}


def talent_steady_state(arrivals: np.ndarray, extension_rate: np.ndarray, expiring: np.ndarray) -> np.ndarray:
    """Stock (R, K) after constant arrivals and extension rate for 7 years or more."""
    keep = np.where(expiring, extension_rate[:, None], 1.0)
    return arrivals[:, None] * np.concatenate([np.ones((arrivals.size, 1)), np.cumprod(keep, axis=1)], axis=1)


# --- imported workers ---------------------------------------------------------------------

def contract_ending(contract_years: np.ndarray, width: int) -> np.ndarray:
    """(R, C) mask: True from the last contract year on, whose holders leave at the next step
    (workers already past it, hired under a longer contract before the length changed, leave too)."""
    return np.arange(width)[None, :] >= (contract_years[:, None] - 1)


def imported_step(stock: np.ndarray, arrivals: np.ndarray, ending: np.ndarray) -> dict[str, np.ndarray]:
    """One year of imported workers (R, G, C) by contract year.

    Workers in their last contract year leave (contract end, by group (R, G)); the rest move
    up a year; `arrivals` (R, G) start at contract year 0.
    """
    ends = (stock * ending[:, None, :]).sum(axis=2)
    staying = stock * ~ending[:, None, :]
    new = np.zeros_like(stock)
    new[:, :, 1:] = staying[:, :, :-1]
    new[:, :, 0] = arrivals
    return {"stock": new, "contract_ends": ends}


def imported_steady_state(arrivals: np.ndarray, contract_years: np.ndarray, width: int) -> np.ndarray:
    """Stock (R, G, C) after constant arrivals (R, G): one intake per contract year still running."""
    running = np.arange(width)[None, :] < contract_years[:, None]
    return arrivals[:, :, None] * running[:, None, :]


# --- retraining ---------------------------------------------------------------------------

def retraining_placements(places: np.ndarray, tied_share: np.ndarray, completion: np.ndarray,
                          placement: np.ndarray) -> np.ndarray:
    """Trainees placed in a job (R,): places x placement-tied share x completion x placement rate.

    Only placement-tied courses place people; the placement rate is theirs.
    """
    return places * tied_share * completion * placement


def age_rates(rate: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A rate attached to cohorts (R, 2, A), moved one year older; 0 at age 0; the open age 100
    keeps its own. `out`: an array to write into (not `rate`), else a new one."""
    out = np.empty_like(rate) if out is None else out
    _shift_one_age(out, rate)
    out[:, :, 0] = 0.0
    out[:, :, -1] = rate[:, :, -1]
    return out


def uplift_step(carried: np.ndarray, exit_rate: float, activations: np.ndarray, profile: np.ndarray,
                pop: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Retraining's participation uplift (R, 2, A) at the end of the year.

    The uplift is a share of each cohort: people activated by retraining are residents who age,
    die and migrate with it. The carried uplift (last year's, aged one year) loses `exit_rate`
    of itself; this year's activations (R,) spread over sex and age by the trainees' profile
    (2, A) raise the rate of the cohorts they come from, never above 1 (p + u <= 1).
    """
    kept = carried * (1.0 - exit_rate)
    room = np.clip(1.0 - rates - kept, 0.0, 1.0)
    wanted = np.divide(distribute(activations, profile), pop, out=np.zeros_like(pop), where=pop > 0)
    return kept + np.minimum(wanted, room)


def movers_step(movers: np.ndarray, moves: np.ndarray, exit_rate: float) -> dict[str, np.ndarray]:
    """Retrained workers who moved occupation group (R,): + this year's moves, - exit_rate of the
    opening stock (people move back, or the move wears off)."""
    exits = movers * exit_rate
    return {"movers": movers + moves - exits, "exits": exits}


# --- demand -------------------------------------------------------------------------------

def drift_years(years: int, halflife: float) -> float:
    """Years of drift accumulated `years` after the base year when the drift halves every
    `halflife` years: sum_{k=1..n} h^(k-1), h = 0.5^(1/halflife); before the base year, -n."""
    if years <= 0:
        return float(years)
    h = 0.5 ** (1.0 / halflife)
    return (1.0 - h ** years) / (1.0 - h)


def drifted(shares: np.ndarray, drift: np.ndarray, years: float) -> np.ndarray:
    """Occupation shares (..., G) after `years` (see drift_years) of relative drift (G,) a year,
    renormalised: s_g(t) proportional to s_g x exp(drift_g x t)."""
    moved = shares * np.exp(drift * years)
    return moved / moved.sum(axis=-1, keepdims=True)


def requirement(base: np.ndarray, output_index: np.ndarray, elasticity: float, drift: np.ndarray,
                years_since_base: float) -> np.ndarray:
    """Manpower requirement by group (R, G) in a year at or after the demand base year.

    N(t) = N(base) x (Y_t / Y_base) ^ elasticity: the total grows with real output (an
    employment elasticity below 1: productivity takes the rest); the groups' shares drift by
    `drift` (G,) a year, s_g(t) proportional to s_g x exp(drift_g x t), renormalised (occupational
    upgrading; t in years of drift, see drift_years). base (R, G) persons in the base year;
    output_index (R,) Y_t / Y_base.
    """
    total = base.sum(axis=1) * output_index ** elasticity
    return total[:, None] * drifted(base, drift, years_since_base)


def supply_by_group(younger_lf: np.ndarray, older_lf: np.ndarray, talent_lf: np.ndarray, imported: np.ndarray,
                    active: np.ndarray, movers: np.ndarray, shares: dict[str, np.ndarray],
                    origin: np.ndarray) -> np.ndarray:
    """Labour supply by occupation group (R, G), persons.

    Resident workers of the cohorts under 60 (younger_lf) and aged 60+ (older_lf) in the demand
    base year by the shares of their group (R, G) or (G,), talents by the talent shares; imported
    workers (R, G) as they are; people activated by retraining by the groups the courses train
    for; movers leave their groups in proportion to `origin` (the resident shares of the groups
    trainees may come from, summing to 1), never more than a group's resident workers, and arrive
    by the training shares.
    """
    residents = younger_lf[:, None] * np.atleast_2d(shares["resident"]) + older_lf[:, None] * np.atleast_2d(
        shares["resident_60plus"])
    train = np.atleast_2d(shares["retraining"])
    moved = np.minimum(movers[:, None] * np.atleast_2d(origin), residents)
    return (residents + talent_lf[:, None] * shares["talent"][None] + imported + active[:, None] * train
            + moved.sum(axis=1, keepdims=True) * train - moved)
