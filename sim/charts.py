"""Charts in one house style (matplotlib, Agg backend), each saved as PNG (200 dpi) and SVG.

Every chart states its finding in the title, gives units on both axes (thousand persons; HK$
million for costs), ends with a source line, marks history apart from projection, and draws
official figures and targets as labelled reference marks. A scenario has one colour, line
style and marker on every chart of a run, a comparison and a sweep (`scenario_style`); colours
are Okabe-Ito and Paul Tol's (readable for colour-blind readers) and every series also differs
in line style, marker or hatch, so charts stay readable in greyscale.

Chart functions take plain arrays (read back from a result folder by sim.report), never a
model object, so a folder's charts can be redrawn from its tables. matplotlib is imported here
only, and this module only when charts are drawn.
"""

from __future__ import annotations

import re
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.occupation import LABELS, OCCUPATIONS

DPI = 200
WIDTH = 7.5  # inches: 1,500 px at 200 dpi
INK, MUTED, PAPER = "#222222", "#666666", "#ffffff"
THOUSANDS = "thousand persons"

SCENARIO_STYLES = {
    "baseline": ("#222222", "-", "o"), "no_new_measures": ("#888888", (0, (1, 1.5)), "x"),
    "talent_plus": ("#0072B2", "--", "s"), "retention_plus": ("#56B4E9", "-.", "^"),
    "retraining_plus": ("#009E73", (0, (5, 1.5, 1, 1.5, 1, 1.5)), "D"), "importation_plus": ("#E69F00", ":", "v"),
    "participation_plus": ("#CC79A7", (0, (8, 2)), "P"), "combined": ("#D55E00", "-", "*"),
}
"""Shipped scenarios: (colour, line style, marker), fixed on every chart (Okabe-Ito colours)."""
OTHER_STYLES = (("#0072B2", "--", "s"), ("#D55E00", "-", "*"), ("#009E73", "-.", "D"), ("#CC79A7", ":", "P"),
                ("#E69F00", (0, (8, 2)), "v"), ("#56B4E9", (0, (5, 1.5, 1, 1.5)), "^"), ("#000000", "-", "o"),
                ("#888888", (0, (1, 1.5)), "x"))
"""Styles for other scenario names, picked by a hash of the name (stable across charts)."""

GROUP_STYLES = {"managers_professionals": ("#332288", "-", "o"), "skilled_technical": ("#117733", "--", "s"),
                "service": ("#CC6677", "-.", "^"), "manual": ("#AA8800", ":", "D"), "other": ("#88CCEE", "-", "x")}
"""Occupation groups (Paul Tol's muted colours; a line style and marker each)."""

FLOW_CATEGORIES = (
    ("participation change (incl. retirement)", ("participation_change",), "#CC6677", ""),
    ("15-year-olds entering, deaths of workers", ("entry_at_15", "deaths"), "#DDCC77", "//"),
    ("residents' migration and one-way permits", ("resident_net_migration", "one_way_permits"), "#88CCEE", ".."),
    ("talents (net of departures)", ("talent_arrivals", "talent_departures", "talent_naturalisation",
                                     "naturalisation"), "#332288", "xx"),
    ("imported workers (net)", ("imported_arrivals", "contract_ends"), "#117733", "\\\\"),
    ("retraining (net)", ("retraining_activations", "retraining_exits"), "#AA4499", "--"),
)
"""The labour force's ledger items in a few readable categories: (label, items, colour, hatch).
A talent who naturalises leaves the talent stock and joins the residents: both items sit in the
talents' category, where they cancel."""

PERCENTILES = "5th-95th percentile"


@dataclass(frozen=True)
class Canvas:
    """Where charts go and what every chart of a result shares."""

    folder: Path
    source: str                      # the source line under every chart
    last_observed: int | None = None  # history up to this year (shaded)


@dataclass(frozen=True)
class Drawn:
    """A chart written as `stem`.png and `stem`.svg: its finding title and a one-line caption."""

    stem: str
    title: str
    caption: str

    @property
    def files(self) -> list[str]:
        return [f"{self.stem}.png", f"{self.stem}.svg"]


def scenario_style(name: str) -> dict:
    """Colour, line style and marker of scenario `name`: fixed for the shipped scenarios, else by
    a hash of the name, so a scenario looks the same on every chart."""
    colour, dashes, marker = SCENARIO_STYLES.get(name) or OTHER_STYLES[zlib.crc32(name.encode()) % len(OTHER_STYLES)]
    return {"color": colour, "linestyle": dashes, "marker": marker}


def scenario_styles(names: list[str]) -> dict[str, dict]:
    """Styles of the scenarios of one chart: as `scenario_style`, except that an unshipped name whose
    hashed style another scenario of the chart already has takes the next free one."""
    styles = {n: scenario_style(n) for n in names if n in SCENARIO_STYLES}
    taken = {s["color"] for s in styles.values()}
    for name in names:
        if name in styles:
            continue
        start = zlib.crc32(name.encode()) % len(OTHER_STYLES)
        order = [OTHER_STYLES[(start + k) % len(OTHER_STYLES)] for k in range(len(OTHER_STYLES))]
        colour, dashes, marker = next((s for s in order if s[0] not in taken), order[0])
        styles[name] = {"color": colour, "linestyle": dashes, "marker": marker}
        taken.add(colour)
    return {n: styles[n] for n in names}


def thousands(value: float) -> str:
    """Persons rounded to the thousand, for titles: 251,182 -> '251,000'."""
    return f"{round(value, -3):,.0f}"


def millions(value: float) -> str:
    """Persons in millions, for titles: 3,466,811 -> '3.47 million'."""
    return f"{value / 1e6:.2f} million"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.hashsalt": "hk-labour-sim", "svg.fonttype": "none", "font.size": 9, "font.family": "DejaVu Sans",
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.titlesize": 9, "axes.titlelocation": "left", "axes.titlecolor": MUTED, "axes.edgecolor": MUTED,
        "legend.frameon": False, "legend.fontsize": 7.5, "figure.dpi": DPI, "savefig.dpi": DPI,
        "figure.facecolor": PAPER, "hatch.linewidth": 0.6, "lines.markersize": 4,
    })
    return plt


