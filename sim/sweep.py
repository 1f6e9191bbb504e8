"""Sweeps: a design of many runs, evaluated in vectorised shards, streamed to disk, resumable.

    table = sim.sweep.run("scenarios/sweeps/levers.yaml")             # in memory, one call
    table = sim.sweep.run(spec, out="outputs/sweeps/levers", workers=2)  # files too, as the CLI

A shard is a contiguous block of runs evaluated as one batch through the engine (never one
Python call per run), recording only the outcomes asked for. Run r's inputs come from the
design (sim.design) and its draws from the seed and r alone, so the results do not depend on
the shard size, the worker count or the executor: in-process, a local process pool, or Dask.

While it runs, the sweep lives in `<out>.partial/`: `sweep.json` (the digest of the sweep file
and every file it reads, the shard plan, and the sha256 of each finished shard) and one Parquet
file a shard, each written whole then renamed. `resume=True` keeps the shards whose checksum
matches and reruns the rest; a digest that differs is refused. At the end the shards are merged
into results.parquet (row groups of ROW_GROUP runs, whatever the shards were), the analysis is
written (sim.sweepanalysis), and the folder replaces `<out>` in one rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim import __version__, export, report
from sim.errors import InputError
from sim.inputs import Inputs
from sim.sweepfile import CSV_RUNS, LoadedSweep, from_mapping
from sim.sweepfile import load as load_sweep

ROW_GROUP = 65_536
"""Runs per Parquet row group of results.parquet (fixed, so the file is the same whatever the shards)."""
MEMORY_MB = 1024
"""Default memory budget of a sweep, all workers together (MiB)."""
BYTES_PER_RUN_YEAR = 450
"""Estimated peak bytes a run needs per year of its span in a shard (parameters, draws, kept
series; the engine's own state is bounded by its chunk, not the shard)."""
SHARDS_A_WORKER = 4
"""With several workers, at least this many shards each, so no worker idles at the end."""
PLAN = "sweep.json"
TOOL = "simulate sweep"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Job:
    """What a worker needs to evaluate any shard (picklable, sent once per worker)."""

    sweep: LoadedSweep
    inputs: Inputs
    keep: tuple[str, ...]


def job(sweep: LoadedSweep, inputs: Inputs) -> Job:
    names = {("cost" if o.metric == "cumulative_cost" else o.metric) for o in sweep.outcomes}
    names |= {t.metric for t in sweep.targets.values()}
    return Job(sweep=sweep, inputs=inputs, keep=tuple(sorted(names)))


def evaluate(job: Job, start: int, stop: int) -> dict[str, np.ndarray]:
    """Columns of runs start..stop-1: run, the varied inputs, the outcomes, met.<target>."""
    from sim import design, guard, kpi, uncertainty
    from sim.engine import simulate
    from sim.params import build

    sweep, inputs, n = job.sweep, job.inputs, stop - start
    scenario = sweep.base.scenario
    varied = design.points(sweep, start, n)
    values = {}
    if sweep.sweep.draws:
        paths = {a.row.path for a in sweep.axes}
        values = {k: v for k, v in uncertainty.design(scenario, inputs, start, n, sweep.seed).items()
                  if k.split("[")[0] not in paths}
    results = simulate(build(scenario, inputs, runs=n, values=values | varied), inputs, keep=job.keep)
    guard.check(results, inputs.demand_base_year, sweep.path, f"sweep {sweep.sweep.name}",
                lambda r: f"run {start + r} (" + ", ".join(f"{k} = {v[r]:.6g}" for k, v in varied.items()) + ")")
    columns = {"run": np.arange(start, stop, dtype=np.int64), **varied}
    years = results.years
    for o in sweep.outcomes:
        t = int(np.searchsorted(years, o.year))
        if o.metric == "cumulative_cost":
            total = np.zeros(n)
            for k in range(int(np.searchsorted(years, inputs.last_observed + 1)), t + 1):
                total += results.metrics["cost"][:, k]
            columns[o.column] = total
        else:
            columns[o.column] = results.metrics[o.metric][:, t].copy()
    for name, target in sweep.targets.items():
        span = (years >= target.years[0]) & (years <= target.years[1])
        if span.any():
            columns[f"met.{name}"] = kpi.meets(target, results.metrics[target.metric][:, span]).all(axis=1)
    return columns


# --- executors ------------------------------------------------------------------------------

def _in_process(job: Job, shards: list[tuple[int, int, int]]) -> Iterator[tuple[int, dict]]:
    for k, start, stop in shards:
        yield k, evaluate(job, start, stop)


_WORKER_JOB: Job | None = None


def _set_job(job: Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job


def _evaluate_here(start: int, stop: int) -> dict[str, np.ndarray]:
    return evaluate(_WORKER_JOB, start, stop)


def _pool(job: Job, shards: list[tuple[int, int, int]], workers: int) -> Iterator[tuple[int, dict]]:
    """A local process pool; at most 2 shards a worker in flight (memory stays bounded)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_set_job, initargs=(job,)) as pool:
        pending, todo = {}, iter(shards)
        for k, start, stop in todo:
            pending[pool.submit(_evaluate_here, start, stop)] = k
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.get):
                yield pending.pop(future), future.result()
                for k, start, stop in todo:
                    pending[pool.submit(_evaluate_here, start, stop)] = k
                    break


def _dask(job: Job, shards: list[tuple[int, int, int]], scheduler: str | None,
          workers: int) -> Iterator[tuple[int, dict]]:
    """Dask distributed: a scheduler at `scheduler`, or a local cluster of `workers` processes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--scheduler", "Dask is not installed; pip install -e '.[distributed]'") from None
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster if cluster is not None else scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise InputError(scheduler or "--dask", f"cannot reach the Dask scheduler ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise InputError(scheduler or "--dask", "the Dask cluster has no workers (waited 60 s)") from None
        shared = client.scatter(job, broadcast=True)
        slots = 2 * max(1, len(client.scheduler_info().get("workers", {})) or workers)
        todo = iter(shards)
        keys = {}
        running = as_completed()
        for k, start, stop in todo:
            future = client.submit(evaluate, shared, start, stop, pure=False)
            keys[future.key] = k
            running.add(future)
            if len(keys) >= slots:
                break
        for future in running:
            yield keys.pop(future.key), future.result()
            future.release()
            for k, start, stop in todo:
                nxt = client.submit(evaluate, shared, start, stop, pure=False)
                keys[nxt.key] = k
                running.add(nxt)
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --- the sweep folder ------------------------------------------------------------------------

def shard_runs(sweep: LoadedSweep, workers: int, memory_mb: float) -> int:
    """Runs a shard: as many as a worker's share of the memory budget holds, but no more than
    gives each worker SHARDS_A_WORKER shards (so they finish together), a multiple of 1024,
    between 1,024 and 262,144 (and no more than the sweep)."""
    years = sweep.base.scenario.years.end - sweep.base.scenario.years.start + 1
    fit = int(memory_mb * 2**20 / max(1, workers) / (BYTES_PER_RUN_YEAR * years))
    if workers > 1:
        fit = min(fit, -(-sweep.runs // (SHARDS_A_WORKER * workers)))
    size = max(1024, min(262_144, -(-fit // 1024) * 1024 if workers > 1 else fit // 1024 * 1024))
    return min(size, sweep.runs)


def _plan_file(partial: Path) -> dict | None:
    try:
        return json.loads((partial / PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temp, path)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _shard_name(k: int) -> str:
    return f"shard-{k:05d}.parquet"


def _table(columns: dict[str, np.ndarray], units: dict[str, str]):
    import pyarrow as pa

    fields = [pa.field(name, pa.from_numpy_dtype(values.dtype), nullable=False,
                       metadata={"unit": units.get(name, "")}) for name, values in columns.items()]
    return pa.Table.from_arrays([pa.array(v) for v in columns.values()], schema=pa.schema(fields))


def _write_shard(folder: Path, k: int, columns: dict, units: dict) -> str:
    import pyarrow.parquet as pq

    path = folder / _shard_name(k)
    temp = folder / f".{path.name}.tmp"
    pq.write_table(_table(columns, units), temp, compression="zstd")
    digest = _sha256(temp)
    os.replace(temp, path)
    return digest


def _start(sweep: LoadedSweep, digest: str, partial: Path, resume: bool, size: int) -> dict:
    """The plan of the sweep in `partial`: resumed (same digest) or new; InputError if `partial`
    is not a sweep's or was started from other files."""
    plan = _plan_file(partial) if partial.exists() else None
    if partial.exists() and plan is None and any(partial.iterdir()):
        raise InputError(partial, f"folder exists and was not written by simulate sweep (no {PLAN}); move it away")
    if resume and plan is not None:
        if plan.get("digest") != digest:
            raise InputError(sweep.path, f"{partial} was started from a different sweep file or inputs (digest "
                             f"{str(plan.get('digest'))[:12]}, now {digest[:12]}); run without --resume to start over")
        return plan
    shutil.rmtree(partial, ignore_errors=True)
    plan = {"tool": TOOL, "version": __version__, "sweep": sweep.sweep.name, "digest": digest,
            "runs": sweep.runs, "shard_runs": size, "done": {}}
    try:
        partial.mkdir(parents=True)
        _write_json(partial / PLAN, plan)
    except OSError as exc:
        raise InputError(partial, f"cannot create the sweep's working folder ({exc.strerror})") from None
    return plan


def fingerprint(sweep: LoadedSweep, inputs: Inputs) -> str:
    """sha256 of what decides the results: the sweep file, every scenario and calibration file it
    reads, the calibration's data files, --samples and the program's version."""
    digest = hashlib.sha256(sweep.digest.encode())
    for file in inputs.files:
        digest.update(Path(file).read_bytes())
    digest.update(__version__.encode())
    return digest.hexdigest()


def _cluster_size(scheduler: str) -> int:
    """Workers of the Dask cluster at `scheduler` (1 if it cannot be asked: the run will say why)."""
    try:
        from dask.distributed import Client

        with Client(scheduler, timeout="10s") as client:
            return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # noqa: BLE001 - any failure here is reported by the run itself
        return 1


def _merge(partial: Path, plan: dict, folder: Path, units: dict) -> None:
    """Write results.parquet from the shards, in row groups of ROW_GROUP runs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards = (plan["runs"] + plan["shard_runs"] - 1) // plan["shard_runs"]
    writer, pending, rows = None, [], 0
    for k in range(shards):
        table = pq.read_table(partial / _shard_name(k))
        if writer is None:
            writer = pq.ParquetWriter(folder / "results.parquet", table.schema, compression="zstd")
        pending.append(table)
        rows += table.num_rows
        while rows >= ROW_GROUP or (k == shards - 1 and rows):
            joined = pa.concat_tables(pending)
            take = min(ROW_GROUP, rows)
            writer.write_table(joined.slice(0, take), row_group_size=ROW_GROUP)
            pending, rows = [joined.slice(take)], rows - take
    writer.close()


def run(spec, out: str | Path | None = None, *, samples: int | None = None, workers: int = 1,
        scheduler: str | None = None, dask: bool = False, resume: bool = False, shard_size: int | None = None,
        memory_mb: float = MEMORY_MB, charts: bool = True, csv: bool | None = None,
        progress: Progress | None = None):
    """Run a sweep; returns its results as a pyarrow Table (one row a run).

    spec: a sweep file path, a mapping as a sweep file holds (sim.sweepfile.from_mapping), or a
    LoadedSweep. out: the results folder (None: nothing written, the table only). workers > 1:
    a local process pool; dask or scheduler: Dask distributed. shard_size: runs a shard
    [default: from memory_mb]. csv: also write results.csv [default: the sweep's format].
    progress(done, total) is called as shards finish.
    """
    sweep = _loaded(spec, samples)
    options = dict(workers=workers, scheduler=scheduler, dask=dask, shard_size=shard_size, memory_mb=memory_mb,
                   progress=progress)
    if out is None:
        return _in_memory(sweep, **options)
    return _read(write(sweep, out, resume=resume, charts=charts, csv=csv, **options))


def write(spec, out: str | Path, *, samples: int | None = None, workers: int = 1, scheduler: str | None = None,
          dask: bool = False, resume: bool = False, shard_size: int | None = None, memory_mb: float = MEMORY_MB,
          charts: bool = True, csv: bool | None = None, progress: Progress | None = None) -> Path:
    """Run a sweep into the folder `out` (see run) without holding its results in memory: the
    shards stream to disk and the analysis reads a column at a time. Returns the folder."""
    from sim import sweepanalysis

    sweep = _loaded(spec, samples)
    inputs = _inputs(sweep)
    digest = fingerprint(sweep, inputs)
    size = shard_size or shard_runs(sweep, _cluster_size(scheduler) if scheduler else workers, memory_mb)
    work = job(sweep, inputs)
    units = sweep.units()
    out = export.replaceable(Path(out), "manifest.json", TOOL)
    partial = out.with_name(out.name + ".partial")
    with export.locked(out):
        if resume and not partial.exists() and (out / "manifest.json").is_file():
            done = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            if done.get("digest") != digest:
                raise InputError(sweep.path, f"{out} holds a sweep of a different sweep file or inputs; run without "
                                 "--resume to replace it")
            return out  # already complete
        plan = _start(sweep, digest, partial, resume, size)
        size = plan["shard_runs"]
        bounds = [(k, a, min(a + size, sweep.runs)) for k, a in enumerate(range(0, sweep.runs, size))]
        missing = [b for b in bounds if plan["done"].get(_shard_name(b[0])) is None
                   or plan["done"][_shard_name(b[0])] != _sha256(partial / _shard_name(b[0]))]
        finished = sweep.runs - sum(b - a for _, a, b in missing)
        if progress:
            progress(finished, sweep.runs)
        for k, columns in _execute(work, missing, workers, scheduler, dask):
            plan["done"][_shard_name(k)] = _write_shard(partial, k, columns, units)
            _write_json(partial / PLAN, plan)
            finished += columns["run"].size
            if progress:
                progress(finished, sweep.runs)
        write_csv = csv if csv is not None else (sweep.sweep.format == "csv"
                                                 or (sweep.sweep.format == "auto" and sweep.runs <= CSV_RUNS))
        with export.staged(out, marker="manifest.json", tool=TOOL, lock=False) as folder:
            _merge(partial, plan, folder, units)
            files = ["results.parquet", *sweepanalysis.write(sweep, inputs, sweepanalysis.Columns(folder / "results.parquet"),
                                                             folder), *_context(sweep, inputs, folder)]
            if write_csv:
                export.write_text(folder, "results.csv", sweepanalysis.results_csv(_read(folder)))
                files.append("results.csv")
            export.write_text(folder, "manifest.json", export.manifest_json(manifest(sweep, digest, files, units, inputs)))
            files += report.write(folder, charts=charts)  # drawn from the tables just written
            export.write_text(folder, "manifest.json", export.manifest_json(manifest(sweep, digest, files, units, inputs)))
        shutil.rmtree(partial, ignore_errors=True)
        return out


def _loaded(spec, samples: int | None) -> LoadedSweep:
    if isinstance(spec, LoadedSweep):
        return spec
    if isinstance(spec, Mapping):
        return from_mapping(spec, samples=samples)
    return load_sweep(spec, samples)


def _inputs(sweep: LoadedSweep) -> Inputs:
    from sim.inputs import load as load_inputs
    from sim.preflight import prepare

    return prepare(sweep.base, load_inputs(sweep.base.calibration_path))


def _execute(work: Job, shards, workers: int, scheduler: str | None, dask: bool) -> Iterator[tuple[int, dict]]:
    if dask or scheduler is not None:
        return _dask(work, shards, scheduler, max(1, workers))
    if workers > 1 and len(shards) > 1:
        return _pool(work, shards, workers)
    return _in_process(work, shards)


def _in_memory(sweep: LoadedSweep, workers: int, scheduler, dask: bool, shard_size: int | None, memory_mb: float,
               progress):
    import pyarrow as pa

    work, runs = job(sweep, _inputs(sweep)), sweep.runs
    size = shard_size or shard_runs(sweep, workers, memory_mb)
    units = sweep.units()
    bounds = [(k, a, min(a + size, runs)) for k, a in enumerate(range(0, runs, size))]
    parts, done = {}, 0
    for k, columns in _execute(work, bounds, workers, scheduler, dask):
        parts[k] = _table(columns, units)
        done += columns["run"].size
        if progress:
            progress(done, runs)
    return pa.concat_tables([parts[k] for k in sorted(parts)])


def _read(folder: Path):
    import pyarrow.parquet as pq

    return pq.read_table(folder / "results.parquet")


def manifest(sweep: LoadedSweep, digest: str, files: list[str], units: dict[str, str], inputs: Inputs) -> dict:
    """What the folder holds and what made it: the same for the same sweep whatever the executor
    or the working folder (no times, no worker counts, no shard size; absolute paths)."""
    from sim.inputs import file_hash
    from sim.scenario import resolved

    return {"sweep": sweep.sweep.name, "tool": TOOL, "version": __version__, "digest": digest,
            "sweep_path": str(sweep.path.resolve()),
            "sweep_file": sweep.sweep.model_dump(mode="json", by_alias=True), "samples_option": sweep.samples,
            "runs": sweep.runs, "seed": sweep.seed,
            "design": sweep.sweep.design, "base_scenario": resolved(sweep.base.scenario),
            "calibration": export.calibration_record(inputs, str(Path(inputs.files[0]).resolve())),
            "inputs": {str(Path(p).resolve()): file_hash(p) for p in (sweep.path, *sweep.base.files)},
            "files": sorted([*files, "manifest.json"]), "columns": units}


def _context(sweep: LoadedSweep, inputs: Inputs, folder: Path) -> list[str]:
    """The base scenario's assumptions and the official figures (sim.assumptions), for the report."""
    from sim import assumptions

    files = assumptions.context_files([sweep.base], inputs, lambda p: str(Path(p).resolve()))
    for name, text in files.items():
        export.write_text(folder, name, text)
    return list(files)


def reanalyse(folder: str | Path) -> list[str]:
    """Rewrite the analysis tables and manifest of a finished sweep folder from its results.parquet
    (the same bytes the sweep wrote, given the same sweep file and inputs); sim.report then
    redraws the charts and report from them. Each file is replaced on its own, atomically; files
    the folder's manifest does not list (the user's) are left alone. Returns the names written."""
    import tempfile

    from sim import sweepanalysis

    folder = Path(folder)
    try:
        written = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = None
    if not isinstance(written, dict) or written.get("tool") != TOOL or not (folder / "results.parquet").is_file():
        raise InputError(folder, "not a finished sweep folder (no manifest.json of simulate sweep with results.parquet)")
    sweep = load_sweep(written["sweep_path"], written.get("samples_option"))
    inputs = _inputs(sweep)
    digest = fingerprint(sweep, inputs)
    if digest != written.get("digest"):
        raise InputError(sweep.path, f"changed since the sweep in {folder} ran (or its scenario, calibration or data "
                         "did); rerun the sweep instead")
    units = sweep.units()
    kept = [name for name in ("results.parquet", "results.csv") if (folder / name).is_file()]
    try:
        temp = Path(tempfile.mkdtemp(prefix=".report.", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise InputError(folder, f"cannot write into the folder ({exc.strerror})") from None
    try:
        files = [*sweepanalysis.write(sweep, inputs, sweepanalysis.Columns(folder / "results.parquet"), temp),
                 *_context(sweep, inputs, temp)]
        listed = [f for f in written.get("files", []) if f not in (*files, *kept, "manifest.json")]  # the report's, for now
        export.write_text(temp, "manifest.json",
                          export.manifest_json(manifest(sweep, digest, [*kept, *files, *listed], units, inputs)))
        for name in [*files, "manifest.json"]:  # the manifest last: it lists the complete set
            os.replace(temp / name, folder / name)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return [*kept, *files]
