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

from dataclasses import dataclass, fields

import numpy as np

try:
    from numpy._core.umath import clip as _clip  # the ufunc np.clip calls, without its Python wrapper
except ImportError:  # pragma: no cover - numpy < 2
    from numpy.core.umath import clip as _clip

from sim import flows
from sim.inputs import Inputs, talents_by_age
from sim.params import Params, take
from sim.results import KEEP_NAMES, Results, keep_names, split_keep

__all__ = ["KEEP_NAMES", "PHASES", "keep_names", "simulate", "history_shared"]

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
    """Fires one event per (step, phase), phases in PHASES order, one step a year, from step
    `first` (1: the year after the start year) to steps - 1."""

    def __init__(self, env, steps: int, first: int = 1) -> None:
        self.env = env
        self.steps = steps
        self.first = first
        self._events: dict[tuple[int, str], object] = {}

    def phase(self, step: int, name: str):
        """The event that starts phase `name` of year step `step` (created on first use)."""
        key = (step, name)
        if key not in self._events:
            self._events[key] = self.env.event()
        return self._events[key]

    def run(self):
        for step in range(self.first, self.steps):
            yield self.env.timeout(1)
            for name in PHASES:
                self.phase(step, name).succeed()
                del self._events[(step, name)]


class Batch:
    """What every batch model shares: the constants of the calibration and the initial state."""

    def __init__(self, params: Params, inputs: Inputs, width: int | None = None) -> None:
        self.p = params
        self.inputs = inputs
        runs = params.runs
        self.observed = params.years <= inputs.last_observed
        par = inputs.param
        self.talent_profile = inputs.profiles["talent"]
        self.expiring = {True: flows.visa_expiring(np.full(runs, int(par("history_first_visa_years"))),
                                                   np.full(runs, int(par("history_renewal_visa_years")))),
                         False: flows.visa_expiring(params.first_visa_years, params.renewal_visa_years)}
        history_contract = int(par("history_contract_years"))
        self.width = contract_width(params, inputs) if width is None else width
        self.ending = {True: flows.contract_ending(np.full(runs, history_contract), self.width),
                       False: flows.contract_ending(params.contract_years, self.width)}
        self.exit_rate = float(par("retraining_exit_rate"))
        self.talent_rate = float(par("talent_participation"))
        self.elasticity = float(par("employment_elasticity"))
        self.drift = par("occupational_drift")
        self.drift_halflife = float(par("occupational_drift_halflife"))
        self.retraining_shares = inputs.shares["retraining"]
        self.female_share = {k: float(inputs.profiles[k][0].sum()) for k in ("talent", "imported")}

    def initial_state(self) -> State:
        """The stocks at the start year's mid-year: the calibration's, retraining's uplift and
        movers at their steady state under the start year's places."""
        params, inputs, h = self.p, self.inputs, self.inputs.history
        runs = params.runs
        imported = np.zeros((runs, len(inputs.shares["talent"]), self.width))
        imported[:, :, :h.imported_stock.shape[2]] = h.imported_stock[0]
        placed = flows.retraining_placements(params.retraining_places[:, 0], params.placement_tied_share[:, 0],
                                             params.completion_rate[:, 0], params.placement_rate[:, 0])
        activated = placed * params.activation_share[:, 0]
        pop = np.broadcast_to(inputs.population, (runs, *inputs.population.shape)).copy()
        rates = self._rates(0)
        steady = np.divide(flows.distribute(activated / self.exit_rate, inputs.profiles["trainee"]), pop,
                           out=np.zeros_like(pop), where=pop > 0)
        return State(
            pop=pop,
            talent=np.broadcast_to(h.talent_stock[0], (runs, h.talent_stock.shape[1])).copy(),
            imported=imported,
            uplift=np.minimum(steady, 1.0 - rates),
            movers=(placed - activated) / self.exit_rate,
            rates=rates,
            required=np.full((runs, imported.shape[1]), np.nan),
            output=np.full(runs, np.nan),
        )

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


def contract_width(params: Params, inputs: Inputs) -> int:
    """Contract years the imported-worker stock holds: the longest contract, history's or a run's."""
    return max(int(inputs.param("history_contract_years")), int(params.contract_years.max()))


