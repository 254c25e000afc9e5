"""Helpers the export writers share: the object filter, the subset split, image links, the writer context."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..dataset import layout
from ..errors import DatasetError, UserError
from ..recipe.model import OutputSettings
from ..dataset.records import ID_STRIDE, categories, dataset_path, record_file


class Objects:
    """Checks a record's objects and keeps those the exports show (visible, and through the filters).
    Records come through ``records.read_record`` (types checked); this checks what the writers' maths
    needs of the values: unique ids, known categories, boxes inside the image, masks of its size."""

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
        s, w, h = self.settings, rec["width"], rec["height"]
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
            box = obj.get("bbox")
            if box is None:
                raise DatasetError(f"{self.where(frame)}: object {obj.get('name')!r} has area {area} but no bbox")
            x, y, bw, bh = box
            if bw <= 0 or bh <= 0 or x < 0 or y < 0 or x + bw > w or y + bh > h:
                raise DatasetError(f"{self.where(frame)}: object {obj.get('name')!r}: bbox {box}: expected a box "
                                   f"of positive size inside the {w}x{h} image")
            rle = obj.get("rle")
            if isinstance(rle, dict) and list(rle.get("size") or ()) != [h, w]:
                raise DatasetError(f"{self.where(frame)}: object {obj.get('name')!r}: rle size {rle['size']}: "
                                   f"expected the image's [height, width], [{h}, {w}]")
            vis = obj.get("visibility")
            if (area < s.min_area or cat not in self.kept
                    or (vis is not None and s.min_visibility > 0 and vis < s.min_visibility)):
                continue
            out.append(obj)
        return out


def _unit(seed: int, frame: int) -> float:
    digest = hashlib.blake2b(f"synthkiln-split:{seed}:{frame}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


@dataclass(frozen=True)
class Split:
    """Named subsets and their shares. A frame's subset comes from a hash of (job seed, frame) alone, so it
    is the same in every shard, rerun and export order, and never changes when the job grows. The shares
    are laid on [0, 1) from the last subset backwards, so ``train,val=0.8,0.2`` is exactly the split that
    ``output.val_fraction: 0.2`` gives."""
    names: tuple[str, ...] = ("train", "val")
    shares: tuple[float, ...] = (0.8, 0.2)

    @classmethod
    def from_val_fraction(cls, val_fraction: float) -> "Split":
        return cls(("train", "val"), (1.0 - float(val_fraction), float(val_fraction)))

    @classmethod
    def parse(cls, text: str, where: str = "--split") -> "Split":
        """``train,val,test=0.8,0.1,0.1`` (shares are normalised, so ``=8,1,1`` is the same)."""
        names_text, eq, shares_text = str(text).partition("=")
        names = tuple(n.strip() for n in names_text.split(","))
        expected = "expected NAMES=SHARES, e.g. train,val,test=0.8,0.1,0.1"
        if not eq or not all(names) or len(set(names)) != len(names):
            raise UserError(f"{where} {text!r}: {expected} (distinct names)")
        if not all(re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in names):
            raise UserError(f"{where} {text!r}: subset names are letters, digits, _ and -")
        try:
            shares = tuple(float(v) for v in shares_text.split(","))
        except ValueError:
            raise UserError(f"{where} {text!r}: {expected} (numbers after '=')") from None
        if len(shares) != len(names) or any(not 0 <= v < float("inf") for v in shares) or sum(shares) <= 0:
            raise UserError(f"{where} {text!r}: {expected} (one share >= 0 per name, not all 0)")
        total = sum(shares)
        return cls(names, tuple(v / total for v in shares))

    def of(self, seed: int, frame: int) -> str:
        u, edge = _unit(seed, frame), 0.0
        for name, share in zip(reversed(self.names), reversed(self.shares)):
            edge += share
            if u < edge:
                return name
        return self.names[0]


def split_of(seed: int, frame: int, val_fraction: float) -> str:
    """"train" or "val" for a frame under ``val_fraction`` (``Split.from_val_fraction``)."""
    return Split.from_val_fraction(val_fraction).of(seed, frame)


def image_rel(rec: dict) -> str:
    """The record's image, relative to the dataset root (checked to stay inside it)."""
    rel = (rec.get("files") or {}).get("image") or layout.image_name(rec["frame"])
    return record_file(rel, layout.record_name(rec["frame"]), "files.image")


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
    subsets: Split | None = None        # None: train/val by the recipe's output.val_fraction

    def __post_init__(self):
        if self.subsets is None:
            self.subsets = Split.from_val_fraction(self.settings.val_fraction)

    @property
    def seed(self) -> int:
        return int(self.manifest.get("seed") or 0)

    def split(self, frame: int) -> str:
        """The frame's subset; in a clip job its clip's (frame // clip_length), so no clip straddles two
        subsets (a tracker validated on frames of its training clips would be judged on what it saw)."""
        return self.subsets.of(self.seed, frame // self.settings.shard_unit())

    def image(self, rec: dict) -> tuple[str, str]:
        """(file name, path) of the record's image, which must lie inside the dataset (``dataset_path``):
        the writers link it into the exports, so a record naming another file must never get it there."""
        rel = image_rel(rec)
        path = dataset_path(self.root, rel, layout.record_name(rec["frame"]), "files.image")
        return posixpath.basename(rel), str(path)
