"""The report of a result folder: its charts, report.md and report.html.

Everything is drawn from the folder's own tables and manifest (never from model objects), so a
run, a comparison or a sweep writes its report with the same code that `simulate report DIR`
uses to rebuild it, byte for byte. The page opens with the finding in one paragraph, then the
key years, the charts with one-line captions, the tables behind them, the assumptions with
their sources, and the manifest (seed, versions, input hashes).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sim import document, tables
from sim.errors import InputError, quote
from sim.export import write_text
from sim.occupation import LABELS, OCCUPATIONS

KEY_YEARS = (2028, 2030, 2035)
DATA = "C&SD population statistics, LWB 2023 Manpower Projection, ImmD and LD admission schemes, ERB (calibration/data)"
UNITS_NOTE = ("Persons at mid-year: labour force and population exclude foreign domestic helpers (FDH); flows are "
              "persons a year; costs are HK$. Shortage = requirement - supply (negative = surplus); the requirement "
              "starts in the MP2023 base year. Years up to the last observed year are history (data); levers and "
              "uncertainties act after it.")
FILES = ("report.md", "report.html")


def write(folder: Path, out: Path | None = None, charts: bool = True, pool=None) -> list[str]:
    """Draw the charts (unless `charts` is False) and write report.md and report.html of result
    folder `folder` into `out` (default: the folder itself) from the folder's files; returns the
    names written. `pool`: chart workers from `painters`, if the caller started them."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder
    info = tables.manifest(folder)
    kind = kind_of(info)
    canvas = None
    if charts:
        from sim.charts import Canvas

        canvas = Canvas(out, source_line(info, kind), last_observed(info))
    try:
        title, blocks = {"run": _run, "compare": _compare, "sweep": _sweep}[kind](folder, info, canvas, pool)
    finally:
        if charts:
            from sim.charts import close_all

            close_all()
    drawn = [b[1] for b in blocks if b[0] == "chart"]
    write_text(out, "report.md", document.markdown(blocks))
    write_text(out, "report.html", document.page(title, blocks, out))
    return [*(f for d in drawn for f in d.files), *FILES]


def rebuild(folder: Path, charts: bool = True) -> list[str]:
    """`simulate report DIR`: rewrite the report of a run, comparison or sweep folder from its
    files (a sweep's analysis tables first, from its results), the same bytes the run wrote.
    Each file is replaced on its own, atomically, the manifest last; listed charts no longer
    drawn (with charts=False) are removed; files the manifest does not list (the user's) are
    left alone. Returns the names written."""
    import os
    import shutil
    import tempfile

    from sim import export

    folder = Path(folder)
    with export.locked(folder):
        info = tables.manifest(folder)
        made = []
        if kind_of(info) == "sweep":
            from sim import sweep

            made = sweep.reanalyse(folder)
            info = tables.manifest(folder)
        try:
            temp = Path(tempfile.mkdtemp(prefix=".report.", suffix=".tmp", dir=folder))
        except OSError as exc:
            raise InputError(folder, f"cannot write into the folder ({exc.strerror})") from None
        try:
            try:
                drawn = write(folder, temp, charts)
            except (KeyError, ValueError, IndexError, TypeError, StopIteration) as exc:  # tables edited by hand
                raise InputError(folder, f"its tables are not as simulate wrote them ({type(exc).__name__}: "
                                 f"{quote(str(exc))}); rerun the command that wrote the folder") from None
            listed = [str(f) for f in info.get("files", [])]
            stale = [f for f in listed if f not in drawn and (f in FILES or f.endswith((".png", ".svg")))]
            names = sorted({*listed, *drawn, "manifest.json"} - set(stale))
            export.write_text(temp, "manifest.json", export.manifest_json({**info, "files": names}))
            for name in [*drawn, "manifest.json"]:
                os.replace(temp / name, folder / name)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        for name in stale:
            if "/" not in name:
                (folder / name).unlink(missing_ok=True)
    return sorted({*made, *drawn})


def kind_of(info: dict) -> str:
    """run, compare or sweep, from the manifest's tool (or, in manifests before it, its keys)."""
    tool = str(info.get("tool", ""))
    if tool.startswith("simulate "):
        return tool.removeprefix("simulate ")
    return "compare" if "comparison" in info else "run"


def last_observed(info: dict) -> int | None:
    return (info.get("calibration") or {}).get("last_observed_year")