class Model(Batch):
    """Owns the batch state and the recorder; one method per phase, each a thin step."""

    def __init__(self, params: Params, inputs: Inputs, ages: bool = False) -> None:
        super().__init__(params, inputs)
        runs = params.runs
        self.results = Results.empty(params.years, runs)
        if ages:
            self.results.population_by_age = np.full((runs, params.years.size, *inputs.population.shape), np.nan)
        self.state = self.initial_state()
        self.year: dict[str, np.ndarray] = {}   # this year's flows, passed between phases
        self._record_stocks(0)

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
        wanted = flows.distribute(p.resident_net_migration[:, i], inp.profiles["resident_migration"])
        capped = moved - wanted
        owp = flows.distribute(p.owp_arrivals[:, i], inp.profiles["owp"])
        before_ageing = survivors + moved + owp + self.year["naturalised"]
        new = flows.age_one_year(before_ageing, births, float(inp.param("birth_female_share")))
        a = flows.ADULT
        entry = before_ageing[:, :, a - 1].sum(axis=1)
        adult = lambda x: x[:, :, a:].sum(axis=(1, 2))  # noqa: E731
        child = lambda x: x[:, :, :a].sum(axis=(1, 2))  # noqa: E731
        # the migration the scenario asks for, and what was capped because there were not that many
        # residents of an age to leave (>= 0; the stock never goes negative)
        rec.ledger_row("resident_population", i, adult(pop), adult(new), entry_at_15=entry, deaths=-adult(dead),
                       resident_net_migration=adult(wanted), migration_capped=adult(capped),
                       one_way_permits=adult(owp), naturalisation=adult(self.year["naturalised"]))
        rec.ledger_row("child_population", i, child(pop), child(new), births=births, deaths=-child(dead),
                       resident_net_migration=child(wanted), migration_capped=child(capped),
                       one_way_permits=child(owp), naturalisation=child(self.year["naturalised"]), entry_at_15=-entry)
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
    for i in range(clock.first, clock.steps):
        yield clock.phase(i, name)
        step(i)


def simulate(params: Params, inputs: Inputs, ages: bool = False, keep=None, *, chunk: int | None = None,
             block: int | None = None) -> Results:
    """Run a batch from the start year to the end year; returns the recorded Results (with
    `ages`, also the population by sex and age of every year: for small batches).

    keep=None records everything (metrics, groups, ledger). `keep`, a collection of names from
    sim.results.KEEP_NAMES (a metric, or "group:<series>"), takes the lean path: only those
    series are computed and recorded (no ledger), each bitwise equal to the full path's, the
    runs are stepped `chunk` (default LEAN_CHUNK) at a time in preallocated buffers, and when
    every run shares the inputs the observed years read (history_shared) those years are
    simulated once and broadcast. ValueError for names not in KEEP_NAMES.
    """
    if keep is None:
        if chunk is not None or block is not None:
            raise ValueError("chunk and block apply to the lean path (keep=...) only")
        model = Model(params, inputs, ages)
        _drive(model, params.years.size)
        return model.results
    metrics, groups = split_keep(keep)
    if ages:
        raise ValueError("the population by age is recorded on the full path only (keep=None)")
    return _lean(params, inputs, Needs(metrics, groups), LEAN_CHUNK if chunk is None else int(chunk),
                 LEAN_BLOCK if block is None else int(block))


def _drive(model, steps: int, first: int = 1) -> None:
    """Step `model` through years first..steps-1 with one SimPy environment."""
    import simpy

    env = simpy.Environment()
    clock = Clock(env, steps, first)
    for name in PHASES:
        env.process(_process(clock, model, name))
    env.process(clock.run())
    env.run()


# --- the lean path: only the kept outcomes ---------------------------------------------------

LEAN_CHUNK = 128
"""Runs whose (R, 2, A) stocks the lean path steps at a time: its seven (chunk, 2, 101) work
buffers and the chunk's stocks stay in a core's L2 cache (see bench/engine.py)."""
LEAN_BLOCK = 2048
"""Runs the lean path steps as one SimPy model: the per-run sub-models and the demand side step
the whole block at once (their Python overhead is paid per block, not per chunk), while the
block's stocks (about 5 KB a run) stay in the shared L3 cache."""


class Needs:
    """What a lean batch must compute for the metrics and group series it keeps."""

    def __init__(self, metrics: tuple[str, ...], groups: tuple[str, ...]) -> None:
        m, g = set(metrics), set(groups)
        self.metrics, self.groups = metrics, groups
        self.openings = "openings" in g
        self.required = bool(m & {"requirement", "shortage"} or g & {"requirement", "shortage", "openings"})
        self.supply = bool("shortage" in m or g & {"supply", "shortage"})  # and at the demand base year if required
        self.effective = self.supply or self.required or bool(m & EFFECTIVE)
        self.labour = self.effective                     # participation and retraining's uplift
        self.population = self.labour or bool(m & POPULATION)
        sums = {"resident_lf": self.effective, "active": self.supply or self.required or "retraining_active" in m,
                "older_lf": self.supply or self.required, "younger_lf": self.supply or self.required,
                "female": "labour_force_female" in m, "older_60": "labour_force_60plus" in m,
                "population": "population" in m,
                "adults": bool(m & {"population_15plus", "participation_rate"})}
        self.sums = tuple(name for name, needed in sums.items() if needed)
        """Per-run sums over sex and age of the stocks the kept series read, each year."""


