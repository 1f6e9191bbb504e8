"""Sweeps: sweep files, designs, byte-identical results whatever the executor or shard size,
kill-and-resume, Sobol' indices against Ishigami's analytic values, the frontier, the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim import design, frontier, sensitivity, sweep, sweepfile
from sim.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"

SMALL = f"""\
name: small
scenario: {BASELINE}
set: {{years.end: 2030}}
design: saltelli
samples: 16
seed: 5
vary:
  levers.talent.arrivals: {{range: [35000, 120000]}}
  uncertainties.gdp_growth.value: {{range: [0.0, 0.05]}}
outcomes:
  - shortage[2028]
  - labour_force[2030]
  - cumulative_cost[2030]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=ROOT, capture_output=True,
                          text=True, **kwargs)


# --- sweep files ------------------------------------------------------------------------------

@pytest.mark.parametrize("change, line, key, words", [
    (("design: saltelli", "design: halton"), 4, "design", "grid"),
    (("samples: 16", "samples: 12"), 5, "samples", "power of 2"),
    (("levers.talent.arrivals: {range", "levers.talent.arival: {range"), 8, "vary.levers.talent.arival",
     "did you mean 'levers.talent.arrivals'"),
    (("[35000, 120000]", "[120000, 35000]"), 8, "vary.levers.talent.arrivals.range", "low < high"),
    (("[35000, 120000]", "[35000, 2000000]"), 8, "vary.levers.talent.arrivals.range[1]", "above the maximum"),
    (("  - shortage[2028]", "  - shortage[2050]"), 11, "outcomes[0]", "outside"),
    (("  - shortage[2028]", "  - shortfall[2028]"), 11, "outcomes[0]", "metric[year]"),
    (("seed: 5", "seed: 5\nsamples_: 3"), 7, "samples_", "unknown key"),
    (("set: {years.end: 2030}", "set: {levers.talent.arivals: 3}"), 3, "set.levers.talent.arivals", "unknown key"),
    (("levers.talent.arrivals: {range: [35000, 120000]}", "levers.talent.first_visa_years: {range: [1, 3]}"), 8,
     "vary.levers.talent.first_visa_years.range", "whole numbers"),
])
def test_bad_sweep_files_name_file_line_and_key(tmp_path, change, line, key, words):
    path = write(tmp_path, SMALL.replace(*change))
    with pytest.raises(InputError) as caught:
        sweepfile.load(path)
    err = caught.value
    assert (Path(err.file).name, err.line, err.key) == ("sweep.yaml", line, key), str(err)
    assert words in err.message


def test_saltelli_refuses_random_draws(tmp_path):
    with pytest.raises(InputError, match="Sobol' indices need") as caught:
        sweepfile.load(write(tmp_path, SMALL + "draws: true\n"))
    assert caught.value.key == "draws" and caught.value.line == 14


def test_grid_needs_levels_and_refuses_samples(tmp_path):
    grid = SMALL.replace("design: saltelli", "design: grid")
    with pytest.raises(InputError, match="remove samples"):
        sweepfile.load(write(tmp_path, grid.replace("[35000, 120000]}", "[35000, 120000], levels: 3}")
                             .replace("[0.0, 0.05]}", "[0.0, 0.05], levels: 2}")))
    grid = grid.replace("samples: 16\n", "")
    with pytest.raises(InputError, match="levels"):
        sweepfile.load(write(tmp_path, grid))
    ok = grid.replace("[35000, 120000]}", "[35000, 120000], levels: 3}").replace("[0.0, 0.05]}", "[0.0, 0.05], levels: 2}")
    assert sweepfile.load(write(tmp_path, ok)).runs == 6
    with pytest.raises(InputError, match="--samples: does not apply"):
        sweepfile.load(write(tmp_path, ok), samples=8)


def test_frontier_needs_costed_levers(tmp_path):
    text = SMALL.replace("uncertainties.gdp_growth.value: {range: [0.0, 0.05]}",
                         "levers.talent.extension_rate: {range: [0.4, 0.7]}") + "frontier: {years: [2028]}\n"
    with pytest.raises(InputError, match="no unit cost"):
        sweepfile.load(write(tmp_path, text))


def test_shipped_sweeps_are_valid():
    for path in sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml")):
        loaded = sweepfile.load(path)
        assert loaded.runs > 0 and loaded.axes and loaded.outcomes
    result = cli("sweep", "scenarios/sweeps/uncertainty.yaml", "--samples", "1000", "--out", "/nonexistent/x")
    assert result.returncode == 2 and "power of 2" in result.stderr and "Traceback" not in result.stderr


# --- designs --------------------------------------------------------------------------------------

