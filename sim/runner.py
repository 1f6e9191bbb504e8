"""Running a scenario end to end: load inputs, simulate, and write the output folder.

The single place that ties the library together for the CLI; it knows nothing of click.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sim import __version__, assumptions, export, guard, kpi, report, uncertainty
from sim.engine import simulate
from sim.errors import InputError
from sim.inputs import file_hash
from sim.occupation import OCCUPATIONS
from sim.params import build
from sim.preflight import prepare
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
    migration_capped: float = 0.0  # persons of emigration asked for beyond the residents there


def run(loaded: Loaded, out: Path | None = None, seed: int | None = None, charts: bool = True,
        draws: int = 0) -> Summary:
    """Simulate `loaded` (central run, plus `draws` Monte Carlo runs) and write its folder
    atomically; returns the Summary. The chart workers start first and import matplotlib while
    the model runs."""
    with report.painters(charts) as pool:
        return _run(loaded, out, seed, charts, draws, pool)


def _run(loaded: Loaded, out: Path | None, seed: int | None, charts: bool, draws: int, pool) -> Summary:
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    scenario = loaded.scenario
    seed = scenario.seed if seed is None else seed
    inputs = prepare(loaded)
    if draws > 0:
        fits(uncertainty.bytes_needed(scenario, draws), loaded.path, f"{draws:,} draws to {scenario.years.end}")
    central = build(scenario, inputs)
    results = simulate(central, inputs)
    what = f"scenario {scenario.name}"
    guard.check(results, inputs.demand_base_year, loaded.path, what, lambda r: "the central run")
    rows = kpi.evaluate(scenario.targets, results)
    spread = None
    if draws > 0:
        spread, share = uncertainty.run(scenario, inputs, draws, seed, check=lambda drawn: guard.check(
            drawn, inputs.demand_base_year, loaded.path, what, lambda r: f"draw {r} of seed {seed}"))
        rows = [{**r, "probability": share[(r["kpi"], r["year"])][0], "uncertain": share[(r["kpi"], r["year"])][1]}
                for r in rows]
    now_year = min(inputs.last_observed, int(results.years[-1]))
    capped = migration_capped(results)
    out = Path(out) if out is not None else Path("outputs") / scenario.name
    with export.staged(out, marker="manifest.json", tool="simulate run") as folder:
        files = {"yearly.csv": export.yearly_csv(results), "occupations.csv": export.occupations_csv(results),
                 "ledger.csv": export.ledger_csv(results), "kpis.csv": export.kpis_csv(rows)}
        if spread is not None:
            files["bands.csv"] = export.bands_csv(spread, {k: v[0] for k, v in uncertainty.band_series(results).items()})
        files |= assumptions.context_files([loaded], inputs, _shown)
        manifest = {
            "tool": "simulate run", "scenario": scenario.name, "version": __version__,
            "seed": seed, "draws": draws,
            "resolved_scenario": resolved(scenario),
            "calibration": export.calibration_record(inputs, _shown(inputs.files[0])),
            "inputs": {_shown(p): file_hash(p) for p in (*loaded.files, *inputs.files)},
            "started": started.isoformat(timespec="seconds"),
            "duration_seconds": round(time.perf_counter() - clock, 3),
            "ledger_max_gap_persons": float(np.nanmax(results.ledger_gap())),  # closing - opening - flows
            "migration_capped_persons": capped,  # emigration asked for beyond the residents there
            "files": [], "units": export.COLUMN_UNITS | assumptions.CONTEXT_UNITS,
        }
        names = _with_report(folder, files, manifest, charts, pool)
    lf = results.metrics["labour_force"][0]
    at = {int(y): i for i, y in enumerate(results.years)}
    return Summary(name=scenario.name, out=out, now_year=now_year, labour_force_now=float(lf[at[now_year]]),
                   end_year=int(results.years[-1]), labour_force_end=float(lf[-1]),
                   shortage_2028=results.value("shortage", 2028) if 2028 in at else None,
                   shortage_end=float(results.metrics["shortage"][0, -1]),
                   files=tuple(names), migration_capped=capped)


def migration_capped(results: Results, run: int = 0) -> float:
    """Persons of emigration the run asked for but could not apply (no residents of that age left
    to leave), summed over the years: the ledger's migration_capped items."""
    return float(sum(np.nansum(values[run]) for (stock, item), values in results.ledger.items()
                     if item == "migration_capped"))


def available_bytes() -> int | None:
    """Memory this process may still use (bytes): the lower of the address-space limit (ulimit
    -v) less what it uses, and the system's MemAvailable; None where neither is known."""
    import resource

    limits = []
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    try:
        status = Path("/proc/self/status").read_text()
        used = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmSize:"))) * 1024
        if soft != resource.RLIM_INFINITY:
            limits.append(soft - used)
        meminfo = Path("/proc/meminfo").read_text()
        limits.append(int(next(line.split()[1] for line in meminfo.splitlines()
                               if line.startswith("MemAvailable:"))) * 1024)
    except (OSError, StopIteration, ValueError):
        pass
    return min(limits) if limits else None


def fits(needed: int, where: Path, what: str) -> None:
    """InputError, before any work, if `needed` bytes will not fit in the memory available."""
    free = available_bytes()
    if free is not None and needed > free:
        raise InputError(where, f"{what} need about {needed / 2**30:.1f} GiB of memory and about "
                         f"{max(free, 0) / 2**30:.1f} GiB is available; use fewer draws or an earlier years.end "
                         "(or a sweep, which streams its runs to disk)")


