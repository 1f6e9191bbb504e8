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


def distribute(total: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Spread a yearly total (R,) over sex and age with a profile (2,A) summing to 1."""
    return total[:, None, None] * profile[None]


def net_migration(survivors: np.ndarray, total: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Net migration by sex and age: total x profile, but never more leavers than are there.

    M = max(total x profile, -survivors), so the population stays >= 0.
    """
    return np.maximum(distribute(total, profile), -survivors)


def age_one_year(pop: np.ndarray, births: np.ndarray, female_share: float) -> np.ndarray:
    """Move everyone up one year of age; age 100 is open-ended; births (R,) enter at age 0."""
    aged = np.empty_like(pop)
    aged[:, :, 1:] = pop[:, :, :-1]
    aged[:, :, -1] += pop[:, :, -1]
    aged[:, 0, 0] = births * female_share
    aged[:, 1, 0] = births * (1.0 - female_share)
    return aged


def residents_excluding_schemes(population: np.ndarray, talents: np.ndarray, imported: np.ndarray) -> np.ndarray:
    """Initial residents (R,2,A): the population estimate (2,A), which counts everyone living in
    Hong Kong, less the talent-scheme holders and imported workers (R,2,A) kept as stocks of their
    own, so nobody is counted twice; never below zero."""
    return np.maximum(population[None] - talents - imported, 0.0)


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


def participation_rates(base: np.ndarray, scale, trend_points_pp, female_shift: np.ndarray,
                        older_shift: np.ndarray) -> np.ndarray:
    """Participation rate by run, sex and age, in [0, 1].

    p = clip(scale x base + trend / 100 [ages 15-64] + female_shift [women 25-59]
             + older_shift [ages 60-69], 0, 1); 0 below 15.
    `scale` is a number or (R,); `trend_points_pp` (percentage points, broadcastable to (R, 2):
    per run and/or sex) is the cumulative trend (see trend_points); shifts (R,) are fractions.
    """
    runs = female_shift.shape[0]
    ages = np.arange(base.shape[1])
    working = ((ages >= ADULT) & (ages <= 64)).astype(float)
    trend = np.broadcast_to(trend_points_pp, (runs, 2))[:, :, None]
    rate = np.reshape(scale, (-1, 1, 1)) * base[None] + trend / 100.0 * working[None, None, :]
    rate = rate + female_shift[:, None, None] * (np.array([1.0, 0.0])[None, :, None]
                                                 * ((ages >= 25) & (ages <= 59))[None, None, :])
    rate = rate + older_shift[:, None, None] * ((ages >= 60) & (ages <= 69))[None, None, :]
    rate[:, :, :ADULT] = 0.0
    return np.clip(rate, 0.0, 1.0)


def labour_force(pop: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Persons in the labour force (R,): sum over sex and age of P x p."""
    return (pop * rates).sum(axis=(1, 2))


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


def talent_by_age(stock: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Talents by sex and age (R,2,A): the arrival profile (2,A) moved k years older for tenure k."""
    shifted = np.stack([shift_ages(profile, k) for k in range(stock.shape[1])])  # (K,2,A)
    return np.einsum("rk,ksa->rsa", stock, shifted)


# --- imported workers ---------------------------------------------------------------------

def contract_ending(contract_years: np.ndarray, width: int) -> np.ndarray:
    """(R, C) mask: True at the last contract year, whose holders leave at the next step."""
    return np.arange(width)[None, :] == (contract_years[:, None] - 1)


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

def retraining_placements(places: np.ndarray, completion: np.ndarray, placement: np.ndarray) -> np.ndarray:
    """Trainees placed in a job (R,): places x completion rate x placement rate."""
    return places * completion * placement


def retraining_step(active: np.ndarray, movers: np.ndarray, placements: np.ndarray, activation_share: np.ndarray,
                    exit_rate: float) -> dict[str, np.ndarray]:
    """One year of the retraining stocks (R,).

    Of the placed trainees, `activation_share` came from outside the labour force (they join
    it: `active`), the rest moved job between occupation groups (`movers`). Each stock loses
    `exit_rate` of its opening a year (people leave again or the move wears off).
    """
    activations = placements * activation_share
    moves = placements - activations
    active_exits = active * exit_rate
    mover_exits = movers * exit_rate
    return {"active": active + activations - active_exits, "movers": movers + moves - mover_exits,
            "activations": activations, "active_exits": active_exits, "moves": moves, "mover_exits": mover_exits}


# --- demand -------------------------------------------------------------------------------

def requirement(base: np.ndarray, gdp_growth: np.ndarray, productivity: np.ndarray, years_since_base: int) -> np.ndarray:
    """Manpower requirement by group (R, G): base x ((1 + gdp) / (1 + productivity_g)) ^ t.

    base, persons in the demand base year, and productivity, fractions a year, are (G,) or
    per run (R, G); gdp_growth (R,) fraction a year; t may be negative (a back-cast along the
    same trend).
    """
    factor = (1.0 + gdp_growth[:, None]) / (1.0 + np.atleast_2d(productivity))
    return np.atleast_2d(base) * factor ** years_since_base


def supply_by_group(resident_lf: np.ndarray, talent_lf: np.ndarray, imported: np.ndarray, active: np.ndarray,
                    movers: np.ndarray, shares: dict[str, np.ndarray]) -> np.ndarray:
    """Labour supply by occupation group (R, G), persons.

    resident and talent labour force split by their group shares; imported workers (R, G) as
    they are; retrained people who joined the labour force by the retraining shares; movers
    leave their groups in proportion to the resident shares and arrive by the retraining shares.
    """
    return (resident_lf[:, None] * shares["resident"][None] + talent_lf[:, None] * shares["talent"][None]
            + imported + active[:, None] * shares["retraining"][None]
            + movers[:, None] * (shares["retraining"] - shares["resident"])[None])
