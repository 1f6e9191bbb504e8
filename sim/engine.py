"""The SimPy engine: one environment, time in years, one thin process per flow module.

Each year the clock fires the phases in the fixed order of PHASES; each process wakes on its
phase, calls the pure functions of `sim.flows`, applies the result to the batch state and
records every flow in the ledger. All arrays carry the run axis, so SimPy's overhead is paid
per year and phase, never per run. In the observed years births and deaths are the observed
counts (deaths by age from the death rates scaled to the count) and every lever holds its
historical value (sim.params); after them, births follow fertility and deaths the improving
death rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import flows
from sim.inputs import Inputs, talents_by_age
from sim.params import Params
from sim.results import Results

PHASES = ("talent", "demography", "importation", "retraining", "labour_market")
"""Order of the same-year phases: talents naturalise before the resident population ages;
the labour market reads every stock after all flows of the year."""


@dataclass
class State:
    """The batch's stocks at the current mid-year (persons unless stated)."""

    pop: np.ndarray        # (R, 2, A) residents by sex and age, excluding FDH, talents and imported workers
    talent: np.ndarray     # (R, K) talent-scheme holders by years since arrival
    imported: np.ndarray   # (R, G, C) imported workers by group and contract year
    uplift: np.ndarray     # (R, 2, A) participation added by retraining (share of each cohort)
    movers: np.ndarray     # (R,) retrained workers who moved occupation group
    rates: np.ndarray      # (R, 2, A) participation rates in force, before retraining's uplift
    required: np.ndarray   # (R, G) requirement in the demand base year (NaN before it)
    output: np.ndarray     # (R,) real output relative to the demand base year (NaN before it)


class Clock:
    """Fires one event per (step, phase), phases in PHASES order, one step a year."""

    def __init__(self, env, steps: int) -> None:
        self.env = env
        self.steps = steps
        self._events: dict[tuple[int, str], object] = {}

    def phase(self, step: int, name: str):
        """The event that starts phase `name` of year step `step` (created on first use)."""
        key = (step, name)
        if key not in self._events:
            self._events[key] = self.env.event()
        return self._events[key]

    def run(self):
        for step in range(1, self.steps):
            yield self.env.timeout(1)
            for name in PHASES:
                self.phase(step, name).succeed()
                del self._events[(step, name)]


