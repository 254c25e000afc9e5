"""COCO export, built from the frame records (never from Blender), so it can be re-run, merged
across shards and checked without Blender.

::

    exports/coco/annotations/instances_{train,val}.json   one file per subset (the split the other formats use)
    exports/coco/images/{train,val}/NNNNNN.png            the images, linked; ``file_name`` is relative to these
    exports/coco/annotations.json                          every frame in one file; ``file_name`` is relative
                                                           to the dataset's ``images/`` folder

The subset files follow COCO's own layout (``annotations/instances_<subset>.json`` beside
``images/<subset>/``), which Datumaro, torchvision's ``CocoDetection`` and MMDetection's configs expect; the
all-frames file is for tools that take one file (pycocotools, our report).

Ids are stable: an image's id is ``frame + 1`` and an annotation's id is
``frame * 65536 + instance_id`` (instance ids are uint16 mask values, 1..65535). Both depend only on
the frame index and the instance id, so exporting shards separately, in another order, or again
after a resume gives the same ids.

``iscrowd`` is always 0. In COCO, ``iscrowd: 1`` marks a region covering *many* objects that could
not be told apart (evaluation then ignores detections matched to it). Every SynthKiln annotation is
exactly one rendered instance, never a crowd.

Segmentation (``output.coco_segmentation``):

- ``rle`` (default): compressed RLE, exact (holes, thin parts, pixel-accurate edges straight from the
  Object Index pass). Readers decide by the segmentation's type, not by iscrowd: pycocotools
  (``annToMask``/``annToRLE``, COCOeval) takes it as is; MMDetection's ``LoadAnnotations`` decodes it
  with its default ``poly2mask=True`` (it needs ``counts`` as str, which is what we write);
  Detectron2 needs ``cfg.INPUT.MASK_FORMAT = "bitmask"`` for RLE masks.
- ``polygon``: one polygon per connected component along the pixel edges (``core/labels/polygons.py``), holes
  joined by zero-width cuts; rasterised by pycocotools it gives the mask back. For tools that read
  polygons only (Detectron2's default ``polygon`` mask format, many labelling tools).

Keypoints: a category lists ``keypoints`` (names, from the manifest when it gives them, else every name
its objects define, sorted) and a ``skeleton`` (given, else empty). Its annotations carry
``keypoints`` [x, y, v] * n in that order and ``num_keypoints`` (v > 0). Coordinates follow COCO's
convention of pixel *indices* (the centre of pixel column 0 is x = 0): the records' ``uv`` (pixel centres
at +0.5) minus 0.5; Detectron2 adds the 0.5 back when it loads them. v: 0 not labelled (outside the
image or behind the camera; x = y = 0), 1 labelled but occluded, 2 visible.

Extra annotation fields (readers ignore what they do not know): ``attributes``, ``amodal_bbox`` (the
box of the whole projected object, unclipped), ``visibility`` and ``truncation`` (0..1).

Clip jobs (records with ``clip``) add the video fields of TAO and of CocoVID (mmtracking/mmdetection's
video COCO):

- ``videos``: {id, name, width, height, length, fps, neg_category_ids, not_exhaustive_category_ids}, id =
  clip + 1. Labels are exhaustive, so every category without a track in the video is a verified negative
  and none is "not exhaustive".
- ``tracks``: {id, category_id, video_id}.
- per image: ``video_id``, ``video`` (the name), ``frame_index`` (TAO) and ``frame_id`` (CocoVID), both the
  0-based frame within the clip.
- per annotation: ``video_id``, and ``track_id`` (TAO) and ``instance_id`` (CocoVID), both the global track
  id ``clip * 65536 + track_id``: unique in the whole file, stable like the other ids.

Each subset file keeps the videos and tracks of its images (clip jobs split by clip, so a video is never
cut in two). TrackEval's TAO loader reads the file as it is (checked: ground truth against itself scores
MOTA = HOTA = 1 for every category).
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Iterable

from ..dataset import layout
from ..labels import polygons
from ..errors import DatasetError
from ..dataset.records import ID_STRIDE, categories, check_record, export_settings, record_file
from .clips import clip_frame, track_id
from .common import Context, Objects
from ..recipe.model import OutputSettings
from ..fsio import atomic_write_bytes

ANNOTATIONS = "annotations.json"
SUBSET_FILE = "annotations/instances_{}.json"

__all__ = ["ANNOTATIONS", "SUBSET_FILE", "CocoWriter", "annotation_id", "build_coco"]


def annotation_id(frame: int, instance_id: int) -> int:
    """The stable annotation id; depends only on (frame, instance id)."""
    return frame * ID_STRIDE + instance_id


def global_track_id(clip: int, track: int) -> int:
    """A track's id across the whole file (tracks are numbered within their clip, 1..65535)."""
    return clip * ID_STRIDE + track


