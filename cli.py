"""`simulate`: the command line. Parses arguments, calls `sim`, prints; nothing else.

Bad input ends with one line on stderr and exit status 2 (no traceback, no output written).
Heavy modules (numpy's users, matplotlib) load inside the commands that need them.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from sim import __version__
from sim.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def _fail(exc: InputError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_BAD_INPUT)


class Interrupted(BaseException):
    """Ctrl-C, raised by our SIGINT handler so that click does not turn it into its own Abort
    (which prints a blank line first)."""


def _interrupt(signum, frame) -> None:
    raise Interrupted


class OneLineErrors(click.Group):
    """A click group whose usage errors are one `error:` line on stderr too (exit status 2)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        signal.signal(signal.SIGINT, _interrupt)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            click.echo("error: no command given; see the list above", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt, Interrupted):
            click.echo("error: interrupted; nothing was replaced (earlier results are as they were)", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simulate")
def main() -> None:
    """Hong Kong labour-supply scenario engine.

    \b
    Example:
      simulate run scenarios/baseline.yaml
    """


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: outputs/<scenario name>].")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed (overrides the scenario's).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value, e.g. --set levers.talent.arrivals=50000 (repeatable).")
@click.option("--draws", type=click.IntRange(min=0, max=100_000), default=0, show_default=True,
              help="Monte Carlo draws of uncertainties and fitted parameters: bands.csv, fan charts, probabilities.")
@click.option("--no-charts", is_flag=True, help="Skip the PNG/SVG charts (faster).")
def run(scenario: Path, out: Path | None, seed: int | None, overrides: tuple[str, ...], draws: int,
        no_charts: bool) -> None:
    """Run SCENARIO and write CSV files, charts and a report.

    \b
    Example:
      simulate run scenarios/baseline.yaml --out results/base --no-charts
      simulate run scenarios/baseline.yaml --draws 1000 --seed 7
    """
    from sim import runner
    from sim.scenario import load

    try:
        summary = runner.run(load(scenario, overrides), out=out, seed=seed, charts=not no_charts, draws=draws)
    except InputError as exc:
        _fail(exc)
    click.echo(f"scenario {summary.name}: local labour force (excl. FDH, persons)")
    if summary.now_year < summary.end_year:
        click.echo(f"  {summary.now_year} (last observed): {summary.labour_force_now:,.0f}")
    click.echo(f"  {summary.end_year}: {summary.labour_force_end:,.0f}")
    if summary.shortage_2028 is not None:
        click.echo(f"  shortage 2028: {summary.shortage_2028:,.0f} persons (MP2023: about 180,000)")
    click.echo(f"  shortage {summary.end_year}: {summary.shortage_end:,.0f} persons")
    if summary.migration_capped > 0.5:
        click.echo(f"  note: {summary.migration_capped:,.0f} persons of the emigration asked for could not leave (no "
                   "residents of that age were left); see migration_capped in ledger.csv")
    click.echo(f"  {len(summary.files)} files written to {summary.out}/")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a value, as for run.")
def validate(scenario: Path, overrides: tuple[str, ...]) -> None:
    """Check SCENARIO and its calibration file; exit 0 if valid, 2 with the first problem if not.

    \b
    Example:
      simulate validate scenarios/baseline.yaml
    """
    from sim.preflight import prepare
    from sim.scenario import load

    try:
        loaded = load(scenario, overrides)
        prepare(loaded)
    except InputError as exc:
        _fail(exc)
    s = loaded.scenario
    click.echo(f"{scenario}: valid (scenario {s.name}, {s.years.start}-{s.years.end}, "
               f"calibration {loaded.calibration_path.name})")


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--against", "base", type=click.Path(path_type=Path), default=None,
              help="Base scenario the others are compared with [default: the first SCENARIO].")
@click.option("--draws", type=click.IntRange(min=0, max=100_000), default=0, show_default=True,
              help="Paired Monte Carlo draws (the same draws for every scenario): bands of each difference.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed [default: the base's].")
