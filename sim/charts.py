"""Charts in one house style (matplotlib, Agg backend), each saved as PNG and SVG.

matplotlib is imported here only, and this module is imported only when charts are drawn, so
`simulate validate` and `--no-charts` runs never pay for it. Every axis states its unit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.occupation import LABELS, OCCUPATIONS
from sim.results import Results

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#7f7f7f", "#d62728", "#17becf", "#bcbd22",
           "#8c564b", "#e377c2", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5")  # tab10 + tab20 tints: distinct
FLOW_LABELS = {
    "entry_at_15": "entry at 15", "deaths": "deaths", "resident_net_migration": "resident net migration",
    "one_way_permits": "one-way permits", "naturalisation": "naturalised talents (as residents)",
    "participation_change": "participation change (incl. retirement)", "talent_arrivals": "talent arrivals",
    "talent_departures": "talent departures", "talent_naturalisation": "naturalised talents (leave talent stock)",
    "imported_arrivals": "imported workers in", "contract_ends": "imported workers out (contract end)",
    "retraining_activations": "retraining activations", "retraining_exits": "retraining exits",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "hk-labour-sim", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
                         "figure.dpi": 100, "savefig.dpi": 110})
    return plt


def _save(fig, folder: Path, stem: str, year_axes=None) -> list[str]:
    """Save PNG and SVG; the x axes in `year_axes` (default: all) get whole-year ticks."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes if year_axes is None else year_axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(folder / f"{stem}.png", metadata={"Software": None})
    fig.savefig(folder / f"{stem}.svg", metadata={"Date": None, "Creator": None})
    return [f"{stem}.png", f"{stem}.svg"]


def labour_force(results: Results, observed: dict[int, float], last_observed: int, folder: Path,
                 title: str) -> list[str]:
    """Labour force (persons), modelled back-cast and projection, with the observed targets."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    years = results.years
    lf = results.metrics["labour_force"][0] / 1e6
    ax.plot(years, lf, color=COLOURS[0], lw=2, label="model (central run)")
    if observed:
        ax.scatter(list(observed), np.array(list(observed.values())) / 1e6, color=COLOURS[1], zorder=3,
                   label="observed (calibration targets)")
    ax.axvspan(years[0], last_observed, color="grey", alpha=0.08, label="back-cast (history)")
    ax.set(title=title, xlabel="year (mid-year)", ylabel="labour force excl. FDH (million persons)")
    ax.legend(loc="best", frameon=False)
    return _save(fig, folder, "labour_force")


def shortage_by_occupation(results: Results, ranges: dict[str, tuple[float, float, int]], folder: Path,
                           title: str) -> list[str]:
    """Shortage by occupation group (persons; < 0 is a surplus), with published ranges."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    years = results.years
    for g, group in enumerate(OCCUPATIONS):
        ax.plot(years, results.groups["shortage"][0, :, g] / 1e3, color=COLOURS[g], lw=1.8, label=LABELS[group])
        if group in ranges:
            lo, hi, year = ranges[group]
            ax.errorbar([year], [(lo + hi) / 2e3], yerr=[[(hi - lo) / 2e3]], color=COLOURS[g], capsize=4, lw=1.2)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(title=title, xlabel="year (mid-year)", ylabel="shortage (thousand persons)")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return _save(fig, folder, "shortage_by_occupation")


