"""History is data: the observed years come from calibration/data alone, whatever the scenario
says; the population core reproduces C&SD's estimates and the 2021 census structure; nobody is
counted twice; levers act on the future only, and monotonically."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from calibration import diagnostics
from sim import inputs as inputs_module
from sim import runner
from sim.engine import simulate
from sim.params import build
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LAST = 2024

LEVER_CHANGES = {
    "levers.talent.arrivals": "90000",
    "levers.talent.extension_rate": "0.9",
    "levers.talent.first_visa_years": "3",
    "levers.talent.renewal_visa_years": "1",
    "levers.retraining.places": "300000",
    "levers.retraining.completion_rate": "0.5",
    "levers.retraining.placement_rate": "0.95",
    "levers.retraining.activation_share": "0.8",
    "levers.retraining.placement_tied_share": "0.9",
    "levers.retraining.moves_from": "[manual]",
    "levers.retraining.trains_for": "[service]",
    "levers.importation.workers.managers_professionals": "5000",
    "levers.importation.workers.skilled_technical": "20000",
    "levers.importation.workers.service": "15000",
    "levers.importation.workers.manual": "12000",
    "levers.importation.workers.other": "4000",
    "levers.importation.contract_years": "1",
    "levers.participation.female_shift": "5",
    "levers.participation.older_shift": "5",
    "levers.participation.later_exit": "2",
}
"""One changed value for every lever path of the scenario schema (checked against the schema below)."""


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _lever_paths(model, prefix: str) -> list[str]:
    from pydantic import BaseModel

    out = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += _lever_paths(kind, f"{prefix}.{name}")
        else:
            out.append(f"{prefix}.{name}")
    return out


def test_the_lever_list_covers_every_lever_path():
    """LEVER_CHANGES names every lever of the schema, so the next test covers them all."""
    from sim.scenario import Levers

    assert sorted(LEVER_CHANGES) == sorted(_lever_paths(Levers, "levers"))


@pytest.fixture(scope="module")
def baseline_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "out"
    runner.run(load(BASELINE), out=out, charts=False)
    return out


@pytest.mark.parametrize("path", sorted(LEVER_CHANGES))
def test_set_on_any_lever_leaves_every_observed_year_unchanged(baseline_files, path, tmp_path):
    """`--set` on a lever changes nothing in any observed year of yearly.csv, occupations.csv or
    ledger.csv (byte for byte), and changes something after them (the lever is not ignored)."""
    out = tmp_path / "out"
    runner.run(load(BASELINE, (f"{path}={LEVER_CHANGES[path]}",)), out=out, charts=False)
    changed_later = False
    for name in ("yearly.csv", "occupations.csv", "ledger.csv"):
        base, new = _rows(baseline_files / name), _rows(out / name)
        assert len(base) == len(new)
        for a, b in zip(base, new):
            if int(a["year"]) <= LAST:
                assert a == b, (name, path, a["year"])
            elif a != b:
                changed_later = True
    assert changed_later, path


def test_dated_lever_in_an_observed_year_is_refused():
    """A dated value for an observed year is refused with an error naming the last observed year."""
    from sim.errors import InputError

    with pytest.raises(InputError, match="2024") as info:
        load(BASELINE, ("levers.talent.arrivals={2023: 50000, 2025: 40000}",))
    assert "levers.talent.arrivals[2023]" in str(info.value)


@pytest.fixture(scope="module")
def inputs():
    return inputs_module.load(load(BASELINE).calibration_path)


@pytest.fixture(scope="module")
def results(inputs):
    return simulate(build(load(BASELINE).scenario, inputs), inputs, ages=True)


def test_population_reproduces_csd_mid_year_estimates(results, inputs):
    """Population + FDH is within 0.5% of every chosen C&SD mid-year estimate of the observed years."""
    years = {int(y): i for i, y in enumerate(results.years)}
    total = results.metrics["population"][0] + results.metrics["fdh"][0]
    chosen = [r for r in inputs.population_rows if r["metric"] == "population" and r["chosen"] == "yes"
              and r["year"] <= LAST]
    assert [r["year"] for r in chosen] == list(range(2017, LAST + 1))
    for r in chosen:
        assert abs(total[years[r["year"]]] / r["value"] - 1) <= 0.005, r["year"]


def test_census_structure_by_band_and_sex(results, inputs):
    """Population (incl. FDH) by sex and census band in mid-2021 within 3% of the census table."""
    rows = diagnostics.census_rows(results, inputs)
    assert len(rows) == 18
    for r in rows:
        assert abs(r["distance_pct"]) <= 3.0, r


def test_net_movement_is_counted_once(results, inputs):
    """In every observed year (2023-2024 included), the model's net movement (change of population +
    FDH less births plus deaths) is C&SD's, and it is made of residents' migration, one-way permits,
    the FDH change, and talents' and imported workers' net movement, each once (ledger items)."""
    m, ledger = results.metrics, results.ledger
    for i, year in enumerate(results.years[1:].tolist(), start=1):
        if year > LAST:
            break
        total = m["population"][0, i] + m["fdh"][0, i] - m["population"][0, i - 1] - m["fdh"][0, i - 1]
        movement = total - m["births"][0, i] + m["deaths"][0, i]
        assert movement == pytest.approx(inputs.history.net_movement[i], abs=1.0), year
        residents = sum(ledger[(stock, item)][0, i] for stock in ("resident_population", "child_population")
                        for item in ("resident_net_migration", "one_way_permits"))
        talents = ledger[("talent_stock", "arrivals")][0, i] + ledger[("talent_stock", "departures")][0, i]
        imported = ledger[("imported_workers", "arrivals")][0, i] + ledger[("imported_workers", "contract_ends")][0, i]
        fdh = m["fdh"][0, i] - m["fdh"][0, i - 1]
        assert residents + talents + imported + fdh == pytest.approx(movement, abs=1.0), year
        # the derived resident migration excludes talents and imported workers (no double count)
        assert ledger[("resident_population", "resident_net_migration")][0, i] + \
            ledger[("child_population", "resident_net_migration")][0, i] == \
            pytest.approx(inputs.history.resident_migration[i], abs=1.0), year


def test_births_follow_fertility_after_the_observed_years(results, inputs):
    """Observed births in the observed years; after them births = TFR x women's fertility-weighted
    count (births_at_tfr1), with the calibrated TFR path."""
    m = results.metrics
    for i, year in enumerate(results.years[1:].tolist(), start=1):
        if year <= LAST:
            assert m["births"][0, i] == inputs.history.births[i]
        else:
            tfr = np.interp(year, sorted(inputs.tfr), [inputs.tfr[y] for y in sorted(inputs.tfr)])
            assert m["births"][0, i] == pytest.approx(tfr * inputs.param("fertility_level")
                                                      * m["births_at_tfr1"][0, i], rel=1e-12)


@pytest.mark.parametrize("path, values", [
    ("levers.talent.arrivals", (35000, 65000, 95000)),
    ("levers.talent.extension_rate", (0.3, 0.51, 0.8)),
    ("levers.retraining.places", (100000, 145000, 200000)),
    ("levers.importation.workers.skilled_technical", (0, 6000, 20000)),
    ("levers.participation.female_shift", (0, 2, 4)),
    ("levers.participation.older_shift", (0, 2, 4)),
])
def test_lever_responses_are_monotone(path, values, inputs):
    """A larger lever gives a larger labour force in every projection year (never smaller), and never
    touches the observed years."""
    paths = []
    for v in values:
        scenario = load(BASELINE, (f"{path}={v}",)).scenario
        paths.append(simulate(build(scenario, inputs), inputs).metrics["labour_force"][0])
    paths = np.array(paths)
    ahead = np.arange(paths.shape[1]) > LAST - 2017
    assert (np.diff(paths[:, ahead], axis=0) >= -1e-6).all()
    assert (np.diff(paths[:, ahead][:, -1]) > 0).all()
    assert (paths[:, ~ahead] == paths[0, ~ahead]).all()


def test_baseline_migration_is_the_calibrations_csd_consistent_value(inputs):
    """The baseline's resident_net_migration is the value `simulate calibrate` derives from C&SD's
    net movement (calibration/hk.yaml resident_migration_csd), to the person."""
    stated = load(BASELINE).scenario.uncertainties.resident_net_migration.value
    assert stated == round(inputs.param("resident_migration_csd"))


def test_dated_value_on_a_single_valued_uncertainty_is_refused_in_the_scenario():
    """Only GDP growth, residents' migration and one-way permits take dated paths; a dated value on
    another uncertainty is a scenario error at its key (not a calibration error)."""
    from sim.errors import InputError

    with pytest.raises(InputError, match="single central value") as info:
        load(BASELINE, ("uncertainties.mortality_scale.value.2030=1.2",))
    assert info.value.file == "--set" and info.value.key == "uncertainties.mortality_scale.value[2030]"
