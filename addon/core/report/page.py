"""The dataset report as one HTML page: ``index.html`` with its plots and thumbnails beside it.

Self-contained so it can be mailed, archived or opened from file:// anywhere: inline CSS, no scripts,
no fonts or anything else fetched from outside, images by relative file name. Every name that comes
from the user's data (categories, attributes, paths, parameters) is HTML-escaped.

A section without data says so in one line instead of disappearing, so a reader can tell "nothing to
show" from "not looked at".
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import yaml

from ..fsio import atomic_write_bytes
from ..images.pillow import pillow_available
from . import plots
from .model import BY_KEY, STATISTICS, Report, Stats, summary
from .sheet import Thumb, write_real_thumbnails, write_sensor_pairs, write_thumbnails
from .tracks import SERIES as TRACK_SERIES

PAGE = "index.html"


class Raw(str):
    """HTML we wrote ourselves: ``cell`` passes it through unescaped."""


def esc(value: object) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value), quote=True)


def num(x: float | int | None) -> str:
    """A figure for a table: thousands separators for counts, three significant digits otherwise."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def signed_pp(x: float) -> str:
    """A difference of two shares, in percentage points."""
    return f"{100 * x:+.1f} pp"


NUMERIC = re.compile(r"^([-+−]?[\d.,–]+(e[-+]\d+)?( %| pp| s)?|–|)$")


def table(headers: Iterable[object], rows: Iterable[Iterable[object]], cls: str = "") -> str:
    """A table whose columns of figures are right-aligned (and text columns left-aligned)."""
    headers, rows = list(headers), [list(r) for r in rows]
    right = [i > 0 and all(isinstance(r[i], Raw) or NUMERIC.match(str(r[i])) for r in rows)
             for i in range(len(headers))]
    attr = ['' if not r else ' class="n"' for r in right]
    head = "".join(f"<th{attr[i]}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{attr[i]}>{esc(c)}</td>" for i, c in enumerate(row)) + "</tr>\n"
                   for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>'


def empty(message: str) -> str:
    return f'<p class="empty">{esc(message)}</p>'


def figure(plots_written: dict[str, str], plot_id: str, alt: str) -> str:
    name = plots_written.get(plot_id)
    return f'<figure class="plot"><img src="{esc(name)}" alt="{esc(alt)}"></figure>' if name else ""


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{esc(title)}</h2>\n{body}\n</section>\n'


def _header(r: Report) -> str:
    j = r.job
    rows = [("Dataset", Raw(f"<code>{esc(r.root)}</code>")),
            ("Created", j.created or "–"),
            ("Blender", j.blender or "–"),
            ("SynthKiln", j.version or "–"),
            ("Seed", j.seed),
            ("Recipe hash", Raw(f"<code>{esc(j.recipe_hash or '–')}</code>")),
            ("Frames", f"{j.frames_done:,} done of {j.frames_planned:,} planned"),
            ("Resolution", f"{j.resolution[0]} × {j.resolution[1]} px" if j.resolution else "–"),
            ("Instances", f"{r.synthetic.instances:,} visible in {r.synthetic.images:,} images")]
    if r.real is not None:
        rows.append(("Compared with", Raw(f"<code>{esc(r.real_source or '–')}</code>: "
                                          f"{r.real.instances:,} instances in {r.real.images:,} images")))
    facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    notes = ""
    if r.notes:
        notes = ('<div class="notes" role="note"><h2>Notes</h2><ul>'
                 + "".join(f"<li>{esc(n)}</li>" for n in r.notes) + "</ul></div>")
    return f'<header>\n<h1>{esc(r.title)}</h1>\n<dl class="facts">{facts}</dl>\n{notes}\n</header>\n'


def _gaps(r: Report) -> str:
    if r.real is None:
        return empty("No real data to compare with: run `synthkiln report DIR --compare REAL_COCO.json`.")
    if not r.gaps:
        return empty("No statistic could be compared (the two datasets share none with data).")
    rows = []
    for g in r.gaps:
        unit = BY_KEY[g.key].unit if g.key in BY_KEY else ""
        bar = Raw(f'<span class="bar"><span style="width:{100 * min(max(g.distance, 0.0), 1.0):.0f}%">'
                  f'</span></span> {esc(num(g.distance))}')
        wasserstein = "–" if g.wasserstein is None else Raw(
            f'{esc(num(g.wasserstein))} <span class="unit">{esc(unit)}</span>')
        rows.append((g.title, g.measure, bar, wasserstein,
                     num(g.synthetic_median), num(g.real_median), num(g.n_synthetic), num(g.n_real)))
    return (table(["Statistic", "Measure", "Distance (0 same, 1 disjoint)", "Wasserstein",
                   "Median synthetic", "Median real", "n synthetic", "n real"], rows, "gaps")
            + '<p class="hint">KS: Kolmogorov–Smirnov statistic; TV: total variation of the category shares. '
              "Largest distance first.</p>")


