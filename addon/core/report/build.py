"""``build_report``: a dataset folder (and optionally a real COCO set) in, ``report/index.html`` out.

The one entry point for ``synthkiln report`` and the sidebar's Open Report. The report is drawn in a
staging folder and swapped in whole, so a browser never shows half a report, and a failed build leaves
the last good one in place.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from ..dataset import layout
from ..errors import DatasetError, UserError
from ..dataset.records import categories, export_settings, iter_records
from ..fsio import atomic_write_json, staging_dir, swap_in
from ..dataset.job import read_manifest
from ..dataset.jobreport import slim, summarize
from ..dataset.status import FAILED, job_status, read_frame_times
from .compare import gaps
from .model import JobInfo, Report, Stats, summary
from .real import read_real
from .sensor import SensorDraws
from .stats import dataset_stats, spread
from .tracks import SERIES, TrackCollector

REPORT_DIR = "report"
SUMMARY = "summary.json"
WORST_METRICS = ("min_visibility", "mean_visibility", "smallest_box", "brightness", "objects")


def default_out(root: Path) -> Path:
    return Path(root) / REPORT_DIR


def collect(root: Path, compare: Path | None = None, images: Path | None = None, *,
            worst: str = "min_visibility", samples: int = 12, worst_count: int = 8) -> Report:
    """Everything the report shows, as data (no drawing)."""
    root = Path(root).resolve()     # shown in the page: absolute, wherever the page is opened from
    if worst not in WORST_METRICS:
        raise UserError(f"--worst {worst!r}: expected one of {', '.join(WORST_METRICS)}")
    if images is not None and compare is None:
        raise UserError("--images names the real data's image folder: it needs --compare REAL_COCO.json")
    manifest = read_manifest(root)
    if not layout.record_indices(root):
        raise DatasetError(f"{root}: the dataset has no finished frames yet: render some, then report")
    notes: list[str] = []
    kept: list[dict] = []       # what the job summary needs, gathered in the same single pass
    tracks = TrackCollector({c["name"] for c in categories(manifest, export_settings(manifest))})
    draws = SensorDraws(manifest)

    def records():
        for rec in iter_records(root):
            kept.append(slim(rec))
            tracks.add(rec)
            draws.add(rec)
            yield rec

    synthetic, frames, rare = dataset_stats(root, manifest, records(), note=notes.append)
    summary = summarize(root, kept)

    real = gap_rows = None
    real_frames = []
    if compare is not None:
        real, real_frames = read_real(Path(compare), images, note=notes.append, samples=samples)
        gap_rows = gaps(synthetic, real)
        if images is None:
            notes.append("Real image brightness needs the real images: add --images REAL_DIR.")
        shared = set(synthetic.categories) & set(real.categories)
        if not shared:
            notes.append("No category name is shared by the synthetic and the real data: the category mix "
                         "cannot match (rename categories in the recipe to the real dataset's names).")

    status = job_status(root)
    times = read_frame_times(root)
    recipe = manifest.get("recipe") or {}
    res = (recipe.get("render") or {}).get("resolution")
    job = JobInfo(frames_done=len(frames), frames_planned=int(manifest.get("frames") or 0),
                  seed=int(manifest.get("seed") or 0), recipe_hash=str(manifest.get("recipe_hash") or ""),
                  created=str(manifest.get("created") or ""), blender=str(manifest.get("blender") or ""),
                  version=str(manifest.get("version") or ""),
                  resolution=tuple(res) if isinstance(res, list) and len(res) == 2 else None,
                  shards=[{**s.__dict__, "planned": s.planned} for s in status.shards],
                  seconds_per_frame=np.asarray([times[r.index] for r in frames if r.index in times], np.float64),
                  constraint_failures=summary["constraint_failures"],
                  failed_shards=[s.shard for s in status.shards if s.state == FAILED])
    if not times:
        notes.append("No frame times were recorded for this dataset (rendered before timing logs, or merged "
                     "without its shards/ folder).")

    ranked = sorted((r for r in frames if getattr(r, worst) is not None), key=lambda r: (getattr(r, worst), r.index))
    if ranked:      # frames at the best value (e.g. nothing occluded) are not "worst", however few the others
        ranked = [r for r in ranked if getattr(r, worst) < getattr(ranked[-1], worst)]
    return Report(root=root, title=f"SynthKiln dataset report: {root.name}", job=job,
                  synthetic=synthetic, real=real, real_source=str(compare) if compare is not None else None,
                  gaps=gap_rows or [], balance=summary["balance"], rare=rare, frames=frames,
                  sample_frames=[frames[i].index for i in spread(len(frames), samples)], real_frames=real_frames,
                  worst_metric=worst, worst_frames=[r.index for r in ranked[:worst_count]], notes=notes,
                  tracks=tracks.result(), sensor=draws.summary(spread))


def summary_data(r: Report) -> dict:
    """The report's figures as JSON (``summary.json`` beside the page), for pipelines that gate on them,
    e.g. fail a job whose largest gap to the real data grew."""
    def stats(s: Stats | None) -> dict | None:
        if s is None:
            return None
        return {"images": s.images, "instances": s.instances, "categories": s.categories,
                "attributes": s.attributes, "statistics": {k: summary(v) for k, v in s.numeric.items()}}

    j = r.job
    return {"dataset": str(r.root),
            "job": {"frames_done": j.frames_done, "frames_planned": j.frames_planned, "seed": j.seed,
                    "recipe_hash": j.recipe_hash, "created": j.created, "blender": j.blender,
                    "seconds_per_frame": summary(j.seconds_per_frame),
                    "constraint_failures": j.constraint_failures, "failed_shards": j.failed_shards},
            "synthetic": stats(r.synthetic),
            "real": None if r.real is None else {"source": r.real_source, **stats(r.real)},
            "gaps": [dataclasses.asdict(g) for g in r.gaps], "balance": r.balance,
            "rare": [{**dataclasses.asdict(x), "share": x.share} for x in r.rare],
            "worst": {"metric": r.worst_metric, "frames": r.worst_frames}, "notes": r.notes,
            "tracks": None if r.tracks is None else {
                "clips": r.tracks.clips, "tracks": r.tracks.tracks, "reappearances": r.tracks.reappearances,
                **{key: summary(getattr(r.tracks, key)) for key, *_ in SERIES}},
            "sensor": {"draws": {f"{f.key}.{f.field}": summary(f.values) for f in r.sensor.fields},
                       "fixed": r.sensor.fixed, "clean_frames": r.sensor.clean_frames}}


def build_report(root: Path, out: Path | None = None, compare: Path | None = None, images: Path | None = None,
                 *, worst: str = "min_visibility", samples: int = 12,
                 report: Callable[[str], None] | None = None) -> Path:
    """Write the report for dataset ``root`` into ``out`` (default ``root/report``); returns its index.html."""
    from .page import render_report  # matplotlib is imported only when a report is drawn
    from .plots import require_matplotlib

    require_matplotlib()                # before reading a large dataset, not after
    out = Path(out) if out is not None else default_out(root)
    if out.exists() and not (out / SUMMARY).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: exists and is not a SynthKiln report (no {SUMMARY}); a report replaces its "
                        "folder whole, so choose a new or empty folder (--out)")
    data = collect(root, compare, images, worst=worst, samples=samples)
    staging = staging_dir(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        index = render_report(data, staging)
        atomic_write_json(staging / SUMMARY, summary_data(data), indent=1)
        swap_in(staging, out)
    except OSError as e:
        raise UserError(f"cannot write the report to {out}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if report:
        for line in data.notes:
            report(f"note: {line}")
    return out / index.name
