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
    for name in ("residuals.csv", "parameters.csv", "backtest.csv", "births.csv", "official.csv", "report.md"):
        assert (out / "report" / name).read_text() == (REPORT / name).read_text(), name


def test_labour_force_history_within_one_percent(calibrated):
    """Every chosen labour-force target year is fitted within 1%; 2024 within 0.5%."""
    _, result, *_ = calibrated
    rows = [r for r in diagnostics.residual_rows(result) if r["metric"] == "labour_force"]
    assert {r["year"] for r in rows} == {2017, 2018, 2022, 2023, 2024}
    for r in rows:
        assert abs(r["error_pct"]) < 1.0, r
    assert abs(next(r for r in rows if r["year"] == 2024)["error_pct"]) < 0.5


def test_every_target_is_observed_and_over_identified(calibrated):
    """The fit uses only observed years (none after the last observed year), has more targets than
    free parameters, and states its degrees of freedom in the written file."""
    out, result, *_ = calibrated
    last = result.problem.inputs.last_observed
    assert all(t.year <= last for t in result.problem.targets)
    assert {t.metric for t in result.problem.targets} == {"labour_force", "labour_force_female", "labour_force_60plus"}
    dof = len(result.problem.targets) - int(result.fitted.sum())
    assert dof >= 3
    assert yaml.safe_load((out / "hk.yaml").read_text())["fit"]["degrees_of_freedom"] == dof


def test_official_paths_beside_the_model(calibrated):
    """report/official.csv puts the baseline beside every official path with its distance: the
    observed years' population (to 0.5%), the 2021 census structure (3%), C&SD's 2046 baseline (2%),
    MP2023's 2023 supply (1%) and requirement (1.5%) hold; the rows that do not are pinned as such."""
    out, *_ = calibrated
    rows = _rows(out / "report" / "official.csv")
    for r in rows:
        assert float(r["distance"]) == pytest.approx(float(r["model"]) - float(r["official"]), abs=0.11)
    met = {(r["kind"], r["year"], r["metric"]): r["within"] == "true" for r in rows}
    for (kind, year, metric), ok in met.items():
        if kind == "census" or (kind == "C&SD mid-year estimate" and int(year) <= 2024):
            assert ok, (kind, year, metric)
    assert met[("C&SD projection", "2046", "population incl. FDH")]
    assert met[("MP2023", "2023", "supply")] and met[("MP2023", "2023", "requirement")]
    assert met[("MP2023", "2028", "requirement")]
    assert sum(1 for k in met if k[0] == "census") == 18
    # known misses, reported not hidden (see calibration/report/report.md): a change that closes one shows here
    assert not met[("MP2023", "2028", "supply")] and not met[("MP2023", "2028", "shortage")]
    assert not met[("C&SD mid-year estimate", "2025", "population incl. FDH")]


def test_fertility_level_is_estimated_from_observed_births(calibrated):
    """The TFR level is one parameter on the four years with a published TFR; its rows are in births.csv."""
    out, *_ = calibrated
    rows = _rows(out / "report" / "births.csv")
    assert [int(r["year"]) for r in rows] == [2021, 2022, 2023, 2024]
    level = yaml.safe_load((out / "hk.yaml").read_text())["parameters"]["fertility_level"]["value"]
    model = np.array([float(r["model_births_at_tfr"]) for r in rows])
    births = np.array([float(r["observed_births"]) for r in rows])
    assert level == pytest.approx((births * model).sum() / (model * model).sum(), rel=1e-5)


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
    assert not early.fitted[list(early.problem.names).index("participation_trend_covid")]
    assert back == fit.backtest(early, result.problem.inputs.targets)


def test_backtest_errors_are_pinned(calibrated):
    """Back-test errors (fit to 2019, observed flows after): pinned so a change to them is seen."""
    _, _, back, _ = calibrated
    chosen = {r["year"]: round(r["error_pct"], 1) for r in back if r["chosen"] == "yes"}
    assert chosen == {2022: 3.4, 2023: 3.0, 2024: 3.5}
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
    assert "back-test (fit to 2019): 2022 +3.4%, 2023 +3.0%, 2024 +3.5%" in result.output
    assert (tmp_path / "hk.yaml").read_bytes() == COMMITTED.read_bytes()
    assert {"residuals.csv", "parameters.csv", "backtest.csv", "births.csv", "official.csv", "fit.png", "fit.svg",
            "official.png", "official.svg", "report.md"} <= \
        {p.name for p in (tmp_path / "report").iterdir()}


def test_cli_calibrate_bad_date_is_bad_input(tmp_path):
    """A malformed --date exits 2 with one error line and writes nothing."""
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["calibrate", "--out", str(tmp_path / "hk.yaml"), "--date", "22/11/2026"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: --date: '22/11/2026' is not a date")
    assert list(tmp_path.iterdir()) == []
