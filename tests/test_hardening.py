"""Issue 9's defects, each once a traceback, a lost file or a silent wrong number: one test each."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim.yamldoc
from sim.errors import InputError
from sim.scenario import load

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def cli(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture()
def scenario(tmp_path) -> Path:
    """The baseline, copied with its calibration path made absolute."""
    text = BASELINE.read_text().replace("calibration: ../calibration/hk.yaml", f"calibration: {ROOT}/calibration/hk.yaml")
    path = tmp_path / "base.yaml"
    path.write_text(text)
    return path


def on_edited_calibration(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the baseline on a copy of the calibration in which `name` (a path below
    calibration/) has `old` replaced by `new` once; returns the scenario's path."""
    shutil.copytree(ROOT / "calibration", tmp_path / "calibration")
    edited = tmp_path / "calibration" / name
    edited.write_text(edited.read_text().replace(old, new, 1))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(BASELINE.read_text().replace("../calibration/hk.yaml", str(tmp_path / "calibration" / "hk.yaml")))
    return scenario


@pytest.mark.parametrize("value", ["2025-02-30", "!!int abc", "!!float ''", "!!bool maybe", "9" * 5000])
def test_values_yaml_cannot_build_are_located_errors(scenario, value):
    scenario.write_text(scenario.read_text().replace("seed: 2024", f"seed: {value}"))
    with pytest.raises(InputError) as caught:
        load(scenario)
    assert caught.value.line == 12 and "cannot be read as a value" in caught.value.message
    assert len(str(caught.value)) < 300  # the 5,000 digits are not echoed


def test_unbuildable_values_in_the_calibration_and_in_set(tmp_path):
    scenario = on_edited_calibration(tmp_path, "hk.yaml", "base_year: 2017", "base_year: !!int abc")
    assert "cannot be read as a value" in one_error_line(cli("validate", str(scenario)))
    assert "cannot be read" in one_error_line(cli("validate", str(BASELINE), "--set", "levers.talent.arrivals=!!int abc"))


@pytest.mark.parametrize("value", ["1:30", "010", "0b11"])
def test_yaml_11_numbers_are_not_misread(value):
    """1:30 was read as 90 (base 60), 010 as 8 (octal): now they are text, which a count refuses."""
    line = one_error_line(cli("validate", str(BASELINE), "--set", f"levers.talent.arrivals={value}"))
    assert "is not a number" in line


def test_symlink_loops_are_located_errors(tmp_path, scenario):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "not a usable output folder" in one_error_line(cli("run", str(scenario), "--out", str(tmp_path / "a"),
                                                             "--no-charts"))
    assert "loop" in one_error_line(cli("validate", str(scenario), "--set", f"calibration={tmp_path / 'a'}"))
    variant = tmp_path / "v.yaml"
    variant.write_text(f"extends: {tmp_path / 'a'}\n")
    assert "not a usable file name" in one_error_line(cli("validate", str(variant)))


def test_a_long_extends_chain_is_refused(tmp_path, scenario):
    for k in range(1000):
        (tmp_path / f"s{k}.yaml").write_text(f"extends: s{k + 1}.yaml\n")
    shutil.copy(scenario, tmp_path / "s1000.yaml")
    assert "chain of more than" in one_error_line(cli("validate", str(tmp_path / "s0.yaml")))


def test_size_cap_counts_the_bytes_read_not_the_size_claimed(monkeypatch):
    """/proc files claim a size of 0; the cap holds on what is read."""
    monkeypatch.setattr(sim.yamldoc, "MAX_BYTES", 64)
    with pytest.raises(InputError, match="over 64 bytes"):
        sim.yamldoc.read("/proc/self/status")


def test_a_huge_list_is_refused_quickly_and_not_echoed(scenario):
    scenario.write_text(scenario.read_text().replace("seed: 2024", "seed: [" + ", ".join(["1"] * 300_000) + "]"))
    start = time.perf_counter()
    line = one_error_line(cli("validate", str(scenario)))
    assert time.perf_counter() - start < 10
    assert "more than 20,000 values" in line and len(line) < 300


def test_a_long_bad_value_is_quoted_at_most_80_characters(scenario):
    line = one_error_line(cli("validate", str(scenario), "--set", "levers.talent.arrivals=" + "x" * 5000))
    assert "x" * 76 not in line and "5,002 characters" in line