EFFECTIVE = {"labour_force", "labour_force_female", "labour_force_60plus", "resident_labour_force",
             "retraining_active", "participation_rate"}
"""Metrics that read the participation in force (rates + retraining's uplift)."""
POPULATION = {"population", "population_15plus", "births", "births_at_tfr1", "deaths", "resident_net_migration"}
"""Metrics that read the resident population (and not the participation)."""

PROJECTION_ONLY = ("first_visa_years", "renewal_visa_years", "contract_years", "participation_trend",
                   "participation_projection", "mortality_scale", "tfr")
"""Params fields the observed years do not read: the projection's visa and contract lengths
(contract_years only widens the imported-worker stock with columns that hold zeros, which add
nothing to its sums), the projection's participation trends (times 0 years before the last
observed year: a finite value adds a zero), mortality scale and TFR (observed deaths and births)."""

RUN_FIELDS = ("first_visa_years", "renewal_visa_years", "contract_years", "participation_trend",
              "participation_projection", "mortality_scale", "participation_scale", "participation_female",
              "participation_older", "participation_trend_pp", "participation_trend_late_pp", "resident_shares",
              "older_shares", "shortage_base")
"""Params fields shaped (R,) or (R, G), one value a run for every year; the others are (R, Y, ...)."""


def history_shared(params: Params, inputs: Inputs) -> bool:
    """Whether every run reads bitwise the same inputs in the observed years (up to the last
    observed year), so that simulating them once for all runs gives every run's values: the
    observed-year slices of the year fields, every run field the history reads (the fitted
    participation, the occupation shares, the base-year shortage: the demand base year is
    observed) and finite projection trends (see PROJECTION_ONLY)."""
    n = int((params.years <= inputs.last_observed).sum())
    for f in fields(Params):
        if f.name == "years" or f.name in PROJECTION_ONLY:
            continue
        value = getattr(params, f.name)
        if not _same_rows(value if f.name in RUN_FIELDS else value[:, :n]):
            return False
    return all(np.isfinite(getattr(params, name)).all() for name in ("participation_trend", "participation_projection"))


def _same_rows(x: np.ndarray) -> bool:
    """Whether every run (row) of x holds bitwise the values of the first."""
    if x.shape[0] <= 1 or x.strides[0] == 0:
        return True
    bits = x.view(f"u{x.itemsize}")
    return bool((bits == bits[:1]).all())


def _lean(params: Params, inputs: Inputs, needs: Needs, chunk: int, block: int) -> Results:
    if chunk < 1 or block < 1:
        raise ValueError(f"chunk and block must be at least 1 run, not {chunk} and {block}")
    runs, steps = params.runs, params.years.size
    results = Results.kept(params.years, runs, needs.metrics, needs.groups)
    width = contract_width(params, inputs)
    calendar = Calendar(params, inputs)
    first, warm = 1, None
    observed = int((params.years <= inputs.last_observed).sum())
    if runs > 1 and observed > 1 and history_shared(params, inputs):
        # the observed years once, as a batch of one; every run continues from its state
        early = Results.kept(params.years, 1, needs.metrics, needs.groups)
        warm = Lean(take(params, slice(0, 1)), inputs, needs, width, calendar, early, chunk=1)
        _drive(warm, min(observed, steps))
        first = observed
        for name, series in results.metrics.items():
            series[:, :observed] = early.metrics[name][:, :observed]
        for name, series in results.groups.items():
            series[:, :observed] = early.groups[name][:, :observed]
        if first >= steps:
            return results
    for lo in range(0, runs, block):
        part = slice(lo, min(lo + block, runs))
        view = Results(years=params.years, metrics={k: v[part] for k, v in results.metrics.items()},
                       groups={k: v[part] for k, v in results.groups.items()})
        model = Lean(take(params, part), inputs, needs, width, calendar, view, chunk, start=warm)
        _drive(model, steps, first)
    return results


class Calendar:
    """What each year of a lean batch reads that no run changes, computed once per simulate call."""

    def __init__(self, params: Params, inputs: Inputs) -> None:
        par, last = inputs.param, inputs.last_observed
        self.later = params.later_exit.any(axis=0)   # the full path tests the whole batch, year by year
        anchor = int(par("life_expectancy_anchor")["year"])
        halflife = float(par("participation_trend_halflife"))
        self.death_prob, self.women, self.older, self.since, self.line, self.fdh = [], [], [], [], [], []
        for i, y in enumerate(params.years):
            year = int(y)
            improvement = (1.0 - float(par("mortality_improvement"))) ** (year - anchor)
            self.death_prob.append(inputs.mortality if year <= last else inputs.projection_mortality * improvement)
            self.women.append(flows.damped_points(year, last, float(par("participation_women_trend")), halflife))
            self.older.append(flows.damped_points(year, last, float(par("participation_older_trend")), halflife))
            self.since.append(flows.drift_years(year - inputs.demand_base_year, float(par("occupational_drift_halflife"))))
            line = flows.OLDER_AGES[0] + year - inputs.demand_base_year   # int(np.clip(...)) of _record_stocks
            self.line.append(min(max(line, flows.ADULT), inputs.population.shape[1]))
            self.fdh.append(inputs.history.fdh[i] if year <= last else float(par("fdh_projection")))