def _image_file_name(record: dict, frame: int) -> str:
    """Path relative to the dataset's images/ folder, with the record's real extension."""
    image = record_file((record.get("files") or {}).get("image") or layout.image_name(frame),
                        layout.record_name(frame), "files.image")
    prefix = layout.IMAGES + "/"
    return image[len(prefix):] if image.startswith(prefix) else posixpath.basename(image)


def _polygons(rle: dict, obj: dict, frame: int) -> list[list[int]]:
    try:
        return polygons.coco_polygons(rle, obj["bbox"])
    except (ValueError, IndexError) as exc:   # counts that do not fit the mask's size
        raise DatasetError(f"{layout.record_name(frame)}: object {obj.get('name')!r}: rle cannot be decoded "
                           f"({exc})") from None


class CocoBuilder:
    """Accumulates images and annotations frame by frame; ``result()`` gives the COCO dict."""

    def __init__(self, manifest: dict, settings: OutputSettings, cats: list[dict]):
        self.manifest, self.settings = manifest, settings
        self.cats = cats
        self.cat_ids = {c["name"]: c["id"] for c in cats}
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.kp_names: dict[str, set[str]] = {c["name"]: set() for c in cats}
        self.pending_kp: list[tuple[dict, str, list[dict]]] = []
        self.polygon = settings.coco_segmentation == "polygon"
        self.videos: dict[int, dict] = {}
        self.tracks: dict[int, dict] = {}

    def add(self, rec: dict, objs: list[dict]) -> None:
        frame = rec["frame"]
        image = {
            "id": frame + 1,
            "file_name": _image_file_name(rec, frame),
            "width": rec["width"],
            "height": rec["height"],
            "synthkiln": {"frame": frame, "seed": rec.get("seed")},
        }
        clip = clip_frame(rec)
        if clip is not None:
            video = clip.index + 1
            image.update(video_id=video, video=clip.name, frame_index=clip.frame, frame_id=clip.frame)
            self.videos.setdefault(video, {"id": video, "name": clip.name, "width": rec["width"],
                                           "height": rec["height"], "length": clip.length, "fps": clip.fps})
        self.images.append(image)
        for obj in objs:
            rle = obj.get("rle")
            if rle is None:
                raise DatasetError(f"{layout.record_name(frame)}: object {obj.get('name')!r} has area "
                                   f"{obj.get('area')} but no rle")
            ann = {
                "id": annotation_id(frame, obj["instance_id"]),
                "image_id": frame + 1,
                "category_id": self.cat_ids[obj["category"]],
                "bbox": obj["bbox"],
                "area": obj["area"],
                "segmentation": _polygons(rle, obj, frame) if self.polygon else rle,
                "iscrowd": 0,
                "attributes": obj.get("attributes") or {},
            }
            for extra in ("amodal_bbox", "visibility", "truncation"):
                if extra in obj:
                    ann[extra] = obj[extra]
            if clip is not None:
                track = global_track_id(clip.index, track_id(rec, obj))
                ann.update(video_id=clip.index + 1, track_id=track, instance_id=track)
                self.tracks.setdefault(track, {"id": track, "category_id": ann["category_id"],
                                               "video_id": clip.index + 1})
            kps = obj.get("keypoints")
            if kps:
                self.kp_names[obj["category"]].update(k["name"] for k in kps)
                self.pending_kp.append((ann, obj["category"], kps))
            self.annotations.append(ann)

    def _finish_keypoints(self) -> list[dict]:
        """Categories with their keypoint names, and every annotation of such a category with its
        [x, y, v] * n (all zero for an object that defines none)."""
        out_cats, order = [], {}
        for c in self.cats:
            c = {k: c[k] for k in ("id", "name", "supercategory", "keypoints", "skeleton") if k in c}
            names = c.get("keypoints") or sorted(self.kp_names[c["name"]])
            if names:
                c["keypoints"], c["skeleton"] = list(names), c.get("skeleton") or []
                order[c["id"]] = c["keypoints"]
            out_cats.append(c)
        index = {cid: {n: i for i, n in enumerate(names)} for cid, names in order.items()}
        kps_of = {id(ann): kps for ann, _, kps in self.pending_kp}
        for ann in self.annotations:
            where = index.get(ann["category_id"])
            if where is None:
                continue
            flat: list[float] = [0] * (3 * len(where))
            count = 0
            for k in kps_of.get(id(ann), ()):
                v = k.get("v") or 0
                i = where.get(k["name"])
                if v > 0 and i is not None:
                    u, w = k["uv"]
                    flat[3 * i:3 * i + 3] = (u - 0.5, w - 0.5, int(v))
                    count += 1
            ann["keypoints"] = flat
            ann["num_keypoints"] = count
        return out_cats

    def result(self) -> dict:
        cats = self._finish_keypoints()
        m = self.manifest
        video = {}
        if self.videos:
            present: dict[int, set[int]] = {}
            for tr in self.tracks.values():
                present.setdefault(tr["video_id"], set()).add(tr["category_id"])
            ids = [c["id"] for c in cats]
            # labels are exhaustive: every category absent from a video is a verified negative (TAO's fields)
            video = {"videos": [dict(self.videos[k], neg_category_ids=[i for i in ids if i not in present.get(k, ())],
                                     not_exhaustive_category_ids=[]) for k in sorted(self.videos)],
                     "tracks": [self.tracks[k] for k in sorted(self.tracks)]}
        return {
            "info": {
                "description": m.get("description") or f"{m.get('generator', 'SynthKiln')} dataset",
                "version": m.get("version", ""),
                "date_created": m.get("created", ""),
                "contributor": "SynthKiln",
            },
            "licenses": [],
            "images": self.images,
            "annotations": self.annotations,
            "categories": cats,
            **video,
        }


