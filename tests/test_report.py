"""Reports: charts in one house style, report.html self-contained, rebuilt byte for byte by
`simulate report DIR`, and rendered cleanly in headless Chromium on a desktop and a phone."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import browser
import pytest
from click.testing import CliRunner

from cli import main
from sim import charts, document

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
UNIT_WORDS = ("thousand persons", "HK$ million", "% of runs", "runs (count)", "share of the outcome's variance")

SWEEP = """\
name: small
scenario: {base}
set: {{years.end: 2035}}
design: saltelli
samples: 8
seed: 3
vary:
  levers.retraining.places: {{range: [130000, 200000]}}
  levers.talent.arrivals: {{range: [40000, 100000]}}
outcomes:
  - shortage[2028]
  - labour_force[2035]
frontier: {{years: [2028], shares: [0.25, 0.5]}}
"""


def invoke(*args) -> object:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A run of the baseline, a run with draws, a comparison with paired draws, and a small sweep."""
    base = tmp_path_factory.mktemp("reports")
    out = {"run": base / "run", "draws": base / "draws", "compare": base / "compare", "sweep": base / "sweep"}
    invoke("run", SCENARIOS / "baseline.yaml", "--out", out["run"])
    invoke("run", SCENARIOS / "talent_plus.yaml", "--out", out["draws"], "--draws", "40")
    invoke("compare", SCENARIOS / "baseline.yaml", SCENARIOS / "talent_plus.yaml", SCENARIOS / "combined.yaml",
           "--draws", "20", "--out", out["compare"])
    sweep = base / "small.yaml"
    sweep.write_text(SWEEP.format(base=SCENARIOS / "baseline.yaml"))
    invoke("sweep", sweep, "--out", out["sweep"])
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def svg_text(path: Path) -> str:
    """All text of an SVG chart, one space between pieces."""
    pieces = re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text(encoding="utf-8"))
    return " ".join(" ".join(html.unescape(p) for p in pieces).split())


def titles(folder: Path) -> dict[str, str]:
    """Chart stem -> finding title, as report.md gives them."""
    text = (folder / "report.md").read_text(encoding="utf-8")
    found = re.findall(r"!\[((?:\\.|[^\]\\])*)\]\(([\w.-]+)\.png\)", text)
    return {stem: re.sub(r"\\(.)", r"\1", title) for title, stem in found}