def _span(mask: np.ndarray) -> slice:
    """The ages from the first to the last True of `mask` (A,)."""
    where = np.flatnonzero(mask)
    return slice(int(where[0]), int(where[-1]) + 1) if where.size else slice(0, 0)


def _uniform(x: np.ndarray) -> np.ndarray:
    """(Y,) for a (R, Y, ...) field, or a 0-d bool for (R,) or (R, G): whether every run holds
    bitwise the first run's values (per year)."""
    if x.shape[0] <= 1 or x.strides[0] == 0:
        return np.ones(x.shape[1], dtype=bool) if x.ndim > 1 and x.shape[1:] != () else np.bool_(True)
    bits = x.view(f"u{x.itemsize}")
    same = bits == bits[:1]
    return same.all(axis=tuple(a for a in range(x.ndim) if a != 1)) if x.ndim > 1 else same.all()


def _at(x: np.ndarray, runs: slice) -> np.ndarray:
    """The runs `runs` of x, or x itself when it is one row for every run."""
    return x if x.shape[0] == 1 else x[runs]


SUBMODEL_INPUTS = {"talent": ("talent_arrivals", "extension_rate", "first_visa_years", "renewal_visa_years"),
                   "importation": ("imported_arrivals", "contract_years"),
                   "retraining": ("retraining_places", "placement_tied_share", "completion_rate", "placement_rate",
                                  "activation_share")}
"""The Params fields each per-run sub-model of the lean path reads: when every run of a block has
the same, the sub-model steps one run for all."""


def _row(x: np.ndarray) -> np.ndarray:
    """x, or its first run alone (broadcasting the same) when every run holds the same values."""
    return x[:1] if _same_rows(x) else x