def _categories(r: Report, written: dict[str, str]) -> str:
    syn, real = r.synthetic, r.real
    names = list(syn.categories) + [c for c in (real.categories if real else {}) if c not in syn.categories]
    if not names:
        return empty("No categories with visible instances.")
    st, rt = sum(syn.categories.values()), sum(real.categories.values()) if real else 0
    share = lambda counts, total, c: counts.get(c, 0) / total if total else 0.0  # noqa: E731
    headers = ["Category", "Synthetic instances", "Share"]
    rows = []
    for c in names:
        row = [c, num(syn.categories.get(c, 0)), pct(share(syn.categories, st, c))]
        if real is not None:
            row += [num(real.categories.get(c, 0)), pct(share(real.categories, rt, c)),
                    signed_pp(share(syn.categories, st, c) - share(real.categories, rt, c))]
        rows.append(row)
    if real is not None:
        headers += ["Real instances", "Share", "Synthetic − real"]
    return (f'<div class="pair">{table(headers, rows)}'
            f'{figure(written, "categories", "Instances per category")}</div>' + _balance_hint(r))


def _balance_hint(r: Report) -> str:
    """The real data's category mix as a preset's ``balance`` entry, to paste: the report's answer to
    "how do I close this gap", over the recipe's categories that the real data has."""
    if r.real is None:
        return ""
    counts = {c: n for c, n in r.real.categories.items() if c in r.synthetic.categories and n > 0}
    total = sum(counts.values())
    if not total:
        return ""
    shares = {c: float(f"{n / total:.3g}") for c, n in counts.items()}
    entry = {"balance": [{"attribute": "category", "shares": shares}]}
    return ('<p class="hint">To ask for the real data\'s category mix, add this to the preset (an '
            '<code>object_count</code> randomizer follows it):</p>'
            f'<pre>{esc(yaml.safe_dump(entry, default_flow_style=None, sort_keys=False).strip())}</pre>')


def _attributes(r: Report, written: dict[str, str]) -> str:
    names = plots.attribute_names(r)
    if not names:
        return empty("No object attributes and no balance targets in this dataset.")
    parts = []
    for a in names:
        counts = r.synthetic.attributes.get(a, {})
        balance = {str(b["value"]): b for b in r.balance if b["attribute"] == a}
        total = sum(counts.values())
        values = list(counts) + [v for v in balance if v not in counts]
        headers = ["Value", "Instances", "Share"] + (["Target", "Achieved", "Achieved − target"] if balance else [])
        rows = []
        for v in values:
            row = [v, num(counts.get(v, 0)), pct(counts.get(v, 0) / total if total else 0.0)]
            if balance:
                b = balance.get(v)
                row += ([pct(b["target"]), pct(b["achieved"]), signed_pp(b["achieved"] - b["target"])] if b
                        else ["–", "–", ""])
            rows.append(row)
        parts.append(f"<h3>{esc(a)}</h3>"
                     f'<div class="pair">{table(headers, rows)}{figure(written, f"attribute:{a}", a)}</div>')
    return "\n".join(parts)


def _summary(datasets: list[Stats], key: str) -> str:
    rows = []
    for s in datasets:
        q = summary(s.numeric.get(key))
        rows.append((s.label, num(q["n"]), num(q["median"]), num(q["p5"]), num(q["p95"])))
    return table(["Dataset", "n", "Median", "p5", "p95"], rows, "summary")


def _statistics(r: Report, written: dict[str, str]) -> str:
    datasets = [s for s in (r.synthetic, r.real) if s is not None]
    parts, missing = [], []
    for stat in STATISTICS:
        plot_id = f"statistic:{stat.key}"
        if plot_id not in written:
            missing.append(stat.title)
            continue
        parts.append(f'<h3>{esc(stat.title)} <span class="unit">{esc(stat.unit)}, per {esc(stat.per)}</span></h3>'
                     f'<div class="pair">{figure(written, plot_id, stat.title)}{_summary(datasets, stat.key)}</div>')
    if missing:
        parts.append(empty(f"No data for: {', '.join(missing)}."))
    return "\n".join(parts)


