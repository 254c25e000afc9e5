"""``synthkiln check``: is a dataset folder consistent? Everything the exports rely on is verified
against the files themselves, so a broken shard, a hand-edited record or a half-copied folder is found
before training, not during it.

Per frame record: it parses, has the shape every reader relies on (``records.read_record``) and holds the
frame its file name says; every file it lists lies inside the dataset and exists; the
image has the record's size; the 16-bit instance mask decodes at that size and agrees with every
object (area, tight box and RLE recomputed from the mask; no id in the mask without an object); ids
are unique in the frame and every category is in the manifest; boxes lie inside the image (the tight
box also inside the clipped amodal box, within a pixel); visibility and truncation are in 0..1;
keypoint flags are 0/1/2 and visible ones lie in the image; the semantic mask, when written, equals
the category ids of the instance mask. Across frames (shards): an instance id names the same object
in every frame, so annotation ids (frame * 65536 + instance id) are unique and stable; in a clip job, a
track id names one object through its clip and back (``tracks.TrackIds``).

Every image file is decoded whole (a truncated PNG opens but does not decode), and every EXR is read.

A problem is one line, ``file: what is wrong``; nothing raises for a bad dataset (only for a folder
that is no dataset at all, a ``DatasetError``). The frames a problem was found in are ``damaged``:
``repair`` removes them (record first), so the next render re-renders exactly those, as an uninterrupted
run would have made them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import layout
from ..labels import masks
from ..errors import DatasetError
from .records import ID_STRIDE, categories, dataset_path, read_record
from .job import read_manifest
from .tracks import TrackIds, clip_length
from ..images import exr
from ..images.pillow import import_pillow

AMODAL_SLACK = 1.0  # px: tight box (from pixels) vs. amodal box (from projected geometry)


def _pillow():
    return import_pillow("synthkiln check's image and mask decoding")[0]


def _decode(Image, path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def _decode_file(Image, path: Path) -> tuple[int, int] | None:
    """Decode a frame file whole; its (width, height) for an image, None for an EXR."""
    if path.suffix.lower() == ".exr":
        exr.read_channels(path)
        return None
    with Image.open(path) as im:
        im.load()
        return im.size


def _box_problem(box, w: int, h: int, slack: float = 0.0) -> str | None:
    if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
        return f"is {box!r}, expected [x, y, w, h]"
    x, y, bw, bh = box
    if bw <= 0 or bh <= 0:
        return f"{list(box)} has no size"
    if x < -slack or y < -slack or x + bw > w + slack or y + bh > h + slack:
        return f"{list(box)} is not inside the {w}x{h} image"
    return None


class Checker:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.problems: list[str] = []
        self.manifest = read_manifest(self.root)
        try:
            cats = categories(self.manifest)
        except DatasetError as e:
            self.problems.append(str(e))
            cats = [c for c in self.manifest.get("categories") or () if isinstance(c, dict)]
        self.cat_ids = {c.get("name"): c.get("id") for c in cats}
        self.owner: dict[int, tuple[str, str]] = {}   # instance id -> (name, first record)
        self.id_of: dict[str, tuple[int, str]] = {}   # name -> (instance id, first record)
        self.frames = self.instances = 0
        self.damaged: list[int] = []                    # frames a problem was found in
        self.tracks = TrackIds(clip_length(self.manifest))      # a clip job's track ids across its frames
        self.Image = _pillow()

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def run(self) -> "Checker":
        for index in layout.record_indices(self.root):
            where = layout.record_name(index)
            before = len(self.problems)
            try:
                rec = read_record(self.root, index)
            except DatasetError as e:
                self.problems.append(str(e).replace(str(self.root) + "/", ""))
                self.damaged.append(index)
                continue
            try:
                self.check_record(where, rec)
            except Exception as e:  # a malformed record must become a line, never a traceback
                self.problem(where, f"cannot be checked ({type(e).__name__}: {e})")
            self.frames += 1
            if len(self.problems) > before:
                self.damaged.append(index)
        return self

    def check_record(self, where: str, rec: dict) -> None:
        w, h = rec.get("width"), rec.get("height")
        if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
            self.problem(where, f"width/height {w!r}x{h!r} are not positive integers")
            return
        files = rec.get("files") or {}
        if not isinstance(files, dict):
            self.problem(where, "'files' is not a mapping")
            files = {}
        present = {}
        for key in ("image", "mask"):
            if key not in files:
                self.problem(where, f"lists no {key} file")
        for key, rel in files.items():
            try:
                path = dataset_path(self.root, rel, where, f"files.{key}")
            except DatasetError as e:
                self.problems.append(str(e))
                continue
            if not path.is_file():
                self.problem(where, f"files.{key}: {rel} is missing")
            elif path.stat().st_size == 0:
                self.problem(where, f"files.{key}: {rel} is empty")
            else:
                present[key] = path
        for key, path in present.items():
            if key == "mask":
                continue        # decoded below, where its ids are compared
            try:
                size = _decode_file(self.Image, path)
            except Exception as e:  # noqa: BLE001  (truncated PNG, zlib, EXR structure: every way a file breaks)
                self.problem(files[key], f"cannot be decoded ({e})")
                continue
            if key == "image" and size != (w, h):
                self.problem(files["image"], f"is {size[0]}x{size[1]}, the record says {w}x{h}")

        objects = rec.get("objects") or []
        by_id: dict[int, dict] = {}
        for obj in objects:
            self.check_object(where, obj, w, h, by_id)
        for what in self.tracks.problems(rec):
            self.problem(where, what)

        ids = None
        if "mask" in present:
            try:
                ids = _decode(self.Image, present["mask"])
            except (OSError, ValueError, self.Image.DecompressionBombError) as e:
                self.problem(files["mask"], f"cannot be decoded ({e})")
            else:
                if ids.shape != (h, w) or not np.issubdtype(ids.dtype, np.integer):
                    self.problem(files["mask"], f"is {ids.dtype} {ids.shape}, expected 16-bit ids of shape {(h, w)}")
                    ids = None
        if ids is not None:
            self.check_mask(where, files["mask"], ids, by_id)
            if "semantic" in present:
                self.check_semantic(files["semantic"], present["semantic"], ids, by_id)

    def check_object(self, where: str, obj: dict, w: int, h: int, by_id: dict[int, dict]) -> None:
        name = obj.get("name")
        iid = obj.get("instance_id")
        label = f"object {name!r}"
        if not isinstance(iid, int) or not 1 <= iid < ID_STRIDE:
            self.problem(where, f"{label}: instance_id {iid!r} is not an integer 1..{ID_STRIDE - 1}")
            return
        if iid in by_id:
            self.problem(where, f"{label}: instance_id {iid} is also used by {by_id[iid].get('name')!r} "
                                "(annotation ids would collide)")
        else:
            by_id[iid] = obj
        first = self.owner.setdefault(iid, (name, where))
        if first[0] != name:
            self.problem(where, f"{label}: instance_id {iid} belongs to {first[0]!r} in {first[1]} "
                                "(ids must name the same object in every frame and shard)")
        other = self.id_of.setdefault(name, (iid, where))
        if other[0] != iid:
            self.problem(where, f"{label}: instance_id {iid}, but {other[0]} in {other[1]}")
        if obj.get("category") not in self.cat_ids:
            self.problem(where, f"{label}: category {obj.get('category')!r} is not in {layout.MANIFEST}")
        area = obj.get("area") or 0
        if area > 0:
            self.instances += 1
            bad = _box_problem(obj.get("bbox"), w, h)
            if bad:
                self.problem(where, f"{label}: bbox {bad}")
            clipped = obj.get("amodal_bbox_clipped")
            if clipped is not None:
                bad_a = _box_problem(clipped, w, h, 1e-3)
                if bad_a:
                    self.problem(where, f"{label}: amodal_bbox_clipped {bad_a}")
                elif not bad:
                    x, y, bw, bh = obj["bbox"]
                    ax, ay, aw, ah = clipped
                    s = AMODAL_SLACK
                    if x < ax - s or y < ay - s or x + bw > ax + aw + s or y + bh > ay + ah + s:
                        self.problem(where, f"{label}: bbox {obj['bbox']} is not inside its amodal box "
                                            f"{[round(v, 2) for v in clipped]}")
        elif obj.get("bbox") is not None:
            self.problem(where, f"{label}: area 0 but bbox {obj.get('bbox')}")
        for key in ("visibility", "truncation"):
            v = obj.get(key)
            if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                self.problem(where, f"{label}: {key} {v!r} is not in 0..1")
        for k in obj.get("keypoints") or ():
            v, uv = k.get("v"), k.get("uv")
            if v not in (0, 1, 2):
                self.problem(where, f"{label}: keypoint {k.get('name')!r} has v {v!r}, expected 0, 1 or 2")
            elif v > 0 and not (isinstance(uv, list) and len(uv) == 2 and 0 <= uv[0] <= w and 0 <= uv[1] <= h):
                self.problem(where, f"{label}: keypoint {k.get('name')!r} is labelled (v {v}) at {uv!r}, "
                                    f"outside the {w}x{h} image")

    def check_mask(self, where: str, mask_rel: str, ids: np.ndarray, by_id: dict[int, dict]) -> None:
        stats = masks.instance_stats(ids)
        rles = masks.rle_encode_instances(ids)
        for iid, obj in by_id.items():
            label = f"object {obj.get('name')!r} (id {iid})"
            area, s = obj.get("area") or 0, stats.get(iid)
            if s is None:
                if area > 0:
                    self.problem(where, f"{label}: area {area}, but {mask_rel} has no pixel with id {iid}")
                continue
            if area != s["area"]:
                self.problem(where, f"{label}: area {area}, but {mask_rel} has {s['area']} pixels with id {iid}")
            if area > 0 and obj.get("bbox") != s["bbox"]:
                self.problem(where, f"{label}: bbox {obj.get('bbox')}, but its pixels in {mask_rel} span {s['bbox']}")
            rle = obj.get("rle")
            if area > 0 and rle != rles[iid]:
                if rle is None:
                    self.problem(where, f"{label}: no rle")
                    continue
                try:
                    differ = int(np.count_nonzero(masks.rle_decode(rle) != (ids == iid)))
                    what = f"differs from {mask_rel} in {differ} pixels" if differ else "is not canonical"
                except (ValueError, KeyError, TypeError) as e:
                    what = f"cannot be decoded ({e})"
                self.problem(where, f"{label}: rle {what}")
        extra = sorted(set(stats) - set(by_id))
        if extra:
            self.problem(mask_rel, f"has instance id(s) {extra} that no object in {where} lists")

    def check_semantic(self, rel: str, path: Path, ids: np.ndarray, by_id: dict[int, dict]) -> None:
        try:
            sem = _decode(self.Image, path)
        except (OSError, ValueError, self.Image.DecompressionBombError) as e:
            self.problem(rel, f"cannot be decoded ({e})")
            return
        if sem.shape != ids.shape:
            self.problem(rel, f"is {sem.shape}, the instance mask is {ids.shape}")
            return
        lut = np.zeros(int(ids.max()) + 1, np.int64)
        for iid, obj in by_id.items():
            if iid < lut.size:
                lut[iid] = self.cat_ids.get(obj.get("category")) or 0
        differ = int(np.count_nonzero(sem.astype(np.int64) != lut[ids]))
        if differ:
            self.problem(rel, f"{differ} pixels differ from the category ids of the instance mask")

    def summary(self) -> str:
        planned = self.manifest.get("frames", "?")
        return (f"{self.root}: ok: {self.frames} frames ({planned} planned), {self.instances} visible instances, "
                f"{len(self.cat_ids)} categories")


def check_dataset(root: Path) -> tuple[list[str], str]:
    """(problems, one-line summary); no problems means the dataset is consistent."""
    c = Checker(Path(root)).run()
    return c.problems, c.summary()


def repair(root: Path, frames: list[int]) -> list[int]:
    """Remove damaged frames so a render re-renders them: each record first (from then on the frame is
    not done, even if the rest fails), then the frame's files under the layout's names. The exports are
    left alone: they are rebuilt when the job completes again. Returns the frames removed."""
    root = Path(root)
    removed = []
    for index in frames:
        try:
            (root / layout.record_name(index)).unlink(missing_ok=True)
            for name in layout.frame_files(index):
                (root / name).unlink(missing_ok=True)
        except OSError as e:
            raise DatasetError(f"cannot remove frame {index} from {root}: {e.strerror or e}") from None
        removed.append(index)
    return removed