def build_coco(manifest: dict, records: Iterable[dict], *, source: Path | None = None) -> dict:
    """The COCO dict for a manifest and its frame records (any order; output is sorted by frame), with
    the manifest's export filters applied.

    ``source`` is the dataset folder, used only to name record files in error messages.
    """
    settings = export_settings(manifest)
    keep = Objects(manifest, settings, source)
    by_frame: dict[int, dict] = {}
    for rec in records:
        frame = rec.get("frame")
        if not isinstance(frame, int) or frame < 0:
            raise DatasetError(f"frame record without a valid 'frame' index: {str(rec)[:80]}")
        if frame in by_frame:
            raise DatasetError(f"{keep.where(frame)}: frame {frame} appears twice (overlapping shards?)")
        by_frame[frame] = check_record(rec, keep.where(frame))    # records from anywhere: the reader's checks
    builder = CocoBuilder(manifest, settings, categories(manifest, settings))
    for frame in sorted(by_frame):
        builder.add(by_frame[frame], keep(by_frame[frame]))
    return builder.result()


class CocoWriter:
    """``exports/coco``: the all-frames file and one file per subset, with the subsets' images linked."""
    DIR = "coco"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        self.builder = CocoBuilder(ctx.manifest, ctx.settings, ctx.categories)
        self.subset: dict[int, str] = {}            # image id -> subset
        for name in ctx.subsets.names:
            (out / "images" / name).mkdir(parents=True, exist_ok=True)
        (out / "annotations").mkdir(exist_ok=True)

    def add(self, rec: dict, objs: list[dict]) -> None:
        self.builder.add(rec, objs)
        subset = self.subset[rec["frame"] + 1] = self.ctx.split(rec["frame"])
        name, src = self.ctx.image(rec)
        self.ctx.link(src, str(self.out / "images" / subset / name))

    def finish(self) -> Path:
        whole = self.builder.result()
        _write_json(self.out / ANNOTATIONS, whole)
        for subset in self.ctx.subsets.names:
            images = [dict(im, file_name=posixpath.basename(im["file_name"]))
                      for im in whole["images"] if self.subset[im["id"]] == subset]
            ids = {im["id"] for im in images}
            part = dict(whole, images=images, annotations=[a for a in whole["annotations"] if a["image_id"] in ids])
            if "videos" in whole:
                vids = {im["video_id"] for im in images}
                part["videos"] = [v for v in whole["videos"] if v["id"] in vids]
                part["tracks"] = [t for t in whole["tracks"] if t["video_id"] in vids]
            _write_json(self.out / SUBSET_FILE.format(subset), part)
        return self.out / ANNOTATIONS


def _write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))