def source_line(info: dict, kind: str) -> str:
    """The line under every chart: what made it, from which scenario, calibration and data."""
    cal = info.get("calibration") or {}
    what = {"run": lambda: f"scenario {info.get('scenario')}, seed {info.get('seed')}"
                           + (f", {info['draws']:,} draws" if info.get("draws") else ""),
            "compare": lambda: f"scenarios {', '.join(info.get('scenarios', []))} against {info.get('base')}, seed "
                               f"{info.get('seed')}" + (f", {info['draws']:,} paired draws" if info.get("draws") else ""),
            "sweep": lambda: f"sweep {info.get('sweep')}: {info.get('runs', 0):,} runs of "
                             f"{(info.get('base_scenario') or {}).get('name')} ({info.get('design')} design, seed "
                             f"{info.get('seed')})"}[kind]()
    fitted = f" fitted {cal['fitted_on']}" if cal.get("fitted_on") else ""
    file = Path(cal.get("file", "unknown"))
    shown = f"{file.parent.name}/{file.name}" if file.parent.name else file.name
    return (f"hk-labour-sim {info.get('version')} ({what}); calibration {shown}{fitted}, history "
            f"to {cal.get('last_observed_year', '?')}; data: {DATA}.")


# --- shared pieces --------------------------------------------------------------------------------

def _n(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:,.0f}"


def _references(folder: Path) -> tuple[dict[int, float], dict[str, dict[int, float]], dict[str, tuple], list]:
    """observed labour force, official points by metric, MP2023's group ranges, and the table rows."""
    refs = tables.read(folder, "references.csv")
    if refs is None:
        return {}, {}, {}, []
    observed, official, ranges = {}, {}, {}
    for r in refs.dicts():
        year, value = int(r["year"]), float(r["value"])
        if r["kind"] == "observed":
            observed[year] = value
        else:
            official.setdefault(r["metric"], {})[year] = value
            if r["metric"].startswith("shortage_") and r["low"] and r["high"]:
                ranges[r["metric"].removeprefix("shortage_")] = (float(r["low"]), float(r["high"]), year)
    rows = [[r["kind"], r["metric"], r["year"], _n(float(r["value"])),
             "" if not r["low"] else f"{_n(float(r['low']))} to {_n(float(r['high']))}", r["source"]]
            for r in refs.dicts()]
    return observed, official, ranges, rows


def _reference_blocks(folder: Path) -> list[tuple]:
    rows = _references(folder)[3]
    return [("h2", "Official figures and observations shown"),
            ("table", ["kind", "metric", "year", "value", "range", "source"], rows, "Persons.")] if rows else []


def _assumption_blocks(folder: Path, scenarios: list[str] | None = None, note: str = "of the scenario.") -> list[tuple]:
    """The assumptions table(s): a scenario's levers, uncertainties, unit costs and targets with
    their sources, and the calibration's parameters. For a comparison, only what differs from the base."""
    table = tables.read(folder, "assumptions.csv")
    if table is None:
        return []
    rows = table.dicts()
    blocks: list[tuple] = [("h2", "Assumptions and their sources")]
    header = ["key", "value", "unit", "source", "set at"]
    if scenarios is None:
        mine = [r for r in rows if r["scenario"]]
        blocks.append(("table", header, [[f"`{r['key']}`", r["value"], r["unit"], r["source"], r["where"]]
                                         for r in mine], "Levers, uncertainties (central value and spread), unit "
                                                         f"costs and targets {note}"))
    else:
        base, *others = scenarios
        theirs = {(r["key"]): r["value"] for r in rows if r["scenario"] == base}
        blocks.append(("table", ["scenario", *header],
                       [[r["scenario"], f"`{r['key']}`", f"{r['value']} ({base}: {theirs.get(r['key'], '')})",
                         r["unit"], r["source"], r["where"]] for r in rows
                        if r["scenario"] in others and theirs.get(r["key"]) != r["value"]],
                       f"What each scenario sets differently from {base} ({base}'s own in assumptions.csv)."))
    cal = [r for r in rows if not r["scenario"]]
    if cal:
        blocks.append(("table", ["parameter", "value", "unit", "source", "set at"],
                       [[f"`{r['key']}`", r["value"], r["unit"], r["source"], r["where"]] for r in cal],
                       "Calibration parameters (fitted ones by `simulate calibrate`)."))
    return blocks


def _manifest_blocks(info: dict, extra: list[list[str]]) -> list[tuple]:
    cal = info.get("calibration") or {}
    rows = [["tool", str(info.get("tool", ""))], ["version", str(info.get("version", ""))],
            ["seed", str(info.get("seed", ""))], *extra,
            ["calibration", f"{cal.get('file', '')} (fitted {cal.get('fitted_on', 'unknown')})"]]
    hashes = [[f"`{path}`", f"`{digest}`"] for path, digest in (info.get("inputs") or {}).items()]
    return [("h2", "Manifest"), ("table", ["field", "value"], rows, "From manifest.json (which also lists every "
                                                                     "file and the units of every column)."),
            ("table", ["input file", "sha256"], hashes, "Every input file read, with its hash.")]