def labour_force_flows(results: Results, folder: Path, title: str) -> list[str]:
    """Each year's flows into (> 0) and out of (< 0) the labour force, stacked, and the net change."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.4))
    years = results.years[1:]
    items = [i for i in results.items("labour_force") if i not in ("opening", "closing")]
    pos = np.zeros(years.size)
    neg = np.zeros(years.size)
    for k, item in enumerate(items):
        value = results.ledger[("labour_force", item)][0, 1:] / 1e3
        base = np.where(value >= 0, pos, neg)
        ax.bar(years, value, bottom=base, color=COLOURS[k % len(COLOURS)], width=0.75,
               label=FLOW_LABELS.get(item, item))
        pos, neg = pos + np.maximum(value, 0), neg + np.minimum(value, 0)
    net = (results.ledger[("labour_force", "closing")][0, 1:] - results.ledger[("labour_force", "opening")][0, 1:])
    ax.plot(years, net / 1e3, color="black", marker="o", ms=3, lw=1.2, label="net change")
    ax.axhline(0, color="black", lw=0.8)
    ax.set(title=title, xlabel="year (flows from the previous mid-year)",
           ylabel="flow (thousand persons a year)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=7)
    return _save(fig, folder, "labour_force_flows")


def close_all() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


def calibration_fit(residuals: list[dict], backtest: list[dict], years: np.ndarray, labour: np.ndarray,
                    folder: Path) -> list[str]:
    """Fitted vs observed: the labour force path at the estimate (`labour`, persons, over `years`)
    with the labour-force targets and the back-test."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    lf = [r for r in residuals if r["metric"] == "labour_force"]
    last = max(r["year"] for r in lf)
    shown = years <= last
    ax.plot(years[shown], labour[shown] / 1e6, color=COLOURS[0], lw=1.5, label="model at the estimate")
    ax.errorbar([r["year"] for r in lf], [r["observed"] / 1e6 for r in lf], yerr=[r["tolerance"] / 1e6 for r in lf],
                fmt="s", color=COLOURS[1], capsize=3, label="observed ± tolerance")
    chosen = [r for r in backtest if r["chosen"] == "yes"]
    if chosen:
        ax.plot([r["year"] for r in chosen], [r["projected"] / 1e6 for r in chosen], color=COLOURS[2],
                marker="^", ls="--", lw=1.2, label="back-test projection")
    ax.set(title="Labour force: fitted vs observed", xlabel="year (mid-year)",
           ylabel="labour force excl. FDH (million persons)")
    ax.legend(frameon=False, fontsize=8)
    return _save(fig, folder, "fit")


def official_paths(results: Results, official: list[dict], estimates: dict[int, float], last_observed: int,
                   folder: Path) -> list[str]:
    """The baseline beside the official paths: labour force and requirement with MP2023's supply and
    requirement; population (incl. FDH) with C&SD's estimates and projection (low-high variants);
    the 2028 shortage by group with MP2023's ranges. Persons."""
    import textwrap

    plt = _pyplot()
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [3, 3, 2]})
    years, m = results.years, results.metrics
    rows = {r["metric"]: [] for r in official}
    for r in official:
        rows[r["metric"]].append(r)
    for ax in (left, middle):
        ax.axvspan(years[0], last_observed, color="grey", alpha=0.08, label="observed years")
    left.plot(years, m["labour_force"][0] / 1e6, color=COLOURS[0], lw=2, label="model: labour force (supply)")
    left.plot(years, m["requirement"][0] / 1e6, color=COLOURS[5], lw=2, label="model: requirement")
    for metric, colour, label in (("supply", COLOURS[0], "MP2023 supply"), ("requirement", COLOURS[5],
                                                                            "MP2023 requirement")):
        pts = rows.get(metric, [])
        left.scatter([r["year"] for r in pts], [r["value"] / 1e6 for r in pts], marker="D", color=colour,
                     edgecolor="black", zorder=3, label=label)
    left.set(title="Supply and requirement vs MP2023", xlabel="year (mid-year)", ylabel="million persons")
    left.legend(frameon=False, fontsize=7, loc="upper left")
    total = (m["population"][0] + m["fdh"][0]) / 1e6
    middle.plot(years, total, color=COLOURS[2], lw=2, label="model: population + FDH")
    middle.scatter(list(estimates), np.array(list(estimates.values())) / 1e6, color=COLOURS[1], s=14, zorder=3,
                   label="C&SD mid-year estimates")
    for r in rows.get("population", []):
        middle.errorbar([r["year"]], [r["value"] / 1e6], yerr=[[(r["value"] - r["low"]) / 1e6],
                                                             [(r["high"] - r["value"]) / 1e6]],
                        fmt="D", color=COLOURS[3], capsize=4, label="C&SD projection (low-high variants)")
    middle.set(title="Population vs C&SD", xlabel="year (mid-year)", ylabel="million persons (incl. FDH)")
    middle.legend(frameon=False, fontsize=7, loc="lower right")
    groups = [r for r in official if r["metric"].startswith("shortage_")]
    at = int(np.searchsorted(years, groups[0]["year"])) if groups else None
    x = np.arange(len(groups))
    if groups and at < years.size:
        model = [results.groups["shortage"][0, at, OCCUPATIONS.index(r["metric"].removeprefix("shortage_"))] / 1e3
                 for r in groups]
        right.bar(x, model, color=COLOURS[0], width=0.6, label="model")
    right.errorbar(x, [r["value"] / 1e3 for r in groups], yerr=[[(r["value"] - r["low"]) / 1e3 for r in groups],
                                                             [(r["high"] - r["value"]) / 1e3 for r in groups]],
                   fmt="none", color=COLOURS[1], capsize=5, lw=2, label="MP2023 range")
    names = [LABELS[r["metric"].removeprefix("shortage_")] for r in groups]
    right.set_xticks(x, [textwrap.fill(name, 14, break_long_words=False) for name in names], fontsize=7)
    right.set(title="Shortage by group, 2028", ylabel="shortage (thousand persons)")
    right.legend(frameon=False, fontsize=7)
    return _save(fig, folder, "official", year_axes=[left, middle])


