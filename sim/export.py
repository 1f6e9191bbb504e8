"""Writing a run's files: CSV tables, the manifest, and the atomic swap of the output folder.

Everything is first written into a fresh temporary folder beside the destination; only when
all files are complete does the temporary folder replace the destination, so a failure leaves
the previous results intact. CSV numbers are formatted with fixed precision, so the same inputs
and seed give byte-identical files.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import glob
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.occupation import OCCUPATIONS
from sim.results import UNITS, Results

YEARLY_COLUMNS = ("year", "labour_force", "requirement", "shortage", "talent_arrivals", "talent_extensions",
                  "population", "fdh", "resident_labour_force", "talent_labour_force", "imported_workers",
                  "retraining_active", "labour_force_female", "labour_force_60plus", "population_15plus",
                  "participation_rate", "talent_stock", "talent_departures", "naturalisations", "retraining_placements",
                  "births", "deaths", "resident_net_migration", "retraining_places", "cost")
OCCUPATION_COLUMNS = ("year", "occupation", "supply", "requirement", "shortage", "openings")
LEDGER_COLUMNS = ("year", "stock", "item", "value", "unit")
KPI_COLUMNS = ("kpi", "year", "value", "target", "met")
BAND_COLUMNS = ("year", "metric", "central", "p05", "p25", "p50", "p75", "p95")

COLUMN_UNITS = {
    "yearly.csv": {"year": "calendar year (mid-year stocks; flows from the previous mid-year)", **UNITS},
    "occupations.csv": {"year": "calendar year", "occupation": "occupation group", "supply": "persons",
                        "requirement": "persons", "shortage": "persons (requirement - supply; < 0 is a surplus)",
                        "openings": "persons/year (expansion + replacement demand)"},
    "ledger.csv": {"year": "calendar year", "stock": "stock name", "item": "opening, closing or a flow",
                   "value": "persons (stocks) or persons/year (flows; inflows > 0, outflows < 0)",
                   "unit": "unit of value"},
    "kpis.csv": {"kpi": "target name", "year": "calendar year", "value": "value of the target's metric (central run)",
                 "target": "bound(s)", "met": "true or false (central run)",
                 "probability": "share of the draws meeting the target (with --draws)",
                 "uncertain": "yes if the value varies between the draws; no if a lever or the data fix it "
                              "(then the probability is 0 or 1 by construction, not a chance)"},
    "bands.csv": {"year": "calendar year", "metric": "labour_force, requirement, shortage, population (incl. FDH) or "
                                                     "shortage_<group>",
                  "central": "persons: the central run (not a draw)",
                  **{c: f"persons: {c[1:]}th percentile over the draws" for c in ("p05", "p25", "p50", "p75", "p95")}},
}


REFERENCE_COLUMNS = ("kind", "metric", "year", "value", "low", "high", "source")
REFERENCE_UNITS = {"kind": "observed (a calibration target) or official (a published projection)",
                   "metric": "labour_force, supply, requirement, shortage, shortage_<group>, population, ...",
                   "year": "calendar year", "value": "persons", "low": "persons: low end of a published range",
                   "high": "persons: high end of a published range", "source": "where the figure was published"}


def number(value: float, digits: int = 1) -> str:
    """Fixed-precision text for a CSV cell; empty for NaN (a flow of the start year)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = f"{value:.{digits}f}"
    return "0.0" if text in ("-0.0", "-0") else text


