"""Where everything lives inside a dataset folder (DESIGN §4). One place, so writers, the runner,
``export`` and ``check`` can never disagree about a file name."""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from ..fsio import STAGING, TEMP_MARK

MANIFEST = "synthkiln.json"
IMAGES, MASKS, DEPTH, FRAMES, EXPORTS = "images", "masks", "depth", "frames", "exports"
SEMANTIC, DISTANCE, NORMALS, FLOW = "semantic", "distance", "normals", "flow"
CLEAN = "clean"     # a small thumbnail of the render before the sensor stack (some frames; the report)
SHARDS, JOBS = "shards", "jobs"     # heartbeats and frame-time logs; farm job files (default --job-dir)


def stem(index: int) -> str:
    return f"{index:06d}"


def image_name(index: int, ext: str = "png") -> str:
    return f"{IMAGES}/{stem(index)}.{ext}"


def mask_name(index: int) -> str:
    return f"{MASKS}/{stem(index)}.png"


def depth_name(index: int) -> str:
    return f"{DEPTH}/{stem(index)}.exr"


def semantic_name(index: int) -> str:
    return f"{SEMANTIC}/{stem(index)}.png"


def distance_name(index: int) -> str:
    return f"{DISTANCE}/{stem(index)}.exr"


def normals_name(index: int) -> str:
    return f"{NORMALS}/{stem(index)}.exr"


def flow_name(index: int) -> str:
    return f"{FLOW}/{stem(index)}.exr"


def clean_name(index: int, ext: str = "jpg") -> str:
    return f"{CLEAN}/{stem(index)}.{ext}"


def record_name(index: int) -> str:
    return f"{FRAMES}/{stem(index)}.json"


def frame_files(index: int) -> list[str]:
    """Every file a frame may have besides its record (those its output did not ask for do not exist)."""
    stem_ = stem(index)
    return [f"{IMAGES}/{stem_}.{ext}" for ext in ("png", "jpg")] + [
        mask_name(index), depth_name(index), semantic_name(index), distance_name(index), normals_name(index),
        flow_name(index)] + [clean_name(index, ext) for ext in ("jpg", "png")]


def make_dirs(root: Path, extra: tuple[str, ...] = ()) -> None:
    """The frame folders; optional ones (``extra``: SEMANTIC, DISTANCE, ...) only where the output asks."""
    for sub in (IMAGES, MASKS, DEPTH, FRAMES, *extra):
        (Path(root) / sub).mkdir(parents=True, exist_ok=True)


def record_indices(root: Path) -> list[int]:
    """Indices of the frames that are complete (their record exists; it is written last)."""
    out = []
    for p in (Path(root) / FRAMES).glob("*.json"):
        if p.stem.isdigit():
            out.append(int(p.stem))
    return sorted(out)


def claim_output(root: Path) -> None:
    """Refuse to write a dataset into a folder that holds something else: ``root`` must be missing, a
    dataset (its manifest), or hold only what a job writes before its manifest (farm job files in
    ``jobs/``, heartbeats in ``shards/``, temp files of a crashed writer). So nothing of a user's is
    ever overwritten. A pool's processes claim the folder at once: one may write the manifest between the
    first check and the scan (the scan then finds it), so the manifest is looked for again before refusing."""
    root = Path(root)
    if (root / MANIFEST).is_file():
        return
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root}: exists and is not a folder; choose a dataset folder")
    try:
        foreign = next(_foreign_files(root), None) if root.is_dir() else None
    except OSError as e:
        raise DatasetError(f"cannot read the output folder {root}: {e.strerror or e}") from None
    if foreign is not None and not (root / MANIFEST).is_file():
        raise DatasetError(f"{root}: not empty and not a SynthKiln dataset (no {MANIFEST}; it holds "
                           f"{foreign.relative_to(root).as_posix()!r}); choose a new or empty folder, so "
                           "nothing in this one is overwritten")


def _foreign_files(folder: Path, top: bool = True):
    """Files a job would not have written before its manifest (lazily: the first one decides)."""
    for p in folder.iterdir():
        if p.name.startswith(".") and (TEMP_MARK in p.name or STAGING in p.name):
            continue
        if top and p.name in (JOBS, SHARDS) and p.is_dir():
            continue
        if p.is_dir() and not p.is_symlink():
            yield from _foreign_files(p, top=False)
        else:
            yield p