def _tracks(r: Report, written: dict[str, str]) -> str:
    t = r.tracks
    if t is None:
        return empty("Not a clip job (output.clips is 0): no tracks.")
    if not t.tracks:
        return empty(f"{t.clips} clip(s), but no track shows in any frame.")
    rows = []
    for key, title, unit, _ in TRACK_SERIES:
        q = summary(getattr(t, key))
        rows.append((title, unit, num(q["n"]), num(q["median"]), num(q["p5"]), num(q["p95"])))
    head = (f'<p class="hint">{num(t.tracks)} tracks in {num(t.clips)} clip(s); {num(t.reappearances)} '
            "re-appearance(s) after a hidden run. A run is consecutive frames in view; lengths count the "
            "frames a track shows in.</p>")
    return (f'{head}<div class="pair">{figure(written, "tracks", "Track statistics")}'
            f'{table(["Statistic", "Unit", "n", "Median", "p5", "p95"], rows, "summary")}</div>')


def _sensor(r: Report, written: dict[str, str], pairs: list[tuple[int, Thumb, Thumb]] | None) -> str:
    """The sensor stack's draws (a histogram per drawn field) and clean renders beside the stored images."""
    s = r.sensor
    if not s.fields and not s.fixed and not s.clean_frames:
        return empty("No sensor randomizers in this recipe: the images are the renders as they are.")
    parts = [figure(written, "sensor", "Histograms of the sensor draws")]
    if s.fixed:
        rows = [(key, ", ".join(f"{name} {num(v)}" for name, v in fields.items())) for key, fields in s.fixed.items()]
        parts.append("<h3>Fixed values</h3>" + table(["Randomizer", "Same on every frame"], rows))
    parts.append("<h3>Clean render and stored image</h3>")
    if not s.pairs:
        parts.append(empty("No frame kept a clean thumbnail (rendered before clean thumbnails were kept)."))
    elif pairs is None:
        parts.append(empty("Thumbnails need Pillow (pip install Pillow)."))
    else:
        parts.append('<p class="hint">Left: the render before the sensor stack (through the same K, without '
                     "lens distortion); right: the image the dataset stores. Frames that keep a clean thumbnail: "
                     f"{num(len(s.clean_frames))}.</p>")
        cells = []
        for index, clean, stored in pairs:
            cells += [(clean, f"frame {index} clean", f"<b>frame {index}</b> · clean render"),
                      (stored, f"frame {index} stored", f"<b>frame {index}</b> · with the sensor stack")]
        parts.append(_cells(cells).replace('class="sheet"', 'class="sheet pairs"', 1))
    return "\n".join(parts)


def _rare(r: Report, written: dict[str, str]) -> str:
    if not r.rare:
        return empty("No randomized parameter has a rare-event branch.")
    rows = [(x.parameter, pct(x.p), num(x.draws), num(x.hits), pct(x.share)) for x in r.rare]
    return (f'<div class="pair">{table(["Parameter", "Configured p", "Draws", "Hits", "Achieved"], rows)}'
            f'{figure(written, "rare", "Rare events per parameter")}</div>')


METRIC_NAMES = {"min_visibility": "min visibility", "mean_visibility": "mean visibility",
                "smallest_box": "smallest box", "brightness": "brightness", "objects": "objects"}


def _sheet(r: Report, indices: list[int], thumbs: dict[int, Thumb] | None, caption, what: str) -> str:
    if not indices:
        return empty(f"No {what}.")
    if thumbs is None:
        return empty("Thumbnails need Pillow (pip install Pillow); the frames are listed in the tables above.")
    rows = {f.index: f for f in r.frames}
    return _cells([(thumbs.get(i), f"frame {i}", caption(i, rows.get(i))) for i in indices])


def _cells(cells: list[tuple[Thumb | None, str, str]]) -> str:
    """A contact sheet: (thumbnail, alt text, caption HTML) each; a frame not drawn shows why."""
    out = []
    for t, alt, caption in cells:
        if t is not None and t.file:
            pic = f'<img src="{esc(t.file)}" alt="{esc(alt)}" width="{t.width}" height="{t.height}" loading="lazy">'
        else:
            pic = f'<div class="missing">{esc(t.problem if t else "not drawn")}</div>'
        out.append(f"<figure>{pic}<figcaption>{caption}</figcaption></figure>")
    return f'<div class="sheet">{"".join(out)}</div>'


