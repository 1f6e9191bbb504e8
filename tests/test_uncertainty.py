"""Monte Carlo draws (--draws): reproducible bands that widen with the horizon around the central run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from sim import runner, uncertainty
from sim.engine import simulate
from sim.params import build
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LAST_OBSERVED = 2024
END = 2046


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The baseline with 400 draws, seed 7, without charts."""
    out = tmp_path_factory.mktemp("draws") / "out"
    runner.run(load(BASELINE), out=out, seed=7, charts=False, draws=400)
    return out


def _bands(folder: Path) -> dict[str, dict[int, dict[str, float]]]:
    out: dict = {}
    with (folder / "bands.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            out.setdefault(row["metric"], {})[int(row["year"])] = {k: float(row[k] or "nan") for k in
                                                                   ("p05", "p25", "p50", "p75", "p95")}
    return out


def _yearly(folder: Path) -> dict[int, dict[str, str]]:
    with (folder / "yearly.csv").open(newline="") as handle:
        return {int(r["year"]): r for r in csv.DictReader(handle)}


def test_bands_file_has_the_contract_columns_and_ordered_percentiles(drawn):
    """bands.csv: year, metric, central, p05..p95 per year and metric, with p05 <= p25 <= p50 <= p75 <= p95;
    `central` is the central run of yearly.csv (the median is a draw, not the central run)."""
    header = (drawn / "bands.csv").read_text().splitlines()[0]
    assert header == "year,metric,central,p05,p25,p50,p75,p95"
    bands = _bands(drawn)
    assert {"labour_force", "requirement", "shortage", "population", "shortage_skilled_technical"} <= set(bands)
    yearly = _yearly(drawn)
    with (drawn / "bands.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["metric"] in ("labour_force", "shortage"):
                assert row["central"] == yearly[int(row["year"])][row["metric"]]
    for metric in bands.values():
        assert sorted(metric) == list(range(2017, END + 1))
        for q in metric.values():
            if not np.isnan(q["p05"]):
                assert q["p05"] <= q["p25"] <= q["p50"] <= q["p75"] <= q["p95"]


@pytest.mark.parametrize("metric", ["labour_force", "shortage"])
def test_central_run_inside_the_interquartile_band(drawn, metric):
    """The central run (yearly.csv) sits inside p25..p75 in every year (to 1 person: the observed
    2023 shortage is the same in every draw, and the files round to 0.1 person)."""
    bands, yearly = _bands(drawn)[metric], _yearly(drawn)
    for year, q in bands.items():
        if not np.isnan(q["p25"]):
            assert q["p25"] - 1.0 <= float(yearly[year][metric]) <= q["p75"] + 1.0, year


@pytest.mark.parametrize("metric", ["labour_force", "population", "shortage"])
def test_every_draw_agrees_on_history(drawn, metric):
    """In every observed year all draws equal the central run (zero-width bands): history is data."""
    bands, yearly = _bands(drawn)[metric], _yearly(drawn)
    for year in range(2017, LAST_OBSERVED + 1):
        q = bands[year]
        if np.isnan(q["p05"]):
            continue  # no requirement (so no shortage) before the demand base year
        assert q["p05"] == q["p95"], year
        if metric != "population":
            assert q["p50"] == pytest.approx(float(yearly[year][metric]), abs=0.11), year


def test_labour_force_band_contains_mp2023_and_population_band_inside_csd_variants(drawn):
    """The 90% band of the labour force contains MP2023's 2028 supply (3.56M); C&SD's low and high
    variants for 2046 (7.76M, 8.96M) bracket the 90% band of the population (incl. FDH)."""
    lf = _bands(drawn)["labour_force"][2028]
    assert lf["p05"] <= 3_560_000 <= lf["p95"]
    pop = _bands(drawn)["population"][2046]
    assert 7_760_000 <= pop["p05"] and pop["p95"] <= 8_960_000


def test_observed_base_year_shortage_holds_in_every_draw(drawn):
    """Each draw's base-year requirement is its own 2023 supply + the observed shortage: no 2023 spread."""
    q = _bands(drawn)["shortage"][2023]
    assert q["p05"] == q["p95"] == pytest.approx(50_000, abs=0.1)


@pytest.mark.parametrize("metric", ["labour_force", "shortage"])
def test_bands_widen_with_the_horizon(drawn, metric):
    """From the first projection year on, the 5-95 band never narrows, and ends at least twice as wide."""
    bands = _bands(drawn)[metric]
    widths = [bands[y]["p95"] - bands[y]["p05"] for y in range(LAST_OBSERVED + 1, END + 1)]
    assert all(b >= a for a, b in zip(widths, widths[1:])), widths
    assert widths[-1] > 2 * widths[0]


def test_same_seed_same_bands_other_seed_other_bands(drawn, tmp_path):
    """The same seed gives byte-identical bands and KPI probabilities; another seed does not."""
    runner.run(load(BASELINE), out=tmp_path / "same", seed=7, charts=False, draws=400)
    runner.run(load(BASELINE), out=tmp_path / "other", seed=8, charts=False, draws=400)
    for name in ("bands.csv", "kpis.csv", "yearly.csv"):
        assert (tmp_path / "same" / name).read_bytes() == (drawn / name).read_bytes(), name
    assert (tmp_path / "other" / "bands.csv").read_bytes() != (drawn / "bands.csv").read_bytes()


def test_draws_leave_the_central_run_unchanged(drawn, tmp_path):
    """yearly.csv with draws equals yearly.csv without."""
    runner.run(load(BASELINE), out=tmp_path / "plain", seed=7, charts=False)
    assert (tmp_path / "plain" / "yearly.csv").read_bytes() == (drawn / "yearly.csv").read_bytes()
    assert not (tmp_path / "plain" / "bands.csv").exists()


def test_kpis_get_probabilities(drawn):
    """With draws, kpis.csv has a probability in [0, 1] for every row."""
    with (drawn / "kpis.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(0.0 <= float(r["probability"]) <= 1.0 for r in rows)
    admission = {int(r["year"]): float(r["probability"]) for r in rows if r["kpi"] == "talent_admission"}
    assert admission[2023] == admission[2024] == 1.0   # observed: certain
    assert 0.99 <= admission[2025] <= 1.0              # 71,000 forecast, with forecast error
    shortage = {int(r["year"]): float(r["probability"]) for r in rows if r["kpi"] == "shortage_2028"}
    assert 0.0 < shortage[2028] < 1.0                  # an uncertain outcome


def test_no_uncertainty_gives_zero_width_bands(tmp_path):
    """With every uncertainty fixed, all draws equal the central run."""
    from sim.scenario import Uncertainties

    loaded = load(BASELINE, tuple(f"uncertainties.{name}.dist=fixed" for name in Uncertainties.model_fields))
    inputs = runner.prepare(loaded)
    batch = simulate(uncertainty.sample(loaded.scenario, inputs, 5, seed=1), inputs)
    single = simulate(build(loaded.scenario, inputs), inputs)
    for metric in ("labour_force", "shortage"):
        np.testing.assert_array_equal(batch.metrics[metric], np.repeat(single.metrics[metric], 5, axis=0))


def test_gdp_deviations_are_yearly_with_persistence():
    """A normal uncertainty draws a path: sd in every year, lag-1 correlation = persistence (20,000 draws)."""
    from sim.scenario import Uncertainty

    u = Uncertainty(value=0.03, dist="normal", sd=0.02, persistence=0.3)
    e = uncertainty.deviations(u, np.random.default_rng(5).standard_normal((20_000, 10)))
    np.testing.assert_allclose(e.std(axis=0), 0.02, rtol=0.03)
    lag = [np.corrcoef(e[:, t], e[:, t + 1])[0, 1] for t in range(9)]
    np.testing.assert_allclose(lag, 0.3, atol=0.03)
    held = uncertainty.deviations(u.model_copy(update={"persistence": 1.0}),
                                  np.random.default_rng(5).standard_normal((10, 5)))
    assert (held == held[:, :1]).all()  # persistence 1: one shift for every year


def test_cli_run_with_draws_writes_bands_and_fan_charts(tmp_path):
    """`simulate run --draws N` writes bands.csv and fan charts of the labour force and the shortage."""
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["run", str(BASELINE), "--out", str(tmp_path / "o"), "--draws", "50"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"bands.csv", "labour_force_fan.png", "labour_force_fan.svg", "shortage_fan.png",
            "shortage_fan.svg"} <= names
    assert "labour_force_fan.png" in (tmp_path / "o" / "report.md").read_text()
    import json

    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["draws"] == 50 and manifest["seed"] == 2024


def test_multiplier_draws_stay_in_their_stated_range():
    """A uniform multiplier with a central value other than 1 draws within [low, high] of the lever
    (the draw is relative to the central value, not to 1)."""
    loaded = load(BASELINE, ("uncertainties.talent_arrivals={value: 1.2, dist: uniform, low: 1.0, high: 1.4}",))
    inputs = runner.prepare(loaded)
    central = build(loaded.scenario, inputs)
    batch = uncertainty.sample(loaded.scenario, inputs, 200, seed=3)
    ahead = batch.years > inputs.last_observed
    factor = batch.talent_arrivals[:, ahead] / (central.talent_arrivals[0, ahead] / 1.2)
    assert factor.min() >= 1.0 - 1e-12 and factor.max() <= 1.4 + 1e-12
    assert factor.min() < 1.05 and factor.max() > 1.35
