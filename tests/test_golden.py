"""Golden files: every shipped scenario's central run, pinned.

Each scenarios/*.yaml is run (central run, no charts) and its yearly.csv compared with
tests/golden/<name>.csv: every number within a relative 1e-6 or 0.5 persons (whichever is
larger; a float sum's order may differ across machines and BLAS builds, a model change moves
numbers by far more). Regenerate with `python tests/golden/update.py` after a deliberate change.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from sim import export, runner
from sim.engine import simulate
from sim.params import build
from sim.scenario import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
RTOL, ATOL = 1e-6, 0.5


def golden_path(scenario: Path) -> Path:
    return ROOT / "tests" / "golden" / f"{scenario.stem}.csv"


def yearly_text(scenario: Path) -> str:
    loaded = load(scenario)
    inputs = runner.prepare(loaded)
    return export.yearly_csv(simulate(build(loaded.scenario, inputs), inputs))


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_shipped_scenario_has_a_golden_file():
    assert len(SCENARIOS) >= 8
    assert all(golden_path(s).is_file() for s in SCENARIOS), "run python tests/golden/update.py"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_matches_its_golden_file(scenario):
    got, want = _rows(yearly_text(scenario)), _rows(golden_path(scenario).read_text(encoding="utf-8"))
    assert [r["year"] for r in got] == [r["year"] for r in want]
    assert list(got[0]) == list(want[0]), "yearly.csv columns changed"
    for g, w in zip(got, want):
        for column, expected in w.items():
            if expected == "" or g[column] == "":
                assert g[column] == expected, (scenario.stem, w["year"], column)
                continue
            x, y = float(g[column]), float(expected)
            assert abs(x - y) <= max(ATOL, RTOL * abs(y)), (scenario.stem, w["year"], column, x, y)
