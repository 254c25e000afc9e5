"""Dataset exports (COCO, YOLO, Pascal VOC, KITTI, previews), built from the frame records.

``write_exports`` is the one entry point: the pipeline calls it when a job completes and
``synthkiln export`` calls it on demand, so both write the same files. The records are read once and
every writer gets each frame in turn (streaming: only COCO keeps its annotations in memory).

Every writer sees the same objects: the recipe's ``output`` filters (``min_visibility``, ``min_area``,
``categories``) are applied here, once; the records themselves keep everything. Each format is built in
a hidden staging folder next to its final place and swapped in when complete, so a reader (or a re-run
after a filter change) never sees a half-written or stale export.

Shared helpers for the writers live here too (record reading, the train/val split, image links).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import layout
from .errors import DatasetError, UserError
from .fsio import STAGING, staging_dir, swap_in
from .job import read_manifest
from .recipe import EXPORT_FORMATS, OutputSettings
from .schema import SchemaError, field_specs, from_data, path_str

FORMATS = EXPORT_FORMATS
ID_STRIDE = 65536  # instance ids are uint16 mask values, 1..65535


# -- reading ---------------------------------------------------------------------------------------------
try:        # 3-4x faster parsing of 10^4 records in the CLI; inside Blender the standard library does it
    from orjson import loads as load_json
except ImportError:
    load_json = json.loads


def read_json(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return load_json(f.read())
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read JSON ({exc})") from None


def read_record(root: Path, index: int) -> dict:
    """A frame record, checked to hold the frame its file name says (ids derive from it)."""
    path = Path(root) / layout.record_name(index)
    rec = read_json(path)
    if not isinstance(rec, dict) or rec.get("frame") != index:
        got = rec.get("frame") if isinstance(rec, dict) else None
        raise DatasetError(f"{path}: record says frame {got!r}, its file name says {index}")
    return rec


def iter_records(root: Path) -> Iterable[dict]:
    """Every complete frame record of a dataset, in frame order."""
    return (read_record(Path(root), i) for i in layout.record_indices(Path(root)))


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC while large JSON trees are built: they hold no cycles, and with GC on,
    repeated full collections over ~10^6 new containers cost more than the parsing itself
    (measured: 10,000 records build in ~0.5 s instead of ~1.4 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- settings and filters --------------------------------------------------------------------------------
def export_settings(manifest: dict) -> OutputSettings:
    """The recipe's output settings as the manifest recorded them, checked by the one schema: fields a
    newer SynthKiln added take their defaults, fields an older one wrote are ignored."""
    out = ((manifest.get("recipe") or {}).get("output") or {}) if isinstance(manifest, dict) else {}
    known = {spec.name for spec in field_specs(OutputSettings)}
    try:
        return from_data(OutputSettings, {k: v for k, v in out.items() if k in known})
    except SchemaError as e:
        raise DatasetError(f"{layout.MANIFEST}: output.{path_str(e.path)}: {e}") from None


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


def categories(manifest: dict, settings: OutputSettings | None = None) -> list[dict]:
    """The manifest's categories (ids as given, order kept), less those the ``categories`` filter
    leaves out. Each is ``{id, name, supercategory}`` plus ``keypoints``/``skeleton`` when given."""
    cats = manifest.get("categories")
    if not isinstance(cats, list):
        raise DatasetError(f"{layout.MANIFEST}: 'categories' must be a list of {{id, name, supercategory}}")
    out: list[dict] = []
    seen_ids: set[int] = set()
    seen_names: set[str] = set()
    for c in cats:
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("name"), str):
            raise DatasetError(f"{layout.MANIFEST}: category {c!r} needs an integer 'id' and a 'name'")
        if c["id"] in seen_ids or c["name"] in seen_names:
            raise DatasetError(f"{layout.MANIFEST}: category {c['name']!r} (id {c['id']}) is listed twice")
        seen_ids.add(c["id"])
        seen_names.add(c["name"])
        cat = {"id": c["id"], "name": c["name"], "supercategory": c.get("supercategory") or ""}
        for extra in ("keypoints", "skeleton"):
            if c.get(extra) is not None:
                cat[extra] = c[extra]
        out.append(cat)
    wanted = (settings.include_categories if settings else None) or []
    unknown = [n for n in wanted if n not in seen_names]
    if unknown:
        raise DatasetError(f"{layout.MANIFEST}: output.include_categories names {unknown[0]!r}, which is not a category "
                           f"(known: {sorted(seen_names)})")
    return [c for c in out if c["name"] in wanted] if wanted else out


class Objects:
    """Checks a record's objects and keeps those the exports show (visible, and through the filters)."""

    def __init__(self, manifest: dict, settings: OutputSettings, source: Path | None = None):
        self.known = {c["name"] for c in categories(manifest)}
        self.kept = {c["name"] for c in categories(manifest, settings)}
        self.settings, self.source = settings, source

    def where(self, frame: int) -> str:
        name = layout.record_name(frame)
        return str(Path(self.source) / name) if self.source is not None else name

    def __call__(self, rec: dict) -> list[dict]:
        frame = rec["frame"]
        if not isinstance(rec.get("width"), int) or not isinstance(rec.get("height"), int):
            raise DatasetError(f"{self.where(frame)}: record needs integer 'width' and 'height'")
        s = self.settings
        seen: set[int] = set()
        out = []
        for obj in rec.get("objects") or ():
            iid = obj.get("instance_id")
            if not isinstance(iid, int) or not 1 <= iid < ID_STRIDE:
                raise DatasetError(f"{self.where(frame)}: object {obj.get('name')!r} has instance_id {iid!r}; "
                                   f"expected an integer 1..{ID_STRIDE - 1}")
            if iid in seen:
                raise DatasetError(f"{self.where(frame)}: instance_id {iid} is used by two objects")
            seen.add(iid)
            area = obj.get("area") or 0
            if area <= 0:
                continue  # hidden in this frame: never exported, so its category does not matter
            cat = obj.get("category")
            if cat not in self.known:
                raise DatasetError(f"{self.where(frame)}: object {obj.get('name')!r} has category {cat!r}, "
                                   f"which is not in {layout.MANIFEST} (known: {sorted(self.known)})")
            if obj.get("bbox") is None:
                raise DatasetError(f"{self.where(frame)}: object {obj.get('name')!r} has area {area} but no bbox")
            vis = obj.get("visibility")
            if (area < s.min_area or cat not in self.kept
                    or (vis is not None and s.min_visibility > 0 and vis < s.min_visibility)):
                continue
            out.append(obj)
        return out