def test_ctrl_c_exits_130_with_one_line_and_keeps_the_previous_results(tmp_path, scenario):
    out = tmp_path / "out"
    assert cli("run", str(scenario), "--out", str(out), "--no-charts").returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "run", str(scenario), "--out", str(out),
                             "--draws", "50000", "--no-charts"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(2.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines() == [
        "error: interrupted; nothing was replaced (earlier results are as they were)"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- the output folder: user files are sacred, the swap is atomic, leftovers go ----------------

def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def without_times(files: dict[str, bytes]) -> dict[str, bytes]:
    """A run's files with the manifest's start time and duration blanked (the rest is deterministic)."""
    import json

    out = dict(files)
    if "manifest.json" in out:
        data = json.loads(out["manifest.json"])
        data.pop("started", None), data.pop("duration_seconds", None)
        out["manifest.json"] = json.dumps(data).encode()
    return out


def test_a_folder_with_someone_elses_manifest_is_refused_untouched(tmp_path, scenario):
    app = tmp_path / "app"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my web app", "start_url": "index.html"}')
    (app / "index.html").write_text("<html></html>")
    line = one_error_line(cli("run", str(scenario), "--out", str(app), "--no-charts"))
    assert "not written by simulate" in line and "index.html" in line
    assert sorted(p.name for p in app.iterdir()) == ["index.html", "manifest.json"]


def test_a_users_file_that_simulate_would_now_write_is_refused(tmp_path, scenario):
    out = tmp_path / "out"
    assert cli("run", str(scenario), "--out", str(out), "--no-charts").returncode == 0
    (out / "labour_force.png").write_text("my own chart")  # charts are not in the no-charts manifest
    line = one_error_line(cli("run", str(scenario), "--out", str(out)))
    assert "labour_force.png" in line and "did not write" in line
    assert (out / "labour_force.png").read_text() == "my own chart"


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path, scenario):
    from sim import export

    out = tmp_path / "out"
    with export.locked(out.resolve()):
        line = one_error_line(cli("run", str(scenario), "--out", str(out), "--no-charts"))
    assert "another simulate is writing" in line
    assert cli("run", str(scenario), "--out", str(out), "--no-charts").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "out"]


def test_a_folder_that_cannot_be_swapped_is_a_located_error(tmp_path, scenario, monkeypatch):
    """A mount point or an immutable folder cannot be renamed: one clear error, nothing lost."""
    import errno

    from click.testing import CliRunner

    import cli as command
    from sim import export

    out = tmp_path / "out"
    assert cli("run", str(scenario), "--out", str(out), "--no-charts").returncode == 0
    before = snapshot(out)

    def busy(a, b):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(export, "_exchange", busy)
    result = CliRunner().invoke(command.main, ["run", str(scenario), "--out", str(out), "--no-charts"])
    assert result.exit_code == 2 and "mount point" in result.output
    assert snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "out"]


KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
import shutil, tempfile
from sim import export
target, nth = {target!r}, {nth}
calls = [0]
def wrap(module, name):
    original = getattr(module, name)
    def killing(*args, **kwargs):
        if name == target:
            calls[0] += 1
            if calls[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    setattr(module, name, killing)
for module, name in ((os, "rename"), (os, "link"), (shutil, "rmtree"), (tempfile, "mkdtemp"), (os, "unlink")):
    wrap(module, name)
if {no_exchange}:
    def nosys(a, b):
        raise OSError(38, "renameat2 is not available")
    export._exchange = nosys
else:
    wrap(export, "_exchange")
import cli
cli.main({args!r})
"""


@pytest.mark.parametrize("no_exchange", [False, True], ids=["renameat2", "two-renames"])
def test_a_kill_at_any_step_of_the_swap_leaves_old_or_new_and_no_leftovers(tmp_path, scenario, no_exchange):
    out = tmp_path / "out"
    args = ["run", str(scenario), "--out", str(out), "--no-charts"]
    assert cli(*args).returncode == 0
    (out / "notes.txt").write_text("mine")
    old = without_times(snapshot(out))
    reference = tmp_path / "reference"
    assert cli("run", str(scenario), "--out", str(reference), "--no-charts").returncode == 0
    new = without_times({**snapshot(reference), "notes.txt": b"mine"})
    for target in ("mkdtemp", "link", "_exchange", "rename", "rmtree", "unlink"):
        for nth in (1, 2):
            script = KILLER.format(root=str(ROOT), target=target, nth=nth, args=args, no_exchange=no_exchange)
            subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=120)
            if no_exchange and not out.exists():  # killed between the two renames: the old folder is whole,
                [hidden] = tmp_path.glob(".out.old-*")  # and the next run puts it back first
                assert without_times(snapshot(hidden)) == old, (target, nth)
            else:
                now = without_times(snapshot(out))
                assert now in (old, new), (target, nth, sorted(set(now) ^ set(old)))
                assert (out / "notes.txt").read_text() == "mine"
            assert cli(*args).returncode == 0  # the next run cleans up whatever the kill left
            assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "out", "reference"], (target, nth)
            old = without_times(snapshot(out))


# --- numbers: nothing non-finite or impossible is written; memory is checked up front ----------

def test_guard_names_the_run_the_year_and_the_value():
    import numpy as np

    from sim import guard
    from sim.results import Results

    years = np.arange(2020, 2025)
    results = Results.empty(years, 3)
    for name in results.metrics:
        results.metrics[name][:] = 1.0
    results.metrics["population"][2, 3] = -5.0
    with pytest.raises(InputError, match="draw 2 gives population = -5 in 2023, which is negative"):
        guard.check(results, 2020, "s.yaml", "scenario s", lambda r: f"draw {r}")
    results.metrics["population"][2, 3] = 1.0
    results.metrics["births"][0, 0] = np.nan  # a flow of the start year: expected
    results.metrics["labour_force"][1, 4] = np.inf
    with pytest.raises(InputError, match="run 1 gives labour_force = inf in 2024, which is not a finite number"):
        guard.check(results, 2020, "s.yaml", "scenario s")


def test_a_run_that_computes_nan_writes_nothing(tmp_path, scenario, monkeypatch):
    import numpy as np
    from click.testing import CliRunner

    import cli as command
    from sim import flows

    out = tmp_path / "out"
    monkeypatch.setattr(flows, "births", lambda women, fertility, tfr: tfr * np.nan)

    result = CliRunner().invoke(command.main, ["run", str(scenario), "--out", str(out), "--no-charts"])
    assert result.exit_code == 2 and "is not a finite number" in result.output and "the central run" in result.output
    assert not out.exists()


def test_draws_that_cannot_fit_in_memory_are_refused_up_front(tmp_path, scenario, monkeypatch):
    from click.testing import CliRunner

    import cli as command
    from sim import runner

    monkeypatch.setattr(runner, "available_bytes", lambda: 100 * 2**20)
    result = CliRunner().invoke(command.main, ["run", str(scenario), "--out", str(tmp_path / "o"), "--draws", "20000"])
    assert result.exit_code == 2 and "GiB of memory" in result.output and "fewer draws" in result.output


def test_input_errors_cross_process_boundaries_whole():
    import pickle

    err = pickle.loads(pickle.dumps(InputError("f.yaml", "bad", line=3, key="a.b")))
    assert (err.file, err.message, err.line, err.key) == ("f.yaml", "bad", 3, "a.b")


# --- values that would silently do nothing or the wrong thing -------------------------------------

def test_a_dated_value_after_the_horizon_is_an_error_where_it_is_given(scenario):
    line = one_error_line(cli("validate", str(scenario), "--set", "levers.talent.arrivals={2025: 70000, 2050: 90000}"))
    assert "2050 is after the last year 2046" in line
    scenario.write_text(scenario.read_text().replace("arrivals: 71000", "arrivals: {2025: 71000, 2050: 90000}"))
    assert "levers.talent.arrivals[2050]" in one_error_line(cli("validate", str(scenario)))
    # a run shortened from outside keeps the file's later dates: they are the file's plan, not this run's
    assert cli("validate", str(BASELINE), "--set", "years.end=2030").returncode == 0


@pytest.mark.parametrize("value", ["0.02", "-0.05"])
def test_a_share_given_for_a_percentage_point_lever_is_refused(value):
    line = one_error_line(cli("validate", str(BASELINE), "--set", f"levers.participation.female_shift={value}"))
    assert "2% is written 2" in line


# --- calibration files ------------------------------------------------------------------------------

@pytest.mark.parametrize("edit, words", [
    (("2018,labour_force,3680000,", "2018,labour_force,0,"), "not a number of persons > 0"),
    (None, "outside the model's years"),
    ((",labour_force,", ",labour_force_female,"), "no chosen labour_force target"),
])
def test_calibration_targets_that_crashed_calibrate(tmp_path, edit, words):
    shutil.copytree(ROOT / "calibration", tmp_path / "calibration")
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    targets = tmp_path / "calibration" / "data" / "targets.csv"
    text = targets.read_text()
    text = text + "2040,labour_force,3500000,35000,persons,x,M,no,x\n" if edit is None else text.replace(*edit)
    targets.write_text(text)
    line = one_error_line(cli("calibrate", "--assumptions", str(tmp_path / "calibration" / "assumptions.yaml"),
                              "--scenario", str(tmp_path / "scenarios" / "baseline.yaml"),
                              "--out", str(tmp_path / "out" / "hk.yaml"), "--date", "2026-11-22"))
    assert words in line and "targets.csv" in line


def test_an_impossible_stock_in_the_data_is_refused(tmp_path):
    scenario = on_edited_calibration(tmp_path, "data/flows.csv", "2019,fdh_stock,,392700", "2019,fdh_stock,,39270000000")
    assert "flows.csv" in one_error_line(cli("validate", str(scenario)))


def test_guard_refuses_a_broken_accounting_identity():
    import numpy as np

    from sim import guard
    from sim.results import Results

    years = np.arange(2020, 2023)
    results = Results.empty(years, 1)
    for name in results.metrics:
        results.metrics[name][:] = 100.0
    results.metrics["participation_rate"][:] = 0.5
    results.ledger_row("stock", 1, np.array([100.0]), np.array([110.0]), inflow=np.array([10.0]))
    results.ledger_row("stock", 2, np.array([110.0]), np.array([130.0]), inflow=np.array([10.0]))  # 10 unexplained
    with pytest.raises(InputError, match="breaks the accounting identity"):
        guard.check(results, 2020, "s.yaml", "scenario s")


def test_a_sweeps_missing_base_scenario_is_blamed_on_the_sweep_file(tmp_path):
    sweep = tmp_path / "sw.yaml"
    sweep.write_text("scenario: nowhere.yaml\ndesign: lhs\nsamples: 4\nvary:\n  levers.talent.arrivals: {range: [1, 2]}\n"
                     "outcomes: [shortage.2028]\n")
    line = one_error_line(cli("sweep", str(sweep), "--out", str(tmp_path / "o")))
    assert line.startswith(f"error: {sweep}:1: scenario: base scenario 'nowhere.yaml' not found")
    line = one_error_line(cli("validate", str(BASELINE), "--set", "calibration=/dev/null"))
    assert "is not a regular file" in line


@pytest.mark.parametrize("setting, words", [
    ("levers.talent.arrivals.²=5", "is not a key"),
    ("levers.retraining.places=1.0e+308", "above the maximum"),
    ("levers.retraining.places=1400000", "above the maximum"),
    ("uncertainties.participation_trend.value=1e308", "outside"),
    ("uncertainties.resident_net_migration.value=1e308", "outside"),
    ("uncertainties.mortality_scale.value=1e5", "outside"),
    ("uncertainties.gdp_growth.sd=1e300", "gdp_growth"),
    ("uncertainties.one_way_permits={value: 41000, dist: uniform, low: -1e308, high: 1e308}", "outside"),
    ("uncertainties.mortality_scale.value=true", "not a number"),
    ('uncertainties.mortality_scale.value="1.5"', "not a number"),
])
def test_values_that_once_crashed_or_ran_to_nan_are_refused(setting, words):
    assert words in one_error_line(cli("validate", str(BASELINE), "--set", setting))


def test_counts_accept_exponent_notation():
    assert cli("validate", str(BASELINE), "--set", "levers.talent.arrivals=1e5").returncode == 0


def test_negative_births_in_the_data_are_refused(tmp_path):
    scenario = on_edited_calibration(tmp_path, "data/flows.csv", "2019,births,,53300", "2019,births,,-53300")
    assert "is negative" in one_error_line(cli("validate", str(scenario)))


def test_emigration_beyond_the_residents_is_capped_recorded_and_reported(tmp_path, scenario):
    import csv

    out = tmp_path / "out"
    result = cli("run", str(scenario), "--out", str(out), "--no-charts", "--set",
                 "uncertainties.resident_net_migration.value=-900000")
    assert result.returncode == 0 and "could not leave" in result.stdout
    rows = list(csv.DictReader((out / "ledger.csv").open()))
    capped = sum(float(r["value"]) for r in rows if r["item"] == "migration_capped")
    assert capped > 1e6
    population = [float(r["population"]) for r in csv.DictReader((out / "yearly.csv").open())]
    assert min(population) >= 0
    assert "**Capped:**" in (out / "report.md").read_text()
