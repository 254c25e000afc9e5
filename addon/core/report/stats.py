"""The synthetic side of the report: one pass over a dataset's frame records (plus its images, for
brightness) into ``Stats`` and per-frame rows.

Statistics describe what the exports hold: the recipe's own export filters (``min_visibility``,
``min_area``, ``include_categories``) decide which objects count, through the same ``exports.Objects``
the writers use, so the report and the training data never disagree.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..dataset import layout
from ..exports.common import Objects
from ..dataset.records import categories, dataset_path, export_settings
from ..images.pillow import import_pillow
from ..recipe.model import OutputSettings
from .model import SYNTHETIC, FrameRow, RareRow, Stats

MAX_BRIGHTNESS_IMAGES = 2000   # decoding every image of a 10^5-frame job costs minutes; a sample says as much


def brightness(path: Path) -> float | None:
    """Mean luma of an image, 0-1 (Pillow's ITU-R 601 "L" of the stored sRGB values); None if unreadable."""
    Image = import_pillow("the report's brightness statistic")[0]
    try:
        with Image.open(path) as im:
            im.draft("L", (im.width // 4, im.height // 4))     # JPEG decodes at 1/4 size; PNG ignores it
            return float(np.asarray(im.convert("L"), np.float32).mean() / 255.0)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def spread(n: int, k: int) -> list[int]:
    """``k`` positions spread evenly over ``range(n)`` (all of them when ``k >= n``): deterministic samples."""
    if k >= n:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / max(k - 1, 1))) for i in range(k)})


class BoxStats:
    """Accumulates per-box and per-image samples; shared by the synthetic and the real side."""

    def __init__(self):
        self.cols: dict[str, list[float]] = {}
        self.centres: list[tuple[float, float]] = []
        self.categories: Counter = Counter()
        self.attributes: dict[str, Counter] = {}

    def add(self, key: str, value: float | None) -> None:
        if value is not None and math.isfinite(value):
            self.cols.setdefault(key, []).append(float(value))

    def box(self, category: str, bbox, width: int, height: int) -> float:
        """One box [x, y, w, h] in a ``width`` x ``height`` image; returns its relative size."""
        x, y, w, h = (float(v) for v in bbox)
        size = math.sqrt(max(w, 0.0) * max(h, 0.0) / float(width * height))
        self.categories[category] += 1
        self.add("box_size", size)
        self.add("aspect", w / h if w > 0 and h > 0 else None)
        self.centres.append(((x + w / 2) / width, (y + h / 2) / height))
        return size

    def stats(self, label: str, images: int, order: Iterable[str]) -> Stats:
        cats = {name: self.categories.get(name, 0) for name in order}
        cats.update({k: v for k, v in self.categories.items() if k not in cats})
        return Stats(label=label, images=images, instances=sum(self.categories.values()), categories=cats,
                     attributes={a: dict(sorted(c.items())) for a, c in sorted(self.attributes.items())},
                     numeric={k: np.asarray(v, np.float64) for k, v in self.cols.items()},
                     centres=np.asarray(self.centres, np.float64).reshape(-1, 2))


def dataset_stats(root: Path, manifest: dict, records: Iterable[dict],
                  image_budget: int = MAX_BRIGHTNESS_IMAGES,
                  note: Callable[[str], None] = lambda _: None) -> tuple[Stats, list[FrameRow], list[RareRow]]:
    """Statistics of a dataset's records, one row per frame, and the rare-event tally per parameter."""
    root = Path(root)
    settings = export_settings(manifest)
    keep = Objects(manifest, settings, root)
    acc = BoxStats()
    rows: list[FrameRow] = []
    rare: dict[str, list[int]] = {}
    for rec in records:
        objs = keep(rec)
        sizes, vis = [], []
        for o in objs:
            sizes.append(acc.box(o["category"], o["bbox"], rec["width"], rec["height"]))
            acc.add("visibility", o.get("visibility"))
            acc.add("truncation", o.get("truncation"))
            acc.add("depth", ((o.get("pose") or {}).get("t") or [None] * 3)[2])
            if o.get("visibility") is not None:
                vis.append(float(o["visibility"]))
            for attr, value in (o.get("attributes") or {}).items():
                acc.attributes.setdefault(str(attr), Counter())[str(value)] += 1
        acc.add("objects_per_image", len(objs))
        for param, (draws, hits) in (rec.get("rare") or {}).items():
            t = rare.setdefault(param, [0, 0])
            t[0] += draws
            t[1] += hits
        rows.append(FrameRow(index=rec["frame"], image=(rec.get("files") or {}).get("image")
                             or layout.image_name(rec["frame"]), objects=len(objs),
                             min_visibility=min(vis) if vis else None,
                             mean_visibility=sum(vis) / len(vis) if vis else None,
                             brightness=None, smallest_box=min(sizes) if sizes else None))

    picked = spread(len(rows), image_budget)
    for i in picked:
        rows[i].brightness = brightness(dataset_path(root, rows[i].image, layout.record_name(rows[i].index),
                                                     "files.image"))
        acc.add("brightness", rows[i].brightness)
    if len(picked) < len(rows):
        note(f"Image brightness is measured on {len(picked)} of {len(rows)} frames, spread evenly over the job.")

    order = [c["name"] for c in categories(manifest, settings)]
    default = OutputSettings()
    filters = [f"{k} {getattr(settings, k)}" for k in ("min_visibility", "min_area")
               if getattr(settings, k) != getattr(default, k)]
    filters += [f"categories {', '.join(settings.include_categories)}"] if settings.include_categories else []
    if filters:
        note("Statistics count the objects the exports keep (" + "; ".join(filters) + ").")
    return acc.stats(SYNTHETIC, len(rows), order), rows, rare_rows(manifest, rare)


def rare_rows(manifest: dict, tally: dict[str, list[int]]) -> list[RareRow]:
    """Tallies joined with each parameter's configured ``rare.p`` (from the recipe in the manifest)."""
    probs = configured_rare(manifest.get("recipe") or {})
    return [RareRow(parameter=k, p=probs.get(k, 0.0), draws=d, hits=h) for k, (d, h) in sorted(tally.items())]


def configured_rare(recipe: dict) -> dict[str, float]:
    """``{"<group>/<name>.<field>": rare.p}`` read from recipe data (so old and new datasets both work)."""
    out: dict[str, float] = {}

    def walk(data, prefix: str) -> None:
        for k, v in data.items():
            if isinstance(v, dict) and isinstance(v.get("rare"), dict):
                out[prefix + k] = float(v["rare"].get("p") or 0.0)
            elif isinstance(v, dict):
                walk(v, f"{prefix}{k}.")

    for group, stack in (recipe.get("randomizers") or {}).items():
        for r in stack or ():
            if isinstance(r, dict):
                walk(r, f"{group}/{r.get('name') or r.get('type')}.")
    return out