def _later(chart, *args) -> tuple:
    """A chart to draw: the function of sim.charts and its arguments."""
    return chart, args


def _call(job: tuple):
    chart, args = job
    return chart(*args)


def _quiet() -> None:
    """A chart worker leaves Ctrl-C to the parent, which reports it once, and imports
    matplotlib at once (a pool made by `painters` does so while the parent simulates)."""
    import signal

    from sim.charts import _pyplot

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _pyplot()


def _forkable() -> int:
    """How many chart workers to fork: one per core the process may use, or 0 where forking is
    unsafe (other threads running, e.g. a Dask client or a browser driver) or unavailable."""
    import multiprocessing
    import os
    import threading

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if cores < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return cores


def _pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_quiet)


@contextmanager
def painters(charts: bool):
    """Chart workers forked now, so that they import matplotlib while the caller simulates (a
    run's first 0.3-0.5 s of charts); yields the pool to pass to `write`, or None where charts
    are off or workers cannot be forked."""
    workers = _forkable() if charts else 0
    if not workers:
        yield None
        return
    pool = _pool(workers)
    pool.submit(int)  # a fork-context pool starts all its workers at the first task
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _draw(jobs: list[tuple], pool=None) -> list:
    """Draw the charts, on every core the process may use: each chart is independent and
    deterministic, so the files are the same however they are shared out. The workers are
    forked (they inherit matplotlib or import it as they start); this process only hands out
    the charts (drawing here too was slower: its pool thread then waits for the interpreter
    lock). In this process alone where workers cannot be forked, or for a single chart."""
    if pool is not None and len(jobs) > 1:
        return list(pool.map(_call, jobs))
    workers = min(len(jobs), _forkable())
    if workers < 2:
        return [_call(job) for job in jobs]
    from sim.charts import _pyplot

    _pyplot()  # import matplotlib once, before the fork
    with _pool(workers) as own:
        return list(own.map(_call, jobs))


def _chart_blocks(drawn: list) -> list[tuple]:
    return [("h2", "Charts"), *(("chart", d) for d in drawn)] if drawn else []