def test_designs_do_not_depend_on_how_the_runs_are_cut(tmp_path):
    for name, samples in (("lhs", 100), ("sobol", 64), ("saltelli", 16)):
        loaded = sweepfile.load(write(tmp_path, SMALL.replace("design: saltelli", f"design: {name}")
                                      .replace("samples: 16", f"samples: {samples}")))
        whole = design.points(loaded, 0, loaded.runs)
        parts = [design.points(loaded, a, min(a + 7, loaded.runs) - a) for a in range(0, loaded.runs, 7)]
        for column, values in whole.items():
            assert np.array_equal(values, np.concatenate([p[column] for p in parts])), (name, column)
            axis = next(a for a in loaded.axes if a.column == column)
            assert values.min() >= axis.low and values.max() <= axis.high


def test_latin_hypercube_takes_each_stratum_once(tmp_path):
    loaded = sweepfile.load(write(tmp_path,
        SMALL.replace("design: saltelli", "design: lhs").replace("samples: 16", "samples: 50")))
    for axis, values in zip(loaded.axes, design.points(loaded, 0, 50).values()):
        strata = np.floor((values - axis.low) / (axis.high - axis.low) * 50).astype(int)
        assert sorted(strata) == list(range(50))


def test_grid_enumerates_every_combination_and_lists(tmp_path):
    text = SMALL.replace("design: saltelli", "design: grid").replace("{range: [35000, 120000]}", "{list: [40000, 80000]}")
    text = text.replace("samples: 16\n", "")
    loaded = sweepfile.load(write(tmp_path, text.replace("[0.0, 0.05]}", "[0.0, 0.04], levels: 3}")))
    points = design.points(loaded, 0, loaded.runs)
    pairs = set(zip(points["levers.talent.arrivals"], np.round(points["uncertainties.gdp_growth.value"], 12)))
    assert pairs == {(a, g) for a in (40000.0, 80000.0) for g in (0.0, 0.02, 0.04)}


def test_saltelli_blocks_share_columns_as_the_estimator_needs():
    d, n = 3, 8
    x = design.saltelli(1, d, n, 0, n * (d + 2))
    a, b = x[:n], x[n:2 * n]
    for i in range(d):
        ab = x[(2 + i) * n:(3 + i) * n]
        assert np.array_equal(ab[:, i], b[:, i])
        assert np.array_equal(np.delete(ab, i, axis=1), np.delete(a, i, axis=1))


def test_sobol_indices_of_ishigami_match_the_analytic_values():
    """Ishigami (a=7, b=0.1) on U(-pi, pi)^3: S = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)."""
    d, n = 3, 4096
    x = -np.pi + 2 * np.pi * design.saltelli(3, d, n, 0, n * (d + 2))
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    s = sensitivity.indices(np.stack([y, 2 * y + 1]), d, seed=3)
    first, total = np.array([0.3139, 0.4424, 0.0]), np.array([0.5576, 0.4424, 0.2437])
    for k in range(2):
        assert np.allclose(s["first"][k], first, atol=0.04), s["first"]
        assert np.allclose(s["total"][k], total, atol=0.04), s["total"]
        assert np.all(s["first_low"][k] <= s["first"][k]) and np.all(s["first"][k] <= s["first_high"][k])
        assert np.all(s["total_high"][k] - s["total_low"][k] < 0.15)


def test_frontier_takes_the_cheapest_mix_meeting_each_share():
    cost = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    short = np.array([10.0, 90.0, 40.0, 60.0, 20.0])
    picks = frontier.cheapest(cost, short, gap=100.0, shares=(0.5, 0.8, 0.95))
    assert [p["run"] for p in picks] == [2, 4, None]
    assert [p["meeting"] for p in picks] == [3, 2, 0]
    assert list(frontier.pareto(cost, short)) == [1, 3, 2, 4, 0]


# --- running ----------------------------------------------------------------------------------

def test_results_equal_single_runs_with_the_same_values(tmp_path, inputs):
    """A sweep row is the run that --set of its inputs gives (the engine's full path)."""
    from sim.engine import simulate
    from sim.params import build

    loaded = sweepfile.load(write(tmp_path, SMALL))
    table = sweep.run(loaded, shard_size=13)
    assert table.num_rows == loaded.runs == 64
    assert table.column("run").to_pylist() == list(range(64))
    for r in (0, 17, 63):
        values = {a.column: np.array([table.column(a.column)[r].as_py()]) for a in loaded.axes}
        one = simulate(build(loaded.base.scenario, inputs, runs=1, values=values), inputs)
        years = list(one.years)
        assert table.column("shortage[2028]")[r].as_py() == one.metrics["shortage"][0, years.index(2028)]
        assert table.column("labour_force[2030]")[r].as_py() == one.metrics["labour_force"][0, years.index(2030)]
        assert table.column("cumulative_cost[2030]")[r].as_py() == pytest.approx(
            one.metrics["cost"][0, years.index(2025):years.index(2030) + 1].sum(), rel=1e-12)
        met = one.metrics["shortage"][0, years.index(2028)] <= 180000
        assert table.column("met.shortage_2028")[r].as_py() == met