@click.option("--year", type=int, default=2028, show_default=True, help="Year of the attribution waterfall and costs.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: outputs/compare_<base>_vs_<scenarios>].")
@click.option("--no-charts", is_flag=True, help="Skip the charts (faster).")
def compare(scenarios: tuple[Path, ...], base: Path | None, draws: int, seed: int | None, year: int,
            out: Path | None, no_charts: bool) -> None:
    """Compare SCENARIOS against a base: differences, which lever did what, costs, paired bands.

    \b
    Example:
      simulate compare scenarios/baseline.yaml scenarios/combined.yaml --draws 1000
      simulate compare scenarios/*_plus.yaml --against scenarios/baseline.yaml
    """
    from sim import runner
    from sim.scenario import load

    try:
        loaded = [load(path) for path in scenarios]
        reference = load(base) if base is not None else loaded[0]
        summary = runner.compare(loaded, reference, out=out, draws=draws, seed=seed, year=year, charts=not no_charts)
    except InputError as exc:
        _fail(exc)
    click.echo(f"against {summary.base}: change in the {summary.year} shortage (persons; < 0 closes the gap)")
    for name, change, below in summary.changes:
        chance = "" if below is None else f"  (below the base in {below:.0%} of paired draws)"
        click.echo(f"  {name}: {change:+,.0f}{chance}")
    click.echo(f"  {len(summary.files)} files written to {summary.out}/")


@main.command()
@click.argument("sweep_file", metavar="SWEEP", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: outputs/sweeps/<sweep name>].")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Sample size (overrides the sweep file's).")
@click.option("--workers", type=click.IntRange(min=1, max=512), default=1, show_default=True,
              help="Worker processes (a local pool; with --dask, a local Dask cluster).")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("--dask", "local_dask", is_flag=True, help="Run on a local Dask cluster of --workers processes.")
@click.option("--resume", is_flag=True, help="Continue an interrupted sweep: rerun only missing or corrupt shards.")
@click.option("--memory", "memory_mb", type=click.FloatRange(min=64), default=1024, show_default=True,
              help="Memory budget of all workers together (MiB); sets the shard size.")
