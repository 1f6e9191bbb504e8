"""The `simulate` command line, in process with click's CliRunner: help and version, a valid
run and its files, the ledger identity and determinism of those files, one-line errors with
exit status 2 for bad input, and the atomic replacement of the output folder.

Every run writes under tmp_path; the repository is only read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
import sim.yamldoc
from cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
CALIBRATION = ROOT / "calibration" / "hk.yaml"

CSV_FILES = ("yearly.csv", "occupations.csv", "ledger.csv", "kpis.csv")
NO_CHART_FILES = {*CSV_FILES, "references.csv", "assumptions.csv", "manifest.json", "report.md", "report.html"}
CHART_STEMS = ("labour_force", "shortage", "shortage_by_occupation", "labour_force_flows", "targets")
CHART_FILES = {f"{stem}.{ext}" for stem in CHART_STEMS for ext in ("png", "svg")}
REQUIRED_COLUMNS = {
    "yearly.csv": ("year", "labour_force", "requirement", "shortage", "talent_arrivals", "talent_extensions"),
    "occupations.csv": ("year", "occupation", "supply", "requirement", "shortage", "openings"),
    "ledger.csv": ("year", "stock", "item", "value"),
    "kpis.csv": ("kpi", "year", "value", "target", "met"),
}


# --- helpers -----------------------------------------------------------------------------------

def invoke(*args: str):
    """Run `simulate ARGS` in process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` (relative) -> its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def baseline_copy(folder: Path, name: str = "baseline.yaml") -> Path:
    """The shipped baseline written into `folder`, with the calibration as an absolute path."""
    text = BASELINE.read_text(encoding="utf-8")
    assert text.count("../calibration/hk.yaml") == 1
    path = folder / name
    path.write_text(text.replace("../calibration/hk.yaml", json.dumps(str(CALIBRATION))), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """One run of the baseline without charts: (result, out folder)."""
    out = tmp_path_factory.mktemp("plain") / "out"
    result = invoke("run", BASELINE, "--out", out, "--no-charts")
    assert result.exit_code == 0, result.output
    return result, out


@pytest.fixture(scope="module")
def chart_run(tmp_path_factory):
    """One run of the baseline with charts: (result, out folder)."""
    out = tmp_path_factory.mktemp("charts") / "out"
    result = invoke("run", BASELINE, "--out", out)
    assert result.exit_code == 0, result.output
    return result, out


# --- help and version ----------------------------------------------------------------------------

def test_version():
    """--version prints the package version and exits 0."""
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"simulate, version {sim.__version__}"


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["run", "--help"], ["validate", "--help"]],
                         ids=["group", "group-short", "run", "validate"])
def test_help_shows_an_example(args):
    """--help on the group and on each command exits 0 and shows an example command line."""
    result = invoke(*args)
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert re.search(r"simulate (run|validate) scenarios/baseline\.yaml", result.stdout)


# --- validate ------------------------------------------------------------------------------------

def test_validate_baseline(tmp_path, monkeypatch):
    """validate on the shipped baseline exits 0, says it is valid, and writes nothing."""
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", BASELINE)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "valid (scenario baseline, 2017-2046, calibration hk.yaml)" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_validate_applies_set(tmp_path):
    """validate --set checks the overridden value too."""
    ok = invoke("validate", BASELINE, "--set", "levers.talent.arrivals=50000")
    assert ok.exit_code == 0, ok.output
    bad = invoke("validate", BASELINE, "--set", "levers.talent.extension_rate=2")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --set: levers.talent.extension_rate: 2 is above the maximum 1")


# --- a valid run -----------------------------------------------------------------------------------

def test_run_prints_summary(plain_run):
    """run prints the labour force now and at the end, the shortage in 2028 and at the end, and where files went."""
    result, out = plain_run
    assert result.stderr == ""
    _, yearly = read_csv(out / "yearly.csv")
    lf = {int(r["year"]): float(r["labour_force"]) for r in yearly}
    shortage = {int(r["year"]): float(r["shortage"]) for r in yearly if r["shortage"]}  # from the demand base year
    lines = result.stdout.splitlines()
    assert len(lines) == 6, result.stdout
    assert lines[0] == "scenario baseline: local labour force (excl. FDH, persons)"

    def persons(pattern: str, line: str) -> float:
        match = re.fullmatch(pattern, line)
        assert match, line
        return float(match.group(1).replace(",", ""))

    # Printed whole persons from the unrounded values; the CSV holds one decimal: agree within 1.
    assert abs(persons(r"  2024 \(last observed\): ([\d,]+)", lines[1]) - lf[2024]) <= 1
    assert abs(persons(r"  2046: ([\d,]+)", lines[2]) - lf[2046]) <= 1
    assert abs(persons(r"  shortage 2028: (-?[\d,]+) persons \(MP2023: about 180,000\)", lines[3])
               - shortage[2028]) <= 1
    assert abs(persons(r"  shortage 2046: (-?[\d,]+) persons", lines[4]) - shortage[2046]) <= 1
    assert lines[5] == f"  {len(NO_CHART_FILES)} files written to {out}/"


def test_run_summary_without_2028(tmp_path):
    """A run that ends before 2028 prints no 2028 shortage line, only the end year's."""
    out = tmp_path / "out"
    result = invoke("run", BASELINE, "--out", out, "--no-charts", "--set", "years.end=2027")
    assert result.exit_code == 0, result.output
    _, yearly = read_csv(out / "yearly.csv")
    shortage = {int(r["year"]): float(r["shortage"]) for r in yearly if r["shortage"]}
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and not any("2028" in line for line in lines[:4]), result.stdout
    match = re.fullmatch(r"  shortage 2027: (-?[\d,]+) persons", lines[3])
    assert match and abs(float(match.group(1).replace(",", "")) - shortage[2027]) <= 1, lines[3]


def test_run_writes_the_files(plain_run):
    """A --no-charts run writes exactly the CSV files, the manifest and the report, and no charts."""
    _, out = plain_run
    assert {p.name for p in out.iterdir()} == NO_CHART_FILES
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == sorted(NO_CHART_FILES)
    assert manifest["scenario"] == "baseline" and manifest["version"] == sim.__version__
    assert set(manifest["units"]) >= set(CSV_FILES)


@pytest.mark.parametrize("name", CSV_FILES)
def test_csv_headers(plain_run, name):
    """Each CSV file has the required header columns, and every row has a value for each column."""
    _, out = plain_run
    header, rows = read_csv(out / name)
    assert set(REQUIRED_COLUMNS[name]) <= set(header)
    assert header[: len(REQUIRED_COLUMNS[name])] == list(REQUIRED_COLUMNS[name])
    assert rows
    assert all(None not in row and len(row) == len(header) for row in rows)


def test_yearly_covers_every_year(plain_run):
    """yearly.csv has one row a year from the start to the end year; occupations.csv one per year and group."""
    _, out = plain_run
    _, yearly = read_csv(out / "yearly.csv")
    assert [int(r["year"]) for r in yearly] == list(range(2017, 2047))
    _, occ = read_csv(out / "occupations.csv")
    groups = sorted({r["occupation"] for r in occ})
    assert len(occ) == len(yearly) * len(groups)


def test_ledger_identity(plain_run):
    """From ledger.csv alone: closing = opening + sum of flows for every stock and year, and closing
    equals the next year's opening (within 1e-6 relative, plus the 3-decimal rounding of the file)."""
    _, out = plain_run
    _, rows = read_csv(out / "ledger.csv")
    table: dict[tuple[int, str], dict[str, float]] = defaultdict(dict)
    for r in rows:
        assert r["item"] not in table[(int(r["year"]), r["stock"])], "an item appears twice"
        table[(int(r["year"]), r["stock"])][r["item"]] = float(r["value"])
    assert table
    for (year, stock), items in table.items():
        assert {"opening", "closing"} <= set(items), (year, stock)
        flows = [v for k, v in items.items() if k not in ("opening", "closing")]
        assert flows, (year, stock)
        expected = items["opening"] + sum(flows)
        rounding = 0.0005 * (len(flows) + 2)
        assert abs(items["closing"] - expected) <= 1e-6 * abs(items["closing"]) + rounding, (year, stock)
        following = table.get((year + 1, stock))
        if following is not None:
            assert abs(following["opening"] - items["closing"]) <= 1e-6 * abs(items["closing"]), (year, stock)
    stocks = {s for _, s in table}
    years = sorted({y for y, _ in table})
    assert years == list(range(years[0], years[-1] + 1))
    assert all((y, s) in table for y in years for s in stocks)


def test_run_with_charts(chart_run):
    """A run with charts writes each chart as PNG and SVG, and report.md embeds the PNGs."""
    result, out = chart_run
    names = {p.name for p in out.iterdir()}
    assert names == NO_CHART_FILES | CHART_FILES
    for stem in CHART_STEMS:
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / f"{stem}.svg").read_bytes()[:2000]
    report = (out / "report.md").read_text(encoding="utf-8")
    for stem in CHART_STEMS:
        assert re.search(rf"!\[[^\]]*\]\({stem}\.png\)", report), stem
    assert ".svg)" not in report
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == sorted(names)
    assert f"{len(names)} files written to {out}/" in result.stdout


def test_charts_do_not_change_csv(plain_run, chart_run):
    """Drawing charts does not change the CSV files."""
    for name in CSV_FILES:
        assert (plain_run[1] / name).read_bytes() == (chart_run[1] / name).read_bytes(), name


def test_determinism(tmp_path):
    """Two runs of the same scenario and seed into different folders give byte-identical CSV files."""
    outs = [tmp_path / "one", tmp_path / "two"]
    for out in outs:
        result = invoke("run", BASELINE, "--out", out, "--no-charts", "--seed", "11")
        assert result.exit_code == 0, result.output
    for name in CSV_FILES:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert json.loads((outs[0] / "manifest.json").read_text())["seed"] == 11


def test_default_output_folder(tmp_path, monkeypatch):
    """Without --out the files go to outputs/<scenario name> under the working folder."""
    monkeypatch.chdir(tmp_path)
    result = invoke("run", BASELINE, "--no-charts")
    assert result.exit_code == 0, result.output
    out = tmp_path / "outputs" / "baseline"
    assert {p.name for p in out.iterdir()} == NO_CHART_FILES
    assert f"files written to {Path('outputs') / 'baseline'}/" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"]
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == ["baseline"]


def test_rerun_replaces_folder(tmp_path):
    """A second run into the same --out replaces what simulate wrote (the charts it no longer draws
    go) and keeps the user's own files and folders; nothing is left beside it."""
    out = tmp_path / "out"
    assert invoke("run", BASELINE, "--out", out).exit_code == 0
    (out / "notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "chart.png").write_bytes(b"png")
    result = invoke("run", BASELINE, "--out", out, "--no-charts")
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == NO_CHART_FILES | {"notes.txt", "mine"}
    assert (out / "notes.txt").read_text() == "mine" and (out / "mine" / "chart.png").read_bytes() == b"png"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_foreign_folder_is_never_replaced(tmp_path):
    """An existing non-empty --out folder that simulate did not write (no manifest.json) is refused, untouched."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    before = snapshot(tmp_path)
    result = invoke("run", BASELINE, "--out", out, "--no-charts")
    assert result.exit_code == 2
    assert "folder exists and was not written by simulate (no manifest.json of simulate's; it holds precious.txt)" \
        in result.stderr
    assert snapshot(tmp_path) == before


def test_current_folder_is_never_replaced(tmp_path, monkeypatch):
    """--out . is refused: the run must not swap out the folder it runs in."""
    monkeypatch.chdir(tmp_path)
    result = invoke("run", BASELINE, "--out", ".", "--no-charts")
    assert result.exit_code == 2
    assert "refusing to replace the current folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- bad input -------------------------------------------------------------------------------------

def _valid_text() -> str:
    return BASELINE.read_text(encoding="utf-8").replace("../calibration/hk.yaml", json.dumps(str(CALIBRATION)))


def _edit(old: str, new: str) -> str:
    text = _valid_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


# name -> (files to write {name: text}, the scenario to pass, extra args,
#          text naming the file in the error, text of the expectation)
BAD_INPUTS = {
    "syntax": ({"s.yaml": _edit("seed: 2024", "seed: 2024: 1")}, "s.yaml", [],
               "s.yaml:", "YAML syntax error"),
    "unknown-key": ({"s.yaml": _edit("seed: 2024", "sede: 2024")}, "s.yaml", [],
                    "s.yaml:", "sede: unknown key; did you mean 'seed'?"),
    "unknown-nested-key": ({"s.yaml": _edit("    first_visa_years: 2", "    first_visa_yeras: 2")}, "s.yaml", [],
                           "s.yaml:", "levers.talent.first_visa_yeras: unknown key; did you mean 'first_visa_years'?"),
    "wrong-type": ({"s.yaml": _edit("seed: 2024", "seed: soon")}, "s.yaml", [],
                   "s.yaml:", "seed: Input should be a valid integer"),
    "negative-count": ({"s.yaml": _edit("places: 145000", "places: -1")}, "s.yaml", [],
                       "s.yaml:", "levers.retraining.places: -1 is below the minimum 0"),
    "rate-above-1": ({"s.yaml": _edit("extension_rate: 0.51", "extension_rate: {2025: 0.5, 2026: 1.5}")},
                     "s.yaml", [], "s.yaml:", "levers.talent.extension_rate[2026]: 1.5 is above the maximum 1"),
    "start-after-end": ({"s.yaml": _edit("start: 2017", "start: 2050")}, "s.yaml", [],
                        "s.yaml:", "years: start year 2050 is not before end year 2046"),
    "observed-year": ({"s.yaml": _edit("places: 145000", "places: {2020: 130000, 2025: 145000}")}, "s.yaml", [],
                      "s.yaml:", "levers.retraining.places[2020]: 2020 is an observed year: the calibration's "
                                 "history runs to 2024"),
    "first-year-after-first-projection-year": (
        {"s.yaml": _edit("places: 145000", "places: {2026: 145000}")}, "s.yaml", [], "s.yaml:",
        "levers.retraining.places: first dated value is for 2026, after the first projection year 2025; "
        "add a value for 2025"),
    "set-observed-year": ({"s.yaml": _valid_text()}, "s.yaml", ["--set", "uncertainties.gdp_growth.value.2024=0.01"],
                          "--set:", "uncertainties.gdp_growth.value[2024]: 2024 is an observed year: the "
                                    "calibration's history runs to 2024"),
    "missing-calibration": ({"s.yaml": _edit(json.dumps(str(CALIBRATION)), "nowhere/hk.yaml")}, "s.yaml", [],
                            "s.yaml:", "calibration: calibration file 'nowhere/hk.yaml' not found"),
    "missing-extended": ({"s.yaml": "extends: gone.yaml\n"}, "s.yaml", [],
                         "s.yaml:1:", "extends: extended file 'gone.yaml' not found"),
    "extends-cycle": ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}, "a.yaml", [],
                      "b.yaml:1:", "extends: 'a.yaml' extends itself in a cycle"),
    "empty": ({"s.yaml": ""}, "s.yaml", [], "s.yaml:", "the file is empty"),
    "comments-only": ({"s.yaml": "# nothing here\n"}, "s.yaml", [], "s.yaml:", "the file is empty"),
    "list": ({"s.yaml": "- 1\n- 2\n"}, "s.yaml", [], "s.yaml:1:", "found a list"),
    "alias": ({"s.yaml": _edit("seed: 2024", "seed: &s 2024\ndescription: *s")}, "s.yaml", [],
              "s.yaml:", "anchors and aliases are not allowed"),
    "duplicate-key": ({"s.yaml": _edit("seed: 2024", "seed: 2024\nseed: 2025")}, "s.yaml", [],
                      "s.yaml:", "seed: duplicate key"),
    "over-size-cap": ({"s.yaml": "#" * (sim.yamldoc.MAX_BYTES + 1)}, "s.yaml", [],
                      "s.yaml:", f"file is over {sim.yamldoc.MAX_BYTES} bytes, the limit"),
    "missing-scenario": ({}, "absent.yaml", [], "absent.yaml:", "file not found"),
    "set-not-key-value": ({"s.yaml": _valid_text()}, "s.yaml", ["--set", "seed"],
                          "--set:", "'seed' is not KEY=VALUE"),
    "set-unknown-key": ({"s.yaml": _valid_text()}, "s.yaml", ["--set", "levers.talent.arivals=1"],
                        "--set:", "levers.talent.arivals: unknown key; did you mean 'arrivals'?"),
    "set-bad-value": ({"s.yaml": _valid_text()}, "s.yaml", ["--set", "levers.talent.arrivals=lots"],
                      "--set:", "levers.talent.arrivals: 'lots' is not a number"),
}


def _bad_setup(tmp_path: Path, case: str) -> tuple[Path, list[str], tuple[str, str]]:
    files, scenario, extra, named, expected = BAD_INPUTS[case]
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, text in files.items():
        (inputs / name).write_text(text, encoding="utf-8")
    return inputs / scenario, extra, (named, expected)


def _assert_one_error_line(result, named: str | tuple[str, str]) -> None:
    named, expected = (named, "") if isinstance(named, str) else named
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert named in lines[0], lines[0]
    assert expected in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_run_leaves_out_folder_untouched(tmp_path, case):
    """Bad input to run: exit 2, one 'error:' line naming the file, and the existing --out folder unchanged."""
    scenario, extra, named = _bad_setup(tmp_path, case)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sentinel.txt").write_text("previous results")
    before = snapshot(tmp_path)
    result = invoke("run", scenario, "--out", out, "--no-charts", *extra)
    _assert_one_error_line(result, named)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_run_creates_no_folder(tmp_path, monkeypatch, case):
    """Bad input to run: no new --out folder and no default outputs/ folder appears."""
    scenario, extra, named = _bad_setup(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = invoke("run", scenario, "--out", tmp_path / "new" / "out", *extra)
    _assert_one_error_line(result, named)
    result = invoke("run", scenario, *extra)
    _assert_one_error_line(result, named)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_validate(tmp_path, monkeypatch, case):
    """Bad input to validate: exit 2 with one 'error:' line naming the file, nothing written."""
    scenario, extra, named = _bad_setup(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = invoke("validate", scenario, *extra)
    _assert_one_error_line(result, named)
    assert snapshot(tmp_path) == before


def test_bad_input_message_is_located(tmp_path):
    """The error line carries the file, line, key path and the expectation."""
    scenario, extra, _ = _bad_setup(tmp_path, "rate-above-1")
    result = invoke("run", scenario, "--out", tmp_path / "out", *extra)
    line = next(n for n, text in enumerate(scenario.read_text().splitlines(), start=1) if "2026: 1.5" in text)
    assert result.stderr == (f"error: {scenario}:{line}: levers.talent.extension_rate[2026]: "
                             "1.5 is above the maximum 1; expected a rate in [0, 1], or {year: value}\n")


def test_scenario_that_is_a_directory(tmp_path):
    """A folder given as SCENARIO is bad input like any other: exit 2 and one 'error:' line naming it."""
    folder = tmp_path / "scenario.yaml"
    folder.mkdir()
    for command in ("run", "validate"):
        result = invoke(command, folder)
        _assert_one_error_line(result, str(folder))


# --- atomicity ---------------------------------------------------------------------------------------

def _boom(*args, **kwargs):
    raise RuntimeError("simulated failure mid-write")


@pytest.mark.parametrize("target,charts", [("sim.charts.labour_force_flows", True),
                                           ("sim.document.page", False)],
                         ids=["charts", "report"])
def test_failure_mid_write_keeps_previous_folder(tmp_path, monkeypatch, target, charts):
    """A failure while writing leaves the previous --out folder byte-for-byte intact and no temporary folders."""
    out = tmp_path / "out"
    first = invoke("run", BASELINE, "--out", out, "--no-charts", "--set", "seed=5")
    assert first.exit_code == 0, first.output
    (out / "sentinel.txt").write_text("previous results")
    before = snapshot(tmp_path)
    monkeypatch.setattr(target, _boom)
    result = invoke("run", BASELINE, "--out", out, *([] if charts else ["--no-charts"]))
    assert isinstance(result.exception, RuntimeError), result.output
    assert result.exit_code != 0
    assert snapshot(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("target,charts", [("sim.charts.labour_force_flows", True),
                                           ("sim.document.page", False)],
                         ids=["charts", "report"])
def test_failure_mid_write_creates_no_folder(tmp_path, monkeypatch, target, charts):
    """A failure while writing a new --out folder leaves no folder and no temporary folder behind."""
    monkeypatch.setattr(target, _boom)
    result = invoke("run", BASELINE, "--out", tmp_path / "out", *([] if charts else ["--no-charts"]))
    assert isinstance(result.exception, RuntimeError), result.output
    assert list(tmp_path.iterdir()) == []


def test_start_year_other_than_the_calibration_base_year_is_bad_input(tmp_path):
    """A start year the calibration has no stocks for exits 2 naming years.start."""
    result = invoke("validate", BASELINE, "--set", "years.start=2020")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --set: years.start: 2020 differs from the calibration's base year 2017;"
                                     " the model starts from the calibration's initial stocks")


def test_no_command_prints_help_and_one_error_line():
    """`simulate` alone shows the help on stdout and one error line on stderr, exit 2."""
    result = invoke()
    assert result.exit_code == 2
    assert "Usage: " in result.stdout and "Commands:" in result.stdout
    assert result.stderr == "error: no command given; see the list above\n"
