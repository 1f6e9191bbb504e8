"""Shared fixtures: the baseline scenario and its calibrated inputs, and builders of small
synthetic inputs / parameters for closed-form tests. Nothing here writes to the repository."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sim.inputs  # noqa: E402
import sim.params  # noqa: E402
import sim.scenario  # noqa: E402
from sim.inputs import AGES, Inputs  # noqa: E402
from sim.params import Params  # noqa: E402

BASELINE_PATH = ROOT / "scenarios" / "baseline.yaml"

# Hypothesis keeps a cache (.hypothesis/) in the working directory; keep it out of the repository.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    import hypothesis.configuration

    _HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="hypothesis-")
    hypothesis.configuration.set_hypothesis_home_dir(_HYPOTHESIS_HOME)
    atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)

# Params fields with a (R, Y) layout (imported_arrivals is (R, Y, G)); the rest are (R,).
PER_YEAR = ("talent_arrivals", "extension_rate", "retraining_places", "placement_tied_share", "completion_rate",
            "placement_rate", "activation_share", "female_shift", "older_shift", "resident_net_migration", "owp_arrivals",
            "gdp_growth", "tfr")


@pytest.fixture(scope="session")
def baseline():
    """The loaded baseline scenario (sim.scenario.Loaded)."""
    return sim.scenario.load(BASELINE_PATH)


@pytest.fixture(scope="session")
def inputs(baseline) -> Inputs:
    """The calibrated inputs the baseline points to."""
    return sim.inputs.load(baseline.calibration_path)


@pytest.fixture(scope="session")
def baseline_params(baseline, inputs) -> Params:
    """Baseline parameters for a batch of one run."""
    return sim.params.build(baseline.scenario, inputs, runs=1)


def synthetic_inputs(base: Inputs, *, q: float | None = None, rate: float | None = None,
                     population: np.ndarray | None = None, children: bool = True, **params) -> Inputs:
    """Calibrated inputs with simple replacements for closed-form tests.

    q: the same death probability at every age and sex; rate: the same participation rate at
    every age 15+ (participation_scale set to 1, trend to 0 unless given in `params`);
    population: (2, 101) replacement; children=False zeroes ages 0-14; `params`: overrides of
    calibrated parameters (e.g. participation_trend=0.0). q also sets the projection's death
    probabilities (no improvement).
    """
    changes: dict = {}
    if q is not None:
        changes["mortality"] = changes["projection_mortality"] = np.full((2, AGES), float(q))
        params = {"mortality_improvement": 0.0, **params}
    if rate is not None:
        part = np.full((2, AGES), float(rate))
        part[:, :15] = 0.0
        changes["participation"] = part
        params = {"participation_scale": 1.0, "participation_female": 1.0, "participation_older": 1.0,
                  "participation_trend": 0.0, "participation_trend_covid": 0.0, "participation_women_trend": 0.0,
                  "participation_older_trend": 0.0, **params}
    pop = (base.population if population is None else np.asarray(population, dtype=float)).copy()
    if not children:
        pop[:, :15] = 0.0
    changes["population"] = pop
    changes["params"] = {**base.params, **params}
    return replace(base, **changes)


def quiet_params(params: Params) -> Params:
    """`params` with every flow lever switched off in every year (observed years too: a test batch,
    not a scenario): no births after the observed years, no migration, one-way permits, talents,
    imported workers or retraining; no
    participation shifts and no trend in any period, participation multipliers 1 (the base profile
    as it is); mortality scale 1; GDP growth and TFR unchanged."""
    runs = params.runs
    zeros = np.zeros_like(params.talent_arrivals)
    return replace(params, talent_arrivals=zeros.copy(), retraining_places=zeros.copy(),
                   imported_arrivals=np.zeros_like(params.imported_arrivals), female_shift=zeros.copy(),
                   older_shift=zeros.copy(), resident_net_migration=zeros.copy(), owp_arrivals=zeros.copy(),
                   participation_trend=np.zeros(runs), participation_projection=np.zeros(runs),
                   mortality_scale=np.ones(runs), participation_scale=np.ones(runs),
                   participation_female=np.ones(runs), participation_older=np.ones(runs),
                   participation_trend_pp=np.zeros(runs), participation_trend_late_pp=np.zeros(runs),
                   tfr=np.zeros_like(params.tfr))


def quiet_inputs(base: Inputs) -> Inputs:
    """Inputs whose observed history brings nothing: no talents, imported workers, retraining,
    births or deaths in any observed year (for closed-form and zero-flow tests)."""
    h = base.history
    history = replace(h, births=np.zeros_like(h.births), deaths=np.zeros_like(h.deaths),
                      talent_stock=np.zeros_like(h.talent_stock), imported_stock=np.zeros_like(h.imported_stock))
    return replace(base, history=history)


def first_years(params: Params, n: int) -> Params:
    """`params` cut to its first n years."""
    cut = {f.name: getattr(params, f.name)[:, :n] for f in fields(Params)
           if f.name in PER_YEAR + ("imported_arrivals", "moves_from")}
    return replace(params, years=params.years[:n], **cut)


@pytest.fixture(scope="session")
def make_inputs(inputs):
    """Builder of synthetic Inputs from the calibrated ones: make_inputs(q=0.01, rate=0.6, children=False)."""
    return lambda **kw: synthetic_inputs(inputs, **kw)
