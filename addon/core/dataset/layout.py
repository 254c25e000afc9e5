"""Where everything lives inside a dataset folder (DESIGN §4). One place, so writers, the runner,
``export`` and ``check`` can never disagree about a file name."""

from __future__ import annotations

from pathlib import Path

MANIFEST = "synthkiln.json"
IMAGES, MASKS, DEPTH, FRAMES, EXPORTS = "images", "masks", "depth", "frames", "exports"
SEMANTIC, DISTANCE, NORMALS, FLOW = "semantic", "distance", "normals", "flow"


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


def record_name(index: int) -> str:
    return f"{FRAMES}/{stem(index)}.json"


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
