"""Scenario loading: every class of bad input is rejected with a located InputError, and the
good paths (extends overlays, --set overrides, a frozen result) behave as documented.

Every scenario here is written into tmp_path; the repository is only read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import sim.yamldoc
from sim.errors import InputError
from sim.scenario import Scenario, load

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration" / "hk.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"

# A small valid scenario in block style, so that every key sits on its own line.
VALID = f"""\
name: probe
description: a small valid scenario for tests
years:
  start: 2017
  end: 2035
calibration: {json.dumps(str(CALIBRATION))}
seed: 7
levers:
  talent:
    arrivals:
      2025: 30000
      2026: 35000
    extension_rate: 0.5
  retraining:
    places: 130000
uncertainties:
  gdp_growth: {{value: 0.032}}
  resident_net_migration: {{value: -30000}}
targets:
  admission:
    metric: talent_arrivals
    min: 35000
    years: [2025, 2030]
"""
LAST_OBSERVED = 2024  # calibration/hk.yaml: levers and uncertainties apply from 2025


# --- helpers -------------------------------------------------------------------------------

def write(folder: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def edit(old: str, new: str, text: str = VALID) -> str:
    """`text` with the single occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the template"
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based number of the line holding the nth occurrence of `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} occurs {len(hits)} times"
    return hits[nth - 1]


def expect_error(path, *, file, line, key, text, overrides=()) -> InputError:
    """load(path, overrides) raises an InputError located exactly at file:line, key, with `text`."""
    with pytest.raises(InputError) as info:
        load(path, tuple(overrides))
    err = info.value
    assert err.file == str(file), str(err)
    assert err.line == line, str(err)
    assert err.key == key, str(err)
    assert text in err.message, str(err)
    where = str(file) if line is None else f"{file}:{line}"
    assert str(err) == (f"{where}: {key}: {err.message}" if key else f"{where}: {err.message}")
    return err


# --- the template itself --------------------------------------------------------------------

def test_template_is_valid(tmp_path):
    """The test template loads, so each bad-input test below fails for its one change only."""
    loaded = load(write(tmp_path, VALID))
    assert loaded.scenario.name == "probe"
    assert loaded.calibration_path == CALIBRATION.resolve()


def test_shipped_baseline_loads():
    """The shipped baseline scenario is valid and finds its calibration relative to itself."""
    loaded = load(BASELINE)
    assert loaded.scenario.name == "baseline"
    assert loaded.calibration_path == CALIBRATION.resolve()


# --- YAML-level problems (sim.yamldoc) -------------------------------------------------------

def test_yaml_syntax_error(tmp_path):
    """A YAML syntax error names the file and the line of the fault."""
    text = edit("seed: 7", "seed: 7: 8")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "seed: 7: 8"), key="",
                 text="YAML syntax error: mapping values are not allowed here")


def test_yaml_tab_indentation(tmp_path):
    """A tab used for indentation is a syntax error at its line."""
    text = edit("  retraining:", "\tretraining:")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "\tretraining:"), key="",
                 text="YAML syntax error: found character '\\t' that cannot start any token")


def test_empty_file(tmp_path):
    """An empty file is rejected as empty, with no line."""
    path = write(tmp_path, "")
    expect_error(path, file=path, line=None, key="", text="the file is empty; expected a YAML mapping")


def test_whitespace_only_file(tmp_path):
    """A file of blank lines is empty too."""
    path = write(tmp_path, "\n   \n\n")
    expect_error(path, file=path, line=None, key="", text="the file is empty")


def test_comment_only_file(tmp_path):
    """A file holding only comments is empty."""
    path = write(tmp_path, "# a scenario\n   # nothing yet\n\n")
    expect_error(path, file=path, line=None, key="", text="the file is empty; expected a YAML mapping")


def test_top_level_list(tmp_path):
    """A file whose top level is a list, not a mapping, is rejected at its first line."""
    path = write(tmp_path, "# comment\n- name: probe\n- seed: 7\n")
    expect_error(path, file=path, line=2, key="",
                 text="expected a mapping of keys to values at the top level, found a list")


def test_top_level_scalar(tmp_path):
    """A file holding one plain value is not a mapping."""
    path = write(tmp_path, "just words\n")
    expect_error(path, file=path, line=1, key="", text="found a single value")


def test_anchor_and_alias(tmp_path):
    """YAML anchors and aliases are refused, at the line of the anchor."""
    text = edit("    extension_rate: 0.5", "    extension_rate: &rate 0.5") + "rate_again: *rate\n"
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "&rate"), key="",
                 text="YAML anchors and aliases are not allowed")


def test_anchor_on_mapping_with_merge_key(tmp_path):
    """An anchored mapping reused with a merge key `<<:` is refused too."""
    text = edit("  gdp_growth: {value: 0.032}", "  gdp_growth: &g {value: 0.032}")
    text = edit("  resident_net_migration: {value: -30000}",
                "  resident_net_migration:\n    <<: *g\n    value: -30000", text)
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "&g"), key="", text="anchors and aliases are not allowed")


def test_duplicate_top_level_key(tmp_path):
    """A key given twice is rejected at the second occurrence, with its key path."""
    text = edit("seed: 7", "seed: 7\nseed: 8")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "seed: 8"), key="seed",
                 text="duplicate key; each key may appear once in a mapping")


def test_duplicate_nested_key(tmp_path):
    """A duplicate inside a nested mapping or dated schedule gives the full key path."""
    text = edit("      2026: 35000", "      2026: 35000\n      2026: 40000")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2026: 40000"), key="levers.talent.arrivals[2026]",
                 text="duplicate key")


def test_file_over_size_cap(tmp_path):
    """A file larger than sim.yamldoc.MAX_BYTES is refused before it is parsed."""
    text = VALID + "#" * (sim.yamldoc.MAX_BYTES - len(VALID.encode()) + 1)
    path = write(tmp_path, text)
    assert path.stat().st_size == sim.yamldoc.MAX_BYTES + 1
    expect_error(path, file=path, line=None, key="",
                 text=f"file is over {sim.yamldoc.MAX_BYTES} bytes, the limit")


def test_file_at_size_cap_is_read(tmp_path, monkeypatch):
    """A file of exactly the cap is accepted (the cap is inclusive); checked with a small cap (the last
    observed year is given, so the calibration file, larger than this small cap, is not read)."""
    path = write(tmp_path, VALID + "# padding\n")
    monkeypatch.setattr(sim.yamldoc, "MAX_BYTES", path.stat().st_size)
    assert load(path, last_observed=LAST_OBSERVED).scenario.name == "probe"
    monkeypatch.setattr(sim.yamldoc, "MAX_BYTES", path.stat().st_size - 1)
    expect_error(path, file=path, line=None, key="", text="bytes, the limit")


def test_missing_scenario_file(tmp_path):
    """A scenario file that does not exist is reported as not found."""
    path = tmp_path / "nowhere.yaml"
    expect_error(path, file=path, line=None, key="", text="file not found")


def test_scenario_path_is_a_directory(tmp_path):
    """A folder given as the scenario is not a regular file."""
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    expect_error(folder, file=folder, line=None, key="", text="not a regular file")


def test_not_utf8(tmp_path):
    """A file that is not UTF-8 text is refused without a traceback-worthy exception."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    expect_error(path, file=path, line=None, key="", text="cannot read the file as UTF-8 text")


# --- schema problems (pydantic, located) -----------------------------------------------------

def test_unknown_top_level_key_suggests(tmp_path):
    """An unknown key is named, with 'did you mean' and the allowed keys."""
    text = edit("seed: 7", "sede: 7")
    path = write(tmp_path, text)
    err = expect_error(path, file=path, line=line_of(text, "sede: 7"), key="sede",
                       text="unknown key; did you mean 'seed'?")
    assert "expected one of: name, description, years, calibration, seed, levers, uncertainties, targets" \
        in err.message


def test_unknown_key_in_nested_lever(tmp_path):
    """An unknown key inside a lever gives its full key path, its line and a suggestion."""
    text = edit("    extension_rate: 0.5", "    extention_rate: 0.5")
    path = write(tmp_path, text)
    err = expect_error(path, file=path, line=line_of(text, "extention_rate"), key="levers.talent.extention_rate",
                       text="unknown key; did you mean 'extension_rate'?")
    assert "expected one of: arrivals, extension_rate, first_visa_years, renewal_visa_years" in err.message


def test_unknown_key_in_importation_workers(tmp_path):
    """An unknown occupation group under importation.workers is located and suggested."""
    text = edit("  retraining:\n", "  importation:\n    workers:\n      servise: 100\n  retraining:\n")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "servise"), key="levers.importation.workers.servise",
                 text="unknown key; did you mean 'service'?")


def test_unknown_key_in_target_suggests(tmp_path):
    """An unknown key inside a target is suggested like any other ('mni' -> 'min')."""
    text = edit("    min: 35000", "    mni: 35000")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "mni: 35000"), key="targets.admission.mni",
                 text="unknown key; did you mean 'min'?")


def test_missing_required_key(tmp_path):
    """A missing required key is named and said to be required."""
    text = edit("    places: 130000\n", "    completion_rate: 0.9\n")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "  retraining:"), key="levers.retraining.places",
                 text="missing; this key is required")


def test_wrong_type(tmp_path):
    """A value of the wrong type names the key, its line, what was expected and what was given."""
    text = edit("seed: 7", "seed: seven")
    path = write(tmp_path, text)
    err = expect_error(path, file=path, line=line_of(text, "seed: seven"), key="seed",
                       text="valid integer")
    assert "got 'seven'" in err.message


def test_wrong_type_in_schedule(tmp_path):
    """A word where a count belongs is not a number."""
    text = edit("    places: 130000", "    places: many")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "places: many"), key="levers.retraining.places",
                 text="'many' is not a number; expected a count of places in [0, 1,000,000] a year")


def test_boolean_is_not_a_rate(tmp_path):
    """true is not accepted as a number."""
    text = edit("    extension_rate: 0.5", "    extension_rate: true")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "extension_rate: true"), key="levers.talent.extension_rate",
                 text="True is not a number; expected a rate in [0, 1]")


def test_negative_count(tmp_path):
    """A negative count of persons is below the minimum 0."""
    text = edit("    places: 130000", "    places: -5")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "places: -5"), key="levers.retraining.places",
                 text="-5 is below the minimum 0; expected a count of places in [0, 1,000,000] a year")


def test_negative_count_in_dated_schedule(tmp_path):
    """A negative dated count is located at its year."""
    text = edit("      2026: 35000", "      2026: -1")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2026: -1"), key="levers.talent.arrivals[2026]",
                 text="-1 is below the minimum 0")


def test_rate_above_one_in_dated_schedule(tmp_path):
    """A rate above 1 in a dated schedule is located at levers.talent.extension_rate[2026] and its line."""
    text = edit("    extension_rate: 0.5", "    extension_rate:\n      2025: 0.5\n      2026: 1.5\n      2030: 0.6")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2026: 1.5"), key="levers.talent.extension_rate[2026]",
                 text="1.5 is above the maximum 1; expected a rate in [0, 1]")


def test_rate_above_one_in_flow_mapping(tmp_path):
    """In a one-line {year: rate} mapping the line is that mapping's line."""
    text = edit("    extension_rate: 0.5", "    extension_rate: {2025: 0.5, 2026: 1.5}")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2026: 1.5"), key="levers.talent.extension_rate[2026]",
                 text="1.5 is above the maximum 1")


def test_schedule_key_not_a_year(tmp_path):
    """A dated schedule keyed by something other than a year is refused at that entry's line."""
    text = edit("      2026: 35000", "      soon: 35000")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "soon: 35000"), key="levers.talent.arrivals.soon",
                 text="'soon' is not a year")


def test_start_year_after_end_year(tmp_path):
    """years.start after years.end is refused at the years key."""
    text = edit("  start: 2017", "  start: 2036")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "years:"), key="years",
                 text="start year 2036 is not before end year 2035; expected start < end")


def test_start_year_equal_end_year(tmp_path):
    """A single-year horizon is refused too (start must be before end)."""
    text = edit("  end: 2035", "  end: 2017")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "years:"), key="years",
                 text="start year 2017 is not before end year 2017")


def test_dated_value_in_an_observed_year_is_refused(tmp_path):
    """History is data: a dated lever value for an observed year (<= 2024) is refused at its year,
    naming the calibration's last observed year."""
    text = edit("      2025: 30000", "      2020: 10000\n      2025: 30000")
    path = write(tmp_path, text)
    err = expect_error(path, file=path, line=line_of(text, "2020: 10000"), key="levers.talent.arrivals[2020]",
                       text="2020 is an observed year: the calibration's history runs to 2024")
    assert "apply from 2025" in err.message


def test_dated_value_in_the_last_observed_year_is_refused(tmp_path):
    """The last observed year itself is history: {2024: ...} is refused too."""
    text = edit("      2025: 30000", "      2024: 30000")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2024: 30000"), key="levers.talent.arrivals[2024]",
                 text=f"2024 is an observed year: the calibration's history runs to {LAST_OBSERVED}")


def test_dated_uncertainty_in_an_observed_year_is_refused(tmp_path):
    """A dated uncertainty value for an observed year is refused the same way."""
    text = edit("  gdp_growth: {value: 0.032}", "  gdp_growth: {value: {2023: 0.03, 2025: 0.032}}")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2023: 0.03"), key="uncertainties.gdp_growth.value[2023]",
                 text="2023 is an observed year: the calibration's history runs to 2024")


def test_set_of_an_observed_year_is_refused(tmp_path):
    """--set KEY.YEAR=VALUE for an observed year is refused against --set."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="levers.retraining.places[2024]",
                 text="2024 is an observed year: the calibration's history runs to 2024",
                 overrides=["levers.retraining.places.2024=1"])


def test_schedule_first_year_after_first_projection_year(tmp_path):
    """A dated schedule must give a value for the first projection year (2025)."""
    text = edit("      2025: 30000\n", "")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "    arrivals:"), key="levers.talent.arrivals",
                 text="first dated value is for 2026, after the first projection year 2025; add a value for 2025")


def test_dated_uncertainty_must_start_at_the_first_projection_year(tmp_path):
    """A dated uncertainty must give a value for 2025 too."""
    text = edit("  gdp_growth: {value: 0.032}", "  gdp_growth: {value: {2027: 0.03}}")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=line_of(text, "2027: 0.03"), key="uncertainties.gdp_growth.value",
                 text="first dated value is for 2027, after the first projection year 2025; add a value for 2025")


def test_invalid_scenario_name(tmp_path):
    """A name that cannot be a folder name is refused."""
    text = edit("name: probe", "name: ../escape")
    path = write(tmp_path, text)
    expect_error(path, file=path, line=1, key="name", text="should match pattern")


# --- referenced files ------------------------------------------------------------------------

def test_missing_calibration_file(tmp_path):
    """A calibration file that does not exist is named, resolved relative to the scenario (not hidden
    behind a complaint about the dated values, whose first projection year the calibration gives)."""
    text = edit(f"calibration: {json.dumps(str(CALIBRATION))}", "calibration: nope/hk.yaml")
    path = write(tmp_path, text)
    err = expect_error(path, file=path, line=line_of(text, "calibration:"), key="calibration",
                       text="calibration file 'nope/hk.yaml' not found")
    assert str((tmp_path / "nope" / "hk.yaml").resolve()) in err.message


def test_missing_extended_file(tmp_path):
    """`extends:` naming a missing file is refused at that line."""
    text = "# overlay\nextends: missing.yaml\nseed: 9\n"
    path = write(tmp_path, text, "overlay.yaml")
    err = expect_error(path, file=path, line=2, key="extends", text="extended file 'missing.yaml' not found")
    assert str((tmp_path / "missing.yaml").resolve()) in err.message


def test_extends_not_a_path(tmp_path):
    """`extends:` must be a path (text)."""
    path = write(tmp_path, "extends: 5\n", "overlay.yaml")
    expect_error(path, file=path, line=1, key="extends", text="expected the path of another scenario file")


def test_extends_cycle(tmp_path):
    """a extends b extends a: the cycle is reported at the extends line that closes it."""
    a = write(tmp_path, "extends: b.yaml\nseed: 1\n", "a.yaml")
    write(tmp_path, "# b\nextends: a.yaml\n", "b.yaml")
    with pytest.raises(InputError) as info:
        load(a)
    err = info.value
    assert Path(err.file).resolve() == (tmp_path / "b.yaml").resolve()
    assert (err.line, err.key) == (2, "extends")
    assert "'a.yaml' extends itself in a cycle" in err.message


def test_extends_itself(tmp_path):
    """A file extending itself is a cycle."""
    path = write(tmp_path, "extends: self.yaml\n", "self.yaml")
    expect_error(path, file=path, line=1, key="extends", text="'self.yaml' extends itself in a cycle")


def test_error_in_extended_file_names_that_file(tmp_path):
    """A bad value that comes from the extended file is located in that file, not the overlay."""
    base_text = edit("    places: 130000", "    places: -5")
    base = write(tmp_path, base_text, "base.yaml")
    overlay = write(tmp_path, "extends: base.yaml\nseed: 9\n", "overlay.yaml")
    with pytest.raises(InputError) as info:
        load(overlay)
    err = info.value
    assert Path(err.file).resolve() == base.resolve()
    assert (err.line, err.key) == (line_of(base_text, "places: -5"), "levers.retraining.places")
    assert "-5 is below the minimum 0" in err.message


def test_error_in_overlay_names_the_overlay(tmp_path):
    """A bad value set by the overlay is located in the overlay at its line."""
    write(tmp_path, VALID, "base.yaml")
    text = "extends: base.yaml\nlevers:\n  talent:\n    extension_rate:\n      2025: 0.5\n      2026: 1.5\n"
    overlay = write(tmp_path, text, "overlay.yaml")
    expect_error(overlay, file=overlay, line=6, key="levers.talent.extension_rate[2026]",
                 text="1.5 is above the maximum 1")


# --- --set overrides ---------------------------------------------------------------------------

def test_set_not_key_value(tmp_path):
    """--set without '=' is not KEY=VALUE."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="", text="'levers.talent.arrivals' is not KEY=VALUE",
                 overrides=["levers.talent.arrivals"])


def test_set_empty_key(tmp_path):
    """--set with an empty key is not KEY=VALUE."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="", text="'=5' is not KEY=VALUE", overrides=["=5"])


def test_set_unknown_key(tmp_path):
    """--set of an unknown key names it, with a suggestion."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="levers.talent.arivals",
                 text="unknown key; did you mean 'arrivals'?", overrides=["levers.talent.arivals=5"])


def test_set_bad_value(tmp_path):
    """--set of a value that is not a number names the key and what was expected."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="levers.talent.arrivals",
                 text="'lots' is not a number; expected a count of persons in [0, 1,000,000] a year",
                 overrides=["levers.talent.arrivals=lots"])


def test_set_value_out_of_range(tmp_path):
    """--set of a rate above 1 is refused."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="levers.talent.extension_rate",
                 text="2 is above the maximum 1", overrides=["levers.talent.extension_rate=2"])


def test_set_bad_yaml_value(tmp_path):
    """--set whose VALUE is not valid YAML is a syntax error about the value."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="levers.talent.arrivals", text="YAML syntax error",
                 overrides=["levers.talent.arrivals=[1"])


def test_set_value_with_anchor(tmp_path):
    """--set values may not use YAML anchors either."""
    path = write(tmp_path, VALID)
    expect_error(path, file="--set", line=None, key="seed", text="anchors and aliases are not allowed",
                 overrides=["seed=&a 5"])


def test_set_overrides_a_value(tmp_path):
    """--set replaces a value, parsed as YAML."""
    path = write(tmp_path, VALID)
    loaded = load(path, ("levers.talent.arrivals=50000", "seed=11"))
    assert loaded.scenario.levers.talent.arrivals == 50000.0
    assert loaded.scenario.seed == 11


def test_set_adds_a_date_to_a_schedule(tmp_path):
    """--set KEY.YEAR=VALUE adds a date to a dated schedule and keeps the others."""
    path = write(tmp_path, VALID)
    loaded = load(path, ("levers.talent.arrivals.2027=50000",))
    assert loaded.scenario.levers.talent.arrivals == {2025: 30000.0, 2026: 35000.0, 2027: 50000.0}


def test_set_later_override_wins(tmp_path):
    """Repeated --set of the same key: the last one wins."""
    path = write(tmp_path, VALID)
    assert load(path, ("seed=1", "seed=2")).scenario.seed == 2


# --- extends overlays ----------------------------------------------------------------------------

def test_extends_merges_dated_schedule_with_baseline(tmp_path):
    """An overlay {2028: 0.02} on the baseline's dated GDP growth adds the date and keeps the others (and the
    rest of that uncertainty); {2026: 50000} on its single talent arrivals keeps that value from 2025."""
    overlay_text = (f"extends: {json.dumps(str(BASELINE))}\nname: more_talent\n"
                    "levers:\n  talent:\n    arrivals: {2026: 50000}\n"
                    "uncertainties:\n  gdp_growth: {value: {2028: 0.02}}\n")
    overlay = write(tmp_path, overlay_text, "more_talent.yaml")
    loaded = load(overlay)
    base = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    growth = {int(y): float(v) for y, v in base["uncertainties"]["gdp_growth"]["value"].items()}
    assert min(growth) == 2025 and len(growth) > 1 and 2028 not in growth
    assert loaded.scenario.uncertainties.gdp_growth.value == growth | {2028: 0.02}
    assert loaded.scenario.levers.talent.arrivals == {2025: float(base["levers"]["talent"]["arrivals"]), 2026: 50000.0}
    # Everything not in the overlay comes from the baseline unchanged.
    baseline = load(BASELINE).scenario
    assert loaded.scenario.name == "more_talent"
    assert loaded.scenario.levers.talent.extension_rate == baseline.levers.talent.extension_rate
    assert loaded.scenario.levers.retraining == baseline.levers.retraining
    g, b = loaded.scenario.uncertainties.gdp_growth, baseline.uncertainties.gdp_growth
    assert (g.dist, g.sd, g.persistence) == (b.dist, b.sd, b.persistence)
    assert loaded.scenario.uncertainties.model_copy(update={"gdp_growth": b}) == baseline.uncertainties
    assert loaded.scenario.years == baseline.years
    # The calibration is resolved relative to the file that names it (the baseline).
    assert loaded.calibration_path == CALIBRATION.resolve()
    assert loaded.files[0].resolve() == BASELINE.resolve() and loaded.files[1] == overlay


def test_extends_scalar_replaces_mapping(tmp_path):
    """A scalar in the overlay replaces a dated schedule in the base (only mappings merge)."""
    write(tmp_path, VALID, "base.yaml")
    overlay = write(tmp_path, "extends: base.yaml\nlevers:\n  talent:\n    arrivals: 42000\n", "overlay.yaml")
    assert load(overlay).scenario.levers.talent.arrivals == 42000.0


def test_extends_chain(tmp_path):
    """Overlays stack: c extends b extends a, the nearest file wins."""
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, "extends: a.yaml\nseed: 2\ndescription: b\n", "b.yaml")
    c = write(tmp_path, "extends: b.yaml\nseed: 3\n", "c.yaml")
    loaded = load(c)
    assert (loaded.scenario.seed, loaded.scenario.description) == (3, "")  # its own, not b's
    assert loaded.scenario.name == "c"  # its file's stem, never its parent's name
    assert [p.name for p in loaded.files] == ["a.yaml", "b.yaml", "c.yaml", "hk.yaml"]


# --- the result ------------------------------------------------------------------------------------

def test_scenario_is_frozen(tmp_path):
    """The loaded Scenario and its nested models refuse attribute assignment."""
    loaded = load(write(tmp_path, VALID))
    with pytest.raises(ValidationError):
        loaded.scenario.seed = 1
    with pytest.raises(ValidationError):
        loaded.scenario.levers.talent.extension_rate = 0.1
    with pytest.raises(ValidationError):
        loaded.scenario.years.end = 2040
    with pytest.raises(ValidationError):
        loaded.scenario = loaded.scenario
    assert isinstance(loaded.scenario, Scenario)


# --- values that would run silently to wrong numbers --------------------------------------------

BASE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


@pytest.mark.parametrize("override,key,text", [
    ("levers.talent.arrivals=.inf", "levers.talent.arrivals", "inf is not a finite number"),
    ("uncertainties.gdp_growth.value=.nan", "uncertainties.gdp_growth.value", "finite number"),
    ("uncertainties.gdp_growth.value=-1", "uncertainties.gdp_growth.value", "-1.0 is outside [-0.5, 0.5]"),
    ("uncertainties.gdp_growth.value={2025: 0.03, 2030: 0.9}", "uncertainties.gdp_growth.value[2030]",
     "0.9 is outside [-0.5, 0.5]"),
    ("uncertainties.mortality_scale.value=-2", "uncertainties.mortality_scale.value", "-2.0 is outside [0, 10]"),
    ("uncertainties.gdp_growth={value: 0.03, dist: uniform, low: 0.05, high: 0.01}", "uncertainties.gdp_growth",
     "uniform needs low <= value <= high"),
    ("targets.talent_admission.years=[1990, 1995]", "targets.talent_admission.years",
     "[1990, 1995] starts before the scenario's years 2017-2046"),
])
def test_out_of_range_values_are_refused(override, key, text):
    """Values that would give NaN, infinite or silently dropped results are refused, naming --set."""
    with pytest.raises(InputError) as info:
        load(BASE, (override,))
    assert info.value.file == "--set"
    assert info.value.key == key and text in info.value.message


def test_set_creating_unknown_path_names_set():
    """--set a.b.c=1 reports the unknown key 'a' against --set, not against the scenario file."""
    with pytest.raises(InputError) as info:
        load(BASE, ("a.b.c=1",))
    assert info.value.file == "--set" and info.value.key == "a" and "unknown key" in info.value.message


def test_deep_nesting_is_refused(tmp_path):
    """A file nested thousands of levels deep is one located error, not a RecursionError."""
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\nseed: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(InputError) as info:
        load(path)
    assert info.value.line == 2 and "nested more than 32 levels deep" in info.value.message


def test_dated_overlay_on_a_single_value_keeps_it_before_the_first_date(tmp_path):
    """Overlaying {2026: 0.7} on a single value 0.51 gives {2025: 0.51, 2026: 0.7} (the single value holds
    from the first projection year), via extends or --set."""
    overlay = tmp_path / "variant.yaml"
    overlay.write_text(f"extends: {BASE}\nlevers:\n  talent:\n    extension_rate: {{2026: 0.7}}\n")
    assert load(overlay).scenario.levers.talent.extension_rate == {2025: 0.51, 2026: 0.7}
    assert load(BASE, ("levers.talent.extension_rate.2026=0.7",)).scenario.levers.talent.extension_rate == \
        {2025: 0.51, 2026: 0.7}
    assert load(BASE, ("levers.talent.extension_rate=0.6",)).scenario.levers.talent.extension_rate == 0.6


@pytest.mark.parametrize("override,key", [
    ('years.end="2035"', "years.end"), ('seed="7"', "seed"),
    ("levers.talent.first_visa_years=true", "levers.talent.first_visa_years"),
    ('levers.importation.contract_years="3"', "levers.importation.contract_years"),
])
def test_whole_numbers_are_not_coerced(override, key):
    """Years, seeds and visa or contract lengths must be written as whole numbers, not strings or booleans."""
    with pytest.raises(InputError) as info:
        load(BASE, (override,))
    assert info.value.key == key
    assert "valid integer" in info.value.message or "is not a whole number" in info.value.message


def test_control_character_is_one_located_line(tmp_path):
    """A control character in YAML is reported with its line, on one line."""
    path = tmp_path / "bel.yaml"
    path.write_text("name: x\ndescription: a\x07b\n")
    with pytest.raises(InputError) as info:
        load(path)
    assert info.value.line == 2 and "is not allowed in YAML" in info.value.message
    assert "\n" not in str(info.value)


def test_newline_in_a_key_is_shown_escaped():
    """A newline inside a --set key cannot split the error over two lines."""
    with pytest.raises(InputError) as info:
        load(BASE, ("levers.ta\nlent=1",))
    assert "\n" not in str(info.value) and "ta\\nlent" in str(info.value)


def test_nul_byte_in_a_path_is_bad_input():
    """A NUL byte in the calibration path is bad input, not a ValueError."""
    with pytest.raises(InputError) as info:
        load(BASE, ('calibration="a\\0b.yaml"',))
    assert info.value.key == "calibration", str(info.value)
    assert "not a usable file name" in info.value.message
