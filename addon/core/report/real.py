"""The real side of a comparison: a human-labelled COCO file (and, optionally, its images) read into the
same ``Stats`` as the synthetic data.

COCO files come from many tools, so the reader checks the structure it needs and names the first
thing that is wrong (file, JSON path, what was expected) instead of failing somewhere deep inside a plot.
Crowd regions (``iscrowd: 1``) are not instances and are left out, as COCO's own evaluation does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..dataset.records import load_json
from .model import REAL, RealFrame, Stats
from .stats import MAX_BRIGHTNESS_IMAGES, BoxStats, brightness, spread


def _load(path: Path) -> dict:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        data = load_json(text)          # orjson where installed: a COCO train split is hundreds of MB
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a COCO file: it is not text (expected COCO JSON)") from None
    except json.JSONDecodeError as e:   # orjson's error is one of these too, with line and column
        raise UserError(f"{path}:{e.lineno}:{e.colno}: not a COCO file: invalid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a COCO file: expected a JSON object with images, annotations and "
                        f"categories, got a {type(data).__name__}")
    return data


def _list(data: dict, key: str, path: Path) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        got = "missing" if key not in data else f"a {type(value).__name__}"
        raise UserError(f"{path}: not a COCO file: '{key}' is {got}, expected a list")
    return value


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def read_real(path: Path, images_dir: Path | None = None, image_budget: int = MAX_BRIGHTNESS_IMAGES,
              note: Callable[[str], None] = lambda _: None, samples: int = 0) -> tuple[Stats, list[RealFrame]]:
    """Statistics of a COCO detection/segmentation file, and (with ``images_dir``, where its images are)
    brightness and ``samples`` images spread over the file, with their boxes, for a contact sheet."""
    path = Path(path)
    data = _load(path)
    images, anns, cats = (_list(data, k, path) for k in ("images", "annotations", "categories"))
    if not images:
        raise UserError(f"{path}: the COCO file lists no images: nothing to compare with")

    names: dict[int, str] = {}
    for i, c in enumerate(cats):
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("name"), str):
            raise UserError(f"{path}: categories[{i}]: expected {{\"id\": int, \"name\": str}}, got {c!r:.80}")
        names[c["id"]] = c["name"]
    sizes: dict[int, tuple[int, int]] = {}
    files: dict[int, str] = {}
    for i, im in enumerate(images):
        ok = isinstance(im, dict) and isinstance(im.get("id"), int) and all(
            _number(im.get(k)) and im[k] > 0 for k in ("width", "height"))
        if not ok:
            raise UserError(f"{path}: images[{i}]: expected an integer 'id' and positive 'width' and 'height', "
                            f"got {im!r:.80}")
        sizes[im["id"]] = (int(im["width"]), int(im["height"]))
        files[im["id"]] = str(im.get("file_name") or "")

    acc = BoxStats()
    per_image = dict.fromkeys(sizes, 0)
    boxes: dict[int, list[tuple[str, list[float]]]] = {i: [] for i in sizes}
    crowd = 0
    for i, a in enumerate(anns):
        where = f"{path}: annotations[{i}]"
        if not isinstance(a, dict):
            raise UserError(f"{where}: expected an object, got {a!r:.80}")
        if a.get("iscrowd"):
            crowd += 1
            continue
        if a.get("image_id") not in sizes:
            raise UserError(f"{where}: image_id {a.get('image_id')!r} is not in 'images'")
        if a.get("category_id") not in names:
            raise UserError(f"{where}: category_id {a.get('category_id')!r} is not in 'categories'")
        box = a.get("bbox")
        if not (isinstance(box, list) and len(box) == 4 and all(_number(v) for v in box)):
            raise UserError(f"{where}: bbox must be [x, y, width, height] numbers, got {box!r:.80}")
        w, h = sizes[a["image_id"]]
        acc.box(names[a["category_id"]], box, w, h)
        per_image[a["image_id"]] += 1
        boxes[a["image_id"]].append((names[a["category_id"]], [float(v) for v in box]))
    for n in per_image.values():
        acc.add("objects_per_image", n)
    if crowd:
        note(f"{crowd} crowd region{'s' if crowd != 1 else ''} (iscrowd 1) in the real data "
             "are not counted as objects.")

    frames: list[RealFrame] = []
    if images_dir is not None:
        ids = list(sizes)
        picked = [ids[i] for i in spread(len(ids), image_budget)]
        missing = 0
        for image_id in picked:
            value = brightness(Path(images_dir) / files[image_id]) if files[image_id] else None
            missing += value is None
            acc.add("brightness", value)
        if missing == len(picked):
            raise UserError(f"--images {images_dir}: none of the COCO file's images are there "
                            f"(looked for e.g. {files[picked[0]] or '(no file_name)'!r})")
        if missing:
            note(f"{missing} of {len(picked)} real images could not be read from {images_dir}; "
                 "brightness leaves them out.")
        if len(picked) < len(ids):
            note(f"Real image brightness is measured on {len(picked)} of {len(ids)} images.")
        frames = [RealFrame(Path(images_dir) / files[ids[i]], files[ids[i]], boxes[ids[i]])
                  for i in spread(len(ids), samples) if files[ids[i]]]
    return acc.stats(REAL, len(images), [names[k] for k in names]), frames
