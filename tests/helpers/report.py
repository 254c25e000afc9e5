"""Reports built by hand (every section filled, or nothing optional) and ``Page``, the parser the report
tests read a rendered page with: the drawing tests, the CLI's report tests and the browser tests share them."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.report.model import BY_KEY, REAL, SYNTHETIC, FrameRow, Gap, JobInfo, RareRow, Report, Stats

from tests.helpers.grey_dataset import H, W, make_dataset

EVIL = "<script>alert('x')</script>"      # a name a user could give: the page must escape it
SECTIONS = ["gaps", "categories", "attributes", "statistics", "centres", "tracks", "sensor", "rare", "samples",
            "real-samples", "worst", "job"]


def make_stats(rng: np.random.Generator, label: str, images: int, categories: dict[str, int],
               attributes: dict, shift: float = 0.0, keys=tuple(BY_KEY)) -> Stats:
    """Plausible samples of every statistic in ``keys``; ``shift`` moves the real data away a little."""
    n = sum(categories.values())
    draw = {"box_size": lambda: rng.lognormal(np.log(0.15) + shift, 0.5, n),
            "aspect": lambda: rng.lognormal(shift, 0.4, n),
            "visibility": lambda: rng.beta(5, 1.5, n),
            "truncation": lambda: np.where(rng.random(n) < 0.8, 0.0, rng.random(n)),
            "depth": lambda: rng.uniform(1.0, 4.0, n),
            "objects_per_image": lambda: rng.poisson(3 + 2 * shift, images).astype(float),
            "brightness": lambda: np.clip(rng.normal(0.45 + shift / 4, 0.1, images), 0, 1)}
    centres = np.clip(rng.normal([0.5 - shift / 3, 0.55], 0.18, (n, 2)), 0, 1)
    return Stats(label, images, n, categories, attributes, {k: draw[k]() for k in keys}, centres)


def make_report(root: Path, compare: bool = True, frames: int = 6) -> Report:
    """A full report over a tiny real dataset folder (``frames`` frames of the grey dataset, recoloured)."""
    make_dataset(root, frames=frames)
    yy, xx = np.mgrid[:H, :W]
    for f in range(frames):  # colourful backgrounds, so thumbnails differ and look like frames
        rgb = np.stack([xx * 2 % 256, yy * 3 % 256, np.full_like(xx, 40 * f % 256)], -1).astype(np.uint8)
        (root / layout.image_name(f)).write_bytes(encode_png(rgb))
    rng = np.random.default_rng(7)
    syn = make_stats(rng, SYNTHETIC, frames * 50, {"mug": 700, "plate": 420, EVIL: 80},
                     {"colour": {"red": 500, "green": 380, "blue": 320}, "state": {"clean": 900, "dirty": 300}})
    real = make_stats(rng, REAL, 120, {"mug": 200, "plate": 320, "cup": 90}, {}, shift=0.3,
                      keys=("box_size", "aspect", "objects_per_image", "brightness")) if compare else None
    rows = [FrameRow(i, layout.image_name(i), 2, float(v), float(v) + 0.1, 0.4, 0.05)
            for i, v in enumerate(rng.uniform(0.05, 0.95, frames))]
    gaps = [Gap("box_size", "Box size", 0.41, "KS", 0.052, 0.15, 0.2, 1200, 610),
            Gap("categories", "Category shares", 0.27, "TV", None, None, None, 1200, 610),
            Gap("aspect", "Box aspect ratio", 0.12, "KS", 0.21, 1.0, 1.3, 1200, 610)] if compare else []
    job = JobInfo(frames_done=frames, frames_planned=frames + 2, seed=42, recipe_hash="ab12cd34ef56", created=
                  "2026-11-22T10:00:00Z", blender="5.0.1", version="0.1.0", resolution=(W, H),
                  shards=[{"shard": 0, "count": 2, "first": 0, "end": 4, "done": 4, "state": "finished",
                           "host": "node-a"},
                          {"shard": 1, "count": 2, "first": 4, "end": 8, "done": 2, "state": "failed", "host": EVIL}],
                  seconds_per_frame=rng.gamma(9, 0.4, 60), constraint_failures={"objects/targets_visible": 3},
                  failed_shards=[1])
    return Report(root=root, title=f"Report of {EVIL}", job=job, synthetic=syn, real=real,
                  real_source="/data/coco/instances_val.json" if compare else None, gaps=gaps,
                  balance=[{"attribute": "colour", "value": v, "target": t, "achieved": a, "instances": k}
                           for v, t, a, k in [("red", 0.4, 500 / 1200, 500), ("green", 0.3, 380 / 1200, 380),
                                              ("blue", 0.3, 320 / 1200, 320)]],
                  rare=[RareRow("lighting/key.energy", 0.05, 300, 17), RareRow("camera/shell.distance", 0.1, 300, 28)],
                  frames=rows, sample_frames=list(range(min(4, frames))),
                  worst_metric="min_visibility",
                  worst_frames=[r.index for r in sorted(rows, key=lambda r: r.min_visibility)][:3],
                  notes=[f"A note about {EVIL}."])


def empty_report(root: Path) -> Report:
    """Nothing optional: no real data, no attributes, no numbers, no frames, no job history."""
    stats = Stats(SYNTHETIC, 0, 0, {}, {}, {}, np.empty((0, 2)))
    job = JobInfo(0, 10, 1, "", "", "", "", None, [], np.empty(0), {}, [])
    return Report(root=root, title="empty", job=job, synthetic=stats)


class Page(HTMLParser):
    """What the tests read from the page: images, links, section ids, scripts, text per section."""

    def __init__(self, text: str):
        super().__init__()
        self.imgs, self.refs, self.sections, self.scripts = [], [], [], 0
        self.text: dict[str, list[str]] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self._in = None
        self._row: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        for key in ("src", "href"):
            if key in a:
                self.refs.append(a[key])
        if tag == "section":
            self._in = a["id"]
            self.sections.append(a["id"])
        if tag == "script":
            self.scripts += 1
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.setdefault(self._in, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.setdefault(self._in, []).append(data)
        if self._row:
            self._row[-1] += data

    def section_text(self, anchor: str) -> str:
        return " ".join("".join(self.text.get(anchor, [])).split())