EXPECTED = {
    "run": {"labour_force", "shortage", "shortage_by_occupation", "labour_force_flows", "targets"},
    "draws": {"labour_force", "shortage", "shortage_by_occupation", "labour_force_flows", "targets",
              "labour_force_fan", "shortage_fan"},
    "compare": {"compare_lines", "compare_shortage_by_group", "compare_differences", "attribution_talent_plus",
                "attribution_combined", "cost_effectiveness"},
    "sweep": {"sweep_outcomes", "targets", "sensitivity", "frontier_2028"},
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_every_kind_of_result_has_its_charts(folders, kind):
    """Each kind of result draws its charts, each as PNG and SVG, listed in the manifest and the report."""
    folder = folders[kind]
    assert set(titles(folder)) == EXPECTED[kind]
    listed = json.loads((folder / "manifest.json").read_text())["files"]
    for stem in EXPECTED[kind]:
        assert {f"{stem}.png", f"{stem}.svg", "report.html", "report.md"} <= set(listed)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_charts_have_a_finding_title_units_and_a_source_line(folders, kind):
    """Every chart states its finding as the title, gives units on its axes and ends with a source line,
    as text in the SVG; the PNG is at least 200 dpi, about 7.5 inches wide, and not blank."""
    import matplotlib.image

    folder = folders[kind]
    for stem, title in titles(folder).items():
        text = svg_text(folder / f"{stem}.svg")
        assert " ".join(title.split()) in text, stem
        assert re.search(r"\d", title), f"{stem}: a finding states a number: {title}"
        assert "Source: hk-labour-sim" in text and "calibration/hk.yaml fitted" in text, stem
        assert any(word in text for word in UNIT_WORDS), stem
        png = (folder / f"{stem}.png").read_bytes()
        width, height = document.png_size(png)
        assert width >= 1400 and height >= 450, (stem, width, height)
        at = png.index(b"pHYs")
        assert int.from_bytes(png[at + 4:at + 8], "big") >= 7870, stem  # pixels a metre: 200 dpi = 7874
        pixels = matplotlib.image.imread(folder / f"{stem}.png")[..., :3]
        inked = (pixels.mean(axis=2) < 0.9).mean()
        assert 0.02 < inked < 0.6, (stem, inked)


def test_units_are_thousands_of_persons_throughout(folders):
    """Persons are charted in thousands on every axis (the fans and the main charts alike), costs in HK$ million."""
    for kind in ("run", "draws", "compare"):
        for stem in titles(folders[kind]):
            text = svg_text(folders[kind] / f"{stem}.svg")
            assert "million persons" not in text and "(persons" not in text, stem
    assert "HK$ million" in svg_text(folders["compare"] / "cost_effectiveness.svg")
    assert "HK$ million" in svg_text(folders["sweep"] / "frontier_2028.svg")


def test_a_scenario_keeps_its_colour_on_every_chart(folders):
    """talent_plus is drawn in its one colour in its own run's charts and in the comparison's."""
    colour = charts.scenario_style("talent_plus")["color"].lower()
    for folder, stem in ((folders["draws"], "labour_force"), (folders["draws"], "shortage_fan"),
                         (folders["compare"], "compare_lines"), (folders["compare"], "compare_differences"),
                         (folders["compare"], "attribution_talent_plus"), (folders["compare"], "cost_effectiveness")):
        assert colour in (folder / f"{stem}.svg").read_text().lower(), stem
    baseline = charts.scenario_style("baseline")["color"].lower()
    assert baseline in (folders["run"] / "labour_force.svg").read_text().lower()
    assert baseline in (folders["compare"] / "compare_lines.svg").read_text().lower()


def test_scenario_styles_are_stable_and_distinct():
    """An unshipped name always gets the same style; within one chart no two scenarios share a colour, and
    shipped scenarios differ in line style as well as colour (readable in greyscale)."""
    assert charts.scenario_style("my_scenario") == charts.scenario_style("my_scenario")
    names = ["baseline", "my_scenario", "other", "third", "talent_plus"]
    styles = charts.scenario_styles(names)
    assert len({s["color"] for s in styles.values()}) == len(names)
    assert styles["talent_plus"] == charts.scenario_style("talent_plus")
    shipped = [charts.SCENARIO_STYLES[n] for n in charts.SCENARIO_STYLES]
    assert len({(dash if isinstance(dash, str) else str(dash), marker) for _, dash, marker in shipped}) == len(shipped)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_report_rebuilds_the_same_bytes(folders, tmp_path, kind):
    """`simulate report DIR` rewrites every chart, report.md, report.html and the manifest byte for byte,
    and leaves the user's own file alone."""
    copy = tmp_path / kind
    shutil.copytree(folders[kind], copy)
    (copy / "notes.txt").write_text("mine")
    for p in copy.glob("*.png"):
        p.write_bytes(b"stale")  # the rebuild must really redraw them
    (copy / "report.html").write_text("stale")
    before = snapshot(folders[kind])
    invoke("report", copy)
    after = snapshot(copy)
    assert after.pop("notes.txt") == b"mine"
    assert after == before


def test_report_html_is_self_contained(folders):
    """report.html embeds every chart as a PNG data URI and fetches nothing: no scripts, links, fonts or URLs."""
    for kind, folder in folders.items():
        page = (folder / "report.html").read_text(encoding="utf-8")
        sources = re.findall(r'<img src="([^"]{0,40})', page)
        assert len(sources) == len(EXPECTED[kind]) and all(s.startswith("data:image/png;base64,") for s in sources)
        assert not re.search(r"<script|<link|@import|url\(|https?://", page), kind
        assert '<meta name="viewport"' in page


def test_run_report_states_the_headline_and_key_years(folders):
    """The run's page opens with the labour force now and at the horizon, the 2028 shortage with its range,
    and the targets met; the key-years table has 2024, 2028, 2030, 2035 and the horizon, as yearly.csv has them."""
    import csv

    yearly = {int(r["year"]): r for r in csv.DictReader((folders["draws"] / "yearly.csv").open())}
    page = (folders["draws"] / "report.html").read_text(encoding="utf-8")
    headline = re.search(r'<p class="headline">(.*?)</p>', page, re.S).group(1)
    lf = {y: f"{float(yearly[y]['labour_force']):,.0f}" for y in (2024, 2046)}
    assert f"is {lf[2024]} in 2024 and {lf[2046]} in 2046" in headline
    assert f"The 2028 shortage is {float(yearly[2028]['shortage']):,.0f} persons (5th-95th percentile over 40 draws:" \
        in headline
    assert "Targets met in every year:" in headline and "talent_admission" in headline
    table = page[page.index("<h2>Key years</h2>"):page.index("<h2>Charts</h2>")]
    assert re.findall(r"<tr><td>(\d{4})", table) == ["2024", "2028", "2030", "2035", "2046"]
    assert f"{float(yearly[2035]['requirement']):,.0f}" in table
    for section in ("Assumptions and their sources", "Manifest", "Targets", "Official figures"):
        assert f"<h2>{section}" in page, section
    assert "Policy Address 2024 para 208" in page  # a source read from the scenario file's comments


def test_no_charts_still_writes_the_report(tmp_path):
    """--no-charts writes report.html without images; a later `simulate report` adds the charts (listed in
    the manifest) and `simulate report --no-charts` removes them again."""
    out = tmp_path / "o"
    invoke("run", SCENARIOS / "baseline.yaml", "--out", out, "--no-charts")
    assert "<img" not in (out / "report.html").read_text() and not list(out.glob("*.png"))
    invoke("report", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "labour_force.png" in manifest["files"] and (out / "labour_force.png").is_file()
    assert (out / "report.html").read_text().count("<img") == len(EXPECTED["run"])
    invoke("report", out, "--no-charts")
    assert not list(out.glob("*.png")) and not list(out.glob("*.svg"))
    assert "labour_force.png" not in json.loads((out / "manifest.json").read_text())["files"]


def test_report_of_a_folder_simulate_did_not_write_is_bad_input(tmp_path):
    """`simulate report` on a folder without simulate's manifest exits 2 with one line naming it."""
    (tmp_path / "x").mkdir()
    result = CliRunner().invoke(main, ["report", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "has no manifest.json" in result.output and "Traceback" not in result.output


def test_png_size_reads_the_header():
    """png_size reads width and height from the IHDR chunk and refuses a file that is no PNG."""
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1500).to_bytes(4, "big") + (800).to_bytes(4, "big")
    assert document.png_size(header) == (1500, 800)
    with pytest.raises(ValueError):
        document.png_size(b"GIF89a" + bytes(20))


def test_tables_and_text_are_escaped():
    """Text in a report is HTML-escaped; `code` and **bold** become markup; numeric columns align right."""
    page = document.page("t <x>", [("p", "a <b> & `c<d>` **e**"),
                                   ("table", ["k", "n"], [["<i>", "1,234"]], "")], Path("."))
    assert "a &lt;b&gt; &amp; <code>c&lt;d&gt;</code> <strong>e</strong>" in page
    assert "<td>&lt;i&gt;</td><td class=\"n\">1,234</td>" in page
    assert "<title>t &lt;x&gt;</title>" in page


chromium = browser.fixture()


@pytest.mark.parametrize("kind", ["run", "draws", "compare", "sweep"])
@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_report_renders_in_chromium(folders, chromium, tmp_path, kind, width):
    """In headless Chromium every chart loads (natural width > 0), there is no console error and no request,
    nothing overflows the viewport horizontally, and every table and chart heading is there."""
    shot = tmp_path / f"{kind}_{width}.png"
    page = chromium.render(folders[kind] / "report.html", shot, width=width)
    assert not page.problems(), page.problems()
    assert len(page.images) == len(EXPECTED[kind])
    assert all(image.natural_width >= 1400 for image in page.images)
    assert "Charts" in page.headings and "Manifest" in page.headings
    assert page.tables >= 3
    assert shot.is_file() and document.png_size(shot.read_bytes())[0] >= width


def test_a_run_without_projection_years_reports_with_draws(tmp_path):
    """A run that ends in an observed year, with draws, writes bands equal to the central run and its
    report (it used to crash drawing deviations for no projection year)."""
    out = tmp_path / "o"
    invoke("run", SCENARIOS / "baseline.yaml", "--set", "years.end=2023", "--draws", "5", "--out", out)
    import csv

    rows = [r for r in csv.DictReader((out / "bands.csv").open()) if r["metric"] == "labour_force"]
    assert rows and all(r["p05"] == r["p95"] == r["central"] for r in rows)
    assert "Shortage reaches 50,000 in 2023" in (out / "report.md").read_text()


def test_charts_are_the_same_drawn_in_one_process_or_many(folders, tmp_path, monkeypatch):
    """The charts drawn in forked workers and those drawn one after another in this process are the
    same bytes (a process with other threads running draws them in-process)."""
    import concurrent.futures
    import os

    from sim import report

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})  # two cores, even on a one-core machine
    pools = []

    class Counted(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Counted)
    many, one = tmp_path / "many", tmp_path / "one"
    many.mkdir()
    one.mkdir()
    monkeypatch.setattr("threading.active_count", lambda: 1)
    report.write(folders["draws"], many)
    assert len(pools) == 1
    monkeypatch.setattr("threading.active_count", lambda: 2)
    report.write(folders["draws"], one)
    assert len(pools) == 1
    assert snapshot(many) == snapshot(one)
    assert len([name for name in snapshot(one) if name.endswith(".png")]) == len(EXPECTED["draws"])


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_every_report_has_its_sections(folders, kind):
    """Every kind of report has the headline, charts, the official figures shown, the assumptions with
    their sources and the manifest with the input hashes."""
    page = (folders[kind] / "report.html").read_text(encoding="utf-8")
    assert page.count('<p class="headline">') == 1
    for section in ("Charts", "Official figures and observations shown", "Assumptions and their sources", "Manifest"):
        assert f"<h2>{section}</h2>" in page, (kind, section)
    assert re.search(r"<code>[0-9a-f]{64}</code>", page)  # an input's sha256
    assert "LWB Report on 2023 Manpower Projection" in page  # a reference's source


@pytest.mark.parametrize("edit,where", [
    (lambda out: (out / "yearly.csv").unlink(), "yearly.csv: missing"),
    (lambda out: (out / "occupations.csv").write_text("year,labour_force\nx,y\n"),
     "occupations.csv:1: has no column occupation, shortage"),
    (lambda out: (out / "yearly.csv").write_text((out / "yearly.csv").read_text().replace("\n2018,", "\n2018,abc", 1)),
     "yearly.csv:3: column labour_force: 'abc"),
    (lambda out: (out / "ledger.csv").write_text("year,stock,item,value\n"), "its tables are not as simulate wrote them"),
], ids=["missing", "columns", "number", "empty-ledger"])
def test_report_of_a_damaged_folder_is_bad_input(folders, tmp_path, edit, where):
    """A folder whose tables were removed or edited gets exit 2 and one line naming the file (and line), and
    its previous report stays as it was."""
    out = tmp_path / "o"
    shutil.copytree(folders["run"], out)
    before = (out / "report.html").read_bytes()
    edit(out)
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 2, result.output
    assert where in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (out / "report.html").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