def _bound(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", text)]


# --- a run ----------------------------------------------------------------------------------------

def _run(folder: Path, info: dict, canvas, pool=None) -> tuple[str, list[tuple]]:
    from sim import charts

    yearly = tables.need(folder, "yearly.csv", ("year", "labour_force", "requirement", "shortage", "population"))
    name = str(info.get("scenario", folder.name))
    years = yearly.num("year").astype(int)
    at = {int(y): i for i, y in enumerate(years)}
    m = {c: yearly.num(c) for c in ("labour_force", "requirement", "shortage", "population")}
    last = last_observed(info) or int(years[0])
    now, end = min(last, int(years[-1])), int(years[-1])
    bands = tables.read(folder, "bands.csv")
    q = {metric: np.array([bands.where(metric=metric).num(c) for c in ("p05", "p25", "p50", "p75", "p95")])
         for metric in ("labour_force", "shortage")} if bands is not None else {}
    kpis = _kpi_rows(tables.read(folder, "kpis.csv"))
    observed, official, ranges, _ = _references(folder)
    occupations = tables.need(folder, "occupations.csv", ("year", "occupation", "shortage"))
    groups = {g: occupations.where(occupation=g).num("shortage") for g in OCCUPATIONS}
    flows = _flows(tables.need(folder, "ledger.csv", ("year", "stock", "item", "value")), years)
    year = 2028 if 2028 in at else end

    shown = sorted({y for y in (now, *KEY_YEARS, end) if y in at})
    blocks: list[tuple] = [("h1", f"Scenario `{name}`"), ("p", str(info.get("resolved_scenario", {}).get(
        "description", ""))), ("headline", _run_headline(name, m, at, now, end, year, q, info, kpis, official, groups))]
    capped = float(info.get("migration_capped_persons") or 0.0)
    if capped > 0.5:
        blocks.append(("p", f"**Capped:** {capped:,.0f} persons of the emigration the scenario asks for could not "
                       "leave, because no residents of that age were left (the population never goes negative; "
                       "ledger.csv shows the cap as `migration_capped`, year by year)."))
    blocks.append(("p", UNITS_NOTE))
    header = ["year", "labour force", "requirement", "shortage", *(["shortage 5th-95th percentile"] if q else []),
              "population (excl. FDH)"]
    blocks += [("h2", "Key years"), ("table", header, [
        [f"{y}{' (last observed)' if y == now else ''}", _n(m["labour_force"][at[y]]), _n(m["requirement"][at[y]]),
         _n(m["shortage"][at[y]]), *([f"{_n(q['shortage'][0][at[y]])} to {_n(q['shortage'][4][at[y]])}"] if q else []),
         _n(m["population"][at[y]])] for y in shown], "Persons; the central run.")]
    drawn = []
    if canvas is not None:
        drawn = [_later(charts.labour_force, canvas, name, years, m["labour_force"], m["requirement"], observed, official),
                 _later(charts.shortage, canvas, name, years, m["shortage"], official.get("shortage", {}), year,
                        -sum(min(v[at[year]], 0.0) for v in groups.values())),
                 _later(charts.shortage_by_occupation, canvas, years, groups, ranges, year),
                 _later(charts.labour_force_flows, canvas, years[1:], {k: v[1:] for k, v in flows.items() if k != "net"},
                                           flows["net"][1:])]
        if kpis:
            drawn.append(_later(charts.targets, canvas, kpis))
        if q:
            draws = int(info.get("draws") or 0)
            drawn += [_later(charts.fan, canvas, name, "labour_force", years, m["labour_force"], q["labour_force"], draws,
                                 f"labour force ({charts.THOUSANDS})", official.get("supply", {}), year),
                      _later(charts.fan, canvas, name, "shortage", years, m["shortage"], q["shortage"], draws,
                                 f"shortage ({charts.THOUSANDS})", official.get("shortage", {}), year)]
    blocks += _chart_blocks(_draw(drawn, pool))
    blocks += [("h2", f"Shortage by occupation group, {year}"), ("table", ["group", "shortage", "MP2023 range"], [
        [LABELS[g], _n(groups[g][at[year]]), f"{_n(ranges[g][0])} to {_n(ranges[g][1])}" if g in ranges else ""]
        for g in OCCUPATIONS], "Persons; < 0 is a surplus.")]
    blocks += [("h2", "Flows into and out of the labour force"), ("table", ["category", *map(str, shown[1:])], [
        [label, *(_n(sum(flows[i][at[y]] for i in items if i in flows)) for y in shown[1:])]
        for label, items, _, _ in charts.FLOW_CATEGORIES] + [["net change", *(_n(flows["net"][at[y]])
                                                                               for y in shown[1:])]],
        "Persons a year, from the previous mid-year (ledger.csv has every item and stock).")]
    if kpis:
        drawn_kpi = "probability" in kpis[0]
        blocks += [("h2", "Targets"), ("table", ["target", "year", "value", "bound", "met",
                                                 *(["share of draws meeting it"] if drawn_kpi else [])],
                   [[r["kpi"], str(r["year"]), _n(r["value"]), r["target"], "yes" if r["met"] else "**no**",
                     *([_chance(r)] if drawn_kpi else [])] for r in kpis],
                   "Value and met: the central run." + (" Share of draws: \"fixed\" where a lever or the data set the "
                                                        "value in every draw (met in all draws or none)." if drawn_kpi
                                                        else ""))]
    if q:
        blocks += [("h2", "Uncertainty"), ("table", ["metric", "year", "central", "p05", "p25", "p50", "p75", "p95"], [
            [metric.replace("_", " "), str(y), _n(m[metric][at[y]]), *(_n(q[metric][k][at[y]]) for k in range(5))]
            for metric in q for y in shown if y > now], f"Persons; percentiles over {int(info.get('draws') or 0):,} "
                                                         "draws (bands.csv has every year and metric).")]
    blocks += _reference_blocks(folder)
    blocks += _assumption_blocks(folder)
    blocks += _manifest_blocks(info, [["scenario", name], ["draws", str(info.get("draws", 0))]])
    blocks += [("h2", "Files"), ("p", "`yearly.csv` (one row a year), `occupations.csv` (by group), `ledger.csv` "
                "(opening, flows, closing for every stock and year), `kpis.csv` (targets), `bands.csv` (with --draws: "
                "the central run in `central` beside the percentiles over the draws; the median `p50` is the middle "
                "draw, not the central run), `references.csv` (official figures shown), `assumptions.csv`, "
                "`manifest.json` (inputs, hashes, units); each chart as PNG and SVG.")]
    return f"Scenario {name}: labour supply and shortage", blocks


def _net_note(groups: dict[str, np.ndarray], i: int) -> str:
    """Where a group is in surplus, the total shortage is net of it: say so, with the groups short."""
    surplus = {g: -v[i] for g, v in groups.items() if v[i] < 0}
    if not surplus:
        return ""
    short = sum(v[i] for v in groups.values() if v[i] > 0)
    return (f" That total is net: the groups short lack {_n(short)} persons, while "
            + " and ".join(f"{LABELS[g].lower()} have a surplus of {_n(v)}" for g, v in surplus.items()) + ".")


def _run_headline(name, m, at, now, end, year, q, info, kpis, official, groups) -> str:
    lf_now, lf_end = m["labour_force"][at[now]], m["labour_force"][at[end]]
    text = (f"In `{name}` the local labour force (excluding foreign domestic helpers) is {_n(lf_now)} in {now} and "
            f"{_n(lf_end)} in {end} ({(lf_end / lf_now - 1):+.1%}). The {year} shortage is "
            f"{_n(m['shortage'][at[year]])} persons")
    if q:
        text += (f" (5th-95th percentile over {int(info.get('draws') or 0):,} draws: {_n(q['shortage'][0][at[year]])} "
                 f"to {_n(q['shortage'][4][at[year]])})")
    else:
        text += " (one central run; `--draws N` gives its range)"
    mp = official.get("shortage", {}).get(year)
    text += f", against MP2023's about {_n(mp)}." if mp else "."
    text += _net_note(groups, at[year])
    if kpis:
        names = list(dict.fromkeys(r["kpi"] for r in kpis))
        met = [k for k in names if all(r["met"] for r in kpis if r["kpi"] == k)]
        missed = [f"{k} (missed in {', '.join(str(r['year']) for r in kpis if r['kpi'] == k and not r['met'])})"
                  for k in names if k not in met]
        text += (f" Targets met in every year: {', '.join(met) if met else 'none'}"
                 + (f"; not met: {'; '.join(missed)}." if missed else "."))
    return text


def _kpi_rows(table) -> list[dict]:
    if table is None or not len(table):
        return []
    rows = []
    for r in table.dicts():
        row = {"kpi": r["kpi"], "year": int(r["year"]), "value": float(r["value"]) if r["value"] else np.nan,
               "target": r["target"], "met": r["met"] == "true", "bounds": _bound(r["target"])}
        if "probability" in r:
            row["probability"] = float(r["probability"])
            row["uncertain"] = r.get("uncertain") == "yes"
        rows.append(row)
    return rows


def _chance(row: dict) -> str:
    return f"{row['probability']:.0%}" if row["uncertain"] else f"fixed ({'met' if row['met'] else 'not met'})"


def _flows(ledger, years) -> dict[str, np.ndarray]:
    """The labour force's flows by item and the net change (closing - opening), persons a year,
    aligned to `years` (NaN in the start year)."""
    lf = ledger.where(stock="labour_force")
    at = {int(y): i for i, y in enumerate(years)}
    out: dict[str, np.ndarray] = {}
    for year, item, value in zip(lf.text("year"), lf.text("item"), lf.num("value")):
        out.setdefault(item, np.full(len(years), np.nan))[at[int(year)]] = value
    out["net"] = out.pop("closing") - out.pop("opening")
    return out


# --- a comparison ---------------------------------------------------------------------------------

def _compare(folder: Path, info: dict, canvas, pool=None) -> tuple[str, list[tuple]]:
    from sim import charts

    table = tables.need(folder, "compare.csv", ("scenario", "year", "metric", "value"))
    base = str(info["base"])
    names = list(dict.fromkeys(table.text("scenario")))
    others = [n for n in names if n != base]
    year = int(info.get("year", 2028))
    years = table.where(scenario=base, metric="shortage").num("year").astype(int)
    at = {int(y): i for i, y in enumerate(years)}
    last = last_observed(info) or int(years[0])
    series = {n: {metric: table.where(scenario=n, metric=metric).num("value")
                  for metric in ("labour_force", "requirement", "shortage", "cost", *(f"shortage_{g}" for g in OCCUPATIONS))}
              for n in names}
    ahead = years > last
    attribution = tables.need(folder, "attribution.csv", ("scenario", "year", "lever", "contribution"))
    bands = tables.read(folder, "compare_bands.csv")
    costs = tables.read(folder, "cost_effectiveness.csv")
    draws = int(info.get("draws") or 0)
    spread = {}
    if bands is not None:
        for n in others:
            mine = bands.where(scenario=n, metric="shortage")
            spread[n] = {int(y): (lo, hi, p) for y, lo, hi, p in zip(mine.text("year"), mine.num("p05"), mine.num("p95"),
                                                                     mine.num("probability_below_base"))}
    blocks: list[tuple] = [("h1", f"Comparison against `{base}`"),
                           ("headline", _compare_headline(base, others, series, at, year, spread, draws)),
                           ("p", f"Scenarios: {', '.join(f'`{n}`' for n in others)}. A negative change closes the gap. "
                                 f"History (to {last}) is the same data in every scenario. " + UNITS_NOTE)]
    shown = sorted({y for y in (year, *KEY_YEARS, int(years[-1])) if y in at and y > last})
    blocks += [("h2", "Key years"), ("table", ["scenario", "year", "labour force", "shortage", "change in shortage",
                                               *(["change, 5-95%"] if spread else []),
                                               "cost (HK$ m a year)"],
                                     [[n, str(y), _n(series[n]["labour_force"][at[y]]), _n(series[n]["shortage"][at[y]]),
                                       _n(series[n]["shortage"][at[y]] - series[base]["shortage"][at[y]]),
                                       *([_range(spread.get(n, {}).get(y))] if spread else []),
                                       f"{series[n]['cost'][at[y]] / 1e6:,.1f}"] for n in names for y in shown],
                                     "Persons; central runs.")]
    parts = {n: _parts(attribution, n, year) for n in others}
    cost_rows = [{"scenario": r["scenario"], "lever": r["lever"], "cost": float(r["cost_hkd"]),
                  "closed": float(r["closed_persons"]),
                  "per_person": float(r["hkd_per_person_closed"]) if r["hkd_per_person_closed"] else np.nan}
                 for r in (costs.dicts() if costs is not None else []) if r["lever"].startswith("levers.")]
    drawn = []
    if canvas is not None:
        drawn.append(_later(charts.compare_lines, canvas, years, series, base, year))
        groups = {n: {y: np.array([series[n][f"shortage_{g}"][at[y]] for g in OCCUPATIONS]) for y in shown}
                  for n in names}
        drawn.append(_later(charts.compare_groups, canvas, shown, groups))
        lows = {n: (np.array([spread[n].get(int(y), (np.nan,) * 3)[0] for y in years[ahead]]),
                    np.array([spread[n].get(int(y), (np.nan,) * 3)[1] for y in years[ahead]])) for n in spread}
        drawn.append(_later(charts.compare_differences, canvas, years[ahead], {n: (series[n]["shortage"] - series[base][
            "shortage"])[ahead] for n in others}, lows, draws, base, year))
        for n in others:
            levers, values, total = parts[n]
            if levers:
                drawn.append(_later(charts.waterfall, canvas, n, base, year, levers, values, total))
        if cost_rows:
            drawn.append(_later(charts.cost_effectiveness, canvas, cost_rows, year))
    blocks += _chart_blocks(_draw(drawn, pool))
    blocks += [("h2", f"Which lever did what ({year})"),
               ("p", "Exact Shapley values over all 2^k combinations of the levers that differ (`attribution.csv` has "
                     "every year); they add up to the total."),
               ("table", ["scenario", "lever", "change in shortage (persons)"],
                [row for n in others for row in ([[n, f"`{lever}`", _n(v)] for lever, v in zip(parts[n][0], parts[n][1])]
                                                 + [[n, "**total**", f"**{_n(parts[n][2])}**"]])], "")]
    if costs is not None and len(costs):
        blocks += [("h2", f"Cost-effectiveness ({year})"),
                   ("table", ["scenario", "lever", "cost (HK$ million a year)", "shortage closed", "HK$ per person closed"],
                    [[r["scenario"], f"`{r['lever']}`", f"{float(r['cost_hkd']) / 1e6:,.1f}",
                      _n(float(r["closed_persons"])),
                      "n/a (closes nothing)" if not r["hkd_per_person_closed"] else _n(float(r["hkd_per_person_closed"]))]
                     for r in costs.dicts()], "Costs only for levers with a `unit_cost` in the scenario file; a "
                                              "negative cost is a revenue (the imported workers' levy).")]
    else:
        blocks += [("h2", f"Cost-effectiveness ({year})"),
                   ("p", "No lever that differs has a `unit_cost`; no cost-effectiveness is reported.")]
    blocks += _reference_blocks(folder)
    blocks += _assumption_blocks(folder, [base, *others])
    blocks += _manifest_blocks(info, [["base", base], ["scenarios", ", ".join(others)], ["draws", str(draws)],
                                      ["year", str(year)]])
    blocks += [("h2", "Files"), ("p", "`compare.csv` (every scenario, year and metric with its difference from the base), "
                "`attribution.csv` (lever contributions and the total, every projection year), `cost_effectiveness.csv`, "
                + ("`compare_bands.csv` (percentiles of the paired difference), " if bands is not None else "")
                + "`references.csv`, `assumptions.csv`, `manifest.json` (inputs, hashes, units); each chart as PNG "
                  "and SVG.")]
    return f"Comparison against {base}", blocks


def _compare_headline(base, others, series, at, year, spread, draws) -> str:
    texts = []
    for n in others:
        mine, theirs = series[n]["shortage"][at[year]], series[base]["shortage"][at[year]]
        change = mine - theirs
        text = (f"`{n}` {'lowers' if change < 0 else 'raises'} the {year} shortage by {_n(abs(change))} persons "
                f"({_n(mine)} against {_n(theirs)}; labour force {_n(series[n]['labour_force'][at[year]])})")
        band = spread.get(n, {}).get(year)
        if band is not None:
            low, high = sorted(abs(b) for b in band[:2]) if band[0] * band[1] > 0 else band[:2]
            what = "reduction" if change < 0 and band[1] < 0 else "increase" if band[0] > 0 else "change"
            text += (f"; over {draws:,} paired draws the {what} lies between {_n(low)} and {_n(high)} "
                     f"(5th-95th percentile) and the shortage is below the base's in {band[2]:.0%} of them")
        groups = {g: series[n][f"shortage_{g}"] for g in OCCUPATIONS}
        texts.append(text + "." + _net_note(groups, at[year]))
    return " ".join(texts)


def _range(band) -> str:
    return "" if band is None else f"{_n(band[0])} to {_n(band[1])}"


def _parts(attribution, name: str, year: int) -> tuple[list[str], list[float], float]:
    mine = attribution.where(scenario=name, year=str(year))
    levers, values = mine.text("lever"), mine.num("contribution")
    total = float(values[levers.index("total")]) if "total" in levers else float("nan")
    return ([lv for lv in levers if lv != "total"], [float(v) for lv, v in zip(levers, values) if lv != "total"], total)


# --- a sweep --------------------------------------------------------------------------------------

def _sweep(folder: Path, info: dict, canvas, pool=None) -> tuple[str, list[tuple]]:
    from sim import charts

    name = str(info.get("sweep"))
    base = str((info.get("base_scenario") or {}).get("name"))
    spec = info.get("sweep_file") or {}
    draws = bool(spec.get("draws"))
    outcomes = tables.read(folder, "outcomes.csv")
    targets = tables.read(folder, "targets.csv")
    sens = tables.read(folder, "sensitivity.csv")
    front = tables.read(folder, "frontier.csv")
    units = {r["column"]: r["unit"] for r in tables.need(folder, "columns.csv", ("file", "column", "unit")).dicts()
             if r["file"] == "results.parquet"}
    runs = int(info.get("runs", 0))
    varied = [c for c in units if c.startswith(("levers.", "uncertainties.", "fitted."))]
    first = outcomes.dicts()[0] if outcomes is not None and len(outcomes) else None
    headline = (f"{runs:,} runs of `{base}` ({info.get('design')} design, seed {info.get('seed')}) varying "
                f"{len(varied)} input(s)" + (", with draws of its uncertainties" if draws else "") + ".")
    if first is not None:
        headline += (f" `{first['outcome']}`: median {_num(first['p50'])}, 90% of runs between {_num(first['p05'])} and "
                     f"{_num(first['p95'])} ({first['unit'].split(':')[0]}).")
    if targets is not None and len(targets):
        headline += " Targets met in every year of their span in: " + "; ".join(
            f"{r['target']} {float(r['share_met']):.0%} of runs" for r in targets.dicts()) + "."
    blocks: list[tuple] = [("h1", f"Sweep `{name}`"), ("p", str(spec.get("description") or "")), ("headline", headline),
                           ("h2", "Varied inputs"),
                           ("table", ["input", "range", "unit"], [[f"`{path}`", _axis_range(a), units.get(path, "")]
                                                                   for path, a in (spec.get("vary") or {}).items()],
                            "Each input's range or list of values.")]
    drawn = []
    if canvas is not None:
        results = _parquet_columns(folder)
        if outcomes is not None and len(outcomes):
            drawn.append(_later(charts.sweep_outcomes, canvas, name, base,
                                [(r["outcome"], results(r["outcome"]), r["unit"]) for r in outcomes.dicts()], draws))
        if targets is not None and len(targets):
            drawn.append(_later(charts.sweep_targets, canvas, [{"target": r["target"], "years": r["years"],
                                                       "share": float(r["share_met"])} for r in targets.dicts()], draws))
        if sens is not None and len(sens):
            rows = [{"outcome": r["outcome"], "input": r["input"],
                     "first": tuple(_float(r[c]) for c in ("first_order", "first_low", "first_high")),
                     "total": tuple(_float(r[c]) for c in ("total_order", "total_low", "total_high"))}
                    for r in sens.dicts()]
            drawn.append(_later(charts.sensitivity, canvas, rows, list(dict.fromkeys(sens.text("input")))))
        if front is not None:
            for year in dict.fromkeys(front.text("year")):
                mine = front.where(year=year)
                gap = float(mine.text("gap")[0])
                if gap <= 0 or not any(mine.text("share_closed")):
                    continue
                shares = [float(s) for s in mine.text("share_closed")]
                reached = {float(s): _float(c) for s, c in zip(mine.text("share_closed"), mine.text("cumulative_cost_hkd"))}
                misses = {float(r["share_closed"]): [c.removeprefix("met.") for c in r if c.startswith("met.")
                                                     and r[c] == "false"] for r in mine.dicts()}
                drawn.append(_later(charts.frontier, canvas, base, int(year), results(f"cumulative_cost[{year}]"),
                                    results(f"shortage[{year}]"), gap, shares, reached, misses))
    blocks += _chart_blocks(_draw(drawn, pool))
    if outcomes is not None:
        blocks += [("h2", "Outcomes"), ("table", ["outcome", "unit", "mean", "5%", "50%", "95%"],
                                        [[f"`{r['outcome']}`", r["unit"].split(":")[0], _num(r["mean"]), _num(r["p05"]),
                                          _num(r["p50"]), _num(r["p95"])] for r in outcomes.dicts()],
                                        "Over the runs (outcomes.csv has every percentile).")]
    if targets is not None and len(targets):
        what = ("a probability under the draws" if draws else
                "a share of the design's runs, which spread evenly over the ranges: not a forecast probability")
        blocks += [("h2", "Targets"), ("table", ["target", "years", "bound", "share of runs meeting it"],
                                       [[r["target"], r["years"], r["bound"], f"{float(r['share_met']):.1%}"]
                                        for r in targets.dicts()],
                                       f"Share of runs meeting each target of the base in every year of its span ({what}).")]
    if sens is not None and len(sens):
        blocks += [("h2", "Sensitivity (Sobol' indices, 95% interval)"),
                   ("table", ["outcome", "input", "first order", "total"],
                    [[f"`{r['outcome']}`", f"`{r['input']}`", _idx(r["first_order"], r["first_low"], r["first_high"]),
                      _idx(r["total_order"], r["total_low"], r["total_high"])] for r in sens.dicts()], "")]
    if front is not None:
        rows = []
        for r in front.dicts():
            if not r["share_closed"]:
                rows.append([r["year"], "no gap: the base has a surplus", _num(r["gap"]), "", "",
                             _money(r["base_cumulative_cost_hkd"]), ""])
                continue
            rows.append([r["year"], f"{float(r['share_closed']):.0%}", _num(r["gap"]), f"{int(r['runs_meeting']):,}",
                         "none" if not r["cumulative_cost_hkd"] else _money(r["cumulative_cost_hkd"]),
                         _money(r["base_cumulative_cost_hkd"]), _num(r["shortage"])])
        blocks += [("h2", "Cost-effectiveness frontier"),
                   ("p", "The gap is the base scenario's shortage in the year; cost is the measures' cost to government "
                         "(the base's unit_costs: imported workers' levy counts as revenue), summed over the projection "
                         "years to that year, beside the base's own. The cheapest mix need not meet the base's other "
                         "targets (columns met.* of frontier.csv)."),
                   ("table", ["year", "share of gap closed", "gap", "runs meeting", "cheapest cumulative cost (HK$ m)",
                              "base's (HK$ m)", "shortage"], rows, "")]
    blocks += _reference_blocks(folder)
    blocks += _assumption_blocks(folder, note=f"of the base scenario `{base}`; the varied inputs above replace "
                                              "their values run by run.")
    blocks += _manifest_blocks(info, [["sweep", name], ["base scenario", base], ["runs", f"{runs:,}"],
                                      ["design", str(info.get("design"))], ["digest", f"`{info.get('digest', '')}`"]])
    blocks += [("h2", "Files"), ("p", "`results.parquet` (one row a run; units in `columns.csv`), `outcomes.csv`, "
                "`targets.csv`, `sensitivity.csv` (saltelli designs), `frontier.csv` (with a frontier), "
                "`manifest.json`; each chart as PNG and SVG.")]
    return f"Sweep {name}", blocks


def _parquet_columns(folder: Path):
    from sim.sweepanalysis import Columns

    reader = Columns(folder / "results.parquet")
    return lambda name: reader.column(name).to_numpy()


def _axis_range(axis: dict) -> str:
    if axis.get("list") is not None:
        return ", ".join(f"{v:,.10g}" if isinstance(v, (int, float)) else str(v) for v in axis["list"])
    if axis.get("range") is not None:
        low, high = axis["range"]
        return f"{low:,.10g} to {high:,.10g}"
    return ""


def _float(text: str) -> float:
    return float(text) if text != "" else float("nan")


def _num(text: str) -> str:
    return "" if text == "" else f"{float(text):,.0f}"


def _money(text: str) -> str:
    return "" if text == "" else f"{float(text) / 1e6:,.0f}"


def _idx(value: str, low: str, high: str) -> str:
    return "n/a (does not vary)" if value == "" else f"{float(value):.2f} ({float(low):.2f} to {float(high):.2f})"