# -- helpers the writers share ---------------------------------------------------------------------------
def split_of(seed: int, frame: int, val_fraction: float) -> str:
    """"train" or "val" for a frame: a hash of (job seed, frame) against ``val_fraction``, so the split is
    the same for every shard, rerun and export order, and one frame's split never depends on another."""
    digest = hashlib.blake2b(f"synthkiln-split:{seed}:{frame}".encode(), digest_size=8).digest()
    return "val" if int.from_bytes(digest, "big") / 2.0 ** 64 < val_fraction else "train"


def image_rel(rec: dict) -> str:
    """The record's image, relative to the dataset root."""
    return (rec.get("files") or {}).get("image") or layout.image_name(rec["frame"])


class ImageLinker:
    """Puts a dataset image into an export folder without copying pixels where it can: a hard link
    first (no extra space, survives moving or archiving the export on its own, and works on Windows
    without privileges), then a relative symlink (other file system), then a copy. ``used`` counts each."""

    def __init__(self):
        self.used = {"hardlink": 0, "symlink": 0, "copy": 0}

    def __call__(self, src: str, dst: str) -> None:
        try:
            os.link(src, dst)
            self.used["hardlink"] += 1
            return
        except FileNotFoundError:
            raise DatasetError(f"{src}: missing (listed in its frame record)") from None
        except OSError:
            pass
        try:
            os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)
            self.used["symlink"] += 1
            return
        except OSError:
            pass
        shutil.copyfile(src, dst)
        self.used["copy"] += 1