class Model:
    """Owns the batch state and the recorder; one method per phase, each a thin step."""

    def __init__(self, params: Params, inputs: Inputs, ages: bool = False) -> None:
        self.p = params
        self.inputs = inputs
        runs = params.runs
        self.results = Results.empty(params.years, runs)
        if ages:
            self.results.population_by_age = np.full((runs, params.years.size, *inputs.population.shape), np.nan)
        self.observed = params.years <= inputs.last_observed
        h, par = inputs.history, inputs.param
        self.talent_profile = inputs.profiles["talent"]
        self.expiring = {True: flows.visa_expiring(np.full(runs, int(par("history_first_visa_years"))),
                                                   np.full(runs, int(par("history_renewal_visa_years")))),
                         False: flows.visa_expiring(params.first_visa_years, params.renewal_visa_years)}
        history_contract = int(par("history_contract_years"))
        width = max(history_contract, int(params.contract_years.max()))
        self.ending = {True: flows.contract_ending(np.full(runs, history_contract), width),
                       False: flows.contract_ending(params.contract_years, width)}
        self.exit_rate = float(par("retraining_exit_rate"))
        self.talent_rate = float(par("talent_participation"))
        self.elasticity = float(par("employment_elasticity"))
        self.drift = par("occupational_drift")
        self.drift_halflife = float(par("occupational_drift_halflife"))
        self.retraining_shares = inputs.shares["retraining"]
        self.female_share = {k: float(inputs.profiles[k][0].sum()) for k in ("talent", "imported")}
        imported = np.zeros((runs, len(inputs.shares["talent"]), width))
        imported[:, :, :h.imported_stock.shape[2]] = h.imported_stock[0]
        placed = flows.retraining_placements(params.retraining_places[:, 0], params.placement_tied_share[:, 0],
                                             params.completion_rate[:, 0], params.placement_rate[:, 0])
        activated = placed * params.activation_share[:, 0]
        pop = np.broadcast_to(inputs.population, (runs, *inputs.population.shape)).copy()
        rates = self._rates(0)
        steady = np.divide(flows.distribute(activated / self.exit_rate, inputs.profiles["trainee"]), pop,
                           out=np.zeros_like(pop), where=pop > 0)
        self.state = State(
            pop=pop,
            talent=np.broadcast_to(h.talent_stock[0], (runs, h.talent_stock.shape[1])).copy(),
            imported=imported,
            uplift=np.minimum(steady, 1.0 - rates),
            movers=(placed - activated) / self.exit_rate,
            rates=rates,
            required=np.full((runs, imported.shape[1]), np.nan),
            output=np.full(runs, np.nan),
        )
        self.year: dict[str, np.ndarray] = {}   # this year's flows, passed between phases
        self._record_stocks(0)

    def _rates(self, i: int) -> np.ndarray:
        p, inp = self.p, self.inputs
        year, last = int(p.years[i]), inp.last_observed
        points = flows.trend_points(year, inp.base_year, int(inp.param("participation_trend_break")), last,
                                    p.participation_trend_pp, p.participation_trend_late_pp, p.participation_trend)
        halflife = float(inp.param("participation_trend_halflife"))
        women = flows.damped_points(year, last, float(inp.param("participation_women_trend")), halflife)
        older = flows.damped_points(year, last, float(inp.param("participation_older_trend")), halflife)
        level = flows.participation_level(p.participation_scale, p.participation_female, p.participation_older,
                                          inp.participation.shape[1])
        rates = flows.participation_rates(inp.participation, level, points[:, None],
                                          women * p.participation_projection, older * p.participation_projection,
                                          p.female_shift[:, i], p.older_shift[:, i])
        return flows.later_exit(rates, p.later_exit[:, i])

    # --- phases -----------------------------------------------------------------------

    def talent(self, i: int) -> None:
        s, p, rec = self.state, self.p, self.results
        out = flows.talent_step(s.talent, p.talent_arrivals[:, i], p.extension_rate[:, i],
                                self.expiring[bool(self.observed[i])])
        older = flows.shift_ages(self.talent_profile, s.talent.shape[1] - 1)
        self.year["naturalised"] = flows.distribute(out["naturalised"], older)
        arrivals, departures = p.talent_arrivals[:, i], out["departures"].sum(axis=1)
        rec.ledger_row("talent_stock", i, s.talent.sum(axis=1), out["stock"].sum(axis=1),
                       arrivals=arrivals, departures=-departures, naturalisation=-out["naturalised"])
        rec.metric(i, talent_arrivals=arrivals, talent_extensions=out["extensions"].sum(axis=1),
                   talent_departures=departures, naturalisations=out["naturalised"])
        self.year["talent_departures"] = departures
        self.year["talent_naturalised"] = out["naturalised"]
        s.talent = out["stock"]

    def demography(self, i: int) -> None:
        s, p, inp, rec = self.state, self.p, self.inputs, self.results
        pop, year = s.pop, int(p.years[i])
        women = pop[:, 0, :] + talents_by_age(s.talent, self.talent_profile)[:, 0, :]  # talents' babies are residents
        at_tfr1 = flows.births(women, inp.fertility, np.ones(p.runs))
        if self.observed[i]:  # observed deaths, by age as the base rates say
            expected = (pop * inp.mortality[None]).sum(axis=(1, 2))
            q, scale = inp.mortality, np.divide(inp.history.deaths[i], expected, out=np.zeros(p.runs), where=expected > 0)
            births = np.full(p.runs, inp.history.births[i])
        else:
            anchor = int(inp.param("life_expectancy_anchor")["year"])
            improvement = (1.0 - float(inp.param("mortality_improvement"))) ** (year - anchor)
            q, scale = inp.projection_mortality * improvement, p.mortality_scale
            births = at_tfr1 * p.tfr[:, i]
        dead = flows.deaths(pop, q, scale)
        survivors = pop - dead
        moved = flows.net_migration(survivors, p.resident_net_migration[:, i], inp.profiles["resident_migration"])
        owp = flows.distribute(p.owp_arrivals[:, i], inp.profiles["owp"])
        before_ageing = survivors + moved + owp + self.year["naturalised"]
        new = flows.age_one_year(before_ageing, births, float(inp.param("birth_female_share")))
        a = flows.ADULT
        entry = before_ageing[:, :, a - 1].sum(axis=1)
        adult = lambda x: x[:, :, a:].sum(axis=(1, 2))  # noqa: E731
        child = lambda x: x[:, :, :a].sum(axis=(1, 2))  # noqa: E731
        rec.ledger_row("resident_population", i, adult(pop), adult(new), entry_at_15=entry, deaths=-adult(dead),
                       resident_net_migration=adult(moved), one_way_permits=adult(owp),
                       naturalisation=adult(self.year["naturalised"]))
        rec.ledger_row("child_population", i, child(pop), child(new), births=births, deaths=-child(dead),
                       resident_net_migration=child(moved), one_way_permits=child(owp),
                       naturalisation=child(self.year["naturalised"]), entry_at_15=-entry)
        rec.metric(i, births=births, births_at_tfr1=at_tfr1, deaths=dead.sum(axis=(1, 2)),
                   resident_net_migration=moved.sum(axis=(1, 2)))
        self.year.update(opening_pop=pop, dead=dead, moved=moved, owp=owp, before_ageing=before_ageing)
        s.pop = new

    def importation(self, i: int) -> None:
        s, rec = self.state, self.results
        out = flows.imported_step(s.imported, self.p.imported_arrivals[:, i], self.ending[bool(self.observed[i])])
        rec.ledger_row("imported_workers", i, s.imported.sum(axis=(1, 2)), out["stock"].sum(axis=(1, 2)),
                       arrivals=self.p.imported_arrivals[:, i].sum(axis=1), contract_ends=-out["contract_ends"].sum(axis=1))
        self.year["contract_ends"] = out["contract_ends"]
        self.year["imported_arrivals"] = self.p.imported_arrivals[:, i]
        s.imported = out["stock"]

    def retraining(self, i: int) -> None:
        s, p, rec = self.state, self.p, self.results
        placed = flows.retraining_placements(p.retraining_places[:, i], p.placement_tied_share[:, i],
                                             p.completion_rate[:, i], p.placement_rate[:, i])
        activations = placed * p.activation_share[:, i]
        out = flows.movers_step(s.movers, placed - activations, self.exit_rate)
        rec.ledger_row("retraining_movers", i, s.movers, out["movers"], moves=placed - activations, exits=-out["exits"])
        rec.metric(i, retraining_placements=placed, retraining_places=p.retraining_places[:, i], cost=p.cost[:, i])
        self.year["activations"] = activations
        self.year["mover_exits"] = out["exits"]
        s.movers = out["movers"]

    def labour_market(self, i: int) -> None:
        s, y, rec, inp = self.state, self.year, self.results, self.inputs
        old = np.minimum(s.rates + s.uplift, 1.0)
        base = self._rates(i)
        carried = flows.age_rates(s.uplift)
        kept = carried * (1.0 - self.exit_rate)
        uplift = flows.uplift_step(carried, self.exit_rate, y["activations"], inp.profiles["trainee"], s.pop, base)
        steps = [np.minimum(base + u, 1.0) for u in (carried, kept, uplift)]
        a = flows.ADULT
        valued = lambda x: flows.labour_force(x[:, :, a:], old[:, :, a:])  # noqa: E731
        x = y["before_ageing"][:, :, a:]
        # stayers aged a (15..100) face next year's rates at a + 1 (age 100 stays at 100)
        ahead = [np.concatenate([r[:, :, a + 1:], r[:, :, -1:]], axis=2) for r in steps]
        participation = x * (ahead[0] - old[:, :, a:])
        exits = flows.labour_force(x, ahead[1] - ahead[0])
        items = dict(entry_at_15=(y["before_ageing"][:, :, a - 1] * steps[2][:, :, a]).sum(axis=1),
                     deaths=-valued(y["dead"]), resident_net_migration=valued(y["moved"]),
                     one_way_permits=valued(y["owp"]), naturalisation=valued(y["naturalised"]),
                     participation_change=participation.sum(axis=(1, 2)),
                     retraining_activations=flows.labour_force(x, ahead[2] - ahead[1]), retraining_exits=exits)
        resident_open = flows.labour_force(y["opening_pop"], old)
        s.rates, s.uplift = base, uplift
        self._record_stocks(i)
        rec.ledger_row("resident_labour_force", i, resident_open, rec.metrics["resident_labour_force"][:, i], **items)
        tr = self.talent_rate
        rec.ledger_row("labour_force", i, rec.metrics["labour_force"][:, i - 1], rec.metrics["labour_force"][:, i],
                       **items, talent_arrivals=self.p.talent_arrivals[:, i] * tr,
                       talent_departures=-y["talent_departures"] * tr,
                       talent_naturalisation=-y["talent_naturalised"] * tr,
                       imported_arrivals=y["imported_arrivals"].sum(axis=1),
                       contract_ends=-y["contract_ends"].sum(axis=1))
        # replacement demand counts gross exits: withdrawals and emigrants age by age, not net of
        # those who start work or arrive at other ages
        withdrawals = np.minimum(participation, 0.0).sum(axis=(1, 2))
        emigrants = valued(np.minimum(y["moved"], 0.0))
        leaving = -(items["deaths"] + emigrants + withdrawals + exits)
        replacement = (leaving[:, None] * self.p.resident_shares + (y["talent_departures"] * tr)[:, None]
                       * inp.shares["talent"] + y["contract_ends"])
        required = rec.groups["requirement"]
        rec.groups["openings"][:, i] = required[:, i] - required[:, i - 1] + replacement
        self.year = {}

    # --- recording ----------------------------------------------------------------------

    def _training(self, i: int) -> np.ndarray:
        """(R, G) shares of the groups placed trainees go to in year i: the calibration's training
        shares of the groups courses train for, summing to 1."""
        train = self.retraining_shares * self.p.trains_for[:, i]
        return train / train.sum(axis=1, keepdims=True)

    def _origin(self, i: int) -> np.ndarray:
        """(R, G) shares of the groups retrained movers leave in year i: the resident shares of the
        groups they may move out of, summing to 1."""
        origin = self.p.resident_shares * self.p.moves_from[:, i]
        return origin / origin.sum(axis=1, keepdims=True)

    def _record_stocks(self, i: int) -> None:
        s, p, rec, inp = self.state, self.p, self.results, self.inputs
        effective = np.minimum(s.rates + s.uplift, 1.0)
        by_age = s.pop * s.rates
        year = int(p.years[i])
        # occupation is the cohort's: those 60+ in the demand base year keep the older workers' mix
        line = int(np.clip(flows.OLDER_AGES[0] + year - inp.demand_base_year, flows.ADULT, by_age.shape[2]))
        older_lf = by_age[:, :, line:].sum(axis=(1, 2))
        younger_lf = by_age.sum(axis=(1, 2)) - older_lf
        resident_lf = flows.labour_force(s.pop, effective)
        active = flows.labour_force(s.pop, effective - s.rates)  # people in work through retraining
        talent_lf = s.talent.sum(axis=1) * self.talent_rate
        imported = s.imported.sum(axis=2)
        # upgrading moves the requirement's shares and, alike, those of the cohorts under 60 in the
        # base year (the older ones keep their mix as they retire)
        since = flows.drift_years(year - inp.demand_base_year, self.drift_halflife)
        shares = {"resident": flows.drifted(p.resident_shares, self.drift, since), "resident_60plus": p.older_shares,
                  "talent": inp.shares["talent"], "retraining": self._training(i)}
        supply = flows.supply_by_group(younger_lf, older_lf, talent_lf, imported, active, s.movers, shares,
                                       self._origin(i))
        if year == inp.demand_base_year:
            s.required, s.output = supply + p.shortage_base, np.ones(p.runs)
        elif year > inp.demand_base_year:
            s.output = s.output * (1.0 + p.gdp_growth[:, i])
        required = flows.requirement(s.required, s.output, self.elasticity, self.drift, since)
        labour = resident_lf + talent_lf + imported.sum(axis=1)
        others = s.talent.sum(axis=1) + s.imported.sum(axis=(1, 2))
        adults = s.pop[:, :, flows.ADULT:].sum(axis=(1, 2)) + others
        fdh = inp.history.fdh[i] if self.observed[i] else float(inp.param("fdh_projection"))
        female = (s.pop[:, 0] * effective[:, 0]).sum(axis=1) + (talent_lf * self.female_share["talent"]
                                                              + imported.sum(axis=1) * self.female_share["imported"])
        rec.metric(i, labour_force=labour, resident_labour_force=resident_lf, talent_labour_force=talent_lf,
                   labour_force_female=female, labour_force_60plus=flows.labour_force(s.pop[:, :, 60:], effective[:, :, 60:]),
                   imported_workers=imported.sum(axis=1), retraining_active=active,
                   population=s.pop.sum(axis=(1, 2)) + others, fdh=np.full(p.runs, fdh), population_15plus=adults,
                   requirement=required.sum(axis=1), shortage=required.sum(axis=1) - supply.sum(axis=1),
                   talent_stock=s.talent.sum(axis=1), participation_rate=labour / adults)
        rec.group(i, supply=supply, requirement=required, shortage=required - supply)
        if rec.population_by_age is not None:
            rec.population_by_age[:, i] = (s.pop + talents_by_age(s.talent, self.talent_profile)
                                           + flows.distribute(s.imported.sum(axis=(1, 2)), inp.profiles["imported"]))


def _process(clock: Clock, model: Model, name: str):
    step = getattr(model, name)
    for i in range(1, clock.steps):
        yield clock.phase(i, name)
        step(i)


def simulate(params: Params, inputs: Inputs, ages: bool = False) -> Results:
    """Run a batch from the start year to the end year; returns the recorded Results (with
    `ages`, also the population by sex and age of every year: for small batches)."""
    import simpy

    env = simpy.Environment()
    model = Model(params, inputs, ages)
    clock = Clock(env, params.years.size)
    for name in PHASES:
        env.process(_process(clock, model, name))
    env.process(clock.run())
    env.run()
    return model.results
