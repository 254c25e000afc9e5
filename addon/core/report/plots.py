"""The dataset report's plots: one PNG per plot, drawn from a filled ``Report``.

matplotlib through its object API only (``matplotlib.figure.Figure``, saved with the Agg renderer): no
pyplot, no rcParams changes, so drawing a report never touches state another caller (Blender, a test)
relies on. It is imported lazily, like Pillow in ``preview``: inside Blender it may be missing, and only
the report needs it.

Synthetic data is always blue and real data always orange, in every plot. With real data, counts become
shares and histograms densities over the same bins: the two datasets differ in size by orders of
magnitude, and only shapes can be compared.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import UserError
from ..fsio import atomic_write_bytes
from .model import REAL, STATISTICS, SYNTHETIC, Report, Statistic, Stats
from .tracks import SERIES as TRACK_SERIES

COLOURS = {SYNTHETIC: "#3366aa", REAL: "#e0802a"}
TARGET = "#222222"
INK, GRID = "#333333", "#e4e4e4"
DPI = 100
SIZE = (6.0, 3.5)
MAX_BARS = 40           # a COCO file may hold 80 categories: show the ones with the largest shares


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib():
    """matplotlib's Figure class, or one clear error (matplotlib is optional inside Blender)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("the report's plots need matplotlib: pip install matplotlib "
                        "(inside Blender: use `synthkiln report`)") from None
    return Figure


def _figure(width: float = SIZE[0], height: float = SIZE[1]):
    return require_matplotlib()(figsize=(width, height), dpi=DPI, layout="constrained")


def _text(s: object) -> str:
    """A user's name as plain text: matplotlib would read ``$...$`` as math."""
    return str(s).replace("$", r"\$")


def _style(ax, grid_axis: str = "y") -> None:
    """Light axes: no top/right frame, a faint grid behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#999999")
    ax.tick_params(which="both", colors=INK, labelsize=8)
    ax.set_axisbelow(True)
    if grid_axis:
        ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    atomic_write_bytes(path, buf.getvalue())


def _legend_label(stats: Stats, n: int) -> str:
    return f"{stats.label} (n={n:,})"


def _bars(ax, labels: list[str], series: list[tuple[str, list[float]]], horizontal: bool) -> list[float]:
    """Grouped bars, one group per label, one bar per (dataset label, values); returns the group centres."""
    k = len(series)
    width = 0.8 / k
    pos = np.arange(len(labels), dtype=float)
    for j, (name, values) in enumerate(series):
        offset = (j - (k - 1) / 2) * width
        kw = dict(color=COLOURS.get(name, COLOURS[SYNTHETIC]), label=name if k > 1 else None)
        if horizontal:
            ax.barh(pos + offset, values, height=width, **kw)
        else:
            ax.bar(pos + offset, values, width=width, **kw)
    ticks = [_text(s) for s in labels]
    if horizontal:
        ax.set_yticks(pos, ticks)
        ax.set_ylim(len(labels) - 0.5, -0.5)  # first category on top, as in the table; no empty margins
    else:
        slanted = max(map(len, labels), default=0) > 6
        ax.set_xticks(pos, ticks, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    return list(pos)


def _horizontal(labels: list[str]) -> bool:
    return len(labels) > 6 or max(map(len, labels), default=0) > 12


def _bar_figure(n: int, horizontal: bool):
    """Horizontal bars grow the figure with their number, so a bar keeps about the same thickness."""
    return _figure(height=float(np.clip(0.4 * n + 1.3, 2.2, 14.0)) if horizontal else SIZE[1])


def plot_categories(report: Report):
    """Instances per category; with real data, each dataset's share of its own instances side by side."""
    syn, real = report.synthetic, report.real
    names = list(syn.categories) + [c for c in (real.categories if real else {}) if c not in syn.categories]
    if not names or (not sum(syn.categories.values()) and not (real and sum(real.categories.values()))):
        return None
    title = "Instances per category"
    if real is not None:
        shares = {s.label: _shares(s.categories, names) for s in (syn, real)}
        if len(names) > MAX_BARS:
            keep = sorted(names, key=lambda c: -max(shares[SYNTHETIC][c], shares[REAL][c]))[:MAX_BARS]
            title += f" (the {MAX_BARS} largest of {len(names)})"
            names = [c for c in names if c in keep]
        series = [(s.label, [100 * shares[s.label][c] for c in names]) for s in (syn, real)]
        unit = "share of the dataset's instances (%)"
    else:
        series = [(SYNTHETIC, [syn.categories.get(c, 0) for c in names])]
        unit = "instances"
    horizontal = _horizontal(names)
    fig = _bar_figure(len(names), horizontal)
    ax = fig.add_subplot()
    _style(ax, "x" if horizontal else "y")
    _bars(ax, names, series, horizontal)
    (ax.set_xlabel if horizontal else ax.set_ylabel)(unit, fontsize=9, color=INK)
    ax.set_title(title, fontsize=10, color=INK)
    if real is not None:
        ax.legend(fontsize=8, frameon=False, labels=[_legend_label(syn, syn.instances),
                                                     _legend_label(real, real.instances)])
    return fig