def test_output_is_byte_identical_across_executors_and_shard_sizes(tmp_path):
    """With draws of the uncertainties too: each run's random numbers come from the seed and its index."""
    from dask.distributed import LocalCluster

    path = write(tmp_path, SMALL.replace("seed: 5", "seed: 5\ndraws: true").replace("design: saltelli", "design: lhs")
                 .replace("samples: 16", "samples: 64"))
    folders = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        for name, options in (("inline", {"shard_size": 64}), ("shards", {"shard_size": 5}),
                              ("pool", {"workers": 2, "shard_size": 9}),
                              ("dask", {"workers": 2, "dask": True, "shard_size": 11}),
                              ("scheduler", {"scheduler": cluster.scheduler_address, "shard_size": 7})):
            folders[name] = tmp_path / name
            sweep.run(path, folders[name], charts=False, **options)
    reference = folder_bytes(folders["inline"])
    table = sweep._read(folders["inline"])
    assert np.unique(table.column("labour_force[2030]").to_numpy()).size == 64  # the draws differ run by run
    assert {"results.parquet", "results.csv", "outcomes.csv", "targets.csv", "manifest.json"} <= set(reference)
    for name, folder in folders.items():
        assert folder_bytes(folder) == reference, name
        assert not folder.with_name(folder.name + ".partial").exists()


def test_report_rebuilds_the_same_files(tmp_path):
    path = write(tmp_path, SMALL)
    out = tmp_path / "out"
    sweep.run(path, out)
    before = folder_bytes(out)
    assert any(name.endswith(".png") for name in before)
    result = cli("report", str(out))
    assert result.returncode == 0, result.stderr
    assert folder_bytes(out) == before
    path.write_text(SMALL.replace("seed: 5", "seed: 6"), encoding="utf-8")
    result = cli("report", str(out))
    assert result.returncode == 2 and "changed since" in result.stderr


def _kill_after(args: list[str], partial: Path, shards: int) -> None:
    """Start a sweep and kill -9 it once `shards` shards are recorded (or it has finished)."""
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            done = len(json.loads((partial / "sweep.json").read_text())["done"])
        except (OSError, ValueError, KeyError):
            done = -1
        if done >= shards:
            break
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_kill_and_resume_ends_identical_to_an_uninterrupted_run(tmp_path):
    path = write(tmp_path, SMALL)
    reference = tmp_path / "reference"
    sweep.run(path, reference, charts=False, shard_size=4)
    out = tmp_path / "out"
    partial = tmp_path / "out.partial"
    args = ["sweep", str(path), "--out", str(out), "--no-charts", "--shard-size", "4"]
    for shards in (0, 3, 9):
        _kill_after(args + ["--resume"], partial, shards)
    plan = json.loads((partial / "sweep.json").read_text())
    if plan["done"]:  # a corrupt shard is rerun, not trusted
        name = sorted(plan["done"])[0]
        (partial / name).write_bytes(b"not parquet")
    result = cli(*args, "--resume")
    assert result.returncode == 0, result.stderr
    assert folder_bytes(out) == folder_bytes(reference)
    assert not partial.exists()
    again = cli(*args, "--resume")  # already complete: nothing to do, nothing changed
    assert again.returncode == 0 and folder_bytes(out) == folder_bytes(reference)


def test_resume_refuses_a_different_sweep_file(tmp_path):
    path = write(tmp_path, SMALL)
    out, partial = tmp_path / "out", tmp_path / "out.partial"
    args = ["sweep", str(path), "--out", str(out), "--no-charts", "--shard-size", "4"]
    _kill_after(args, partial, 2)
    path.write_text(SMALL.replace("seed: 5", "seed: 9"), encoding="utf-8")
    result = cli(*args, "--resume")
    assert result.returncode == 2 and "different sweep file" in result.stderr
    assert partial.exists()


def test_sweep_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = cli("sweep", str(write(tmp_path, SMALL)), "--out", str(out))
    assert result.returncode == 2 and "not written by simulate" in result.stderr
    assert (out / "notes.txt").read_text() == "keep me"


