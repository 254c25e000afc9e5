"""Dataset exports (COCO, YOLO, Pascal VOC, KITTI, previews; for clip jobs MOT, KITTI tracking and videos),
built from the frame records.

``write_exports`` is the one entry point: the pipeline calls it when a job completes and
``synthkiln export`` calls it on demand, so both write the same files. The records are read once and
every writer gets each frame in turn (streaming: only COCO keeps its annotations in memory).

Every writer sees the same objects: the recipe's ``output`` filters (``min_visibility``, ``min_area``,
``categories``) are applied here, once; the records themselves keep everything. Each format is built in
a hidden staging folder next to its final place and swapped in when complete, so a reader (or a re-run
after a filter change) never sees a half-written or stale export.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterable

from . import coco, kitti, kitti_tracking, mot, preview, video, voc, yolo
from ..dataset import layout
from ..errors import DatasetError, UserError
from .common import Context, Objects, Split
from ..fsio import clean_staging, staging_dir, swap_in
from ..images.pillow import pillow_available
from ..dataset.job import read_manifest
from ..dataset import jobreport
from ..dataset.records import categories, export_settings, gc_paused, read_record
from ..recipe.model import EXPORT_FORMATS

FORMATS = EXPORT_FORMATS
WRITERS = {"coco": coco.CocoWriter, "yolo": yolo.YoloWriter, "yolo-seg": yolo.YoloSegWriter,
           "voc": voc.VocWriter, "kitti": kitti.KittiWriter, "mot": mot.MotWriter,
           "kitti_tracking": kitti_tracking.KittiTrackingWriter, "video": video.VideoWriter}


def parse_formats(formats: Iterable[str] | str, where: str = "--format") -> list[str]:
    """Normalised, de-duplicated format names; a ``UserError`` names the first unknown one."""
    if isinstance(formats, str):
        formats = formats.split(",")
    out: list[str] = []
    for f in formats:
        f = str(f).strip().lower()
        if not f:
            continue
        if f not in FORMATS:
            raise UserError(f"{where} {f!r}: expected one or more of {', '.join(FORMATS)}")
        if f not in out:
            out.append(f)
    return out



def _check_replaceable(staging: Path, final: Path) -> None:
    """An export replaces its folder whole, so it only replaces a folder holding what it writes itself:
    a file a user put there (their own labels) is never deleted."""
    if not final.is_dir():
        if final.exists():
            raise UserError(f"{final}: exists and is not a folder; move it away to export {final.name}")
        return
    ours = {p.name for p in staging.iterdir()}
    foreign = sorted(p.name for p in final.iterdir() if p.name not in ours)
    if foreign:
        raise UserError(f"{final}: holds {foreign[0]!r}, which this export does not write; an export replaces "
                        "its folder whole, so move that out first (nothing was changed)")


# -- the entry point -------------------------------------------------------------------------------------
def write_exports(root: Path, formats: Iterable[str] | str | None = None, previews: int | None = None,
                  *, report: Callable[[str], None] | None = None, split: Split | str | None = None) -> list[Path]:
    """Write the dataset's exports from its frame records and return the main path of each.

    ``formats``: names from ``FORMATS`` (None: the recipe's ``output.exports``); ``previews``: how many
    preview overlays to draw (None: the recipe's ``output.previews``); ``split``: the subsets, e.g.
    ``"train,val,test=0.8,0.1,0.1"`` (None: train/val by ``output.val_fraction``). ``report`` gets one line
    per notable fact (how images were linked)."""
    root = Path(root)
    manifest = read_manifest(root)
    settings = export_settings(manifest)
    wanted = parse_formats(settings.exports if formats is None else formats,
                           "output.exports:" if formats is None else "--format")
    n_previews = settings.previews if previews is None else previews
    subsets = Split.parse(split) if isinstance(split, str) else split
    ctx = Context(root, manifest, settings, categories(manifest, settings), subsets=subsets)
    keep = Objects(manifest, settings, root)
    makers = WRITERS
    exports_dir = root / layout.EXPORTS
    staged: list[tuple[Path, Path]] = []
    written: list[Path] = []
    writers = []
    try:
        exports_dir.mkdir(parents=True, exist_ok=True)
        clean_staging(exports_dir)
        for name in wanted:
            final = exports_dir / makers[name].DIR
            staging = staging_dir(final)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            staged.append((staging, final))
            writers.append(makers[name](ctx, staging))
        if writers:
            indices, seen = layout.record_indices(root), []
            with gc_paused():
                for rec in (read_record(root, i) for i in indices):
                    objs = keep(rec)
                    for w in writers:
                        w.add(rec, objs)
                    if len(indices) <= jobreport.REMEMBER_MAX:
                        seen.append(jobreport.slim(rec))
                jobreport.remember(root, indices, seen)
                for w, (staging, final) in zip(writers, staged):
                    main = w.finish()
                    written.append(final / main.relative_to(staging))
        for staging, final in staged:
            _check_replaceable(staging, final)
        for staging, final in staged:
            swap_in(staging, final)
        staged = []
    except OSError as e:
        raise DatasetError(f"cannot write the exports in {exports_dir}: {e.strerror or e}") from None
    finally:
        for staging, _ in staged:
            shutil.rmtree(staging, ignore_errors=True)
    if report and any(w.uses_images for w in writers):
        used = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in ctx.link.used.items() if n)
        if used:
            report(f"images placed in the exports by {used}")
        for note in {getattr(w, "note", None) for w in writers} - {None}:
            report(note)
    if n_previews and previews is None and not pillow_available():
        # a job's own end, inside a Blender without Pillow: the dataset is complete; previews can follow
        # with `synthkiln export`, so this is a note, not an error
        if report:
            report("previews skipped: Pillow is not available here (run `synthkiln export DIR` to draw them)")
    elif n_previews:
        try:
            written.extend(preview.write_previews(root, limit=n_previews, keep=keep))
        except OSError as e:        # a full disk here too: one message, the exports above are complete
            raise DatasetError(f"cannot write the previews in {root / preview.PREVIEW_DIR}: {e.strerror or e}") from None
    return written
