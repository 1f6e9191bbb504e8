"""The SimPy engine: one environment, time in years, one thin process per flow module.

Each year the clock fires the phases in the fixed order of PHASES; each process wakes on its
phase, calls the pure functions of `sim.flows`, applies the result to the batch state and
records every flow in the ledger. All arrays carry the run axis, so SimPy's overhead is paid
per year and phase, never per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import flows
from sim.inputs import Inputs
from sim.params import Params
from sim.results import Results

PHASES = ("talent", "demography", "importation", "retraining", "labour_market")
"""Order of the same-year phases: talents naturalise before the resident population ages;
the labour market reads every stock after all flows of the year."""


@dataclass
class State:
    """The batch's stocks at the current mid-year (persons)."""

    pop: np.ndarray        # (R, 2, A) residents by sex and age, excluding FDH
    talent: np.ndarray     # (R, K) talent-scheme holders by years since arrival
    imported: np.ndarray   # (R, G, C) imported workers by group and contract year
    active: np.ndarray     # (R,) retrained people who joined the labour force
    movers: np.ndarray     # (R,) retrained workers who moved occupation group
    rates: np.ndarray      # (R, 2, A) participation rates in force


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

    def __init__(self, params: Params, inputs: Inputs) -> None:
        self.p = params
        self.inputs = inputs
        self.results = Results.empty(params.years, params.runs)
        self.talent_profile = inputs.profiles["talent"]
        self.expiring = flows.visa_expiring(params.first_visa_years, params.renewal_visa_years)
        width = int(params.contract_years.max())
        self.ending = flows.contract_ending(params.contract_years, width)
        self.exit_rate = float(inputs.param("retraining_exit_rate"))
        self.talent_rate = float(inputs.param("talent_participation"))
        placements = flows.retraining_placements(params.retraining_places[:, 0], params.completion_rate[:, 0],
                                                 params.placement_rate[:, 0])
        activated = placements * params.activation_share[:, 0]
        talent = flows.talent_steady_state(params.talent_arrivals[:, 0], params.extension_rate[:, 0], self.expiring)
        imported = flows.imported_steady_state(params.imported_arrivals[:, 0], params.contract_years, width)
        self.state = State(
            pop=flows.residents_excluding_schemes(inputs.population, flows.talent_by_age(talent, self.talent_profile),
                                                  flows.distribute(imported.sum(axis=(1, 2)),
                                                                   inputs.profiles["imported"])),
            talent=talent,
            imported=imported,
            active=activated / self.exit_rate,
            movers=(placements - activated) / self.exit_rate,
            rates=self._rates(0),
        )
        self.year: dict[str, np.ndarray] = {}   # this year's flows, passed between phases
        self._record_stocks(0)

    def _rates(self, i: int) -> np.ndarray:
        p, inp = self.p, self.inputs
        points = flows.trend_points(int(p.years[i]), inp.base_year, int(inp.param("participation_trend_break")),
                                    int(inp.param("participation_trend_end")), p.participation_trend_pp,
                                    p.participation_trend_late_pp, p.participation_trend)
        return flows.participation_rates(inp.participation, p.participation_scale, points[:, None],
                                         p.female_shift[:, i], p.older_shift[:, i])

    # --- phases -----------------------------------------------------------------------

    def talent(self, i: int) -> None:
        s, p, rec = self.state, self.p, self.results
        out = flows.talent_step(s.talent, p.talent_arrivals[:, i], p.extension_rate[:, i], self.expiring)
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
        pop = s.pop
        dead = flows.deaths(pop, inp.mortality, p.mortality_scale)
        survivors = pop - dead
        moved = flows.net_migration(survivors, p.resident_net_migration[:, i], inp.profiles["resident_migration"])
        owp = flows.distribute(p.owp_arrivals[:, i], inp.profiles["owp"])
        before_ageing = survivors + moved + owp + self.year["naturalised"]
        new = flows.age_one_year(before_ageing, p.births[:, i], float(inp.param("birth_female_share")))
        a = flows.ADULT
        entry = before_ageing[:, :, a - 1].sum(axis=1)
        adult = lambda x: x[:, :, a:].sum(axis=(1, 2))  # noqa: E731
        child = lambda x: x[:, :, :a].sum(axis=(1, 2))  # noqa: E731
        rec.ledger_row("resident_population", i, adult(pop), adult(new), entry_at_15=entry, deaths=-adult(dead),
                       resident_net_migration=adult(moved), one_way_permits=adult(owp),
                       naturalisation=adult(self.year["naturalised"]))
        rec.ledger_row("child_population", i, child(pop), child(new), births=p.births[:, i], deaths=-child(dead),
                       resident_net_migration=child(moved), one_way_permits=child(owp),
                       naturalisation=child(self.year["naturalised"]), entry_at_15=-entry)
        self.year.update(opening_pop=pop, dead=dead, moved=moved, owp=owp, before_ageing=before_ageing)
        s.pop = new

    def importation(self, i: int) -> None:
        s, rec = self.state, self.results
        out = flows.imported_step(s.imported, self.p.imported_arrivals[:, i], self.ending)
        rec.ledger_row("imported_workers", i, s.imported.sum(axis=(1, 2)), out["stock"].sum(axis=(1, 2)),
                       arrivals=self.p.imported_arrivals[:, i].sum(axis=1), contract_ends=-out["contract_ends"].sum(axis=1))
        self.year["contract_ends"] = out["contract_ends"]
        self.year["imported_arrivals"] = self.p.imported_arrivals[:, i]
        s.imported = out["stock"]

    def retraining(self, i: int) -> None:
        s, p, rec = self.state, self.p, self.results
        placed = flows.retraining_placements(p.retraining_places[:, i], p.completion_rate[:, i], p.placement_rate[:, i])
        out = flows.retraining_step(s.active, s.movers, placed, p.activation_share[:, i], self.exit_rate)
        rec.ledger_row("retraining_active", i, s.active, out["active"], activations=out["activations"],
                       exits=-out["active_exits"])
        rec.ledger_row("retraining_movers", i, s.movers, out["movers"], moves=out["moves"], exits=-out["mover_exits"])
        rec.metric(i, retraining_placements=placed)
        self.year.update(activations=out["activations"], active_exits=out["active_exits"])
        s.active, s.movers = out["active"], out["movers"]

    def labour_market(self, i: int) -> None:
        s, y, rec = self.state, self.year, self.results
        old, new = s.rates, self._rates(i)
        a = flows.ADULT
        valued = lambda x: (x[:, :, a:] * old[:, :, a:]).sum(axis=(1, 2))  # noqa: E731
        x = y["before_ageing"]
        # stayers aged a (15..100) face rate new[a+1] next year (age 100 stays at 100)
        next_rate = np.concatenate([new[:, :, a + 1:], new[:, :, -1:]], axis=2)
        change_by_age = x[:, :, a:] * (next_rate - old[:, :, a:])
        participation_change = change_by_age.sum(axis=(1, 2))
        items = dict(entry_at_15=(x[:, :, a - 1] * new[:, :, a]).sum(axis=1),
                     deaths=-valued(y["dead"]), resident_net_migration=valued(y["moved"]),
                     one_way_permits=valued(y["owp"]), naturalisation=valued(y["naturalised"]),
                     participation_change=participation_change)
        resident_open = flows.labour_force(y["opening_pop"], old)
        resident_close = flows.labour_force(s.pop, new)
        rec.ledger_row("resident_labour_force", i, resident_open, resident_close, **items)
        s.rates = new
        self._record_stocks(i)
        tr = self.talent_rate
        rec.ledger_row("labour_force", i, rec.metrics["labour_force"][:, i - 1], rec.metrics["labour_force"][:, i],
                       **items, talent_arrivals=self.p.talent_arrivals[:, i] * tr,
                       talent_departures=-y["talent_departures"] * tr,
                       talent_naturalisation=-y["talent_naturalised"] * tr,
                       imported_arrivals=y["imported_arrivals"].sum(axis=1),
                       contract_ends=-y["contract_ends"].sum(axis=1),
                       retraining_activations=y["activations"], retraining_exits=-y["active_exits"])
        shares = self.inputs.shares
        # replacement demand counts gross exits: withdrawals and emigrants age by age, not net of
        # those who start work or arrive at other ages
        withdrawals = np.minimum(change_by_age, 0.0).sum(axis=(1, 2))
        emigrants = valued(np.minimum(y["moved"], 0.0))
        exits = -(items["deaths"] + emigrants + withdrawals)
        replacement = (exits[:, None] * shares["resident"] + (y["talent_departures"] * tr)[:, None] * shares["talent"]
                       + y["contract_ends"] + y["active_exits"][:, None] * shares["retraining"])
        rec.groups["openings"][:, i] = rec.groups["requirement"][:, i] - rec.groups["requirement"][:, i - 1] + replacement
        self.year = {}

    # --- recording ----------------------------------------------------------------------

    def _record_stocks(self, i: int) -> None:
        s, p, rec, inp = self.state, self.p, self.results, self.inputs
        resident_lf = flows.labour_force(s.pop, s.rates)
        talent_lf = s.talent.sum(axis=1) * self.talent_rate
        imported = s.imported.sum(axis=2)
        supply = flows.supply_by_group(resident_lf, talent_lf, imported, s.active, s.movers, inp.shares)
        required = flows.requirement(p.requirement_base, p.gdp_growth, p.productivity_growth,
                                     int(p.years[i]) - inp.demand_base_year)
        labour = resident_lf + talent_lf + imported.sum(axis=1) + s.active
        adults = s.pop[:, :, flows.ADULT:].sum(axis=(1, 2))
        rec.metric(i, labour_force=labour, resident_labour_force=resident_lf, talent_labour_force=talent_lf,
                   imported_workers=imported.sum(axis=1), retraining_active=s.active,
                   population_15plus=adults, requirement=required.sum(axis=1),
                   shortage=required.sum(axis=1) - supply.sum(axis=1), talent_stock=s.talent.sum(axis=1),
                   participation_rate=resident_lf / adults)
        rec.group(i, supply=supply, requirement=required, shortage=required - supply)


def _process(clock: Clock, model: Model, name: str):
    step = getattr(model, name)
    for i in range(1, clock.steps):
        yield clock.phase(i, name)
        step(i)


def simulate(params: Params, inputs: Inputs) -> Results:
    """Run a batch from the start year to the end year; returns the recorded Results."""
    import simpy

    env = simpy.Environment()
    model = Model(params, inputs)
    clock = Clock(env, params.years.size)
    for name in PHASES:
        env.process(_process(clock, model, name))
    env.process(clock.run())
    env.run()
    return model.results