def test_a_notebook_sweep_is_one_call_with_trajectories_on_request():
    spec = {"scenario": str(BASELINE), "design": "grid", "set": {"years.end": 2030}, "targets": False,
            "vary": {"levers.talent.arrivals": {"list": [35000, 70000, 105000]}},
            "outcomes": ["shortage[2025..2030]", "labour_force[2030]"]}
    table = sweep.run(spec)
    assert table.num_rows == 3
    assert table.column_names == ["run", "levers.talent.arrivals", *(f"shortage[{y}]" for y in range(2025, 2031)),
                                  "labour_force[2030]"]
    assert np.all(np.diff(table.column("labour_force[2030]").to_numpy()) > 0)  # more talents, more workers
    assert table.schema.field("shortage[2028]").metadata[b"unit"].startswith(b"persons")
    with pytest.raises(InputError, match="2031 is outside"):
        sweep.run({**spec, "outcomes": ["shortage[2025..2031]"]})


# --- review findings (each once a bug) ---------------------------------------------------------

def test_saltelli_with_one_input(tmp_path):
    text = SMALL.replace("  uncertainties.gdp_growth.value: {range: [0.0, 0.05]}\n", "")
    out = tmp_path / "out"
    sweep.run(write(tmp_path, text), out, charts=False)
    rows = (out / "sensitivity.csv").read_text().splitlines()[1:]
    first = [float(r.split(",")[2]) for r in rows if r.split(",")[2]]
    assert first and all(0.8 < f < 1.2 for f in first)  # the only input explains all the variance


def test_the_digest_covers_the_calibration_data(tmp_path):
    import shutil

    shutil.copytree(ROOT / "calibration", tmp_path / "calibration")
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    path = write(tmp_path, SMALL.replace(str(BASELINE), str(tmp_path / "scenarios" / "baseline.yaml")))
    loaded = sweepfile.load(path)
    before = sweep.fingerprint(loaded, sweep._inputs(loaded))
    data = tmp_path / "calibration" / "data" / "mortality.csv"
    data.write_text(data.read_text() + "\n")
    assert sweep.fingerprint(loaded, sweep._inputs(loaded)) != before


def test_report_keeps_the_users_files_and_works_from_any_folder(tmp_path):
    out = tmp_path / "out"
    sweep.run(write(tmp_path, SMALL), out, charts=False)
    (out / "notes.md").write_text("mine")
    before = folder_bytes(out)
    result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "report", str(out), "--no-charts"],
                            cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert folder_bytes(out) == before


def test_sweep_refuses_a_run_folder_and_unusable_outs(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text('{"scenario": "baseline", "version": "0.1.0", "files": ["manifest.json"]}')
    (run / "mynotes.txt").write_text("note")
    path = write(tmp_path, SMALL)
    result = cli("sweep", str(path), "--out", str(run))
    assert result.returncode == 2 and "holds results of simulate run, not simulate sweep" in result.stderr
    assert (run / "mynotes.txt").read_text() == "note"
    (tmp_path / "afile.txt").write_text("x")
    result = cli("sweep", str(path), "--out", str(tmp_path / "afile.txt" / "sub"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("change, words", [
    (("  - shortage[2028]", "  - shortage[2030..2025]"), "first year is after the last"),
    (("  - shortage[2028]", "  - shortage[2020]"), "observed year"),
    (("[35000, 120000]", "[true, 120000]"), "valid number"),
    (("seed: 5", "seed: 5\nframe: 1"), "unknown key"),
])
def test_more_bad_sweep_files(tmp_path, change, words):
    with pytest.raises(InputError, match=words):
        sweepfile.load(write(tmp_path, SMALL.replace(*change)))


def test_a_frontier_refuses_draws_and_reports_a_base_without_a_gap(tmp_path, inputs):
    costed = SMALL.replace("design: saltelli", "design: lhs").replace("uncertainties.gdp_growth.value: {range: [0.0, 0.05]}",
                                                                      "levers.retraining.places: {range: [130000, 200000]}")
    with pytest.raises(InputError, match="lucky draw"):
        sweepfile.load(write(tmp_path, costed + "draws: true\nfrontier: {years: [2028]}\n"))
    surplus = costed.replace("set: {years.end: 2030}", "set: {years.end: 2030, uncertainties.gdp_growth.value: -0.04}")
    out = tmp_path / "out"
    sweep.run(write(tmp_path, surplus + "frontier: {years: [2028]}\n"), out, charts=False)
    rows = (out / "frontier.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1] == ""  # one row, no share: nothing to close
    assert "no gap" in (out / "report.md").read_text()


def test_lhs_permutation_is_a_bijection_for_any_size():
    for n in (1, 2, 3, 7, 1000, 4097):
        keys = np.random.SeedSequence(n).generate_state(4, np.uint64)
        assert sorted(design._permute(np.arange(n, dtype=np.uint64), n, keys)) == list(range(n))