def _figure(rows: int = 1, cols: int = 1, height: float = 4.0, width: float = WIDTH, **kw):
    plt = _pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), layout="constrained", squeeze=False, **kw)
    return fig, axes


def _finish(fig, canvas: Canvas, stem: str, title: str, caption: str, year_axes=None, note: str = "") -> Drawn:
    """Title (the finding), a `note` on how to read the chart and the source line under it,
    whole-year ticks on `year_axes` (default: all), then save PNG and SVG (text kept as text; no
    dates, so the same data give the same bytes)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes if year_axes is None else year_axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    width = fig.get_size_inches()[0]
    fig.suptitle(textwrap.fill(title, int(width * 11)), x=0.01, ha="left", fontsize=11, fontweight="bold", color=INK)
    foot = textwrap.fill("Source: " + canvas.source, int(width * 17))
    fig.supxlabel((textwrap.fill(note, int(width * 17)) + "\n" if note else "") + foot, x=0.01, ha="left",
                  fontsize=6.5, color=MUTED)
    _png(fig, canvas.folder / f"{stem}.png")
    fig.set_layout_engine("none")  # laid out once, by the PNG's draw: the SVG keeps the same layout
    fig.savefig(canvas.folder / f"{stem}.svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return Drawn(stem, title, caption)


def _png(fig, path: Path) -> None:
    """The figure as PNG at its own resolution (DPI), from one draw of the Agg canvas; written by
    Pillow with the resolution recorded and no time stamp (same figure, same bytes)."""
    from PIL import Image

    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image.convert("RGB").save(path, format="PNG", dpi=(DPI, DPI), compress_level=3)


def _history(ax, first: int, canvas: Canvas) -> None:
    """Shade the observed years (a legend entry says so) and mark where the projection starts."""
    last = canvas.last_observed
    if last is None or last < first:
        return
    ax.axvspan(first - 0.5, last + 0.5, color="#000000", alpha=0.06, lw=0, zorder=0,
               label=f"history: fitted to observed data, to {last}")
    ax.axvline(last + 0.5, color=MUTED, lw=0.6, ls=(0, (2, 2)), zorder=1)


def _legend_below(ax, ncols: int = 2) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=ncols)


def _zero(ax) -> None:
    ax.axhline(0, color=INK, lw=0.8, zorder=1)


def _refs(ax, points: dict[int, float], label: str, scale: float = 1e3, marker: str = "D",
          below: bool = False) -> None:
    """Official figures as labelled markers, each annotated with its value (below it, or above)."""
    if not points:
        return
    xs, ys = list(points), [v / scale for v in points.values()]
    ax.scatter(xs, ys, marker=marker, s=30, facecolor=PAPER, edgecolor=INK, lw=1.1, zorder=4, label=label)
    for x, y in zip(xs, ys):
        ax.annotate(f"{y:,.0f}", (x, y), xytext=(5, -4 if below else 4), textcoords="offset points", fontsize=6.5,
                    color=INK, va="top" if below else "bottom")


def _horizon(ax, official: dict[int, float]) -> None:
    """A dotted line at the last year of MP2023's projection: the requirement after it is the
    model's own extrapolation."""
    if official:
        last = max(official)
        ax.axvline(last, color=MUTED, lw=0.7, ls=":", zorder=1)
        ax.annotate(f" MP2023 horizon ({last}); later: extrapolated", (last, 0.02), xycoords=("data", "axes fraction"),
                    fontsize=6.5, color=MUTED, va="bottom")


def _line(ax, years, values, style: dict, label: str, lw: float = 1.8, **extra) -> None:
    ax.plot(years, values, lw=lw, label=label, markevery=_every(len(years)), **{**style, **extra})


