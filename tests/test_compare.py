"""`simulate compare`, as a planner uses it: the files, their columns and units, attribution that
adds up to the compared runs, paired bands, costs, byte-identical reruns and clear refusals."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BASELINE, COMBINED = SCENARIOS / "baseline.yaml", SCENARIOS / "combined.yaml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def rows(path: Path) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "out"
    result = invoke("compare", BASELINE, COMBINED, SCENARIOS / "no_new_measures.yaml", "--draws", "40", "--out", out)
    assert result.exit_code == 0, result.output
    return out, result


def test_compare_writes_every_table_chart_and_report(compared):
    out, result = compared
    names = {p.name for p in out.iterdir()}
    assert {"compare.csv", "attribution.csv", "compare_bands.csv", "cost_effectiveness.csv", "report.md",
            "manifest.json", "compare_lines.png", "compare_shortage_by_group.png", "compare_differences.png",
            "attribution_combined.png", "attribution_no_new_measures.png"} <= names
    assert "combined: -" in result.stdout and "no_new_measures: +" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base"] == "baseline" and manifest["draws"] == 40
    assert sorted(manifest["files"]) == sorted(names)
    assert "attribution.csv" in manifest["units"]


def test_compare_csv_is_tidy_with_units_and_differences(compared):
    out, _ = compared
    header, table = rows(out / "compare.csv")
    assert header == ["scenario", "year", "metric", "value", "difference", "unit"]
    value = {(r["scenario"], int(r["year"]), r["metric"]): r for r in table}
    for (_, year, metric), r in value.items():
        if r["value"]:
            base = float(value[("baseline", year, metric)]["value"])
            assert abs(float(r["difference"]) - (float(r["value"]) - base)) <= 0.15
    assert value[("combined", 2028, "cost")]["unit"] == "HK$/year"
    assert {r["metric"] for r in table} >= {"labour_force", "requirement", "shortage", "shortage_service", "cost"}


def test_attribution_adds_up_to_the_compared_shortages(compared):
    """Per scenario and year the contributions sum to the `total` row, which is the shortage
    difference of compare.csv; levers that do not differ are not listed."""
    out, _ = compared
    header, table = rows(out / "attribution.csv")
    assert header == ["scenario", "year", "lever", "contribution"]
    _, comparison = rows(out / "compare.csv")
    diff = {(r["scenario"], int(r["year"])): float(r["difference"]) for r in comparison
            if r["metric"] == "shortage" and r["difference"]}
    sums, totals = {}, {}
    for r in table:
        key = (r["scenario"], int(r["year"]))
        if r["lever"] == "total":
            totals[key] = float(r["contribution"])
        elif r["contribution"]:
            sums[key] = sums.get(key, 0.0) + float(r["contribution"])
    for key, total in totals.items():
        if key in sums:
            assert abs(sums[key] - total) < 0.01 * 9, key  # 3-decimal rounding of up to 9 levers
            assert abs(total - diff[key]) <= 0.15, key
    levers = {r["lever"] for r in table if r["scenario"] == "no_new_measures"}
    assert levers == {"levers.talent.arrivals", "levers.retraining.places", "total"}


def test_paired_bands_are_narrow_and_give_a_probability(compared):
    out, _ = compared
    header, table = rows(out / "compare_bands.csv")
    assert header == ["scenario", "year", "metric", "p05", "p25", "p50", "p75", "p95", "probability_below_base"]
    at = {(r["scenario"], int(r["year"]), r["metric"]): r for r in table}
    row = at[("combined", 2028, "shortage")]
    assert float(row["p95"]) < 0 and float(row["probability_below_base"]) == 1.0
    q = [float(row[c]) for c in ("p05", "p25", "p50", "p75", "p95")]
    assert q == sorted(q)
    assert q[4] - q[0] < 0.3 * abs(q[2])  # the paired difference is far narrower than either band


def test_cost_effectiveness_names_only_costed_levers(compared):
    out, _ = compared
    header, table = rows(out / "cost_effectiveness.csv")
    assert header == ["scenario", "year", "lever", "cost_hkd", "closed_persons", "hkd_per_person_closed"]
    combined = {r["lever"]: r for r in table if r["scenario"] == "combined"}
    assert set(combined) == {"levers.retraining.places", "levers.talent.arrivals", "costed levers",
                             *(f"levers.importation.workers.{g}" for g in ("skilled_technical", "service", "manual"))}
    assert "package" not in combined  # participation levers have no unit cost: never counted as free
    imported = combined["levers.importation.workers.service"]
    assert float(imported["cost_hkd"]) == -3000 * 9600  # levy revenue: 2-year contracts x HK$4,800
    places = combined["levers.retraining.places"]
    assert float(places["cost_hkd"]) == 30000 * 9000  # 30,000 more places at HK$9,000
    assert abs(float(places["hkd_per_person_closed"]) - float(places["cost_hkd"]) / float(places["closed_persons"])) < 1


def test_report_states_the_headline(compared):
    out, _ = compared
    text = (out / "report.md").read_text()
    assert "`combined` lowers the 2028 shortage by" in text and "paired draws" in text
    assert re.search(r"!\[combined has the lowest 2028 shortage: [\d,]+ against baseline's [\d,]+\]\(compare_lines.png\)",
                     text)


def test_compare_is_byte_identical_on_rerun(tmp_path):
    for name in ("a", "b"):
        assert invoke("compare", BASELINE, SCENARIOS / "talent_plus.yaml", "--draws", "10", "--no-charts",
                      "--out", tmp_path / name).exit_code == 0
    for file in ("compare.csv", "attribution.csv", "compare_bands.csv", "cost_effectiveness.csv", "report.md"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_against_names_the_base(tmp_path):
    result = invoke("compare", SCENARIOS / "talent_plus.yaml", "--against", BASELINE, "--no-charts",
                    "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("against baseline:")


@pytest.mark.parametrize("args,message", [
    (["--year", "2020"], "--year: 2020 is not a projection year"),
    (["--set-nothing"], "No such option"),
])
def test_bad_compare_arguments_are_one_line(tmp_path, args, message):
    result = invoke("compare", BASELINE, COMBINED, "--out", tmp_path / "o", *args)
    assert result.exit_code == 2 and message in result.output


def test_scenarios_on_other_years_are_refused(tmp_path):
    short = tmp_path / "short.yaml"
    short.write_text(f"extends: {BASELINE}\nyears: {{start: 2017, end: 2040}}\n")
    result = invoke("compare", BASELINE, short, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "years: differs from the base" in result.output
    assert not (tmp_path / "o").exists()


def test_a_base_alone_is_refused(tmp_path):
    result = invoke("compare", BASELINE, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "no scenario to compare" in result.output
    assert not (tmp_path / "o").exists()


def test_a_target_no_value_can_meet_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(BASELINE), "--set",
                                       "targets.odd={metric: shortage, min: 5, max: 1, years: [2028, 2028]}"])
    assert result.exit_code == 2 and "min 5 is above max 1" in result.output