def _real_sheet(r: Report, thumbs: list[Thumb] | None) -> str:
    if r.real is None:
        return empty("No real data: `--compare REAL_COCO.json --images REAL_DIR` shows real images here.")
    if not r.real_frames:
        return empty("Add `--images REAL_DIR` (the COCO file's image folder) to see real images here.")
    if thumbs is None:
        return empty("Thumbnails need Pillow (pip install Pillow).")
    return _cells([(t, f.name, f"<b>{esc(f.name)}</b> · {num(len(f.boxes))} object{'' if len(f.boxes) == 1 else 's'}")
                   for t, f in zip(thumbs, r.real_frames)])


def _sample_caption(i: int, row) -> str:
    if row is None:
        return f"<b>frame {i}</b>"
    return (f"<b>frame {i}</b> · {num(row.objects)} object{'' if row.objects == 1 else 's'} · "
            f"min visibility {esc(num(row.min_visibility))}")


def _worst_caption(metric: str):
    def caption(i: int, row) -> str:
        value = getattr(row, metric, None) if row is not None else None
        return f"<b>frame {i}</b> · {esc(METRIC_NAMES.get(metric, metric))} <b>{esc(num(value))}</b>"
    return caption


def _job(r: Report, written: dict[str, str]) -> str:
    j = r.job
    parts = []
    if j.shards:
        rows = []
        for s in j.shards:
            first, end = s.get("first"), s.get("end")
            ranged = isinstance(first, int) and isinstance(end, int) and end > first
            frames = f"{first}–{end - 1}" if ranged else "–"
            rows.append((s.get("shard", "–"), s.get("count", "–"), frames, num(s.get("done")),
                         s.get("state", "–"), s.get("host") or "–"))
        parts.append("<h3>Shards</h3>" + table(["Shard", "Of", "Frames", "Done", "State", "Host"], rows))
    else:
        parts.append(empty("No shard heartbeats recorded (a local job, or one whose heartbeats were removed)."))
    parts.append("<h3>Seconds per frame</h3>")
    spf = summary(j.seconds_per_frame)
    if spf["n"]:
        parts.append(f'<div class="pair">{figure(written, "seconds_per_frame", "Seconds per frame")}'
                     f'<p>Median <b>{num(spf["median"])} s</b> per frame over {num(spf["n"])} frames '
                     f'(p95 {num(spf["p95"])} s).</p></div>')
    else:
        parts.append(empty("No frame times recorded."))
    parts.append("<h3>Constraint failures</h3>")
    if j.constraint_failures:
        parts.append(table(["Randomizer", "Frames where its constraint failed"],
                           [(k, num(v)) for k, v in j.constraint_failures.items()]))
    else:
        parts.append(empty("No constraint failed."))
    parts.append("<h3>Failed shards</h3>")
    parts.append(f"<p>{esc(', '.join(map(str, j.failed_shards)))}</p>" if j.failed_shards
                 else empty("No shard failed."))
    return "\n".join(parts)