def csv_text(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """CSV text with a header row, \\n line ends (the one CSV writer of the output files)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def yearly_csv(results: Results, run: int = 0) -> str:
    digits = {"participation_rate": 6}
    rows = []
    for i, year in enumerate(results.years):
        rows.append([int(year)] + [number(results.metrics[c][run, i], digits.get(c, 1)) for c in YEARLY_COLUMNS[1:]])
    return csv_text(YEARLY_COLUMNS, rows)


def occupations_csv(results: Results, run: int = 0) -> str:
    rows = []
    for i, year in enumerate(results.years):
        for g, group in enumerate(OCCUPATIONS):
            rows.append([int(year), group] + [number(results.groups[c][run, i, g]) for c in OCCUPATION_COLUMNS[2:]])
    return csv_text(OCCUPATION_COLUMNS, rows)


def ledger_csv(results: Results, run: int = 0) -> str:
    rows = []
    for i, year in enumerate(results.years[1:], start=1):
        for stock in results.stocks():
            for item in results.items(stock):
                unit = "persons" if item in ("opening", "closing") else "persons/year"
                rows.append([int(year), stock, item, number(results.ledger[(stock, item)][run, i], 3), unit])
    return csv_text(LEDGER_COLUMNS, rows)


def kpis_csv(rows: list[dict]) -> str:
    """kpis.csv; with a `probability` column (share of draws meeting the target) when rows have one."""
    drawn = bool(rows) and "probability" in rows[0]
    extra = ("probability", "uncertain") if drawn else ()
    return csv_text(KPI_COLUMNS + extra, [[r["kpi"], r["year"], number(r["value"]), r["target"], str(r["met"]).lower()]
                                      + ([number(r["probability"], 4), "yes" if r["uncertain"] else "no"] if drawn else [])
                                      for r in rows])


def bands_csv(rows: list[list], central: dict[str, np.ndarray]) -> str:
    """bands.csv: `year, metric, central, p05, p25, p50, p75, p95` (persons); `central` (metric -> (Y,))
    is the central run, beside the percentiles of the draws."""
    index: dict[str, int] = {}
    out = []
    for year, metric, *values in rows:
        i = index[metric] = index.get(metric, -1) + 1
        out.append([year, metric, number(central[metric][i]), *(number(v) for v in values)])
    return csv_text(BAND_COLUMNS, out)


def references_csv(targets: list[dict], official: list[dict]) -> str:
    """references.csv: the observed labour force (the chosen calibration targets) and the official
    projections (calibration/data/official.csv) that the charts draw as reference marks; persons."""
    rows = [["observed", r["metric"], int(r["year"]), number(r["value"], 0), "", "", r["source"]]
            for r in targets if r["metric"] == "labour_force" and r["chosen"] == "yes"]
    rows += [["official", r["metric"], int(r["year"]), number(r["value"], 0), number(r.get("low"), 0),
              number(r.get("high"), 0), r["source"]] for r in official]
    return csv_text(REFERENCE_COLUMNS, rows)


def calibration_record(inputs, file: str) -> dict:
    """What a manifest records of the calibration (for the report's source line and history)."""
    return {"file": file, "fitted_on": (inputs.fit or {}).get("fitted_on"), "last_observed_year": inputs.last_observed,
            "demand_base_year": inputs.demand_base_year}


def manifest_json(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"


def replaceable(destination: Path, marker: str, tool: str | None = None) -> Path:
    """`destination` resolved, if simulate may write it: absent, empty, or a folder whose `marker`
    (manifest.json) simulate wrote, and, with `tool`, wrote with that command; InputError if not
    (so a long job can refuse before it starts, not after). A folder simulate wrote may also hold
    the user's own files: they are kept (see staged)."""
    try:
        destination = Path(destination).resolve()
        destination.exists()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise InputError(destination, f"not a usable output folder ({exc})") from None
    if destination == Path.cwd().resolve() or destination in Path.cwd().resolve().parents:
        raise InputError(destination, "refusing to replace the current folder or one above it; name a subfolder")
    if destination.exists():
        if not destination.is_dir():
            raise InputError(destination, "output path exists and is not a folder")
        try:
            entries = sorted(p.name for p in destination.iterdir())
        except OSError as exc:
            raise InputError(destination, f"cannot read the folder ({exc.strerror})") from None
        written = _written(destination / marker)
        if entries and written is None:
            shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
            raise InputError(destination, f"folder exists and was not written by simulate (no {marker} of simulate's; "
                             f"it holds {shown}); choose an empty or new folder")
        if entries and tool is not None and written[0] != tool:
            raise InputError(destination, f"folder holds results of {written[0]}, not {tool}; "
                             "choose an empty or new folder")
    return destination


def _written(path: Path) -> tuple[str, set[str]] | None:
    """(the command, the files) a manifest of simulate's records; None if `path` is not one (a
    web app's manifest.json, say). Manifests before the "tool" key are a run's or a comparison's."""
    if path.suffix != ".json":  # calibrate's report folder, marked by its report.md: all of it is calibrate's
        return ("simulate calibrate", {p.name for p in path.parent.iterdir()}) if path.is_file() else None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list) or "version" not in data:
        return None
    tool = data.get("tool") or ("simulate compare" if "comparison" in data else "simulate run")
    if not isinstance(tool, str) or not tool.startswith("simulate"):
        return None
    return tool, {name for name in data["files"] if isinstance(name, str)}


@contextmanager
def locked(destination: Path):
    """Hold the lock of an output folder (`.NAME.lock` beside it) while the body runs; InputError
    if another simulate holds it. The lock file goes when released (a killed run's is reused)."""
    path = destination.with_name(f".{destination.name}.lock")
    while True:
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        except OSError as exc:
            raise InputError(destination, f"cannot create the output folder ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError(destination, "another simulate is writing this folder; wait for it to finish or "
                             "choose another --out") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except OSError:
            same = False
        if same:
            break
        os.close(fd)  # the lock file was removed by its last holder meanwhile: take the new one
    try:
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            os.close(fd)


@contextmanager
def staged(destination: Path, marker: str, tool: str | None = None, lock: bool = True):
    """Yield a temporary folder to write into; on success it replaces `destination` in one step.

    `destination` must be replaceable (absent, empty, or written by simulate: else InputError).
    Files there that simulate did not write (not listed in its manifest) are the user's: they
    are carried into the new folder as hard links (copies where links fail), and a name the new
    results would take over is refused. The swap is one rename(2) with RENAME_EXCHANGE, so the
    name always holds the complete old results or the complete new ones; where the kernel lacks
    it, two renames, and the next run restores the old folder if a kill fell between them.
    Leftovers of killed runs (hidden .NAME.*.tmp, .NAME.old-*) are cleaned up under the lock.
    On any error the temporary folder (and parent folders made for it) goes and `destination`
    is untouched.
    """
    destination = replaceable(destination, marker, tool)
    made = [p for p in (destination.parent, *destination.parent.parents) if not p.exists()]
    with locked(destination) if lock else nullcontext():
        _recover(destination)
        try:
            temp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.{os.getpid()}.", suffix=".tmp",
                                         dir=destination.parent))
        except OSError as exc:
            raise InputError(destination, f"cannot create the output folder ({exc.strerror})") from None
        try:
            _usual_mode(temp, 0o777)  # mkdtemp makes 0700
            yield temp
            if destination.exists():
                _carry_user_files(destination, temp, marker)
                _swap(temp, destination)
            else:
                os.rename(temp, destination)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            for folder in made:  # innermost first
                try:
                    folder.rmdir()
                except OSError:
                    break
            raise
        shutil.rmtree(temp, ignore_errors=True)  # now the old results