def _every(n: int) -> int:
    return max(1, n // 8)


# --- a run --------------------------------------------------------------------------------------

def labour_force(canvas: Canvas, name: str, years, lf, requirement, observed: dict[int, float],
                 official: dict[str, dict[int, float]]) -> Drawn:
    """Labour force and requirement of the central run (persons), observed labour force and the
    MP2023 supply and requirement as reference marks."""
    fig, ((ax,),) = _figure()
    style = scenario_style(name)
    years = np.asarray(years)
    _line(ax, years, lf / 1e3, style, f"{name}: labour force (supply)")
    has_req = np.isfinite(requirement)
    ax.plot(years[has_req], requirement[has_req] / 1e3, color=style["color"], lw=1.2, ls=(0, (4, 2)),
            label=f"{name}: requirement")
    ax.fill_between(years[has_req], lf[has_req] / 1e3, requirement[has_req] / 1e3,
                    where=requirement[has_req] > lf[has_req], facecolor="none", edgecolor=style["color"],
                    hatch="////", alpha=0.35, lw=0, label="shortage (requirement above supply)")
    if observed:
        ax.scatter(list(observed), np.array(list(observed.values())) / 1e3, s=22, facecolor="none",
                   edgecolor=INK, lw=1.0, zorder=4, label="observed labour force (reported; calibration targets)")
    _refs(ax, official.get("supply", {}), "MP2023 supply", below=True)
    _refs(ax, official.get("requirement", {}), "MP2023 requirement", marker="s")
    _horizon(ax, official.get("requirement", {}))
    _history(ax, int(years[0]), canvas)
    ax.set(xlabel="year (mid-year)", ylabel=f"labour force ({THOUSANDS})")
    ax.set_title("Labour force excluding foreign domestic helpers, and the requirement")
    _legend_below(ax)
    now = canvas.last_observed if canvas.last_observed in set(years.tolist()) else int(years[0])
    i = int(np.searchsorted(years, now))
    verb = "falls" if lf[-1] < lf[i] else "rises"
    title = f"Labour force {verb} from {millions(lf[i])} in {now} to {millions(lf[-1])} in {int(years[-1])}"
    return _finish(fig, canvas, "labour_force", title,
                   "Solid: labour force of the central run; dashed: manpower requirement (beyond MP2023's 2028 "
                   "horizon extrapolated with GDP growth); circles: reported labour force; white marks: MP2023. "
                   "Shaded: history, fitted to the observed data.")


def shortage(canvas: Canvas, name: str, years, values, official: dict[int, float], year: int = 2028,
             surplus: float = 0.0) -> Drawn:
    """Total shortage of the central run (persons; < 0 a surplus) with MP2023's shortage marked;
    `surplus`: the groups' surplus in `year` that the total nets off (persons)."""
    fig, ((ax,),) = _figure()
    years = np.asarray(years)
    shown = np.isfinite(values)
    _line(ax, years[shown], values[shown] / 1e3, scenario_style(name), f"{name}: shortage (central run)")
    _refs(ax, official, "MP2023 shortage")
    _zero(ax)
    _horizon(ax, official)
    _history(ax, int(years[0]), canvas)
    ax.set(xlabel="year (mid-year)", ylabel=f"shortage ({THOUSANDS})")
    ax.set_title("Requirement minus labour force excl. FDH, all occupation groups, net (< 0: surplus)")
    _legend_below(ax)
    title = _shortage_finding(years, values, official, year)
    if surplus > 0:
        title += f"; net of a {thousands(surplus)} surplus in some groups"
    return _finish(fig, canvas, "shortage", title,
                   "Shortage = requirement - supply over all groups, net: a surplus in one group offsets shortages "
                   "in others (the groups are in shortage_by_occupation); white diamonds: MP2023; beyond its 2028 "
                   "horizon the requirement is extrapolated with GDP growth.")


def _shortage_finding(years, values, official: dict[int, float], year: int) -> str:
    at = {int(y): i for i, y in enumerate(years)}
    if year not in at:
        year = int(years[-1])
    value = values[at[year]]
    word = "Shortage reaches" if value > 0 else "Surplus of"
    text = f"{word} {thousands(abs(value))} in {year}"
    if year in official:
        text += f" (MP2023: about {thousands(official[year])})"
    peak = int(np.nanargmax(values))
    if int(years[peak]) > year and values[peak] > max(value, 0) * 1.05:
        text += f", {thousands(values[peak])} by {int(years[peak])}"
    return text


def shortage_by_occupation(canvas: Canvas, years, groups: dict[str, np.ndarray],
                           ranges: dict[str, tuple[float, float, int]], year: int = 2028) -> Drawn:
    """Shortage by occupation group (persons; < 0 a surplus), MP2023's published ranges as bars."""
    fig, ((ax,),) = _figure()
    years = np.asarray(years)
    for k, group in enumerate(OCCUPATIONS):
        colour, dashes, marker = GROUP_STYLES[group]
        shown = np.isfinite(groups[group])
        _line(ax, years[shown], groups[group][shown] / 1e3, {"color": colour, "linestyle": dashes, "marker": marker},
              LABELS[group], lw=1.5)
        if group in ranges:
            lo, hi, at = ranges[group]
            ax.errorbar([at + 0.35 * (k - 1.5)], [(lo + hi) / 2e3], yerr=[[(hi - lo) / 2e3]], color=colour, capsize=3,
                        lw=3.5, fmt="none", zorder=5)
    ax.errorbar([], [], yerr=[], color=INK, capsize=3, lw=3.5, fmt="none", label="MP2023 range (2028), by group")
    _zero(ax)
    _history(ax, int(years[0]), canvas)
    ax.set(xlabel="year (mid-year)", ylabel=f"shortage ({THOUSANDS})")
    ax.set_title("Shortage by occupation group (< 0: surplus)")
    _legend_below(ax, 3)
    at = {int(y): i for i, y in enumerate(years)}
    year = year if year in at else int(years[-1])
    ranked = sorted(OCCUPATIONS, key=lambda g: -groups[g][at[year]])
    first, second = (groups[g][at[year]] for g in ranked[:2])
    title = (f"{LABELS[ranked[0]].capitalize()} has the largest {year} shortage: {thousands(first)}"
             if first > 1.1 * second else
             f"{LABELS[ranked[0]]} and {LABELS[ranked[1]].lower()} have the largest {year} shortages: "
             f"{thousands(first)} and {thousands(second)}")
    surplus = [g for g in OCCUPATIONS if groups[g][at[year]] < 0]
    if surplus:
        title += f"; {LABELS[surplus[0]].lower()} in surplus ({thousands(-groups[surplus[0]][at[year]])})"
    return _finish(fig, canvas, "shortage_by_occupation", title,
                   "Lines: the central run by group; bars: MP2023's published 2028 ranges.")


def labour_force_flows(canvas: Canvas, years, items: dict[str, np.ndarray], net) -> Drawn:
    """Each year's flows into (> 0) and out of (< 0) the labour force in a few categories, stacked,
    and the net change (persons a year)."""
    fig, ((ax,),) = _figure(height=4.4)
    years = np.asarray(years)
    pos, neg = np.zeros(years.size), np.zeros(years.size)
    known = {i for _, members, _, _ in FLOW_CATEGORIES for i in members}
    categories = [*FLOW_CATEGORIES, ("other", tuple(i for i in items if i not in known), "#BBBBBB", "oo")]
    sums = {}
    for label, members, colour, hatch in categories:
        present = [items[i] for i in members if i in items]
        if not present:
            continue
        value = np.sum(present, axis=0) / 1e3
        sums[label] = value
        base = np.where(value >= 0, pos, neg)
        ax.bar(years, value, bottom=base, color=colour, width=0.75, hatch=hatch, edgecolor="white", lw=0.3,
               label=label)
        pos, neg = pos + np.maximum(value, 0), neg + np.minimum(value, 0)
    ax.plot(years, net / 1e3, color=INK, marker="o", ms=3, lw=1.2, label="net change")
    _zero(ax)
    _history(ax, int(years[0]) if years.size else 0, canvas)
    ax.set(xlabel="year (flows from the previous mid-year)", ylabel=f"flow ({THOUSANDS} a year)")
    ax.set_title("Flows into (> 0) and out of (< 0) the labour force")
    _legend_below(ax)
    ahead = years > (canvas.last_observed or years[0] - 1)
    if ahead.any():
        biggest = min(sums, key=lambda k: sums[k][ahead].sum())
        mean = net[ahead].mean()
        title = (f"Labour force {'shrinks' if mean < 0 else 'grows'} by about {round(abs(mean), -2):,.0f} a year "
                 "on average "
                 f"{int(years[ahead][0])}-{int(years[-1])}; largest outflow: {biggest}")
    else:
        title = "Flows into and out of the labour force"
    return _finish(fig, canvas, "labour_force_flows", title,
                   "Bars: each year's flows by category (ledger.csv has every item); line: net change.")


def targets(canvas: Canvas, rows: list[dict]) -> Drawn:
    """Each target's value by year (persons) against its bound: solid bars meet it, hatched miss;
    with draws, the share of draws meeting it is written on the bar."""
    names = list(dict.fromkeys(r["kpi"] for r in rows))
    fig, axes = _figure(1, len(names), height=3.4, sharey=False)
    missed = []
    for ax, kpi in zip(axes[0], names):
        mine = [r for r in rows if r["kpi"] == kpi]
        x = [r["year"] for r in mine]
        value = np.array([r["value"] for r in mine]) / 1e3
        colours = ["#0072B2" if r["met"] else "#D55E00" for r in mine]
        ax.bar(x, value, color=colours, hatch=["" if r["met"] else "//" for r in mine], edgecolor="white", width=0.7)
        for bound in {b for r in mine for b in r["bounds"]}:
            ax.axhline(bound / 1e3, color=INK, lw=1, ls=(0, (4, 2)))
        for xi, vi, r in zip(x, value, mine):
            if "probability" in r:
                ax.annotate(f"{r['probability']:.0%}" if r.get("uncertain", True) else "fixed", (xi, vi / 2),
                            ha="center", va="center", fontsize=6.5, color=PAPER, fontweight="bold")
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_title(f"{kpi.replace('_', ' ')}\ntarget {_bound_text(mine[0]['target'])}", fontsize=8)
        ax.set(xlabel="year", ylabel=f"value ({THOUSANDS} or places)" if ax is axes[0][0] else "")
        if not all(r["met"] for r in mine):
            missed.append(kpi.replace("_", " "))
    drawn = "probability" in rows[0]
    if missed:
        title = f"{len(names) - len(missed)} of {len(names)} targets met in every year: {', '.join(missed)} missed"
    elif len(names) == 1:
        title = f"{names[0].replace('_', ' ').capitalize()} is met in every year tracked"
    else:
        title = f"All {len(names)} targets met in every year tracked"
    return _finish(fig, canvas, "targets", title,
                   "Bars: the central run's value (solid blue meets the target, hatched orange misses it); dashed: "
                   "the target" + ("; % in a bar: share of the draws meeting it (fixed: the same in every draw, set by "
                                   "a lever or the data)." if drawn else "."), year_axes=[],
                   note="% in a bar: share of the draws meeting the target; fixed: the same in every draw" if drawn
                   else "")


def _bound_text(target: str) -> str:
    """`>= 35000` -> `≥ 35,000`; `35000..50000` -> `35,000 to 50,000`."""
    text = re.sub(r"\d+(\.\d+)?", lambda m: f"{float(m.group()):,.10g}", target)
    return text.replace(">=", "≥").replace("<=", "≤").replace("..", " to ")


def fan(canvas: Canvas, name: str, metric: str, years, central, q, draws: int, label: str,
        official: dict[int, float], year: int = 2028) -> Drawn:
    """Central run and the p05-p95 and p25-p75 bands of `metric` over `draws` draws (persons).

    q: (5, Y) for p05, p25, p50, p75, p95."""
    fig, ((ax,),) = _figure()
    style = scenario_style(name)
    years = np.asarray(years)
    shown = np.isfinite(central)
    ax.fill_between(years[shown], q[0][shown] / 1e3, q[4][shown] / 1e3, color=style["color"], alpha=0.13, lw=0,
                    label=f"{PERCENTILES} of {draws:,} draws")
    ax.fill_between(years[shown], q[1][shown] / 1e3, q[3][shown] / 1e3, color=style["color"], alpha=0.28, lw=0,
                    label="25th-75th percentile")
    _line(ax, years[shown], central[shown] / 1e3, style, f"{name}: central run")
    _refs(ax, official, "MP2023")
    if metric == "shortage":
        _zero(ax)
    _history(ax, int(years[0]), canvas)
    ax.set(xlabel="year (mid-year)", ylabel=label)
    ax.set_title(f"{label.split(' (')[0].capitalize()}: central run and uncertainty over {draws:,} draws")
    _legend_below(ax)
    at = {int(y): i for i, y in enumerate(years)}
    year = year if year in at else int(years[-1])
    noun = "shortage" if metric == "shortage" else "labour force"
    title = (f"90% of {draws:,} draws put the {year} {noun} between {thousands(q[0][at[year]])} and "
             f"{thousands(q[4][at[year]])}")
    return _finish(fig, canvas, f"{metric}_fan", title,
                   f"Bands: percentiles over {draws:,} Monte Carlo draws of the uncertainties; line: the central "
                   "run.")


# --- a comparison ---------------------------------------------------------------------------------

def compare_lines(canvas: Canvas, years, series: dict[str, dict[str, np.ndarray]], base: str, year: int) -> Drawn:
    """Labour force and shortage of every scenario (persons)."""
    fig, axes = _figure(1, 2, height=4.2, width=10)
    styles = scenario_styles(list(series))
    years = np.asarray(years)
    for ax, metric, label in ((axes[0][0], "labour_force", f"labour force ({THOUSANDS})"),
                              (axes[0][1], "shortage", f"shortage ({THOUSANDS})")):
        last = canvas.last_observed if canvas.last_observed is not None else int(years[0])
        past = years <= last
        shared = series[base][metric]
        ax.plot(years[past], shared[past] / 1e3, color=INK, lw=1.2, label="history (every scenario)")
        for name, values in series.items():
            shown = np.isfinite(values[metric]) & (years >= last)  # from the last observed year on
            _line(ax, years[shown], values[metric][shown] / 1e3, styles[name], name, lw=1.5)
        _history(ax, int(years[0]), canvas)
        ax.set(xlabel="year (mid-year)", ylabel=label)
    _zero(axes[0][1])
    axes[0][0].set_title("Labour force excl. FDH by scenario")
    axes[0][1].set_title("Shortage by scenario (< 0: surplus)")
    axes[0][1].legend(*axes[0][0].get_legend_handles_labels(), loc="upper left")  # the shortage starts low
    at = int(np.searchsorted(years, year))
    best = min(series, key=lambda n: series[n]["shortage"][at])
    title = (f"{best} has the lowest {year} shortage: {thousands(series[best]['shortage'][at])}"
             + ("" if best == base else f" against {base}'s {thousands(series[base]['shortage'][at])}"))
    return _finish(fig, canvas, "compare_lines", title,
                   "Each scenario's central run; the history (shaded) is the same data in every scenario.")


def compare_groups(canvas: Canvas, shown: list[int], groups: dict[str, dict[int, np.ndarray]]) -> Drawn:
    """Shortage by occupation group, scenarios side by side, in the key years (persons)."""
    names = list(groups)
    styles = scenario_styles(names)
    fig, axes = _figure(1, len(shown), height=4.2, width=max(WIDTH, 2.6 * len(shown) + 1), sharey=True)
    width = 0.8 / len(names)
    x = np.arange(len(OCCUPATIONS))
    hatches = ("", "//", "..", "xx", "\\\\", "oo", "--", "++")
    for ax, year in zip(axes[0], shown):
        for n, name in enumerate(names):
            ax.bar(x + (n - (len(names) - 1) / 2) * width, groups[name][year] / 1e3, width,
                   color=styles[name]["color"], label=name, hatch=hatches[n % len(hatches)], edgecolor="white", lw=0.3)
        _zero(ax)
        ax.set_xticks(x, [LABELS[g] for g in OCCUPATIONS], fontsize=6.5, rotation=30, ha="right")
        ax.set_title(str(year))
        ax.set_xlabel("occupation group")
    axes[0][0].set_ylabel(f"shortage ({THOUSANDS}; < 0 surplus)")
    axes[0][0].legend(loc="upper left", title="scenario", title_fontsize=7)
    last = shown[-1]
    worst = max(OCCUPATIONS, key=lambda g: max(groups[n][last][OCCUPATIONS.index(g)] for n in names))
    title = f"{LABELS[worst].capitalize()} has the largest shortage by {last} in every scenario shown" \
        if all(OCCUPATIONS[int(np.argmax(groups[n][last]))] == worst for n in names) else \
        f"Shortage by occupation group in {', '.join(map(str, shown))}"
    return _finish(fig, canvas, "compare_shortage_by_group", title,
                   "Bars: each scenario's shortage by group in the key years (central runs).", year_axes=[])


def compare_differences(canvas: Canvas, years, differences: dict[str, np.ndarray],
                        bands: dict[str, tuple[np.ndarray, np.ndarray]], draws: int, base: str, year: int) -> Drawn:
    """Each scenario's shortage minus the base's (persons), with the paired 5-95% band of the
    difference when there are draws."""
    fig, ((ax,),) = _figure()
    styles = scenario_styles([base, *differences])
    years = np.asarray(years)
    for name, diff in differences.items():
        _line(ax, years, diff / 1e3, styles[name], name, lw=1.5)
        if name in bands:
            lo, hi = bands[name]
            ax.fill_between(years, lo / 1e3, hi / 1e3, color=styles[name]["color"], alpha=0.15, lw=0)
    if bands:
        ax.fill_between([], [], [], color=MUTED, alpha=0.2, lw=0, label=f"{PERCENTILES} of {draws:,} paired draws")
    _zero(ax)
    ax.set(xlabel="year (mid-year)", ylabel=f"change in shortage ({THOUSANDS})")
    ax.set_title(f"Shortage minus {base}'s (< 0 closes the gap)")
    _legend_below(ax, 3)
    at = int(np.searchsorted(years, year))
    best = min(differences, key=lambda n: differences[n][at])
    change = differences[best][at]
    title = (f"{best} {'closes' if change < 0 else 'adds'} {thousands(abs(change))} of the {year} shortage against "
             f"{base}")
    return _finish(fig, canvas, "compare_differences", title,
                   f"Lines: each scenario's shortage minus {base}'s (central runs)"
                   + (f"; bands: {PERCENTILES} of {draws:,} paired draws." if bands else "."))


def waterfall(canvas: Canvas, name: str, base: str, year: int, levers: list[str], parts, total: float) -> Drawn:
    """The change in the year's shortage against the base, lever by lever (Shapley values; persons)."""
    labels = [lever.removeprefix("levers.").removeprefix("uncertainties.") for lever in levers]
    fig, ((ax,),) = _figure(height=0.38 * len(labels) + 2.0)
    colour = scenario_style(name)["color"]
    parts = np.asarray(parts) / 1e3
    start = np.concatenate([[0.0], np.cumsum(parts)[:-1]])
    ax.barh(range(len(parts)), parts, left=start, color=[colour if p < 0 else "#BBBBBB" for p in parts],
            hatch=["" if p < 0 else "//" for p in parts], edgecolor="white")
    ax.barh([len(parts)], [total / 1e3], color=INK)
    for n, (left, width) in enumerate(zip([*start, 0.0], [*parts, total / 1e3])):
        ax.annotate(f"{width * 1e3:+,.0f}", (min(left, left + width), n), xytext=(-4, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=7)
    ax.set_yticks(range(len(parts) + 1), [*labels, "total"], fontsize=7.5)
    ax.invert_yaxis()
    ax.axvline(0, color=INK, lw=0.8)
    ax.margins(x=0.25)
    ax.set(xlabel=f"change in the {year} shortage ({THOUSANDS}; < 0 closes the gap)", ylabel="lever (key path)")
    ax.set_title(f"{name} against {base}, {year}: Shapley share of each lever")
    ax.grid(axis="y", visible=False)
    k = int(np.argmin(parts)) if len(parts) else 0
    title = (f"{name}: {labels[k]} is the largest single part of the change in the {year} shortage against {base} "
             f"({thousands(-parts[k] * 1e3)} of {thousands(-total)}, {parts[k] * 1e3 / total:.0%})"
             if len(parts) and parts[k] < 0 and total < 0 else
             f"{name} changes the {year} shortage by {total:+,.0f} against {base}")
    return _finish(fig, canvas, f"attribution_{name}", title,
                   "Bars: each lever's exact Shapley share of the change in the shortage; they add up to the total.",
                   year_axes=[])


def cost_effectiveness(canvas: Canvas, rows: list[dict], year: int) -> Drawn:
    """Each costed lever's cost a year (HK$ million) against the shortage it closes (persons):
    the slope of a point from the origin is HK$ per person closed."""
    fig, ((ax,),) = _figure(height=4.2)
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    styles = scenario_styles(names)
    for k, r in enumerate(sorted(rows, key=lambda r: (r["closed"], r["cost"]))):
        style = styles[r["scenario"]]
        ax.scatter([r["closed"] / 1e3], [r["cost"] / 1e6], color=style["color"], marker=style["marker"], s=40,
                   zorder=3, label=r["scenario"])
        ax.annotate(".".join(r["lever"].split(".")[-2:]), (r["closed"] / 1e3, r["cost"] / 1e6),
                    xytext=(5, (3, -9, 9)[k % 3]), textcoords="offset points", fontsize=6.5)
    handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
    ax.legend(handles.values(), handles.keys(), loc="upper right", title="scenario", title_fontsize=7)
    _zero(ax)
    ax.axvline(0, color=INK, lw=0.8)
    ax.margins(x=0.35, y=0.2)
    if all(r["closed"] >= 0 for r in rows):
        ax.set_xlim(left=0)
    ax.set(xlabel=f"shortage closed in {year} ({THOUSANDS})", ylabel=f"cost of the measure in {year} (HK$ million)")
    ax.set_title("Cost a year against shortage closed, costed levers only (< 0: a revenue, the imported workers' "
                 "levy)", fontsize=8)
    spending = [r for r in rows if r["closed"] > 0 and np.isfinite(r["per_person"]) and r["per_person"] >= 0]
    if spending:
        best = min(spending, key=lambda r: r["per_person"])
        title = (f"Cheapest costed lever per person closed in {year}: {best['lever'].removeprefix('levers.')} "
                 f"({best['scenario']}), HK${best['per_person']:,.0f} a year a person")
    else:
        title = f"No costed lever with a cost closes any of the {year} shortage"
    return _finish(fig, canvas, "cost_effectiveness", title,
                   "Points: levers with a unit cost in the scenario file (HK$ a year; the ERB place cost is an "
                   "assumption, see the assumptions); levers without one (participation) are not shown, not free.",
                   year_axes=[])


# --- a sweep -------------------------------------------------------------------------------------

def _scaled(unit: str) -> tuple[float, str]:
    """Divisor and axis label for a sweep column's unit: thousand persons or HK$ million."""
    if unit.startswith("HK$"):
        return 1e6, "HK$ million"
    if unit.startswith("persons"):
        return 1e3, THOUSANDS + unit.split(":")[0].removeprefix("persons")
    return 1.0, unit.split(":")[0]


def _short(path: str) -> str:
    """A key path without its section and `.value`: `uncertainties.gdp_growth.value` -> `gdp_growth`."""
    return path.removeprefix("levers.").removeprefix("uncertainties.").replace(".value", "")


def sweep_outcomes(canvas: Canvas, name: str, base: str, outcomes: list[tuple[str, np.ndarray, str]],
                   draws: bool = False) -> Drawn:
    """A histogram of each outcome over the runs (its unit scaled), the median marked."""
    cols = min(3, len(outcomes))
    rows = (len(outcomes) + cols - 1) // cols
    fig, axes = _figure(rows, cols, height=2.7 * rows + 0.6, width=max(WIDTH, 3.4 * cols))
    colour = scenario_style(base)["color"]
    runs = outcomes[0][1].size
    for ax, (column, values, unit) in zip(axes.flat, outcomes):
        div, label = _scaled(unit)
        x = values / div
        ax.hist(x, bins=50, color=colour, alpha=0.75)
        ax.axvline(np.median(x), color=INK, lw=1, ls=(0, (4, 2)), label="median")
        ax.set_title(column)
        ax.set(xlabel=label, ylabel="runs (count)")
    for ax in list(axes.flat)[len(outcomes):]:
        ax.set_visible(False)
    axes[0][0].legend(loc="upper right")
    column, values, unit = outcomes[0]
    div, label = _scaled(unit)
    lo, mid, hi = np.percentile(values, (5, 50, 95)) / div
    title = (f"{column}: median {mid:,.0f} {label.split(' (')[0]} over {runs:,} runs of {name} "
             f"(90% of runs between {lo:,.0f} and {hi:,.0f})")
    what = ("draws of the uncertainties: a forecast distribution" if draws else
            "a design spread evenly over the varied ranges: not a forecast distribution")
    return _finish(fig, canvas, "sweep_outcomes", title,
                   f"Histograms: each outcome over the sweep's runs ({what}); dashed: the median.", year_axes=[])


def sensitivity(canvas: Canvas, rows: list[dict], inputs: list[str]) -> Drawn:
    """Sobol' first-order and total indices of each outcome, bars with their 95% intervals."""
    outcomes = list(dict.fromkeys(r["outcome"] for r in rows))
    fig, axes = _figure(len(outcomes), 1, height=0.3 * len(inputs) * len(outcomes) + 1.3 * len(outcomes) + 0.6,
                        sharex=True)
    y = np.arange(len(inputs))
    for ax, outcome in zip(axes[:, 0], outcomes):
        mine = {r["input"]: r for r in rows if r["outcome"] == outcome}
        for k, (offset, key, colour, label) in enumerate(((-0.2, "first", "#0072B2", "first order"),
                                                          (0.2, "total", "#E69F00", "total"))):
            value = np.array([mine[i][key][0] for i in inputs])
            low = np.array([mine[i][key][1] for i in inputs])
            high = np.array([mine[i][key][2] for i in inputs])
            ax.barh(y + offset, value, 0.4, color=colour, label=label, hatch=("", "//")[k], edgecolor="white")
            ax.errorbar(value, y + offset, xerr=[np.maximum(value - low, 0), np.maximum(high - value, 0)],
                        fmt="none", color=INK, lw=0.8, capsize=2)
        ax.set_yticks(y, [_short(c) for c in inputs], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"What drives {outcome}")
        ax.set(xlabel="Sobol' index (share of the outcome's variance)", ylabel="input (key path)")
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.grid(axis="y", visible=False)
    axes[0, 0].legend(loc="lower right")
    total = [r for r in rows if r["outcome"] == outcomes[0] and np.isfinite(r["total"][0])]
    top = max(total, key=lambda r: r["total"][0]) if total else None
    title = (f"{_short(top['input'])} accounts for {min(max(top['total'][0], 0), 1):.0%} of the variance of "
             f"{outcomes[0]} (total-order index, 95% interval {max(top['total'][1], 0):.0%} to "
             f"{min(top['total'][2], 1):.0%})" if top else f"Sensitivity of {outcomes[0]}")
    return _finish(fig, canvas, "sensitivity", title,
                   "Bars: Sobol' indices (first order: the input alone; total: with its interactions); whiskers: "
                   "95% bootstrap intervals. With few samples the estimates are noisy (a first-order index can "
                   "exceed the total, or fall below 0): read the intervals.", year_axes=[])


def frontier(canvas: Canvas, base: str, year: int, cost, short, gap: float, shares: list[float],
             reached: dict[float, float], misses: dict[float, list[str]] | None = None, shown: int = 20_000) -> Drawn:
    """Every run's cumulative cost (HK$) against its shortage in `year` (persons; a sample of
    `shown` runs), the Pareto front, and the shortage left by closing each share of the base's gap.
    `reached`: share -> the cheapest cost reaching it (NaN where no run does); `misses`: share ->
    the base's targets that cheapest run does not meet."""
    from sim import frontier as front

    fig, ((ax,),) = _figure(height=4.4)
    cost, short = np.asarray(cost) / 1e6, np.asarray(short) / 1e3
    step = max(1, cost.size // shown)
    ax.scatter(cost[::step], short[::step], s=3, color="#999999", alpha=0.4, lw=0,
               label=f"runs ({'every ' + str(step) + 'th of ' if step > 1 else ''}{cost.size:,})")
    best = front.pareto(cost, short)
    ax.step(cost[best], short[best], where="post", color=scenario_style(base)["color"], lw=1.8,
            label="cheapest run for each shortage")
    for share in shares:
        ax.axhline((1 - share) * gap / 1e3, color=INK, lw=0.6, ls=":")
        ax.annotate(f"{share:.0%} of {base}'s gap closed", (1.0, (1 - share) * gap / 1e3),
                    xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=6.5)
    ax.set(xlabel=f"cost of the measures, cumulative to {year} (HK$ million)",
           ylabel=f"shortage in {year} ({THOUSANDS})")
    ax.set_title(f"Cost and {year} shortage of every lever mix ({base}'s gap: {thousands(gap)})")
    ax.legend(loc="upper right")
    met = [s for s in shares if np.isfinite(reached.get(s, np.nan))]
    if met:
        s = max(met)
        cheapest = reached[s] / 1e6
        title = (f"Closing {s:.0%} of the {year} gap costs at least HK${cheapest:,.0f} million to {year}" if cheapest >= 0
                 else f"Closing {s:.0%} of the {year} gap can bring in HK${-cheapest:,.0f} million net to {year} "
                      "(levies)")
        missed = (misses or {}).get(s)
        if missed:
            title += (f"; that mix misses the {' and '.join(m.replace('_', ' ') for m in missed)} "
                      f"target{'s' if len(missed) > 1 else ''}")
        beyond = [x for x in shares if x > s]
        if beyond:
            title += f"; no run closes {min(beyond):.0%}"
    else:
        title = f"No run closes {min(shares):.0%} of the {year} gap"
    return _finish(fig, canvas, f"frontier_{year}", title,
                   "Points: runs; line: the cheapest run for each shortage (Pareto front); dotted: shares of the "
                   "base's gap. Cost is to government only (levies count as revenue).", year_axes=[])


def sweep_targets(canvas: Canvas, rows: list[dict], draws: bool) -> Drawn:
    """The share of runs meeting each target in every year of its span."""
    fig, ((ax,),) = _figure(height=0.45 * len(rows) + 1.8)
    y = np.arange(len(rows))
    share = np.array([r["share"] for r in rows])
    ax.barh(y, share * 100, color="#0072B2", height=0.6)
    for yi, s in zip(y, share):
        ax.annotate(f"{s:.0%}", (s * 100, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, [f"{r['target'].replace('_', ' ')} ({r['years']})" for r in rows], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set(xlabel="runs meeting the target in every year (% of runs)", ylabel="target (years)")
    ax.set_title("Target attainment " + ("(probability under the draws)" if draws else
                                          "(share of the design's runs: not a forecast probability)"))
    ax.grid(axis="y", visible=False)
    low = min(rows, key=lambda r: r["share"])
    title = f"{low['target'].replace('_', ' ')} is met in {low['share']:.0%} of runs, the fewest of {len(rows)} targets" \
        if len(rows) > 1 else f"{low['target'].replace('_', ' ')} is met in {low['share']:.0%} of runs"
    return _finish(fig, canvas, "targets", title, "Bars: share of the sweep's runs meeting each target of the base "
                   "scenario in every year of its span.", year_axes=[])


# --- calibration ---------------------------------------------------------------------------------

def calibration_fit(residuals: list[dict], backtest: list[dict], years: np.ndarray, labour: np.ndarray,
                    canvas: Canvas) -> Drawn:
    """Fitted vs observed: the labour force path at the estimate (`labour`, persons, over `years`)
    with the labour-force targets and the back-test."""
    fig, ((ax,),) = _figure()
    lf = [r for r in residuals if r["metric"] == "labour_force"]
    last = max(r["year"] for r in lf)
    shown = years <= last
    ax.plot(years[shown], labour[shown] / 1e3, color=INK, lw=1.5, label="model at the estimate")
    ax.errorbar([r["year"] for r in lf], [r["observed"] / 1e3 for r in lf], yerr=[r["tolerance"] / 1e3 for r in lf],
                fmt="s", color="#D55E00", capsize=3, label="observed ± tolerance")
    chosen = [r for r in backtest if r["chosen"] == "yes"]
    if chosen:
        ax.plot([r["year"] for r in chosen], [r["projected"] / 1e3 for r in chosen], color="#0072B2",
                marker="^", ls="--", lw=1.2, label="back-test projection")
    ax.set(xlabel="year (mid-year)", ylabel=f"labour force ({THOUSANDS})")
    ax.set_title("Labour force: fitted against observed")
    ax.legend(fontsize=8)
    worst = max(lf, key=lambda r: abs(r["observed"] - _near(years, labour, r["year"])))
    miss = _near(years, labour, worst["year"]) - worst["observed"]
    title = f"The fit is within {thousands(abs(miss))} persons of every observed labour force (largest miss {worst['year']})"
    return _finish(fig, canvas, "fit", title, "Line: the model at the estimate; squares: targets with tolerance; "
                   "triangles: the back-test.")


def _near(years, values, year) -> float:
    return float(values[int(np.searchsorted(years, year))])


def official_paths(years, metrics: dict[str, np.ndarray], groups_2028: dict[str, float], official: list[dict],
                   estimates: dict[int, float], canvas: Canvas) -> Drawn:
    """The baseline beside the official paths: labour force and requirement with MP2023's supply and
    requirement; population (incl. FDH) with C&SD's estimates and projection (low-high variants);
    the 2028 shortage by group with MP2023's ranges. Persons."""
    fig, axes = _figure(1, 3, height=4.2, width=13, gridspec_kw={"width_ratios": [3, 3, 2]})
    left, middle, right = axes[0]
    rows: dict[str, list] = {}
    for r in official:
        rows.setdefault(r["metric"], []).append(r)
    style = scenario_style("baseline")
    _line(left, years, metrics["labour_force"] / 1e3, style, "model: labour force (supply)")
    left.plot(years, metrics["requirement"] / 1e3, color=style["color"], ls=(0, (4, 2)), lw=1.2,
              label="model: requirement")
    _refs(left, {r["year"]: r["value"] for r in rows.get("supply", [])}, "MP2023 supply")
    _refs(left, {r["year"]: r["value"] for r in rows.get("requirement", [])}, "MP2023 requirement", marker="s")
    left.set(xlabel="year (mid-year)", ylabel=THOUSANDS)
    left.set_title("Supply and requirement against MP2023")
    left.legend(fontsize=7, loc="upper left")
    total = (metrics["population"] + metrics["fdh"]) / 1e3
    _line(middle, years, total, style, "model: population + FDH")
    middle.scatter(list(estimates), np.array(list(estimates.values())) / 1e3, facecolor="none", edgecolor=INK, s=14,
                   zorder=3, label="C&SD mid-year estimates")
    for r in rows.get("population", []):
        middle.errorbar([r["year"]], [r["value"] / 1e3], yerr=[[(r["value"] - r["low"]) / 1e3],
                                                             [(r["high"] - r["value"]) / 1e3]],
                        fmt="D", color="#0072B2", capsize=4, label="C&SD projection (low-high variants)")
    middle.set(xlabel="year (mid-year)", ylabel=f"{THOUSANDS} (incl. FDH)")
    middle.set_title("Population against C&SD")
    middle.legend(fontsize=7, loc="lower right")
    for ax in (left, middle):
        _history(ax, int(years[0]), canvas)
    groups = [r for r in official if r["metric"].startswith("shortage_")]
    x = np.arange(len(groups))
    model = [groups_2028.get(r["metric"].removeprefix("shortage_"), np.nan) / 1e3 for r in groups]
    right.bar(x, model, color=MUTED, width=0.6, label="model")
    right.errorbar(x, [r["value"] / 1e3 for r in groups], yerr=[[(r["value"] - r["low"]) / 1e3 for r in groups],
                                                             [(r["high"] - r["value"]) / 1e3 for r in groups]],
                   fmt="none", color="#D55E00", capsize=5, lw=2, label="MP2023 range")
    names = [LABELS[r["metric"].removeprefix("shortage_")] for r in groups]
    right.set_xticks(x, [textwrap.fill(name, 14, break_long_words=False) for name in names], fontsize=7)
    right.set(xlabel="occupation group", ylabel=f"shortage ({THOUSANDS})")
    right.set_title("Shortage by group, 2028")
    right.legend(fontsize=7)
    req = {r["year"]: r["value"] for r in rows.get("supply", [])}
    at = {int(y): i for i, y in enumerate(years)}
    gaps = [abs(metrics["labour_force"][at[y]] - v) for y, v in req.items() if y in at]
    title = ("The baseline's supply is within " + thousands(max(gaps)) + " persons of MP2023's" if gaps else
             "The baseline beside the official paths")
    return _finish(fig, canvas, "official", title, "Model against MP2023 and C&SD.", year_axes=[left, middle])


def close_all() -> None:
    """Close every figure (after a failure part-way through a chart); nothing to do, and nothing
    imported, where this process never drew (the charts were drawn by workers)."""
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
