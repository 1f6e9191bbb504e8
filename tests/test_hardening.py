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


@pytest.mark.parametrize("value", ["2025-02-30", "!!int abc", "!!float ''", "!!bool maybe", "9" * 5000])
def test_values_yaml_cannot_build_are_located_errors(scenario, value):
    scenario.write_text(scenario.read_text().replace("seed: 2024", f"seed: {value}"))
    with pytest.raises(InputError) as caught:
        load(scenario)
    assert caught.value.line == 12 and "cannot be read as a value" in caught.value.message
    assert len(str(caught.value)) < 300  # the 5,000 digits are not echoed


def test_unbuildable_values_in_the_calibration_and_in_set(tmp_path):
    shutil.copytree(ROOT / "calibration", tmp_path / "calibration")
    hk = tmp_path / "calibration" / "hk.yaml"
    hk.write_text(hk.read_text().replace("base_year: 2017", "base_year: !!int abc", 1))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(BASELINE.read_text().replace("../calibration/hk.yaml", str(hk)))
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