def fan(results: Results, quantiles: np.ndarray, metric: str, folder: Path, title: str, ylabel: str) -> list[str]:
    """Central run and the p05-p95 and p25-p75 bands of `metric` over the draws (persons).

    quantiles: (5, Y) for p05, p25, p50, p75, p95.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    years = results.years
    ax.fill_between(years, quantiles[0] / 1e3, quantiles[4] / 1e3, color=COLOURS[0], alpha=0.15, lw=0,
                    label="5th-95th percentile")
    ax.fill_between(years, quantiles[1] / 1e3, quantiles[3] / 1e3, color=COLOURS[0], alpha=0.3, lw=0,
                    label="25th-75th percentile")
    ax.plot(years, results.metrics[metric][0] / 1e3, color=COLOURS[0], lw=2, label="central run")
    ax.set(title=title, xlabel="year (mid-year)", ylabel=ylabel)
    ax.legend(loc="best", frameon=False, fontsize=8)
    return _save(fig, folder, f"{metric}_fan")


# --- comparisons ------------------------------------------------------------------------------

SCENARIO_COLOURS = {"baseline": "#222222", "no_new_measures": "#888888", "talent_plus": "#0072B2",
                    "retention_plus": "#56B4E9", "retraining_plus": "#009E73", "importation_plus": "#E69F00",
                    "participation_plus": "#CC79A7", "combined": "#D55E00"}
"""Okabe-Ito colours (readable for colour-blind readers) fixed for the shipped scenarios, so a
scenario keeps its colour on every chart of every comparison."""
OTHER_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#888888")
LINE_STYLES = ("-", "--", "-.", ":")


def scenario_styles(names: list[str]) -> dict[str, dict]:
    """name -> {color, linestyle}: shipped names keep their colour; others take free ones in order;
    line styles vary too, so lines stay apart in greyscale."""
    used = {SCENARIO_COLOURS[n] for n in names if n in SCENARIO_COLOURS}
    free = [c for c in OTHER_COLOURS if c not in used] or list(OTHER_COLOURS)
    styles, k = {}, 0
    for n, name in enumerate(names):
        colour = SCENARIO_COLOURS.get(name)
        if colour is None:
            colour, k = free[k % len(free)], k + 1
        styles[name] = {"color": colour, "linestyle": LINE_STYLES[n % len(LINE_STYLES)]}
    return styles


def comparison(result, folder: Path, year: int) -> list[str]:
    """Every chart of a comparison (sim.comparison.Comparison); returns the files written."""
    styles = scenario_styles([m.name for m in result.members])
    files = compare_lines(result, styles, folder) + compare_groups(result, styles, folder)
    files += compare_differences(result, styles, folder)
    for name, a in result.attributions.items():
        if a.levers:
            files += waterfall(name, result.base.name, a, result.years, year, styles[name]["color"], folder)
    return files


def compare_lines(result, styles: dict, folder: Path) -> list[str]:
    """Labour force and shortage of every scenario (thousand persons)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    years = result.years
    last = result.inputs.last_observed
    for ax, metric, label in ((axes[0], "labour_force", "labour force excl. FDH (thousand persons)"),
                              (axes[1], "shortage", "shortage (thousand persons; < 0 surplus)")):
        for member in result.members:
            ax.plot(years, member.results.metrics[metric][0] / 1e3, lw=1.8, label=member.name, **styles[member.name])
        ax.axvspan(years[0], last, color="grey", alpha=0.08)
        ax.set(xlabel="year (mid-year); shaded: history", ylabel=label)
    axes[1].axhline(0, color="black", lw=0.8)
    axes[0].set_title("Labour force by scenario")
    axes[1].set_title("Shortage by scenario")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    return _save(fig, folder, "compare_lines")