def _shares(counts: dict[str, int], names: list[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {c: counts.get(c, 0) / total if total else 0.0 for c in names}


def attribute_names(report: Report) -> list[str]:
    """Every attribute with counts or a balance target, in the dataset's order (one plot each)."""
    return list(dict.fromkeys([*report.synthetic.attributes, *(b["attribute"] for b in report.balance)]))


def plot_attribute(report: Report, attribute: str):
    """Instances per value of one attribute; with balance targets, achieved shares with the targets as markers."""
    counts = report.synthetic.attributes.get(attribute, {})
    rows = [b for b in report.balance if b["attribute"] == attribute]
    values = list(counts) + [str(b["value"]) for b in rows if str(b["value"]) not in counts]
    if not values:
        return None
    horizontal = _horizontal(values)
    fig = _bar_figure(len(values), horizontal)
    ax = fig.add_subplot()
    _style(ax, "x" if horizontal else "y")
    if rows:
        total = sum(counts.values())
        achieved = {str(b["value"]): b["achieved"] for b in rows}
        heights = [100 * achieved.get(v, counts.get(v, 0) / total if total else 0.0) for v in values]
        pos = _bars(ax, values, [(SYNTHETIC, heights)], horizontal)
        targets = {str(b["value"]): b["target"] for b in rows}
        tp = [p for p, v in zip(pos, values) if v in targets]
        tv = [100 * targets[v] for v in values if v in targets]
        mark = dict(color=TARGET, zorder=3, label="target", linestyle="none")
        if horizontal:
            ax.plot(tv, tp, marker="|", markersize=16, markeredgewidth=2.5, **mark)
        else:
            ax.plot(tp, tv, marker="_", markersize=22, markeredgewidth=2.5, **mark)
        ax.legend(handles=[ax.patches[0], ax.lines[0]], labels=["achieved", "target"], fontsize=8, frameon=False)
        unit = "share of instances (%)"
    else:
        _bars(ax, values, [(SYNTHETIC, [counts.get(v, 0) for v in values])], horizontal)
        unit = "instances"
    (ax.set_xlabel if horizontal else ax.set_ylabel)(unit, fontsize=9, color=INK)
    ax.set_title(f"Attribute “{_text(attribute)}”", fontsize=10, color=INK)
    return fig


def finite(values: np.ndarray | None, log: bool = False) -> np.ndarray:
    """The samples a histogram can show: finite, and positive on a log axis."""
    a = np.asarray(values if values is not None else (), dtype=float).ravel()
    a = a[np.isfinite(a)]
    return a[a > 0] if log else a


def _bins(samples: list[np.ndarray], log: bool, bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Shared bin edges: 20 over a bounded statistic's whole range (a share), integers for counts,
    log-spaced on a log axis, else ~sqrt(n) equal bins."""
    if bounds is not None:
        return np.linspace(bounds[0], bounds[1], 21)
    a = np.concatenate(samples)
    lo, hi = float(a.min()), float(a.max())
    if not log and np.all(a == np.round(a)) and hi - lo <= 60:
        return np.arange(lo - 0.5, hi + 1.5)
    n = int(np.clip(np.sqrt(max(len(s) for s in samples)), 10, 40))
    if log:
        if hi <= lo:
            lo, hi = lo / 1.5, hi * 1.5
        return np.geomspace(lo, hi, n + 1)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n + 1)


def _log_axis(ax) -> None:
    """A log x axis labelled 0.05, 0.1, 0.2, 0.5, 1, ... in plain numbers (the default's 10^-2 minor
    labels overlap on a 6-inch plot)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_statistic(report: Report, stat: Statistic):
    """Histogram of one statistic; with real data both as densities over the same bins."""
    datasets = [s for s in (report.synthetic, report.real) if s is not None]
    samples = [(s, finite(s.numeric.get(stat.key), stat.log)) for s in datasets if stat.key in s.numeric]
    samples = [(s, a) for s, a in samples if len(a)]
    if not samples:
        return None
    bins = _bins([a for _, a in samples], stat.log, stat.bounds)
    compare = report.real is not None
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    for s, a in samples:
        colour = COLOURS.get(s.label, COLOURS[SYNTHETIC])
        kw = dict(bins=bins, density=compare, color=colour)
        ax.hist(a, histtype="stepfilled", alpha=0.35 if compare else 0.8, **kw)
        ax.hist(a, histtype="step", linewidth=1.4, label=_legend_label(s, len(a)), **kw)
        ax.axvline(float(np.median(a)), color=colour, linestyle="--", linewidth=1)
    if stat.log:
        _log_axis(ax)
    if stat.bounds is not None:
        ax.set_xlim(*stat.bounds)
    ax.set_xlabel(_text(stat.unit), fontsize=9, color=INK)
    ax.set_ylabel("density" if compare else f"{stat.per}es" if stat.per == "box" else f"{stat.per}s",
                  fontsize=9, color=INK)
    ax.set_title(f"{stat.title} (dashed: median)", fontsize=10, color=INK)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_centres(report: Report):
    """Where box centres fall in the image (y down), as each dataset's share per cell on one colour scale."""
    datasets = [s for s in (report.synthetic, report.real) if s is not None and len(s.centres)]
    if not datasets:
        return None
    n = max(len(s.centres) for s in datasets)
    cells = 32 if n >= 2000 else 16 if n >= 200 else 8
    grids = []
    for s in datasets:
        c = np.asarray(s.centres, dtype=float).reshape(-1, 2)
        c = c[np.isfinite(c).all(axis=1)]
        h, _, _ = np.histogram2d(c[:, 1], c[:, 0], bins=cells, range=[[0, 1], [0, 1]])  # rows: y, columns: x
        grids.append(100 * h / max(len(c), 1))
    vmax = max(float(g.max()) for g in grids) or 1.0
    fig = _figure(3.3 * len(datasets) + 0.6, 3.5)
    axes = fig.subplots(1, len(datasets), squeeze=False)[0]
    for ax, s, g in zip(axes, datasets, grids):
        im = ax.imshow(g, extent=(0, 1, 1, 0), origin="upper", cmap="viridis", vmin=0, vmax=vmax,
                       interpolation="nearest", aspect="equal")
        ax.set_title(f"{s.label} (n={len(s.centres):,})", fontsize=10, color=INK)
        ax.set_xticks([0, 0.5, 1])
        ax.set_yticks([0, 0.5, 1])
        ax.tick_params(labelsize=8, colors=INK)
        ax.set_xlabel("x (image width)", fontsize=8, color=INK)
    axes[0].set_ylabel("y (image height, down)", fontsize=8, color=INK)
    bar = fig.colorbar(im, ax=list(axes), shrink=0.85)
    bar.set_label("% of the dataset's boxes", fontsize=8, color=INK)
    bar.ax.tick_params(labelsize=8)
    return fig


def plot_rare(report: Report):
    """How often each randomized parameter took its rare branch, against the configured probability."""
    rows = report.rare
    if not rows:
        return None
    names = [r.parameter for r in rows]
    fig = _bar_figure(len(rows), True)
    ax = fig.add_subplot()
    _style(ax, "x")
    pos = _bars(ax, names, [(SYNTHETIC, [100 * r.share for r in rows])], True)
    ax.plot([100 * r.p for r in rows], pos, marker="|", markersize=16, markeredgewidth=2.5, color=TARGET,
            linestyle="none", zorder=3)
    fig.legend(handles=[ax.patches[0], ax.lines[0]], labels=["achieved (hits / draws)", "configured p"],
               fontsize=8, frameon=False, loc="outside lower center", ncol=2)
    ax.set_xlabel("share of draws (%)", fontsize=9, color=INK)
    ax.set_title("Rare events per parameter", fontsize=10, color=INK)
    return fig


def plot_seconds_per_frame(report: Report):
    a = finite(report.job.seconds_per_frame)
    if not len(a):
        return None
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    ax.hist(a, bins=_bins([a], False), color=COLOURS[SYNTHETIC], alpha=0.8)
    ax.axvline(float(np.median(a)), color=TARGET, linestyle="--", linewidth=1,
               label=f"median {np.median(a):.3g} s (n={len(a):,})")
    ax.set_xlabel("seconds per frame", fontsize=9, color=INK)
    ax.set_ylabel("frames", fontsize=9, color=INK)
    ax.set_title("Render time per frame", fontsize=10, color=INK)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_tracks(report: Report):
    """A clip job's track statistics (``tracks.SERIES``), one histogram each, in a 2 x 2 grid."""
    t = report.tracks
    if t is None or not t.tracks:
        return None
    fig = _figure(SIZE[0] * 1.6, SIZE[1] * 1.6)
    from matplotlib.ticker import MaxNLocator
    for ax, (key, title, unit, per) in zip(fig.subplots(2, 2).ravel(), TRACK_SERIES):
        _style(ax)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        a = finite(getattr(t, key))
        if len(a):
            ax.hist(a, bins=_bins([a], False), color=COLOURS[SYNTHETIC], alpha=0.8)
            if key != "speeds":     # frame counts: whole-number ticks, each one where there are few
                span = np.arange(np.floor(a.min()), np.ceil(a.max()) + 1)
                ax.set_xticks(span) if len(span) <= 12 else ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.axvline(float(np.median(a)), color=TARGET, linestyle="--", linewidth=1)
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes, color=INK)
        ax.set_xlabel(unit, fontsize=9, color=INK)
        ax.set_ylabel(per, fontsize=9, color=INK)
        ax.set_title(f"{title} (n={len(a):,}; dashed: median)", fontsize=10, color=INK)
    return fig


def plot_sensor(report: Report):
    """The sensor stack's draws over the frames: one small histogram per drawn field, in stack order
    (dashed: median; a log axis where the recipe draws the field log-uniformly)."""
    fields = report.sensor.fields
    if not fields:
        return None
    cols = min(len(fields), 4)
    rows = -(-len(fields) // cols)
    fig = _figure(11.0 if cols > 2 else 3.0 * cols + 0.4, 2.1 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    from matplotlib.ticker import MaxNLocator
    for ax, f in zip(axes, fields):
        _style(ax)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))      # frames are counted
        a = finite(f.values, f.log)
        ax.hist(a, bins=_bins([a], f.log), color=COLOURS[SYNTHETIC], alpha=0.8)
        ax.axvline(float(np.median(a)), color=TARGET, linestyle="--", linewidth=1)
        if f.log:
            _log_axis(ax)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(5))            # small panels: few, unclashing labels
        ax.set_title(f"{_text(f.key.split('/', 1)[-1])} · {_text(f.field)}", fontsize=9, color=INK)
        ax.tick_params(labelsize=7)
    for ax in axes[len(fields):]:
        ax.set_visible(False)
    fig.supylabel("frames", fontsize=9, color=INK)
    fig.suptitle(f"Sensor draws over {len(fields[0].values):,} frames (dashed: median)", fontsize=10, color=INK)
    return fig


def plan(report: Report) -> list[tuple[str, str, Callable]]:
    """(plot id, file name, draw) for every plot a report can have; ``draw`` returns a figure or None (no data).
    File names use indices, never user names, so any attribute name makes a safe file name."""
    out = [("categories", "categories.png", lambda: plot_categories(report))]
    out += [(f"attribute:{a}", f"attribute_{i}.png", lambda a=a: plot_attribute(report, a))
            for i, a in enumerate(attribute_names(report))]
    out += [(f"statistic:{s.key}", f"statistic_{s.key}.png", lambda s=s: plot_statistic(report, s))
            for s in STATISTICS]
    out += [("centres", "centres.png", lambda: plot_centres(report)),
            ("rare", "rare.png", lambda: plot_rare(report)),
            ("seconds_per_frame", "seconds_per_frame.png", lambda: plot_seconds_per_frame(report)),
            ("tracks", "tracks.png", lambda: plot_tracks(report))]
    out += [("sensor", "sensor.png", lambda: plot_sensor(report))]
    return out


def write_plots(report: Report, out: Path) -> dict[str, str]:
    """Draw every plot the report has data for into ``out``; plot id -> file name (relative to ``out``).
    Ids: "categories", "attribute:<name>", "statistic:<key>", "centres", "rare", "seconds_per_frame", "tracks",
    "sensor"."""
    require_matplotlib()  # fail early with the clear message when matplotlib is missing
    written = {}
    for plot_id, name, draw in plan(report):
        fig = draw()
        if fig is not None:
            _save(fig, Path(out) / name)
            written[plot_id] = name
    return written