class Lean(Batch):
    """A block of runs that computes and records only what `needs` asks for. One SimPy model
    (Model's phases, less the ledger): the per-run sub-models (talents, imported workers,
    retraining movers, the demand side) step the whole block at once; the (R, 2, A) stocks
    step `chunk` runs at a time inside the demography and labour-market phases, in preallocated
    buffers that stay in a core's cache, updated in place. Every recorded value comes from
    Model's operations in the same order, so it is bitwise the full path's. Two shortcuts keep
    the values: a spread (flows.distribute) that is the same in every run is made once as a
    (1, 2, A) row that broadcasts, and the talents' share of births is taken only at the ages
    where talents' women and fertility are both non-zero (elsewhere the full path adds 0).
    `start`: a batch of one whose state (after the observed years) every run starts from."""

    def __init__(self, params: Params, inputs: Inputs, needs: Needs, width: int, calendar: Calendar,
                 results: Results, chunk: int, start: Lean | None = None) -> None:
        super().__init__(params, inputs, width)
        self.needs, self.calendar, self.results = needs, calendar, results
        runs, ages = params.runs, inputs.population.shape[1]
        self.chunks = [slice(lo, min(lo + chunk, runs)) for lo in range(0, runs, chunk)]
        shape = (min(chunk, runs), 2, ages)
        tenures = inputs.history.talent_stock.shape[1]
        self.older_talent = flows.shift_ages(self.talent_profile, tenures - 1)
        arrived = np.stack([flows.shift_ages(self.talent_profile, k) for k in range(tenures)])  # (K, 2, A)
        self.mothers = _span((inputs.fertility > 0) & arrived[:, 0].any(axis=0))
        self.arrived_women = np.ascontiguousarray(arrived[:, 0, self.mothers])
        self.ones = np.ones(runs)
        self.naturalised = None
        self.year: dict[str, np.ndarray] = {}   # this year's flows, passed between phases
        self.sums = {name: np.empty(runs) for name in needs.sums}   # per-run sums over sex and age
        if needs.population:
            self.buffers = [np.empty(shape) for _ in range(4)]
            self.women = np.empty(shape[::2])
            self.same = {name: _uniform(getattr(params, name)) for name in ("resident_net_migration", "owp_arrivals")}
            self.same_scale = bool(_uniform(params.mortality_scale))
        if needs.labour:
            self.one = np.ones(shape)
            self.positive = np.empty(shape, dtype=bool)
            self.scaled = self._scaled()
            run_fields = ("participation_trend_pp", "participation_trend_late_pp", "participation_trend",
                          "participation_projection")
            fitted = self.scaled.shape[0] == 1 and all(_uniform(getattr(params, f)) for f in run_fields)
            self.same_rates = fitted & _uniform(params.female_shift) & _uniform(params.older_shift)
            self.same_activations = np.logical_and.reduce([_uniform(getattr(params, f)) for f in (
                "retraining_places", "placement_tied_share", "completion_rate", "placement_rate", "activation_share")])
        if needs.supply or needs.required:
            self.resident_shares = _row(params.resident_shares)
            self.older_shares = _row(params.older_shares)
        if needs.openings:
            self.replacement = np.empty((runs, len(inputs.shares["talent"])))
        # a sub-model whose inputs are the same in every run steps one run, that broadcasts
        self.one_run = take(params, slice(0, 1))
        self.rows = {name: all(_same_rows(getattr(params, f)) for f in inputs_)
                     for name, inputs_ in SUBMODEL_INPUTS.items()}
        if start is None:
            self.state = self.initial_state()
            self.requirement = None   # (R, G) the last recorded year's requirement by group, for openings
            for c in self.chunks:
                self._sum_stocks(0, c)
            self._record_stocks(0)
        else:
            s = start.state
            self.state = State(**{f.name: np.repeat(getattr(s, f.name), runs, axis=0) for f in fields(State)})
            self.requirement = None if start.requirement is None else np.repeat(start.requirement, runs, axis=0)
        s = self.state
        for name, field in (("talent", "talent"), ("importation", "imported"), ("retraining", "movers")):
            if self.rows[name] and _same_rows(getattr(s, field)):
                setattr(s, field, getattr(s, field)[:1].copy())
            else:
                self.rows[name] = False

    def _inputs(self, name: str) -> Params:
        """The params a sub-model steps with (its first run alone when it steps one row)."""
        return self.one_run if self.rows[name] else self.p

    def _scaled(self) -> np.ndarray:
        """level x base participation (R, 2, A), or (1, 2, A) when the fitted multipliers are the
        same in every run, 0 below age 15: the part of participation_rates no year changes."""
        p, inp = self.p, self.inputs
        fitted = (p.participation_scale, p.participation_female, p.participation_older)
        cut = slice(0, 1) if all(_same_rows(x) for x in fitted) else slice(None)
        level = flows.participation_level(*(x[cut] for x in fitted), inp.participation.shape[1])
        scaled = level * inp.participation[None]
        scaled[:, :, :flows.ADULT] = 0.0
        return scaled

    def _put(self, i: int, **values) -> None:
        for name, value in values.items():
            if name in self.results.metrics:
                self.results.metrics[name][:, i] = value

    @staticmethod
    def _spread(values: np.ndarray, profile: np.ndarray, out: np.ndarray, row: np.ndarray | None) -> np.ndarray:
        """flows.distribute(values, profile) into `out`, or `row` when every run has the same."""
        return row if row is not None else np.multiply(values[:, None, None], profile[None], out=out)

    @staticmethod
    def _row_of(values: np.ndarray, profile: np.ndarray, same: bool) -> np.ndarray | None:
        """flows.distribute of the first run (1, 2, A) when every run has the same value, else None."""
        return values[:1, None, None] * profile[None] if same else None

    # --- phases (Model's, less the ledger) ----------------------------------------------

    def talent(self, i: int) -> None:
        s, keep, p = self.state, self.needs.metrics, self._inputs("talent")
        expiring = self.expiring[bool(self.observed[i])]
        out = flows.talent_step(s.talent, p.talent_arrivals[:, i], p.extension_rate[:, i],
                                expiring[:1] if self.rows["talent"] else expiring)
        self.naturalised = out["naturalised"]
        if "talent_departures" in keep or self.needs.openings:
            self.year["talent_departures"] = departures = out["departures"].sum(axis=1)
            self._put(i, talent_departures=departures)
        if "talent_extensions" in keep:
            self._put(i, talent_extensions=out["extensions"].sum(axis=1))
        self._put(i, talent_arrivals=p.talent_arrivals[:, i], naturalisations=out["naturalised"])
        s.talent = out["stock"]

    def demography(self, i: int) -> None:
        if not self.needs.population:
            return
        s, p, inp, keep, y = self.state, self.p, self.inputs, self.needs.metrics, self.year
        runs, observed, q, profiles = p.runs, bool(self.observed[i]), self.calendar.death_prob[i], inp.profiles
        need_births = not observed or "births_at_tfr1" in keep
        at_tfr1 = np.empty(runs) if need_births else None
        births = np.full(runs, inp.history.births[i]) if observed else np.empty(runs)
        prob_row = None
        if not observed and self.same_scale:
            prob_row = _clip(q[None] * p.mortality_scale[:1, None, None], 0.0, 1.0)
        migration = self._row_of(p.resident_net_migration[:, i], profiles["resident_migration"],
                                 self.same["resident_net_migration"][i])
        owp_row = self._row_of(p.owp_arrivals[:, i], profiles["owp"], self.same["owp_arrivals"][i])
        naturalised_row = self._row_of(self.naturalised, self.older_talent, bool(_uniform(self.naturalised)))
        deaths = np.empty(runs) if "deaths" in keep else None
        migrants = np.empty(runs) if "resident_net_migration" in keep else None
        if self.needs.openings:
            y.update({name: np.empty(s.pop.shape) for name in ("dead", "moved", "before_ageing")})
        female_share = float(inp.param("birth_female_share"))
        for c in self.chunks:
            n = c.stop - c.start
            before, other, spare = (b[:n] for b in self.buffers[:3])
            pop = s.pop[c]
            if need_births:   # flows.births of resident women + talents' women (talents' babies are residents)
                women, m = self.women[:n], self.mothers
                np.multiply(pop[:, 0, :], inp.fertility, out=women)
                mothers = pop[:, 0, m] + np.einsum("...k,ka->...a", _at(s.talent, c), self.arrived_women)
                np.multiply(mothers, inp.fertility[m], out=women[:, m])
                at_tfr1[c] = self.ones[c] * women.sum(axis=-1)
            if observed:   # observed deaths, by age as the base rates say
                np.multiply(pop, q[None], out=before)
                expected = before.sum(axis=(1, 2))
                scale = np.divide(inp.history.deaths[i], expected, out=np.zeros(n), where=expected > 0)
            else:
                scale = p.mortality_scale[c]
                births[c] = at_tfr1[c] * p.tfr[c, i]
            if prob_row is None:                                       # flows.deaths
                prob = np.multiply(q[None], scale[:, None, None], out=spare)
                _clip(prob, 0.0, 1.0, out=prob)
            dead = np.multiply(pop, prob_row if prob_row is not None else prob, out=before)
            if deaths is not None:
                deaths[c] = dead.sum(axis=(1, 2))
            if self.needs.openings:
                y["dead"][c] = dead
            survivors = np.subtract(pop, dead, out=before)
            np.negative(survivors, out=other)                          # flows.net_migration
            moved = np.maximum(self._spread(p.resident_net_migration[c, i], profiles["resident_migration"], spare,
                                            migration), other, out=other)
            if migrants is not None:
                migrants[c] = moved.sum(axis=(1, 2))
            if self.needs.openings:
                y["moved"][c] = moved
            np.add(survivors, moved, out=before)
            np.add(before, self._spread(p.owp_arrivals[c, i], profiles["owp"], spare, owp_row), out=before)
            np.add(before, self._spread(_at(self.naturalised, c), self.older_talent, spare, naturalised_row), out=before)
            if self.needs.openings:
                y["before_ageing"][c] = before
            flows.age_one_year(before, births[c], female_share, out=pop)
        self._put(i, births=births, births_at_tfr1=at_tfr1, deaths=deaths, resident_net_migration=migrants)

    def importation(self, i: int) -> None:
        s, p = self.state, self._inputs("importation")
        ending = self.ending[bool(self.observed[i])]
        out = flows.imported_step(s.imported, p.imported_arrivals[:, i], ending[:1] if self.rows["importation"] else ending)
        self.year["contract_ends"] = out["contract_ends"]
        s.imported = out["stock"]

    def retraining(self, i: int) -> None:
        s, p = self.state, self._inputs("retraining")
        placed = flows.retraining_placements(p.retraining_places[:, i], p.placement_tied_share[:, i],
                                             p.completion_rate[:, i], p.placement_rate[:, i])
        activations = placed * p.activation_share[:, i]
        out = flows.movers_step(s.movers, placed - activations, self.exit_rate)
        self._put(i, retraining_placements=placed, retraining_places=p.retraining_places[:, i], cost=self.p.cost[:, i])
        self.year["activations"] = activations
        s.movers = out["movers"]

    def labour_market(self, i: int) -> None:
        if self.needs.labour:
            self._rate_terms(i)
        for c in self.chunks:
            if self.needs.labour:
                self._participation(i, c)
            self._sum_stocks(i, c)
        self._record_stocks(i)
        self.year = {}

    def _rate_terms(self, i: int) -> None:
        """Model._rates' terms of the year (R,) each, and the rates as one (1, 2, A) row when every
        run has the same (see _add_terms)."""
        p, inp, cal, y = self.p, self.inputs, self.calendar, self.year
        points = flows.trend_points(int(p.years[i]), inp.base_year, int(inp.param("participation_trend_break")),
                                    inp.last_observed, p.participation_trend_pp, p.participation_trend_late_pp,
                                    p.participation_trend)
        y["terms"] = (points / 100.0, (cal.women[i] * p.participation_projection) / 100.0 + p.female_shift[:, i],
                      (cal.older[i] * p.participation_projection) / 100.0 + p.older_shift[:, i])
        y["rate_row"] = None
        if self.same_rates[i]:
            y["rate_row"] = self.scaled[:1].copy()
            _add_terms(y["rate_row"], *(term[:1] for term in y["terms"]))
        y["spread_row"] = self._row_of(y["activations"], inp.profiles["trainee"], self.same_activations[i])

    def _participation(self, i: int, c: slice) -> None:
        """The year's participation rates and retraining's uplift of the runs `c`
        (Model.labour_market's state update, flows.participation_rates and flows.uplift_step)."""
        s, y, p = self.state, self.year, self.p
        n = c.stop - c.start
        kept, room, wanted, spare = (b[:n] for b in self.buffers)
        rates, uplift, pop = s.rates[c], s.uplift[c], s.pop[c]
        if self.needs.openings:
            old = np.minimum(rates + uplift, 1.0)
        if y["rate_row"] is not None:
            np.copyto(rates, y["rate_row"])
        else:
            np.copyto(rates, self.scaled if self.scaled.shape[0] == 1 else self.scaled[c])
            _add_terms(rates, *(term[c] for term in y["terms"]))
        if self.calendar.later[i]:   # as the full path: when any run of the whole batch delays exit this year
            rates[...] = flows.delayed_exit(rates, p.later_exit[c, i])
        flows.age_rates(uplift, out=kept)   # carried
        if self.needs.openings:
            carried = kept.copy()
        np.multiply(kept, 1.0 - self.exit_rate, out=kept)
        if self.needs.openings:
            kept_copy = kept.copy()
        np.subtract(1.0, rates, out=room)
        np.subtract(room, kept, out=room)
        _clip(room, 0.0, 1.0, out=room)
        spread = self._spread(_at(y["activations"], c), self.inputs.profiles["trainee"], spare, y["spread_row"])
        positive = self.positive[:n]
        np.greater(pop, 0.0, out=positive)
        if positive.all():
            np.divide(spread, pop, out=wanted)
        else:
            wanted.fill(0.0)
            np.divide(spread, pop, out=wanted, where=positive)
        np.minimum(wanted, room, out=wanted)
        np.add(kept, wanted, out=uplift)
        if self.needs.openings:
            self._replacement(c, old, carried, kept_copy)

    def _replacement(self, c: slice, old: np.ndarray, carried: np.ndarray, kept: np.ndarray) -> None:
        """Model.labour_market's replacement demand of the runs `c` (R, G): gross exits."""
        s, y, inp, p = self.state, self.year, self.inputs, self.p
        a = flows.ADULT
        steps = [np.minimum(s.rates[c] + u, 1.0) for u in (carried, kept, s.uplift[c])]
        valued = lambda x: flows.labour_force(x[:, :, a:], old[:, :, a:])  # noqa: E731
        x = y["before_ageing"][c][:, :, a:]
        ahead = [np.concatenate([r[:, :, a + 1:], r[:, :, -1:]], axis=2) for r in steps]
        participation = x * (ahead[0] - old[:, :, a:])
        exits = flows.labour_force(x, ahead[1] - ahead[0])
        deaths = -valued(y["dead"][c])
        withdrawals = np.minimum(participation, 0.0).sum(axis=(1, 2))
        emigrants = valued(np.minimum(y["moved"][c], 0.0))
        leaving = -(deaths + emigrants + withdrawals + exits)
        tr = self.talent_rate
        self.replacement[c] = (leaving[:, None] * p.resident_shares[c] + (_at(y["talent_departures"], c) * tr)[:, None]
                               * inp.shares["talent"] + _at(y["contract_ends"], c))

    def _sum_stocks(self, i: int, c: slice) -> None:
        """Model._record_stocks' sums over sex and age of the runs `c`, those the kept series need."""
        s, sums, cal = self.state, self.sums, self.calendar
        if not sums:
            return
        n = c.stop - c.start
        pop, rates = s.pop[c], s.rates[c]
        if self.needs.effective:
            effective, active_rates, by_age = (b[:n] for b in self.buffers[1:])
            np.add(rates, s.uplift[c], out=effective)
            np.minimum(effective, self.one[:n], out=effective)
            sums["resident_lf"][c] = flows.labour_force(pop, effective)
            if "active" in sums:
                np.subtract(effective, rates, out=active_rates)
                sums["active"][c] = flows.labour_force(pop, active_rates)  # people in work through retraining
            if "older_lf" in sums:
                np.multiply(pop, rates, out=by_age)
                # occupation is the cohort's: those 60+ in the demand base year keep the older workers' mix
                sums["older_lf"][c] = older = by_age[:, :, cal.line[i]:].sum(axis=(1, 2))
                sums["younger_lf"][c] = by_age.sum(axis=(1, 2)) - older
            if "female" in sums:
                sums["female"][c] = (pop[:, 0] * effective[:, 0]).sum(axis=1)
            if "older_60" in sums:
                sums["older_60"][c] = flows.labour_force(pop[:, :, 60:], effective[:, :, 60:])
        if "population" in sums:
            sums["population"][c] = pop.sum(axis=(1, 2))
        if "adults" in sums:
            sums["adults"][c] = pop[:, :, flows.ADULT:].sum(axis=(1, 2))

    def _record_stocks(self, i: int) -> None:
        """Model._record_stocks, for the kept series only, from the sums of _sum_stocks."""
        s, p, inp, needs, keep, cal, sums = (self.state, self.p, self.inputs, self.needs, self.needs.metrics,
                                             self.calendar, self.sums)
        year, runs = int(p.years[i]), p.runs
        base_year = year == inp.demand_base_year
        talent_lf = s.talent.sum(axis=1) * self.talent_rate
        imported = s.imported.sum(axis=2)
        since = cal.since[i]
        if needs.supply or (needs.required and base_year):
            training = self.retraining_shares * _row(p.trains_for[:, i])
            origin = self.resident_shares * _row(p.moves_from[:, i])
            shares = {"resident": flows.drifted(self.resident_shares, self.drift, since),
                      "resident_60plus": self.older_shares, "talent": inp.shares["talent"],
                      "retraining": training / training.sum(axis=1, keepdims=True)}
            supply = flows.supply_by_group(sums["younger_lf"], sums["older_lf"], talent_lf, imported, sums["active"],
                                           s.movers, shares, origin / origin.sum(axis=1, keepdims=True))
        if needs.required:
            if base_year:
                s.required, s.output = supply + p.shortage_base, np.ones(runs)
            elif year > inp.demand_base_year:
                s.output = s.output * (1.0 + p.gdp_growth[:, i])
            required = flows.requirement(_row(s.required), s.output, self.elasticity, self.drift, since)
            self.before, self.requirement = self.requirement, required
        values: dict[str, np.ndarray] = {}
        if {"labour_force", "participation_rate"} & set(keep):
            values["labour_force"] = sums["resident_lf"] + talent_lf + imported.sum(axis=1)
        if {"population", "population_15plus", "participation_rate"} & set(keep):
            others = s.talent.sum(axis=1) + s.imported.sum(axis=(1, 2))
            if "population" in keep:
                values["population"] = sums["population"] + others
            if "adults" in sums:
                adults = values["population_15plus"] = sums["adults"] + others
                if "participation_rate" in keep:
                    values["participation_rate"] = values["labour_force"] / adults
        if "labour_force_female" in keep:
            values["labour_force_female"] = sums["female"] + (talent_lf * self.female_share["talent"] + imported.sum(
                axis=1) * self.female_share["imported"])
        if "fdh" in keep:
            values["fdh"] = np.full(runs, cal.fdh[i])
        for name in ("imported_workers", "talent_stock", "requirement", "shortage"):
            if name in keep:
                values[name] = {"imported_workers": lambda: imported.sum(axis=1),
                                "talent_stock": lambda: s.talent.sum(axis=1),
                                "requirement": lambda: required.sum(axis=1),
                                "shortage": lambda: required.sum(axis=1) - supply.sum(axis=1)}[name]()
        self._put(i, resident_labour_force=sums.get("resident_lf"), talent_labour_force=talent_lf,
                  retraining_active=sums.get("active"), labour_force_60plus=sums.get("older_60"), **values)
        groups = self.results.groups
        if "supply" in groups:
            groups["supply"][:, i] = supply
        if "requirement" in groups:
            groups["requirement"][:, i] = required
        if "shortage" in groups:
            groups["shortage"][:, i] = required - supply
        if "openings" in groups and i > 0:
            groups["openings"][:, i] = self.requirement - self.before + self.replacement


def _add_terms(rate: np.ndarray, trend: np.ndarray, women: np.ndarray, older: np.ndarray) -> None:
    """participation_rates' terms added in place to level x base (R, 2, A): trend (R,) at working
    ages, women (R,) for women 25-59, older (R,) at ages 60-69, in its order; then clipped to [0, 1]."""
    lo, hi = flows.WORKING_AGES
    working = rate[:, :, lo:hi + 1]
    np.add(working, trend[:, None, None], out=working)
    lo, hi = flows.WOMEN_AGES
    women_rate = rate[:, 0, lo:hi + 1]
    np.add(women_rate, women[:, None], out=women_rate)
    lo, hi = flows.OLDER_AGES
    older_rate = rate[:, :, lo:hi + 1]
    np.add(older_rate, older[:, None, None], out=older_rate)
    _clip(rate, 0.0, 1.0, out=rate)