def compare_groups(result, styles: dict, folder: Path) -> list[str]:
    """Shortage by occupation group, scenarios side by side, in the key years and the horizon."""
    from sim.comparison import KEY_YEARS

    plt = _pyplot()
    years = [int(y) for y in result.years]
    shown = sorted({y for y in (*KEY_YEARS, years[-1]) if y in years and y > result.inputs.last_observed})
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown) + 1.5, 3.8), sharey=True, squeeze=False)
    width = 0.8 / len(result.members)
    x = np.arange(len(OCCUPATIONS))
    for ax, year in zip(axes[0], shown):
        i = years.index(year)
        for n, member in enumerate(result.members):
            ax.bar(x + (n - (len(result.members) - 1) / 2) * width, member.results.groups["shortage"][0, i] / 1e3,
                   width, color=styles[member.name]["color"], label=member.name,
                   hatch=("", "//", "..", "xx")[n % 4], edgecolor="white", lw=0.3)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, [LABELS[g] for g in OCCUPATIONS], rotation=35, ha="right", fontsize=7)
        ax.set_title(str(year))
    axes[0][0].set_ylabel("shortage (thousand persons; < 0 surplus)")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    return _save(fig, folder, "compare_shortage_by_group", year_axes=[])


def compare_differences(result, styles: dict, folder: Path) -> list[str]:
    """Each scenario's shortage minus the base's (thousand persons), with the paired 5-95% band of
    the difference when there are draws."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    years = result.years
    ahead = result.projected
    for member in result.others:
        diff = result.attributions[member.name].total
        ax.plot(years[ahead], diff[ahead] / 1e3, lw=1.8, label=member.name, **styles[member.name])
        drawn = result.differences.get(member.name)
        if drawn is not None:
            lo, hi = np.percentile(drawn["shortage"][:, ahead], (5, 95), axis=0)
            ax.fill_between(years[ahead], lo / 1e3, hi / 1e3, color=styles[member.name]["color"], alpha=0.15, lw=0)
    ax.axhline(0, color="black", lw=0.8)
    note = f"\nbands: 5th-95th percentile of {result.draws:,} paired draws" if result.draws else ""
    ax.set(title=f"Shortage minus {result.base.name}'s (< 0 closes the gap){note}", xlabel="year (mid-year)",
           ylabel="difference (thousand persons)")
    ax.legend(loc="best", frameon=False, fontsize=8)
    return _save(fig, folder, "compare_differences")


def waterfall(name: str, base: str, a, years: np.ndarray, year: int, colour: str, folder: Path) -> list[str]:
    """The change in the year's shortage against the base, lever by lever (Shapley values), persons."""
    plt = _pyplot()
    i = int(np.searchsorted(years, year))
    parts = a.contributions[:, i] / 1e3
    labels = [lever.removeprefix("levers.").removeprefix("uncertainties.") for lever in a.levers]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 2.0))
    start = np.concatenate([[0.0], np.cumsum(parts)[:-1]])
    ax.barh(range(len(parts)), parts, left=start, color=np.where(parts < 0, colour, "#999999"))
    ax.barh([len(parts)], [a.total[i] / 1e3], color="black")
    for n, (left, width) in enumerate(zip([*start, 0.0], [*parts, a.total[i] / 1e3])):
        ax.annotate(f"{width:+,.1f}", (min(left, left + width), n), xytext=(-4, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=7)
    ax.set_yticks(range(len(parts) + 1), [*labels, "total"], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set(title=f"{name} vs {base}: change in the {year} shortage by lever",
           xlabel=f"change in the {year} shortage (thousand persons; < 0 closes the gap)", ylabel="lever")
    return _save(fig, folder, f"attribution_{name}", year_axes=[])


# --- sweeps -----------------------------------------------------------------------------------

def _scaled(unit: str) -> tuple[float, str]:
    """Divisor and axis label for a sweep column's unit: thousand persons or HK$ million."""
    if unit.startswith("HK$"):
        return 1e6, "HK$ million"
    if unit.startswith("persons"):
        return 1e3, "thousand " + unit.split(":")[0]
    return 1.0, unit.split(":")[0]


def sweep_distributions(sweep, table, folder: Path) -> list[str]:
    """A histogram of each outcome over the runs, the median marked."""
    plt = _pyplot()
    outcomes = sweep.outcomes
    cols = min(3, len(outcomes))
    rows = (len(outcomes) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows + 0.4), squeeze=False)
    units = sweep.units()
    for ax, o in zip(axes.flat, outcomes):
        div, label = _scaled(units[o.column])
        x = table.column(o.column).to_numpy() / div
        ax.hist(x, bins=50, color=COLOURS[0], alpha=0.8)
        ax.axvline(np.median(x), color="black", lw=1, ls="--", label="median")
        ax.set(title=o.column, xlabel=label, ylabel="runs")
    for ax in list(axes.flat)[len(outcomes):]:
        ax.set_visible(False)
    fig.suptitle(f"Sweep {sweep.sweep.name}: outcomes over {sweep.runs:,} runs", fontsize=10)
    return _save(fig, folder, "sweep_outcomes", year_axes=[])


def sensitivity(sweep, rows: list[list], folder: Path) -> list[str]:
    """Sobol' first-order and total indices of each outcome, bars with their 95% intervals."""
    plt = _pyplot()
    outcomes = list(dict.fromkeys(r[0] for r in rows))
    inputs = [a.column for a in sweep.axes]
    fig, axes = plt.subplots(len(outcomes), 1, figsize=(7, 0.32 * len(inputs) * len(outcomes) + 1.2 * len(outcomes)),
                             squeeze=False, sharex=True)  # one scale: indices compare across outcomes
    y = np.arange(len(inputs))
    for ax, outcome in zip(axes[:, 0], outcomes):
        mine = [r for r in rows if r[0] == outcome]
        for k, (offset, first, colour, label) in enumerate(((-0.2, 2, COLOURS[0], "first order"),
                                                            (0.2, 5, COLOURS[1], "total"))):
            value = np.array([float(r[first]) if r[first] != "" else np.nan for r in mine])
            low = np.array([float(r[first + 1]) if r[first + 1] != "" else np.nan for r in mine])
            high = np.array([float(r[first + 2]) if r[first + 2] != "" else np.nan for r in mine])
            ax.barh(y + offset, value, 0.4, color=colour, label=label, hatch=("", "//")[k], edgecolor="white")
            ax.errorbar(value, y + offset, xerr=[np.maximum(value - low, 0), np.maximum(high - value, 0)],
                        fmt="none", color="black", lw=0.8, capsize=2)
        ax.set_yticks(y, [c.removeprefix("levers.").removeprefix("uncertainties.") for c in inputs], fontsize=7)
        ax.invert_yaxis()
        ax.set(title=f"What drives {outcome}", xlabel="Sobol' index (share of variance)")
        ax.xaxis.set_tick_params(labelbottom=True)
    axes[0, 0].legend(frameon=False, fontsize=7, loc="lower right")
    return _save(fig, folder, "sensitivity", year_axes=[])


def frontier(sweep, table, year: int, gap: float, folder: Path, shown: int = 20_000) -> list[str]:
    """Every run's cumulative cost against its shortage in `year` (a sample of `shown` runs), the
    Pareto front, and the shortage left by closing each share of the base's gap."""
    from sim import frontier as front

    plt = _pyplot()
    cost = table.column(f"cumulative_cost[{year}]").to_numpy() / 1e6
    short = table.column(f"shortage[{year}]").to_numpy() / 1e3
    step = max(1, cost.size // shown)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(cost[::step], short[::step], s=3, color="#999999", alpha=0.4, lw=0,
               label=f"runs ({'every ' + str(step) + 'th of ' if step > 1 else ''}{cost.size:,})")
    best = front.pareto(cost, short)
    ax.step(cost[best], short[best], where="post", color=COLOURS[5], lw=1.8, label="cheapest for each shortage")
    for share in sweep.sweep.frontier.shares:
        ax.axhline((1 - share) * gap / 1e3, color="black", lw=0.6, ls=":")
        ax.annotate(f"{share:.0%} of gap closed", (1.0, (1 - share) * gap / 1e3), xycoords=("axes fraction", "data"),
                    ha="right", va="bottom", fontsize=7)
    ax.set(title=f"Cost and {year} shortage of lever mixes (base gap {gap / 1e3:,.0f}k)",
           xlabel=f"cost of measures, cumulative to {year} (HK$ million)", ylabel=f"shortage {year} (thousand persons)")
    ax.legend(frameon=False, fontsize=7, loc="upper right")
    return _save(fig, folder, f"frontier_{year}", year_axes=[])