def _shown(path: Path) -> str:
    """A path relative to the working folder where it lies below it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _with_report(folder: Path, files: dict[str, str], manifest: dict, charts: bool, pool=None) -> list[str]:
    """Write the tables and the manifest, then the report drawn from them (sim.report), then the
    manifest again listing everything; returns the names written."""
    for name, text in files.items():
        export.write_text(folder, name, text)
    export.write_text(folder, "manifest.json", export.manifest_json({**manifest, "files": sorted([*files,
                                                                                               "manifest.json"])}))
    names = sorted([*files, *report.write(folder, charts=charts, pool=pool), "manifest.json"])
    export.write_text(folder, "manifest.json", export.manifest_json({**manifest, "files": names}))
    return names


@dataclass(frozen=True)
class CompareSummary:
    """What a comparison reports: where the files went and each scenario's change (persons)."""

    out: Path
    base: str
    year: int
    changes: tuple[tuple[str, float, float | None], ...]  # (scenario, shortage change in `year`, P(below base))
    files: tuple[str, ...]


COMPARE_METRICS = ("labour_force", "requirement", "shortage", *(f"shortage_{g}" for g in OCCUPATIONS), "cost")


def compare(scenarios: list[Loaded], base: Loaded, out: Path | None = None, draws: int = 0, seed: int | None = None,
            year: int = 2028, charts: bool = True) -> CompareSummary:
    """Compare `scenarios` against `base` and write the comparison folder atomically."""
    from sim import comparison

    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    inputs = prepare(base)
    for loaded in scenarios:
        if loaded.calibration_path != base.calibration_path:
            file, line = loaded.where("calibration")
            raise InputError(file, f"names {loaded.calibration_path}, the base names {base.calibration_path}; "
                             "scenarios are compared on one calibration", line=line, key="calibration")
        prepare(loaded, inputs)  # the same file: checked against the inputs loaded once
    years = range(base.scenario.years.start, base.scenario.years.end + 1)
    if year not in years or year <= inputs.last_observed:
        raise InputError("--year", f"{year} is not a projection year of the base ({inputs.last_observed + 1}-"
                         f"{years.stop - 1})")
    if all(loaded.path.resolve() == base.path.resolve() and loaded.scenario == base.scenario for loaded in scenarios):
        raise InputError(base.path, "no scenario to compare: name at least one scenario besides the base, e.g. "
                         "simulate compare scenarios/baseline.yaml scenarios/combined.yaml")
    if draws > 0:
        fits((len(scenarios) + 1) * uncertainty.bytes_needed(base.scenario, draws), base.path,
             f"{draws:,} paired draws of {len(scenarios) + 1} scenarios")
    result = comparison.compare(scenarios, base, inputs, draws, seed)
    for member in result.members:
        guard.check(member.results, inputs.demand_base_year, member.loaded.path, f"scenario {member.name}",
                    lambda r: "the central run")
    at = {int(y): i for i, y in enumerate(result.years)}
    rows = []
    for member in result.members:
        for metric in COMPARE_METRICS:
            mine = comparison.series(member.results, metric)[0]
            theirs = comparison.series(result.base.results, metric)[0]
            unit = "HK$/year" if metric == "cost" else "persons"
            rows += [[member.name, int(y), metric, mine[i], mine[i] - theirs[i], unit] for i, y in enumerate(result.years)]
    shares = []
    for name, a in result.attributions.items():
        for i, y in enumerate(result.years):
            if result.projected[i]:
                shares += [[name, int(y), lever, a.contributions[k, i]] for k, lever in enumerate(a.levers)]
                shares.append([name, int(y), "total", a.total[i]])
    spread = comparison.difference_bands(result) if draws > 0 else []
    costs = comparison.cost_effectiveness(result, year)
    name = "compare_" + "_".join([base.scenario.name, "vs", *(m.name for m in result.others)])
    out = Path(out) if out is not None else Path("outputs") / name[:80]
    with export.staged(out, marker="manifest.json", tool="simulate compare") as folder:
        files = {"compare.csv": export.compare_csv(rows), "attribution.csv": export.attribution_csv(shares),
                 "cost_effectiveness.csv": export.cost_effectiveness_csv(costs)}
        if draws > 0:
            files["compare_bands.csv"] = export.compare_bands_csv(spread)
        files |= assumptions.context_files([m.loaded for m in result.members], inputs, _shown)
        manifest = {
            "tool": "simulate compare", "comparison": name, "base": base.scenario.name,
            "scenarios": [m.name for m in result.members],
            "version": __version__, "seed": result.seed, "draws": draws, "year": year,
            "resolved_scenarios": {m.name: resolved(m.loaded.scenario) for m in result.members},
            "calibration": export.calibration_record(inputs, _shown(inputs.files[0])),
            "inputs": {_shown(p): file_hash(p) for p in dict.fromkeys(
                [*(f for m in result.members for f in m.loaded.files), *inputs.files])},
            "started": started.isoformat(timespec="seconds"),
            "duration_seconds": round(time.perf_counter() - clock, 3),
            "files": [], "units": export.COMPARE_UNITS | assumptions.CONTEXT_UNITS,
        }
        names = _with_report(folder, files, manifest, charts)
    below = {(r[0], r[1]): r[-1] for r in spread if r[2] == "shortage"}
    changes = tuple((m.name, float(result.attributions[m.name].total[at[year]]), below.get((m.name, year)))
                    for m in result.others)
    return CompareSummary(out=out, base=base.scenario.name, year=year, changes=changes, files=tuple(names))
