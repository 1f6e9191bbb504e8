"""Every shipped scenario validates, runs, keeps the ledger identity and the calibrated history."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from sim import runner
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_runs_and_balances(path: Path, tmp_path: Path) -> None:
    """A shipped scenario runs; from ledger.csv alone, closing = opening + flows and closing -> next opening."""
    summary = runner.run(load(path), out=tmp_path / "out", charts=False)
    ledger = _rows(summary.out / "ledger.csv")
    by_key: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for row in ledger:
        by_key[(row["stock"], int(row["year"]))][row["item"]] = float(row["value"])
    assert len(by_key) > 10
    for (stock, year), items in by_key.items():
        flows = sum(v for k, v in items.items() if k not in ("opening", "closing"))
        assert items["closing"] == pytest.approx(items["opening"] + flows, rel=1e-9, abs=0.01), (stock, year)
        following = by_key.get((stock, year + 1))
        if following:
            assert following["opening"] == pytest.approx(items["closing"], rel=1e-9, abs=0.002), (stock, year)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_keeps_the_calibrated_history(path: Path, tmp_path: Path) -> None:
    """Shipped scenarios change policy from 2025 on only: the 2024 labour force stays within 0.5% of 3.47M."""
    summary = runner.run(load(path), out=tmp_path / "out", charts=False)
    yearly = {int(r["year"]): r for r in _rows(summary.out / "yearly.csv")}
    assert float(yearly[2024]["labour_force"]) == pytest.approx(3_470_000, rel=0.005)
    assert summary.labour_force_now == pytest.approx(float(yearly[2024]["labour_force"]), abs=0.05)
