"""Import cost of the command line: `validate`, `--help` and `run --no-charts` must not load
matplotlib, scipy.stats, pyarrow or dask. Each check runs in a fresh interpreter, since the test process has
usually imported them already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "scipy.stats", "pyarrow", "dask", "distributed")

PROBE = """
import json, sys
import cli
try:
    code = cli.main({args!r}, standalone_mode=False)
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in sys.modules
                                                    if m in {heavy!r} or m.split(".")[0] in {heavy!r})}}))
"""


def modules_after(args: list[str], cwd: Path) -> tuple[object, list[str], str]:
    """Run cli.main(args) in a new interpreter; returns (exit code, heavy modules loaded, stdout)."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], report["loaded"], done.stdout


@pytest.mark.parametrize("args", [["validate", "scenarios/baseline.yaml"], ["--help"],
                                  ["run", "--help"], ["validate", "--help"], ["sweep", "--help"], ["report", "--help"]],
                         ids=["validate", "help", "run-help", "validate-help", "sweep-help", "report-help"])
def test_light_commands_do_not_import_heavy_modules(args):
    """validate and --help succeed without importing matplotlib, scipy.stats, pyarrow or dask."""
    code, loaded, stdout = modules_after(args, ROOT)
    assert code in (0, None), stdout
    assert loaded == [], f"{' '.join(args)} imported {loaded}"
    if args[-1].endswith(".yaml"):
        assert "valid (scenario baseline" in stdout


def test_run_without_charts_does_not_import_matplotlib(tmp_path):
    """run --no-charts writes its files without importing matplotlib or scipy.stats."""
    out = tmp_path / "out"
    code, loaded, stdout = modules_after(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--out", str(out),
                                          "--no-charts"], tmp_path)
    assert code in (0, None), stdout
    assert (out / "yearly.csv").is_file()
    assert loaded == [], f"run --no-charts imported {loaded}"
