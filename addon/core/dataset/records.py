"""Reading a dataset's frame records and manifest categories: the one place exports, checks and the report
read records through, so every reader applies the same checks.

``read_record`` checks the *shape* every consumer relies on (types: ``frame``, ``width``/``height``,
``files``, ``objects`` and each object's boxes, RLE, keypoints, 3D box, pose and track id, ``camera.K``,
``rare``, a clip frame's ``clip``)
and raises a ``DatasetError`` naming the record file and the field, so a damaged or hostile record is one
clear message, never a traceback deep in a writer. Whether the values agree with the pixels is
``check``'s job. Paths a record lists must lie inside the dataset (``dataset_path``): a record naming
``/etc/passwd`` or ``../..`` must never make an export link or read a file outside it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import os
import re
from itertools import chain
from pathlib import Path
from typing import Any, Iterable

from . import layout
from ..errors import DatasetError
from ..fsio import UnreadableFile, read_regular
from ..recipe.model import OutputSettings
from ..params.schema import SchemaError, field_specs, from_data, path_str

ID_STRIDE = 65536  # instance ids are uint16 mask values, 1..65535
MAX_RECORD_BYTES = 64 << 20     # a real record is KB to a few MB; a device or a huge file must not be read


try:        # 3-4x faster parsing of 10^4 records in the CLI; inside Blender the standard library does it
    from orjson import loads as load_json
except ImportError:
    load_json = json.loads


def read_bytes(path: Path, limit: int = MAX_RECORD_BYTES) -> bytes:
    """The bytes of a file that must be a regular file of at most ``limit`` bytes (``fsio.read_regular``:
    a pipe or ``/dev/zero`` in its place is refused, not read forever)."""
    try:
        return read_regular(path, limit)
    except UnreadableFile as e:
        what = {"missing": "missing", "error": f"cannot read ({e.reason})",
                "too_big": f"is {e.size if e.size is not None else f'more than {limit}'} bytes: expected a JSON file "
                           f"of at most {limit} bytes"}.get(e.kind, "is not a regular file: expected a JSON file")
        raise DatasetError(f"{path}: {what}") from None


def parse_json(data: bytes, path: Path | str) -> Any:
    try:
        return load_json(data)
    except (ValueError, RecursionError) as exc:
        raise DatasetError(f"{path}: cannot read JSON ({exc})") from None


def read_json(path: Path, limit: int = MAX_RECORD_BYTES) -> Any:
    """A JSON file, bounded and refused unless regular (``read_bytes``)."""
    return parse_json(read_bytes(path, limit), path)


def parse_record(data: bytes, path: Path | str, index: int) -> dict:
    """A frame record from the bytes of file ``path``, checked to hold the frame its file name says (ids
    derive from it) and to have the shape every consumer relies on (``check_record``). For readers that
    need the bytes too (``merge`` compares them); others call ``read_record``."""
    rec = parse_json(data, path)
    if isinstance(rec, dict) and (not _int(rec.get("frame")) or rec["frame"] != index):
        raise DatasetError(f"{path}: record says frame {_short(rec.get('frame'))}, its file name says {index}")
    return check_record(rec, path)


def read_record(root: Path, index: int) -> dict:
    """Frame record ``index`` of dataset ``root``, checked (``parse_record``)."""
    path = Path(root) / layout.record_name(index)
    return parse_record(read_bytes(path), path, index)


def iter_records(root: Path) -> Iterable[dict]:
    """Every complete frame record of a dataset, in frame order."""
    return (read_record(Path(root), i) for i in layout.record_indices(Path(root)))


# -- the shape of a record ---------------------------------------------------------------------------

def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_NUMBER = frozenset((int, float))      # exact types: a JSON true/false is no number here
_LIST = {list}


def _num(v: Any) -> bool:
    return type(v) is int or (type(v) is float and math.isfinite(v))


def _int(v: Any) -> bool:
    return type(v) is int


def _nums(v: Any, n: int) -> bool:
    """A list of ``n`` numbers (types only: checked by C-level iteration, as records hold thousands)."""
    return type(v) is list and len(v) == n and all(map(_NUMBER.__contains__, map(type, v)))


def _finite(v: Any, n: int) -> bool:
    """``_nums`` and every item finite (what drawing and box maths need); huge integers count as not."""
    if not _nums(v, n):
        return False
    try:
        return math.isfinite(math.fsum(v))
    except OverflowError:
        return False


def _matrix(v: Any, rows: int, cols: int) -> bool:
    return (type(v) is list and len(v) == rows and set(map(type, v)) == _LIST and set(map(len, v)) == {cols}
            and all(map(_NUMBER.__contains__, map(type, chain.from_iterable(v)))))


class _Where:
    """Names a field of one record file in messages: ``frames/000003.json: objects[1].bbox: ...``."""

    def __init__(self, path: Path | str):
        self.path = path

    def fail(self, field: str, expected: str, got: Any) -> DatasetError:
        return DatasetError(f"{self.path}: {field}: expected {expected}, got {_short(got)}")


_BAD_PART = re.compile(r"(^|[\\/])\.{0,2}([\\/]|$)")   # a "..", "." or empty part, with either separator


def record_file(rel: Any, where: str, field: str) -> str:
    """``rel`` as a record lists it, checked to be a plain relative path without ``..`` (on any OS):
    only then can it be joined to the dataset folder."""
    if isinstance(rel, str) and rel and len(rel) <= 4096 and "\0" not in rel:
        if not (rel.startswith(("/", "\\")) or rel[1:2] == ":" or _BAD_PART.search(rel)):
            return rel
        raise DatasetError(f"{where}: {field}: {_short(rel)} is outside the dataset: expected the relative path "
                           "of a file inside the dataset folder (without '..')")
    raise DatasetError(f"{where}: {field}: expected a path relative to the dataset folder, got {_short(rel)}")


@functools.lru_cache(maxsize=16)
def _realpath(root: str) -> str:
    return os.path.realpath(root)


def dataset_path(root: Path, rel: Any, where: str, field: str = "files") -> Path:
    """The file a record (or manifest) names, which must lie inside dataset ``root``: a relative path
    without ``..`` that does not lead out through a symbolic link either. Used wherever core opens or
    links a file a record names, so a hostile record can never make us read or export another file."""
    rel = record_file(rel, where, field)
    root = Path(root)
    path = root / rel
    # the folder's real path once per folder (an export resolves thousands of files in a few folders)
    real = os.path.realpath(path) if os.path.islink(path) else os.path.join(_realpath(str(path.parent)), path.name)
    real_root = _realpath(str(root))
    if not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise DatasetError(f"{where}: {field}: {rel} leads outside the dataset folder (through a symbolic link "
                           f"to {real}): expected a file inside {root}")
    return path


_BOX = "[x, y, w, h] (4 numbers)"
_OBJECT_FIELDS = (      # where present: (key, test, what was expected); None is allowed only where it says
    ("instance_id", _int, "an integer"), ("name", lambda v: isinstance(v, str), "a string"),
    ("category", lambda v: isinstance(v, str), "a string"),
    ("attributes", lambda v: isinstance(v, dict), "a mapping"),
    ("hidden", lambda v: isinstance(v, bool), "true or false"),
    ("area", lambda v: v is None or _num(v), "a number"), ("visibility", lambda v: v is None or _num(v), "a number"),
    ("truncation", lambda v: v is None or _num(v), "a number"),
    ("track_id", lambda v: _int(v) and 1 <= v < ID_STRIDE, f"an integer 1..{ID_STRIDE - 1} (the track in its clip)"))


def _check_object(w: _Where, obj: Any, f: str) -> None:
    if not isinstance(obj, dict):
        raise w.fail(f, "an object (a mapping)", obj)
    for key, ok, expected in _OBJECT_FIELDS:
        if key in obj and not ok(obj[key]):
            raise w.fail(f"{f}.{key}", expected, obj[key])
    if (obj.get("area") or 0) > 0 and not isinstance(obj.get("category"), str):
        raise w.fail(f"{f}.category", "a category name (the object is visible: area > 0)", obj.get("category"))
    for key in ("bbox", "amodal_bbox", "amodal_bbox_clipped"):
        v = obj.get(key)
        if v is not None and not _finite(v, 4):
            raise w.fail(f"{f}.{key}", _BOX, v)
    rle = obj.get("rle")
    if rle is not None:
        size, counts = (rle.get("size"), rle.get("counts")) if isinstance(rle, dict) else (None, None)
        counts_ok = isinstance(counts, str) or (isinstance(counts, list) and set(map(type, counts)) <= {int})
        if not (isinstance(size, list) and len(size) == 2 and all(_int(x) and x >= 0 for x in size) and counts_ok):
            raise w.fail(f"{f}.rle", "COCO RLE {size: [h, w], counts: string or integers}", rle)
    kps = obj.get("keypoints")
    if kps is not None:
        if not isinstance(kps, list):
            raise w.fail(f"{f}.keypoints", "a list of {name, uv, v}", kps)
        for i, k in enumerate(kps):
            kf = f"{f}.keypoints[{i}]"
            if not isinstance(k, dict) or not isinstance(k.get("name"), str):
                raise w.fail(kf, "{name, uv, v} with a string name", k)
            v, uv = k.get("v", 0), k.get("uv")
            if not _int(v):
                raise w.fail(f"{kf}.v", "0, 1 or 2", v)
            if (uv is not None or v > 0) and not _finite(uv, 2):
                raise w.fail(f"{kf}.uv", "[u, v] (2 numbers)", uv)
    box3d = obj.get("box3d")
    if box3d is not None:
        if not isinstance(box3d, dict):
            raise w.fail(f"{f}.box3d", "a mapping", box3d)
        corners = box3d.get("corners_camera")       # the one the writers read (KITTI)
        if corners is not None and not _matrix(corners, 8, 3):
            raise w.fail(f"{f}.box3d.corners_camera", "8 corners of 3 numbers", corners)
    pose = obj.get("pose")
    if pose is not None:
        if not isinstance(pose, dict):
            raise w.fail(f"{f}.pose", "a mapping", pose)
        if pose.get("R") is not None and not _matrix(pose["R"], 3, 3):
            raise w.fail(f"{f}.pose.R", "a 3x3 matrix of numbers", pose["R"])
        if pose.get("t") is not None and not _nums(pose["t"], 3):
            raise w.fail(f"{f}.pose.t", "[x, y, z] (3 numbers)", pose["t"])


def check_record(rec: Any, path: Path | str) -> dict:
    """``rec`` if it has the shape every consumer of records relies on, else a ``DatasetError`` naming
    ``path`` and the field. Fields are checked where present (old and minimal records pass); present
    means of its type (readers write ``rec.get("objects", [])``), null only where the pipeline writes it
    (``bbox``/``rle`` of a hidden object, an unknown ``visibility``)."""
    w = _Where(path)
    if not isinstance(rec, dict):
        raise DatasetError(f"{path}: expected a JSON object (a frame record), got {_short(rec)}")
    frame = rec.get("frame")
    if not _int(frame) or frame < 0:
        raise w.fail("frame", "the frame index (an integer >= 0)", frame)
    for key in ("width", "height"):
        if key in rec and not (_int(rec[key]) and rec[key] > 0):
            raise w.fail(key, "a positive integer (pixels)", rec[key])
    if rec.get("seed") is not None and not _int(rec["seed"]):
        raise w.fail("seed", "an integer", rec["seed"])
    if "files" in rec:
        files = rec["files"]
        if not isinstance(files, dict):
            raise w.fail("files", "a mapping of names to paths", files)
        for key, rel in files.items():
            record_file(rel, str(path), f"files.{key}")
    if "objects" in rec:
        objects = rec["objects"]
        if not isinstance(objects, list):
            raise w.fail("objects", "a list of objects", objects)
        for i, obj in enumerate(objects):
            _check_object(w, obj, f"objects[{i}]")
    clip = rec.get("clip")
    if clip is not None:
        c = clip if isinstance(clip, dict) else {}
        index, at, length, fps = c.get("index"), c.get("frame"), c.get("length"), c.get("fps")
        if not (_int(index) and _int(at) and _int(length) and index >= 0 and 0 <= at < length
                and (fps is None or (_num(fps) and fps > 0))):
            raise w.fail("clip", "{index, frame, length} of integers with 0 <= frame < length", clip)
        if index * length + at != frame:
            raise w.fail("clip", f"the clip of frame {frame}: index * length + frame = {frame}", clip)
    camera = rec.get("camera")
    if camera is not None:
        if not isinstance(camera, dict):
            raise w.fail("camera", "a mapping", camera)
        if camera.get("K") is not None and not _matrix(camera["K"], 3, 3):
            raise w.fail("camera.K", "a 3x3 matrix of numbers", camera["K"])
        w2c = camera.get("world_to_camera")
        if w2c is not None and not (_matrix(w2c, 4, 4) and _finite(list(chain.from_iterable(w2c)), 16)):
            raise w.fail("camera.world_to_camera", "a 4x4 matrix of finite numbers", w2c)
    for key in ("applied", "values"):
        if key in rec and not isinstance(rec[key], dict):
            raise w.fail(key, "a mapping", rec[key])
    rare = rec.get("rare")
    if rare is not None:
        if not isinstance(rare, dict):
            raise w.fail("rare", "a mapping of parameters to [draws, rare draws]", rare)
        for k, v in rare.items():
            if not (isinstance(v, list) and len(v) == 2 and all(_int(x) and x >= 0 for x in v)):
                raise w.fail(f"rare.{k}", "[draws, rare draws] (2 integers)", v)
    return rec


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



def export_settings(manifest: dict) -> OutputSettings:
    """The recipe's output settings as the manifest recorded them, checked by the one schema: fields a
    newer SynthKiln added take their defaults, fields an older one wrote are ignored."""
    out = ((manifest.get("recipe") or {}).get("output") or {}) if isinstance(manifest, dict) else {}
    known = {spec.name for spec in field_specs(OutputSettings)}
    try:
        return from_data(OutputSettings, {k: v for k, v in out.items() if k in known})
    except SchemaError as e:
        raise DatasetError(f"{layout.MANIFEST}: output.{path_str(e.path)}: {e}") from None


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
