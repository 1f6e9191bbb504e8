"""Bad calibration files and data: each is one located InputError, never a traceback or a silent run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from calibration import fit
from sim import inputs
from sim.errors import InputError
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def calib(tmp_path: Path) -> Path:
    """A private copy of calibration/ (hk.yaml, assumptions.yaml, data/) to break."""
    folder = tmp_path / "calibration"
    shutil.copytree(ROOT / "calibration", folder, ignore=shutil.ignore_patterns("report", "*.py", "__pycache__"))
    return folder


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        inputs.load(path)
    return info.value


@pytest.mark.parametrize("old,new,key,text", [
    ("value: [25, 54]", "value: 25", "parameters.fdh_age_range.value", "is not [first, last] ages"),
    ("value: 0.99\n", "value: abc\n", "parameters.fdh_female_share.value", "'abc' is not a share in [0, 1]"),
    ("value: 0.2\n", "value: 0\n", "parameters.retraining_exit_rate.value", "0 is not a share a year in [0.01, 1]"),
    ("value: 0.79\n", "value: .nan\n", "parameters.talent_participation.value", "nan is not a share in [0, 1]"),
    ("      other: -0.008", "      clerical: -0.008", "parameters.occupational_drift.value",
     "expected a mapping with one number for each of"),
    ("  parameters: [participation_scale,", "  parameters: [participation_scalex, extra,", "fit",
     "expected parameters (names), estimates"),
])
def test_bad_calibration_parameter(calib, old, new, key, text):
    """A bad value in hk.yaml names the file, the line and the parameter."""
    path = calib / "hk.yaml"
    _replace(path, old, new)
    err = _error(path)
    assert err.file == str(path) and err.key == key and text in err.message
    assert err.line is not None


@pytest.mark.parametrize("name,old,new,line,text", [
    ("profiles.csv", "2017,owp_share,female,0,14,", "2017,owp_share,female,0,120,", 2, "ages 0-120 are not within 0-100"),
    ("flows.csv", "2019,births,,53300,", "2019,births,,nan,", 3, "is not a finite number"),
    ("flows.csv", "2019,births,,53300,", "2019,births,,many,", 3, "'many' is not a number"),
    ("flows.csv", "persons/year,C&SD mid-2019 release (hk-statistics.md §2a),H,", "persons/year,x,Z,", 3,
     "confidence 'Z' is not one of H, M, L"),
])
def test_bad_data_row(calib, name, old, new, line, text):
    """A bad row in a data CSV names the file and its line."""
    path = calib / "data" / name
    _replace(path, old, new)
    err = _error(calib / "hk.yaml")
    assert err.file == str(path) and err.line == line and text in err.message


@pytest.mark.parametrize("name,old,new,text", [
    ("occupations.csv", "year,metric,occupation,", "year,metric,group,", "needs one row for each of"),
    ("population_sex_2021.csv", "year,metric,sex,", "year,metric,gender,", "sex None is not one of female, male"),
    ("occupations.csv", "2023,resident_share,managers_professionals,0.446", "2023,resident_share,managers_professionals,0.8",
     "resident_share sums to 1.354000"),
    ("participation.csv", "2017,participation_rate,male,15,19,0.1,", "2017,participation_rate,male,15,19,7,",
     "expected participation rates in [0, 1]"),
    ("mortality.csv", "2017,death_rate,male,0,0,0.001828,", "2017,death_rate,male,0,0,-0.1,",
     "expected death rates per person-year in [0, 10]"),
    ("year,metric", "year,metric", "year,metric", ""),
])
def test_bad_data_file(calib, name, old, new, text):
    """Structurally bad data files (missing key columns, shares not summing to 1, rates out of range) are refused."""
    if name == "year,metric":  # not UTF-8
        path = calib / "data" / "flows.csv"
        path.write_bytes(path.read_bytes() + b"\xff\xfe")
        text = "cannot read the file as UTF-8 text"
    else:
        path = calib / "data" / name
        _replace(path, old, new)
    err = _error(calib / "hk.yaml")
    assert err.file == str(path) and text in err.message


def _problem(calib: Path):
    scenario = load(ROOT / "scenarios" / "baseline.yaml").scenario
    return fit.problem(calib / "assumptions.yaml", scenario)


@pytest.mark.parametrize("old,new,line,text", [
    ("2024,labour_force_female,", "2024,labour_force_femal,", 8, "metric 'labour_force_femal' is not one of"),
    ("2023,labour_force,3500000,70000,", "2030,labour_force,3500000,70000,", 6,
     "year 2030 is outside the model's years 2017-2024"),       # targets are observed years only
    ("2023,labour_force,3500000,70000,", "2023,labour_force,3500000,0,", 6, "tolerance is not a number > 0"),
    ("2023,labour_force,3500000,70000,", "2023,labour_force,3500000,,", 6, "tolerance is not a number > 0"),
    ("2023,labour_force,3500000,70000,", "2023,labour_force,3500000,abc,", 6, "tolerance is not a number > 0"),
    ("persons,LWB MP2023 press release 14 Nov 2024,H,yes", "persons,LWB,H,maybe", 6,
     "chosen 'maybe' is not yes or no"),
])
def test_bad_target_row(calib, old, new, line, text):
    """A target the fit cannot use names targets.csv and its line."""
    path = calib / "data" / "targets.csv"
    _replace(path, old, new)
    with pytest.raises(InputError) as info:
        _problem(calib)
    assert info.value.file == str(path) and info.value.line == line and text in info.value.message


@pytest.mark.parametrize("old,new,key,text", [
    ("  participation_scale:\n    initial: 1.0", "  talent_participation:\n    initial: 1.0", "free.talent_participation",
     "the fit cannot vary this parameter"),
    ("    lower: 0.8\n    upper: 1.2", "    lower: 1.2\n    upper: 0.8", "free.participation_scale",
     "expected lower < upper"),
])
def test_bad_free_parameter(calib, old, new, key, text):
    """A free parameter the fit does not know, or with inconsistent bounds, is refused."""
    path = calib / "assumptions.yaml"
    _replace(path, old, new)
    with pytest.raises(InputError) as info:
        _problem(calib)
    assert info.value.key == key and text in info.value.message and info.value.line is not None


def test_calibrate_rebuilds_a_missing_calibrated_file(tmp_path):
    """`simulate calibrate` works when hk.yaml does not exist yet (it is what it writes)."""
    from click.testing import CliRunner

    from cli import main

    folder = tmp_path / "repo"
    shutil.copytree(ROOT / "calibration", folder / "calibration", ignore=shutil.ignore_patterns("report", "__pycache__"))
    shutil.copytree(ROOT / "scenarios", folder / "scenarios")
    (folder / "calibration" / "hk.yaml").unlink()
    result = CliRunner().invoke(main, ["calibrate", "--assumptions", str(folder / "calibration" / "assumptions.yaml"),
                                       "--scenario", str(folder / "scenarios" / "baseline.yaml"),
                                       "--out", str(folder / "calibration" / "hk.yaml"), "--date", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert (folder / "calibration" / "hk.yaml").read_bytes() == (ROOT / "calibration" / "hk.yaml").read_bytes()


@pytest.mark.parametrize("old,new,line,text", [
    ("2020,births,,45000,", "2020,birth,,45000,", 4, "metric 'birth' is not one of"),
    ("2021,births,,37000,", "2020,births,,37000,", 5, "a second births row for 2020"),
    ("2021,births,,37000,", "2030,births,,37000,", None, "births has no row for [2021, 2026, 2027, 2028, 2029]"),
    ("2019,imported_arrivals,service,", "2019,imported_arrivals,cooks,", 48, "occupation 'cooks' is not one of"),
])
def test_flows_file_is_complete_and_unambiguous(calib, old, new, line, text):
    """flows.csv: known metrics only, one row per metric and year, and no missing years in a series."""
    path = calib / "data" / "flows.csv"
    _replace(path, old, new)
    err = _error(calib / "hk.yaml")
    assert err.file == str(path) and err.line == line and text in err.message


@pytest.mark.parametrize("old,new,key,text", [
    ("  participation_trend_break:\n    value: 2019", "  participation_trend_break:\n    value: 2019.7",
     "parameters.participation_trend_break.value", "2019.7 is not a whole year"),
    ("  parameters: [participation_scale,", "  parameters: [talent_participation,", "fit.parameters",
     "unknown fitted parameter(s) talent_participation"),
])
def test_calibrated_file_fields_are_checked(calib, old, new, key, text):
    """Year parameters must be whole years; the fit record may only name parameters the draws know."""
    path = calib / "hk.yaml"
    _replace(path, old, new)
    err = _error(path)
    assert err.key == key and text in err.message


def test_observed_series_must_cover_every_observed_year(calib):
    """A flows series that stops before the last observed year is refused, naming the missing year and 2024."""
    path = calib / "data" / "flows.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(("2024,births,", "2025,births,"))),
                    encoding="utf-8")
    err = _error(calib / "hk.yaml")
    assert err.file == str(path) and "births has no row for [2024]" in err.message
    assert "the calibration's last observed year is 2024" in err.message


def _scenario_on(calib: Path, tmp_path: Path) -> Path:
    scenario = tmp_path / "s.yaml"
    scenario.write_text((ROOT / "scenarios" / "baseline.yaml").read_text().replace(
        "../calibration/hk.yaml", str(calib / "hk.yaml")))
    return scenario


def test_trend_years_and_demand_base_year_must_fit_the_scenario(calib, tmp_path):
    """A demand base year or trend break year outside the observed years is refused before running
    (it would move every result)."""
    from sim import runner

    _replace(calib / "hk.yaml", "demand_base_year: 2023", "demand_base_year: 2050")
    with pytest.raises(InputError) as info:
        runner.prepare(load(_scenario_on(calib, tmp_path)))
    assert info.value.key == "demand_base_year" and "2050 is not an observed year 2017-2024" in str(info.value)
    _replace(calib / "hk.yaml", "demand_base_year: 2050", "demand_base_year: 2023")
    _replace(calib / "hk.yaml", "  participation_trend_break:\n    value: 2019", "  participation_trend_break:\n    value: 2030")
    with pytest.raises(InputError) as info:
        runner.prepare(load(_scenario_on(calib, tmp_path)))
    assert info.value.key == "parameters.participation_trend_break.value"
    assert "2030 is not an observed year 2017-2024" in str(info.value)


def test_calibrate_writes_nothing_when_the_file_cannot_be_written(tmp_path):
    """If the calibrated file cannot be written, neither it nor the report appears (exit 2, one line)."""
    from click.testing import CliRunner

    from cli import main

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["calibrate", "--out", str(blocker / "hk.yaml"), "--report",
                                       str(tmp_path / "rep"), "--date", "2026-11-22"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "cannot write the file" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
