"""Before a run: does the scenario fit its calibration? One check shared by run, validate,
compare and sweep, light enough for `simulate validate` (no engine, no charts, no scipy.stats)."""

from __future__ import annotations

from sim.errors import InputError
from sim.inputs import Inputs
from sim.inputs import load as load_inputs
from sim.occupation import OCCUPATIONS
from sim.params import build
from sim.scenario import Loaded


def prepare(loaded: Loaded, inputs: Inputs | None = None) -> Inputs:
    """Load the scenario's calibration (or take `inputs`, already loaded from the same file) and
    check that the two fit together (InputError if not)."""
    inputs = load_inputs(loaded.calibration_path) if inputs is None else inputs
    start = loaded.scenario.years.start
    if start != inputs.base_year:
        file, line = loaded.where("years", "start")
        raise InputError(file, f"{start} differs from the calibration's base year {inputs.base_year}; "
                         f"the model starts from the calibration's initial stocks", line=line, key="years.start")
    years = range(start, loaded.scenario.years.end + 1)
    if loaded.last_observed is not None and loaded.last_observed != inputs.last_observed:
        raise InputError(loaded.calibration_path, f"last observed year {inputs.last_observed} differs from the "
                         f"{loaded.last_observed} the scenario was read with", key="last_observed_year")
    if not inputs.base_year <= inputs.param("participation_trend_break") <= inputs.last_observed:
        raise InputError(loaded.calibration_path, f"{inputs.param('participation_trend_break'):g} is not an observed "
                         f"year {inputs.base_year}-{inputs.last_observed}", key="parameters.participation_trend_break.value")
    if inputs.demand_base_year not in years:
        raise InputError(loaded.calibration_path, f"{inputs.demand_base_year} is outside the scenario's years "
                         f"{start}-{years.stop - 1}", key="demand_base_year")
    _check_groups(loaded, inputs)
    try:
        build(loaded.scenario, inputs)
    except ValueError as exc:
        raise InputError(loaded.calibration_path, str(exc)) from None
    return inputs


def _check_groups(loaded: Loaded, inputs: Inputs) -> None:
    """Group choices the calibration can act on: courses train for a group with a training share,
    and a shortage-split error only on a group whose 2023 shortage is assumed (not published)."""
    scenario = loaded.scenario
    trains = scenario.levers.retraining.trains_for
    if trains is not None and not any(inputs.shares["retraining"][OCCUPATIONS.index(g)] > 0 for g in trains):
        file, line = loaded.where("levers", "retraining", "trains_for")
        raise InputError(file, f"the calibration's courses train for none of {', '.join(trains)} (training share 0); "
                         "name at least one of " + ", ".join(g for k, g in enumerate(OCCUPATIONS)
                                                              if inputs.shares["retraining"][k] > 0),
                         line=line, key="levers.retraining.trains_for")
    split = scenario.uncertainties.shortage_split
    for k, g in enumerate(OCCUPATIONS):
        if not inputs.shortage_assumed[k] and split.central(g) != 0:
            file, line = loaded.where("uncertainties", "shortage_split", "value", g)
            raise InputError(file, f"{g}'s 2023 shortage is published (MP2023), so it has no error; expected 0",
                             line=line, key=f"uncertainties.shortage_split.value.{g}")