def write_text(path: str, text: str) -> None:
    """A small export file (staging folder: no temp name needed); always ``\n`` line ends."""
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))


@dataclass
class Context:
    """What every writer gets: the dataset, its manifest and settings, the exported categories."""
    root: Path
    manifest: dict
    settings: OutputSettings
    categories: list[dict]
    link: ImageLinker = field(default_factory=ImageLinker)

    @property
    def seed(self) -> int:
        return int(self.manifest.get("seed") or 0)

    def split(self, frame: int) -> str:
        return split_of(self.seed, frame, float(self.settings.val_fraction))


STALE_AFTER = 6 * 3600  # s: a staging folder untouched this long was left by a crash


def _clean_stale_staging(exports: Path) -> None:
    """Staging folders left by a crashed export. Age, not the pid, decides: shards on other hosts may be
    exporting into the same folder right now."""
    if not exports.is_dir():
        return
    now = time.time()
    for p in exports.iterdir():
        if p.name.startswith(".") and (STAGING in p.name or ".old-" in p.name) and p.is_dir():
            try:
                if now - p.stat().st_mtime > STALE_AFTER:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass


# -- the entry point -------------------------------------------------------------------------------------
def write_exports(root: Path, formats: Iterable[str] | str | None = None, previews: int | None = None,
                  *, report: Callable[[str], None] | None = None) -> list[Path]:
    """Write the dataset's exports from its frame records and return the main path of each.

    ``formats``: names from ``FORMATS`` (None: the recipe's ``output.exports``); ``previews``: how many
    preview overlays to draw (None: the recipe's ``output.previews``). ``report`` gets one line per
    notable fact (how images were linked)."""
    from . import coco, kitti, preview, voc, yolo  # the writers import this module's helpers

    root = Path(root)
    manifest = read_manifest(root)
    settings = export_settings(manifest)
    wanted = parse_formats(settings.exports if formats is None else formats,
                           "output.exports:" if formats is None else "--format")
    n_previews = settings.previews if previews is None else previews
    ctx = Context(root, manifest, settings, categories(manifest, settings))
    keep = Objects(manifest, settings, root)

    makers = {"coco": coco.CocoWriter, "yolo": yolo.YoloWriter, "yolo-seg": yolo.YoloSegWriter,
              "voc": voc.VocWriter, "kitti": kitti.KittiWriter}
    exports_dir = root / layout.EXPORTS
    staged: list[tuple[Path, Path]] = []
    written: list[Path] = []
    writers = []
    try:
        exports_dir.mkdir(parents=True, exist_ok=True)
        _clean_stale_staging(exports_dir)
        for name in wanted:
            final = exports_dir / makers[name].DIR
            staging = staging_dir(final)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            staged.append((staging, final))
            writers.append(makers[name](ctx, staging))
        if writers:
            with gc_paused():
                for rec in iter_records(root):
                    objs = keep(rec)
                    for w in writers:
                        w.add(rec, objs)
                for w, (staging, final) in zip(writers, staged):
                    main = w.finish()
                    written.append(final / main.relative_to(staging))
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
        report(f"images placed in the exports by {used}")
    if n_previews and previews is None and not preview.pillow_available():
        # a job's own end, inside a Blender without Pillow: the dataset is complete; previews can follow
        # with `synthkiln export`, so this is a note, not an error
        if report:
            report("previews skipped: Pillow is not available here (run `synthkiln export DIR` to draw them)")
    elif n_previews:
        written.extend(preview.write_previews(root, limit=n_previews, keep=keep))
    return written
