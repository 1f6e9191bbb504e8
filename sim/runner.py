"""Running a scenario end to end: load inputs, simulate, and write the output folder.

The single place that ties the library together for the CLI; it knows nothing of click.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sim import __version__, export, kpi, report, uncertainty
from sim.engine import simulate
from sim.errors import InputError
from sim.inputs import Inputs, file_hash
from sim.inputs import load as load_inputs
from sim.params import build
from sim.results import Results
from sim.scenario import Loaded, resolved


@dataclass(frozen=True)
class Summary:
    """What a run reports: where the files went and the headline numbers (persons)."""

    name: str
    out: Path
    now_year: int
    labour_force_now: float
    end_year: int
    labour_force_end: float
    shortage_2028: float | None  # persons; None when 2028 is outside the run
    shortage_end: float
    files: tuple[str, ...]


def prepare(loaded: Loaded) -> Inputs:
    """Load the scenario's calibration and check that the two fit together (InputError if not)."""
    inputs = load_inputs(loaded.calibration_path)
    start = loaded.scenario.years.start
    if start != inputs.base_year:
        file, line = loaded.where("years", "start")
        raise InputError(file, f"{start} differs from the calibration's base year {inputs.base_year}; "
                         f"the model starts from the calibration's initial stocks", line=line, key="years.start")
    years = range(start, loaded.scenario.years.end + 1)
    if loaded.last_observed is not None and loaded.last_observed != inputs.last_observed:
        raise InputError(loaded.calibration_path, f"last observed year {inputs.last_observed} differs from the "
                         f"{loaded.last_observed} the scenario was read with", key="last_observed_year")
    if not inputs.base_year <= inputs.param("participation_trend_break") <= inputs.last_observed:
        raise InputError(loaded.calibration_path, f"{inputs.param('participation_trend_break'):g} is not an observed "
                         f"year {inputs.base_year}-{inputs.last_observed}", key="parameters.participation_trend_break.value")
    if inputs.demand_base_year not in years:
        raise InputError(loaded.calibration_path, f"{inputs.demand_base_year} is outside the scenario's years "
                         f"{start}-{years.stop - 1}", key="demand_base_year")
    try:
        build(loaded.scenario, inputs)
    except ValueError as exc:
        raise InputError(loaded.calibration_path, str(exc)) from None
    return inputs


def run(loaded: Loaded, out: Path | None = None, seed: int | None = None, charts: bool = True,
        draws: int = 0) -> Summary:
    """Simulate `loaded` (central run, plus `draws` Monte Carlo runs) and write its folder
    atomically; returns the Summary."""
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    scenario = loaded.scenario
    seed = scenario.seed if seed is None else seed
    inputs = prepare(loaded)
    central = build(scenario, inputs)
    results = simulate(central, inputs)
    rows = kpi.evaluate(scenario.targets, results)
    spread = None
    if draws > 0:

        spread, share = uncertainty.run(scenario, inputs, draws, seed)
        rows = [{**r, "probability": share[(r["kpi"], r["year"])]} for r in rows]
    now_year = min(inputs.last_observed, int(results.years[-1]))
    headline = {"now_year": now_year}
    out = Path(out) if out is not None else Path("outputs") / scenario.name
    with export.staged(out, marker="manifest.json") as folder:
        files = {"yearly.csv": export.yearly_csv(results), "occupations.csv": export.occupations_csv(results),
                 "ledger.csv": export.ledger_csv(results), "kpis.csv": export.kpis_csv(rows)}
        if spread is not None:
            files["bands.csv"] = export.bands_csv(spread, {k: v[0] for k, v in uncertainty.band_series(results).items()})
        for name, text in files.items():
            export.write_text(folder, name, text)
        drawn = _charts(results, inputs, folder, scenario.name, spread) if charts else []
        export.write_text(folder, "report.md",
                          report.markdown(scenario.name, scenario.description, results, rows, headline, drawn))
        names = sorted([*files, *drawn, "report.md", "manifest.json"])
        manifest = {
            "scenario": scenario.name, "version": __version__,
            "seed": seed, "draws": draws,
            "resolved_scenario": resolved(scenario),
            "inputs": {_shown(p): file_hash(p) for p in (*loaded.files, *inputs.files)},
            "started": started.isoformat(timespec="seconds"),
            "duration_seconds": round(time.perf_counter() - clock, 3),
            "ledger_max_gap_persons": float(np.nanmax(results.ledger_gap())),  # closing - opening - flows
            "files": names, "units": export.COLUMN_UNITS,
        }
        export.write_text(folder, "manifest.json", export.manifest_json(manifest))
    lf = results.metrics["labour_force"][0]
    at = {int(y): i for i, y in enumerate(results.years)}
    return Summary(name=scenario.name, out=out, now_year=now_year, labour_force_now=float(lf[at[now_year]]),
                   end_year=int(results.years[-1]), labour_force_end=float(lf[-1]),
                   shortage_2028=results.value("shortage", 2028) if 2028 in at else None,
                   shortage_end=float(results.metrics["shortage"][0, -1]),
                   files=tuple(names))


def _shown(path: Path) -> str:
    """A path relative to the working folder where it lies below it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _quantiles(spread: list[list], metric: str) -> np.ndarray:
    """(5, Y) percentiles of `metric` from bands rows."""
    return np.array([row[2:] for row in spread if row[1] == metric]).T


def _charts(results: Results, inputs: Inputs, folder: Path, name: str, spread: list[list] | None) -> list[str]:
    from sim import charts

    observed = {int(r["year"]): r["value"] for r in inputs.targets
                if r["metric"] == "labour_force" and r["chosen"] == "yes"}
    ranges = {r["metric"].removeprefix("shortage_"): (r["value"] - r["tolerance"], r["value"] + r["tolerance"],
                                                      r["year"])
              for r in inputs.targets if r["metric"].startswith("shortage_")}
    last = inputs.last_observed
    try:
        return (charts.labour_force(results, observed, last, folder, f"{name}: local labour force")
                + charts.shortage_by_occupation(results, ranges, folder, f"{name}: shortage by occupation group")
                + charts.labour_force_flows(results, folder, f"{name}: flows in and out of the labour force")
                + ([] if spread is None else
                   charts.fan(results, _quantiles(spread, "labour_force"), "labour_force", folder,
                              f"{name}: labour force, central run and uncertainty",
                              "labour force excl. FDH (thousand persons)")
                   + charts.fan(results, _quantiles(spread, "shortage"), "shortage", folder,
                                f"{name}: shortage, central run and uncertainty", "shortage (thousand persons)")))
    finally:
        charts.close_all()