@click.option("--shard-size", type=click.IntRange(min=1), default=None, help="Runs a shard [default: from --memory].")
@click.option("--csv", "csv_out", is_flag=True, default=None, help="Also write results.csv (default: up to 100,000 runs).")
@click.option("--no-charts", is_flag=True, help="Skip the charts.")
def sweep(sweep_file: Path, out: Path | None, samples: int | None, workers: int, scheduler: str | None,
          local_dask: bool, resume: bool, memory_mb: float, shard_size: int | None, csv_out: bool | None,
          no_charts: bool) -> None:
    """Run the design of SWEEP (many runs, vectorised) and analyse it: sensitivity, frontier, targets.

    \b
    Example:
      simulate sweep scenarios/sweeps/levers.yaml --workers 2
      simulate sweep scenarios/sweeps/uncertainty.yaml --samples 1024 --resume
    """
    import time

    from sim import sweep as sweeps
    from sim.sweepfile import load

    if scheduler is not None and local_dask:
        _fail(InputError("--scheduler", "give either --scheduler ADDRESS or --dask (a local cluster), not both"))
    started, bar = time.perf_counter(), None
    try:
        loaded = load(sweep_file, samples)
        out = out if out is not None else Path("outputs") / "sweeps" / loaded.sweep.name
        bar = _Progress(loaded.sweep.name)
        sweeps.write(loaded, out, workers=workers, scheduler=scheduler, dask=local_dask, resume=resume,
                     shard_size=shard_size, memory_mb=memory_mb, charts=not no_charts, csv=csv_out, progress=bar)
    except InputError as exc:
        _fail(exc)
    except Interrupted:
        if bar is not None:
            bar.close()
        click.echo("error: interrupted; finished shards are kept: continue with --resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    bar.close()
    seconds = time.perf_counter() - started
    click.echo(f"sweep {loaded.sweep.name}: {loaded.runs:,} runs in {seconds:,.1f} s "
               f"({loaded.runs / max(seconds, 1e-9):,.0f} runs/s); results and analysis in {out}/")


class _Progress:
    """Runs done, runs a second and time left, on one line of stderr (a line every 10% when not a terminal)."""

    def __init__(self, name: str) -> None:
        import time

        self.name, self.clock, self.start, self.first, self.shown = name, time.perf_counter, None, 0, -1
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.start is None:
            self.start, self.first = now, done
        rate = (done - self.first) / max(now - self.start, 1e-9)
        left = f"{(total - done) / rate:,.0f} s left" if rate > 0 and done < total else ""
        text = f"sweep {self.name}: {done:,}/{total:,} runs ({done / total:.0%}), {rate:,.0f} runs/s {left}"
        tenth = done * 10 // max(total, 1)
        if self.tty:
            click.echo("\r" + text.ljust(90), nl=False, err=True)
        elif tenth != self.shown:
            click.echo(text, err=True)
        self.shown = tenth

    def close(self) -> None:
        if self.tty and self.start is not None:
            click.echo("", err=True)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--no-charts", is_flag=True, help="Skip the charts.")
def report(folder: Path, no_charts: bool) -> None:
    """Rebuild the charts, report.md and report.html of a result FOLDER (a run, a comparison or a
    sweep) from its own tables: the same files as the run wrote. A sweep's analysis tables are
    recomputed from its results first (its sweep file and inputs must be unchanged).

    \b
    Example:
      simulate report outputs/baseline
      simulate report outputs/sweeps/levers
    """
    from sim import report as reports

    try:
        files = reports.rebuild(folder, charts=not no_charts)
    except InputError as exc:
        _fail(exc)
    click.echo(f"{len(files)} files written to {folder}/")


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Calibrated file to write [default: calibration/hk.yaml].")
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Report folder [default: report/ beside --out].")
@click.option("--assumptions", type=click.Path(path_type=Path), default=None,
              help="Assumptions and free parameters [default: calibration/assumptions.yaml].")
@click.option("--scenario", type=click.Path(path_type=Path), default=None,
              help="Scenario whose levers give the history [default: scenarios/baseline.yaml].")
@click.option("--backtest", "backtest_year", type=click.IntRange(2017, 2023), default=2019, show_default=True,
              help="Also fit on data up to this year and project the rest with observed flows.")
@click.option("--date", "fitted_on", default=None, metavar="YYYY-MM-DD",
              help="Fit date recorded in the file [default: today, UTC]; pass it to reproduce a file exactly.")
def calibrate(out, report, assumptions, scenario, backtest_year, fitted_on) -> None:
    """Fit the free parameters to the targets and write the calibrated file and its report.

    \b
    Example:
      simulate calibrate --backtest 2019
    """
    import datetime

    import calibration
    from calibration import fit
    from sim.scenario import load

    folder = Path(calibration.__file__).parent
    assumptions = assumptions or folder / "assumptions.yaml"
    out = out or folder / "hk.yaml"
    report = report or Path(out).parent / "report"
    if fitted_on is None:
        fitted_on = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    try:
        datetime.date.fromisoformat(fitted_on)
    except ValueError as exc:
        _fail(InputError("--date", f"{fitted_on!r} is not a date YYYY-MM-DD ({exc})"))
    try:
        from sim.inputs import last_observed_year

        loaded = load(scenario or folder.parent / "scenarios" / "baseline.yaml", check_calibration=False,
                      last_observed=last_observed_year(assumptions))
        result, back, files = fit.calibrate(Path(assumptions), loaded.scenario, Path(out), Path(report),
                                            backtest_year, fitted_on)
    except InputError as exc:
        _fail(exc)
    worst = max(abs(r) for r in result.residuals)
    fitted = int(result.fitted.sum())
    click.echo(f"calibrated {fitted} parameters on {len(result.problem.targets)} observed targets "
               f"({len(result.problem.targets) - fitted} degrees of freedom; largest |residual| {worst:.2f}); wrote {out}")
    for name, x, se in zip(result.problem.names, result.x, result.se):
        click.echo(f"  {name:45s} {x:12.6g}  s.e. {se:.3g}")
    chosen = [r for r in back if r["chosen"] == "yes"]
    click.echo(f"back-test (fit to {backtest_year}): " + ", ".join(f"{r['year']} {r['error_pct']:+.1f}%" for r in chosen))
    click.echo(f"report: {report}/ ({', '.join(files)})")


if __name__ == "__main__":
    main()
