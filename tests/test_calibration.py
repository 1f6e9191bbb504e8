"""The fitted calibration: reproducible from the committed data, on target, back-tested honestly."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration import diagnostics, fit
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[1]
ASSUMPTIONS = ROOT / "calibration" / "assumptions.yaml"
COMMITTED = ROOT / "calibration" / "hk.yaml"
REPORT = ROOT / "calibration" / "report"
RANGES = {"skilled_technical": (60_000, 65_000), "manual": (44_000, 49_000), "service": (43_000, 48_000),
          "managers_professionals": (27_000, 32_000)}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """`simulate calibrate` (the library call behind it) into a temporary folder, dated as the committed file."""
    fitted_on = yaml.safe_load(COMMITTED.read_text())["fit"]["fitted_on"]
    out = tmp_path_factory.mktemp("cal")
    scenario = load(ROOT / "scenarios" / "baseline.yaml").scenario
    result, back, files = fit.calibrate(ASSUMPTIONS, scenario, out / "hk.yaml", out / "report", 2019, fitted_on)
    return out, result, back, files


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_calibrate_reproduces_the_committed_file_exactly(calibrated):
    """Refitting from the committed assumptions and data gives the committed hk.yaml byte for byte."""
    out, *_ = calibrated
    assert (out / "hk.yaml").read_bytes() == COMMITTED.read_bytes()


def test_committed_report_tables_are_the_computed_ones(calibrated):
    """The committed residual, parameter and back-test tables are what the fit computes now."""
    out, *_ = calibrated
    for name in ("residuals.csv", "parameters.csv", "backtest.csv", "report.md"):
        assert (out / "report" / name).read_text() == (REPORT / name).read_text(), name


def test_labour_force_history_within_one_percent(calibrated):
    """Every chosen labour-force target year is fitted within 1%; 2024 within 0.5%."""
    _, result, *_ = calibrated
    rows = [r for r in diagnostics.residual_rows(result) if r["metric"] == "labour_force"]
    assert {r["year"] for r in rows} == {2017, 2018, 2022, 2023, 2024}
    for r in rows:
        assert abs(r["error_pct"]) < 1.0, r
    assert abs(next(r for r in rows if r["year"] == 2024)["error_pct"]) < 0.5


def test_2028_shortage_by_group_inside_published_ranges(calibrated):
    """The fitted 2028 shortages by group lie inside the MP2023 ranges, the total within 5% of 180,000."""
    _, result, *_ = calibrated
    rows = {r["metric"]: r["model"] for r in diagnostics.residual_rows(result) if r["year"] == 2028}
    for group, (lo, hi) in RANGES.items():
        assert lo <= rows[f"shortage_{group}"] <= hi, group
    assert rows["shortage"] == pytest.approx(180_000, rel=0.05)


def test_standard_errors_from_the_jacobian(calibrated):
    """Fitted parameters have finite positive standard errors and a symmetric covariance."""
    _, result, *_ = calibrated
    assert result.fitted.all()
    assert np.all(np.isfinite(result.se)) and np.all(result.se > 0)
    np.testing.assert_allclose(result.covariance, result.covariance.T)
    np.testing.assert_allclose(np.sqrt(np.diag(result.covariance)), result.se)


def test_backtest_is_fitted_on_early_data_only(calibrated):
    """The back-test fits on targets up to 2019 only and leaves unidentified parameters at their start."""
    out, result, back, _ = calibrated
    early = fit.run(fit.problem(ASSUMPTIONS, result.problem.scenario, upto=2019))
    assert {t.year for t in early.problem.targets} == {2017, 2018}
    assert list(np.array(early.problem.names)[early.fitted]) == ["participation_scale", "participation_trend"]
    assert back == fit.backtest(early, result.problem.inputs.targets)


def test_backtest_errors_are_pinned(calibrated):
    """Back-test errors (fit to 2019, observed flows after): pinned so a change to them is seen."""
    _, _, back, _ = calibrated
    chosen = {r["year"]: round(r["error_pct"], 1) for r in back if r["chosen"] == "yes"}
    assert chosen == {2022: 4.7, 2023: 4.7, 2024: 4.8}
    for r in back:
        assert r["error"] == pytest.approx(r["projected"] - r["observed"])


def test_fit_is_deterministic(calibrated):
    """Two fits of the same problem give identical estimates."""
    _, result, *_ = calibrated
    again = fit.run(fit.problem(ASSUMPTIONS, result.problem.scenario))
    np.testing.assert_array_equal(again.x, result.x)


def test_cli_calibrate_writes_file_and_report(tmp_path):
    """`simulate calibrate --out F --date D` writes F equal to the committed file and a report beside it."""
    from click.testing import CliRunner

    from cli import main

    fitted_on = yaml.safe_load(COMMITTED.read_text())["fit"]["fitted_on"]
    result = CliRunner().invoke(main, ["calibrate", "--out", str(tmp_path / "hk.yaml"), "--date", fitted_on])
    assert result.exit_code == 0, result.output
    assert "back-test (fit to 2019): 2022 +4.7%, 2023 +4.7%, 2024 +4.8%" in result.output
    assert (tmp_path / "hk.yaml").read_bytes() == COMMITTED.read_bytes()
    assert {"residuals.csv", "parameters.csv", "backtest.csv", "fit.png", "fit.svg", "report.md"} <= \
        {p.name for p in (tmp_path / "report").iterdir()}


def test_cli_calibrate_bad_date_is_bad_input(tmp_path):
    """A malformed --date exits 2 with one error line and writes nothing."""
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["calibrate", "--out", str(tmp_path / "hk.yaml"), "--date", "22/11/2026"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: --date: '22/11/2026' is not a date")
    assert list(tmp_path.iterdir()) == []