def _carry_user_files(destination: Path, temp: Path, marker: str) -> None:
    """Link the user's files (those the old manifest does not list) into the new folder."""
    written = _written(destination / marker)
    ours = written[1] | {marker} if written else {marker}
    theirs = [p for p in destination.iterdir() if p.name not in ours]
    clash = [p.name for p in theirs if (temp / p.name).exists() or (temp / p.name).is_symlink()]
    if clash:
        raise InputError(destination, f"holds {', '.join(sorted(clash))}, which simulate did not write and now "
                         "would; move or rename them")
    for path in theirs:
        if path.is_dir() and not path.is_symlink():
            shutil.copytree(path, temp / path.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(path, temp / path.name)


def _link_or_copy(source, target) -> None:
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _swap(temp: Path, destination: Path) -> None:
    """Exchange the two folders atomically (renameat2 RENAME_EXCHANGE); temp then holds the old."""
    try:
        _exchange(temp, destination)
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise InputError(destination, f"cannot replace the folder ({exc.strerror}); if it is a mount point or "
                             "read-only, choose a folder inside it") from None
    old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
    try:
        os.rename(destination, old)
        os.rename(temp, destination)
    except OSError as exc:
        if old.exists() and not destination.exists():
            os.rename(old, destination)
        raise InputError(destination, f"cannot replace the folder ({exc.strerror})") from None
    os.rename(old, temp)


def _exchange(a: Path, b: Path) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _recover(destination: Path) -> None:
    """Under the folder's lock: put back an old folder a kill left between two renames, and
    remove the temporary folders of killed runs."""
    parent, name = destination.parent, destination.name
    for path in sorted(parent.glob(f".{glob.escape(name)}.old-*")):
        if not destination.exists():
            os.rename(path, destination)
        else:
            shutil.rmtree(path, ignore_errors=True)
    for path in parent.glob(f".{glob.escape(name)}.*.tmp"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_file(path: Path, text: str):
    """Write `text` to a temporary file beside `path` first (InputError if that fails), run the
    body, then rename it over `path`; on any error the temporary file goes and `path` is untouched."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(path, f"cannot write the file ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        _usual_mode(temp, 0o666)  # mkstemp makes 0600
        yield
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _usual_mode(path: Path, mode: int) -> None:
    """Give a temporary file or folder the permissions a plain create would (mode less umask)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, mode & ~mask)


def write_text(folder: Path, name: str, text: str) -> Path:
    path = Path(folder) / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


COMPARE_COLUMNS = ("scenario", "year", "metric", "value", "difference", "unit")
ATTRIBUTION_COLUMNS = ("scenario", "year", "lever", "contribution")
COMPARE_BAND_COLUMNS = ("scenario", "year", "metric", "p05", "p25", "p50", "p75", "p95", "probability_below_base")
COST_COLUMNS = ("scenario", "year", "lever", "cost_hkd", "closed_persons", "hkd_per_person_closed")
COMPARE_UNITS = {
    "compare.csv": {"scenario": "scenario name", "year": "calendar year", "metric": "see unit",
                    "value": "the scenario's central run, in `unit`",
                    "difference": "value - the base's value, in `unit`", "unit": "unit of value and difference"},
    "attribution.csv": {"scenario": "scenario name", "year": "projection year", "lever": "key path, or `total`",
                        "contribution": "persons: the lever's Shapley share of the change in the shortage "
                                        "(< 0 closes the gap); `total` = scenario shortage - base shortage"},
    "compare_bands.csv": {"scenario": "scenario name", "year": "projection year", "metric": "see compare.csv",
                          **{c: f"persons: {c[1:]}th percentile over paired draws of scenario - base"
                             for c in ("p05", "p25", "p50", "p75", "p95")},
                          "probability_below_base": "share of the draws in which the scenario's value is below "
                                                    "the base's"},
    "cost_effectiveness.csv": {"scenario": "scenario name", "year": "the year costed",
                               "lever": "key path; `package` (all levers costed) or `costed levers` (those with a unit cost)",
                               "cost_hkd": "HK$/year: unit cost x (scenario - base lever value) in that year",
                               "closed_persons": "persons: shortage closed in that year (- Shapley contribution)",
                               "hkd_per_person_closed": "HK$ per person of shortage closed (empty where none is; < 0 "
                                                        "where the lever earns more than it costs)"},
}


def compare_csv(rows: list[list]) -> str:
    """compare.csv from rows `scenario, year, metric, value, difference, unit`."""
    return csv_text(COMPARE_COLUMNS, [[s, y, m, number(v), number(d), u] for s, y, m, v, d, u in rows])


def attribution_csv(rows: list[list]) -> str:
    return csv_text(ATTRIBUTION_COLUMNS, [[s, y, lever, number(c, 3)] for s, y, lever, c in rows])


def compare_bands_csv(rows: list[list]) -> str:
    return csv_text(COMPARE_BAND_COLUMNS, [[s, y, m, *(number(v) for v in q), number(p, 4)] for s, y, m, *q, p in rows])


def cost_effectiveness_csv(rows: list[list]) -> str:
    return csv_text(COST_COLUMNS, [[s, y, lever, number(c, 0), number(p), number(h, 0)] for s, y, lever, c, p, h in rows])
