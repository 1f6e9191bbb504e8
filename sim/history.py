"""The observed history, turned into what the model needs: derived flows and the initial population.

Everything here is the same for every run of a batch: history is data, so no lever, uncertainty
or draw reaches it. Three derivations, each a pure function:

- the talent and imported-worker stocks of the observed years, from the observed arrivals and
  the historical visa and contract rules;
- resident net migration by the residual method: C&SD's net movement is the change of the
  mid-year population less births plus deaths, and residents' own migration is what remains
  after one-way permits, the change in the FDH stock and the net movement of talents and
  imported workers (who are in C&SD's population but are stocks of their own here);
- the mid-base-year resident population by sex and age, by reverse survival of the mid-2021
  census-based age-sex table along cohorts through the observed flows.
"""

from __future__ import annotations

import numpy as np

from sim import flows

AGES = 101


def linear_path(points: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Values at `years` interpolated linearly between dated points, held flat outside them."""
    known = sorted(points)
    return np.interp(years, known, [points[y] for y in known])


def talent_path(arrivals: np.ndarray, extension_rate: float, first: int, renewal: int) -> dict[str, np.ndarray]:
    """Talent stock and flows over the observed years (one run), persons.

    arrivals (Y,): arrivals of each period (index 0, the base year, sets the steady-state initial
    stock). Returns stock (Y, K), departures (Y,), extensions (Y,), naturalised (Y,); flows at
    index 0 are 0.
    """
    expiring = flows.visa_expiring(np.array([first]), np.array([renewal]))
    rate = np.array([float(extension_rate)])
    stock = flows.talent_steady_state(arrivals[:1], rate, expiring)
    out = {"stock": [stock[0]], "departures": [0.0], "extensions": [0.0], "naturalised": [0.0]}
    for value in arrivals[1:]:
        step = flows.talent_step(stock, np.array([value]), rate, expiring)
        stock = step["stock"]
        out["stock"].append(stock[0])
        out["departures"].append(float(step["departures"].sum()))
        out["extensions"].append(float(step["extensions"].sum()))
        out["naturalised"].append(float(step["naturalised"][0]))
    return {k: np.array(v) for k, v in out.items()}


def imported_path(arrivals: np.ndarray, contract_years: int) -> dict[str, np.ndarray]:
    """Imported workers over the observed years (one run): stock (Y, G, C) and contract ends (Y, G)."""
    width = int(contract_years)
    years = np.array([width])
    ending = flows.contract_ending(years, width)
    stock = flows.imported_steady_state(arrivals[:1], years, width)
    stocks, ends = [stock[0]], [np.zeros(arrivals.shape[1])]
    for value in arrivals[1:]:
        step = flows.imported_step(stock, value[None], ending)
        stock = step["stock"]
        stocks.append(stock[0])
        ends.append(step["contract_ends"][0])
    return {"stock": np.array(stocks), "contract_ends": np.array(ends)}


def net_movement(population: np.ndarray, births: np.ndarray, deaths: np.ndarray) -> np.ndarray:
    """C&SD net movement by the residual method (Y,), persons/year: P_t - P_{t-1} - B_t + D_t.

    population (Y,) mid-year totals; births and deaths (Y,) of the period ending at mid-year t.
    Index 0 is 0 (no period ends at the base year).
    """
    out = np.zeros_like(population)
    out[1:] = population[1:] - population[:-1] - births[1:] + deaths[1:]
    return out


def resident_migration(movement: np.ndarray, owp: np.ndarray, fdh: np.ndarray, talent_net: np.ndarray,
                       imported_net: np.ndarray) -> np.ndarray:
    """Residents' own net migration (Y,): net movement less one-way permits, the change in the FDH
    stock, and the net movement of talents and imported workers (arrivals - departures). Index 0
    is 0."""
    out = np.zeros_like(movement)
    out[1:] = movement[1:] - owp[1:] - (fdh[1:] - fdh[:-1]) - talent_net[1:] - imported_net[1:]
    return out


def spread_bands(bands: list[tuple[int, int, float]]) -> np.ndarray:
    """Band totals -> persons by single year of age (A,), keeping every band's total.

    The density (persons per year of age) is interpolated linearly between band midpoints and
    rescaled inside each band; an open band reaching age 100 declines geometrically (x0.85 a
    year) instead, so that few reach 100.
    """
    out = np.zeros(AGES)
    closed = [(lo, hi, total) for lo, hi, total in bands if not (hi == AGES - 1 and lo >= 80)]
    mids = np.array([(lo + hi) / 2 for lo, hi, _ in closed])
    dens = np.array([total / (hi - lo + 1) for lo, hi, total in closed])
    for lo, hi, total in bands:
        ages = np.arange(lo, hi + 1)
        if hi == AGES - 1 and lo >= 80:
            weights = 0.85 ** (ages - lo)
        else:
            weights = np.interp(ages, mids, dens) if mids.size > 1 else np.ones(ages.size)
        out[lo:hi + 1] = total * weights / weights.sum()
    return out


def death_scale(pop: np.ndarray, death_prob: np.ndarray, observed: float) -> float:
    """Multiplier of the death probabilities that gives the observed number of deaths."""
    expected = float((pop * death_prob).sum())
    return observed / expected if expected > 0 else 1.0


def reverse_year(after: np.ndarray, death_prob: np.ndarray, deaths: float, migration: float, owp: float,
                 naturalised: np.ndarray, profiles: dict[str, np.ndarray]) -> np.ndarray:
    """The residents (2, A) a year earlier, given those at mid-year (`after`) and the year's flows.

    Inverts one forward step (sim.engine demography phase): after = age(P - deaths + migration
    + one-way permits + naturalised); deaths = P x q x s with s set so that the deaths add up to
    the observed count. The open age 100 is split 60/40 between those already 100 and those
    turning 100. Never below zero.
    """
    before = np.zeros_like(after)
    before[:, :-2] = after[:, 1:-1]
    before[:, -2] = 0.4 * after[:, -1]
    before[:, -1] = 0.6 * after[:, -1]
    survivors = (before - migration * profiles["resident_migration"] - owp * profiles["owp"] - naturalised)
    survivors = np.maximum(survivors, 0.0)
    pop = survivors.copy()
    for _ in range(4):  # fixed point: the death scale depends on the population it is applied to
        q = np.clip(death_prob * death_scale(pop, death_prob, deaths), 0.0, 0.9)
        pop = survivors / (1.0 - q)
    return pop