CSS = """
:root { --ink: #222; --muted: #666; --line: #e2e2e2; --syn: #3366aa; --real: #e0802a; --bg: #fafafa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 0 0 12px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 20px; margin: 0 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
section { margin-top: 36px; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; word-break: break-all; }
pre { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: var(--bg);
      border: 1px solid var(--line); border-radius: 4px; padding: 8px 12px; overflow-x: auto; }
nav { font-size: 13px; margin: 16px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: var(--syn); text-decoration: none; }
nav a:hover { text-decoration: underline; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 18px; margin: 0; font-size: 14px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.notes { margin-top: 16px; padding: 10px 16px; background: #fff8e6; border-left: 4px solid #e0a800; }
.notes h2 { font-size: 15px; border: 0; margin: 0 0 4px; padding: 0; }
.notes ul { margin: 0; padding-left: 20px; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { padding: 4px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); border-bottom: 1px solid #bbb; }
td { max-width: 320px; overflow-wrap: anywhere; }
th.n, td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: var(--bg); }
.bar { display: inline-block; width: 80px; height: 8px; background: #eee; border-radius: 4px; vertical-align: middle; }
.bar span { display: block; height: 100%; background: var(--real); border-radius: 4px; }
.unit { color: var(--muted); font-weight: normal; font-size: 12px; }
.hint, .empty { color: var(--muted); font-size: 13px; }
.empty { font-style: italic; }
.pair { display: flex; flex-wrap: wrap; gap: 12px 28px; align-items: flex-start; }
.pair > table { flex: 0 0 auto; }
.pair > figure.plot { flex: 1 1 420px; max-width: 600px; }
figure { margin: 0; }
figure.plot img { display: block; max-width: 100%; height: auto; }
.sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 14px; }
.sheet.pairs { grid-template-columns: repeat(4, minmax(0, 1fr)); }   /* clean, stored; clean, stored */
@media (max-width: 760px) { .sheet.pairs { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.sheet figure { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 6px; }
.sheet img { display: block; width: 100%; height: auto; image-rendering: auto; }
.sheet figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.sheet figcaption b { color: var(--ink); font-weight: 600; }
.missing { aspect-ratio: 4 / 3; display: flex; align-items: center; justify-content: center; padding: 8px;
           font-size: 12px; color: #a33; text-align: center; overflow-wrap: anywhere; }
footer { margin-top: 48px; font-size: 12px; color: var(--muted); }
@media print {
  nav { display: none; }
  main { max-width: none; padding: 0; }
  section, figure, table { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
"""


def page_html(r: Report, written: dict[str, str], thumbs: dict[int, Thumb] | None,
              real_thumbs: list[Thumb] | None = None,
              sensor_pairs: list[tuple[int, Thumb, Thumb]] | None = None) -> str:
    """The whole page from what was drawn: plot id -> file name, frame index -> thumbnail, and the real
    images' thumbnails in ``r.real_frames`` order (thumbnails None: no Pillow)."""
    worst = METRIC_NAMES.get(r.worst_metric, r.worst_metric)
    gaps = "Largest gaps to the real data" if r.real is not None else "Comparison with real data"
    sections = [("gaps", gaps, _gaps(r)),
                ("categories", "Categories", _categories(r, written)),
                ("attributes", "Attributes and balance", _attributes(r, written)),
                ("statistics", "Statistics", _statistics(r, written)),
                ("centres", "Box centres",
                 figure(written, "centres", "Heat map of box centres") or empty("No boxes.")),
                ("tracks", "Tracks", _tracks(r, written)),
                ("sensor", "Sensor", _sensor(r, written, sensor_pairs)),
                ("rare", "Rare events", _rare(r, written)),
                ("samples", "Sample frames", _sheet(r, r.sample_frames, thumbs, _sample_caption, "sample frames")),
                ("real-samples", "Real sample images", _real_sheet(r, real_thumbs)),
                ("worst", f"Worst frames by {worst}",
                 (f'<p class="hint">Lowest {esc(worst)} first.</p>' if r.worst_frames else "")
                 + (_sheet(r, r.worst_frames, thumbs, _worst_caption(r.worst_metric), "frames to rank")
                    if r.worst_frames or not r.frames else
                    empty(f"No frame stands out: every ranked frame has the same {worst}."))),
                ("job", "Job", _job(r, written))]
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in sections)
    body = "".join(section(a, t, b) for a, t, b in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{esc(r.title)}</title>\n<link rel="icon" href="data:,">\n<style>{CSS}</style>\n</head>\n'
            f'<body>\n<main>\n{_header(r)}<nav>{nav}</nav>\n{body}'
            f'<footer>Made by SynthKiln {esc(r.job.version or "")} · dataset report</footer>\n'
            f'</main>\n</body>\n</html>\n')


def render_report(report: Report, out: Path) -> Path:
    """Write ``out/index.html`` with its plots and thumbnails into ``out`` (a folder the caller made);
    returns the page's path. Raises UserError when matplotlib is missing; without Pillow the contact
    sheets say so instead of showing thumbnails."""
    out = Path(out)
    written = plots.write_plots(report, out)
    thumbs = real_thumbs = sensor_pairs = None
    if pillow_available():
        thumbs = write_thumbnails(report, out, [*report.sample_frames, *report.worst_frames])
        real_thumbs = write_real_thumbnails(report, out)
        sensor_pairs = write_sensor_pairs(report, out)
    path = out / PAGE
    atomic_write_bytes(path, page_html(report, written, thumbs, real_thumbs, sensor_pairs).encode("utf-8"))
    return path
