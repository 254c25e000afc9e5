"""Jobs and shards (DESIGN §5): which frames a process renders, the job manifest, and the frame sample.

Frame ``i`` depends only on (recipe, seed, i), so any process can render any frame; shard ``k`` of
``n`` takes a contiguous block of indices. Resume is the default: frames whose record exists are done.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import layout
from .errors import DatasetError, UserError
from .fsio import atomic_write_json
from .randomizers import Context
from .recipe import Recipe, recipe_to_data
from .rng import stream

GENERATOR = "SynthKiln"
VERSION = "0.1.0"


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    def frames(self, total: int) -> range:
        """This shard's contiguous block of frame indices."""
        return range(self.index * total // self.count, (self.index + 1) * total // self.count)


def parse_shard(text: str | None, env: dict[str, str] | None = None) -> Shard:
    """``K/N`` (0-based K); ``K`` may be ``$SLURM_ARRAY_TASK_ID``-style env names resolved from ``env``."""
    if not text:
        return Shard()
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise UserError(f"--shard {text!r}: expected K/N, e.g. 0/4 (K counts from 0)")
    k_text, n = m.group(1), int(m.group(2))
    if not k_text.isdigit():
        value = (env or {}).get(k_text)
        if value is None or not value.strip().isdigit():
            raise UserError(f"--shard {text!r}: environment variable {k_text} is not set to a shard number")
        k_text = value.strip()
    k = int(k_text)
    if n < 1 or not 0 <= k < n:
        raise UserError(f"--shard {text!r}: shard index {k} out of range: expected 0 <= K < N with N >= 1")
    return Shard(k, n)


def sample_frame(recipe: Recipe, seed: int, index: int, contexts: dict[str, Context]) -> dict[str, Any]:
    """Every enabled randomizer's draw for frame ``index``; each from its own named stream."""
    values = {}
    for r in recipe.randomizers.all():
        if r.enabled:
            values[r.key()] = r.sample(stream(seed, index, r.key()), contexts.get(r.key(), Context()))
    return values


def recipe_hash(recipe: Recipe) -> str:
    """Identity of what frames look like: the recipe without the output fields that don't change them."""
    data = recipe_to_data(recipe)
    out = dict(data["output"])
    for k in ("directory", "frames", "coco", "previews"):
        out.pop(k, None)
    data["output"] = out
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def make_manifest(recipe: Recipe, blender_version: str) -> dict[str, Any]:
    return {
        "generator": GENERATOR, "version": VERSION, "blender": blender_version,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": recipe.output.seed, "frames": recipe.output.frames, "recipe_hash": recipe_hash(recipe),
        "categories": [{"id": i + 1, "name": c.name, "supercategory": c.supercategory}
                       for i, c in enumerate(recipe.categories)],
        "recipe": recipe_to_data(recipe),
    }


def open_dataset(root: Path, recipe: Recipe, blender_version: str) -> dict[str, Any]:
    """Create or reopen a dataset folder for this recipe; refuses one made by another recipe or seed."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        layout.make_dirs(root)
    except OSError as e:
        raise DatasetError(f"cannot create the output folder {root}: {e.strerror or e}") from None
    path = root / layout.MANIFEST
    manifest = make_manifest(recipe, blender_version)
    if path.exists():
        old = read_manifest(root)
        if (old.get("recipe_hash"), old.get("seed")) != (manifest["recipe_hash"], manifest["seed"]):
            raise DatasetError(f"{root} holds a dataset made with another recipe or seed; "
                               "choose a new output folder (or delete this one) to start a new job")
        manifest["created"] = old.get("created", manifest["created"])
        manifest["frames"] = max(int(old.get("frames", 0)), manifest["frames"])
        if old == manifest:
            return manifest
    try:
        atomic_write_json(path, manifest, indent=1)
    except OSError as e:
        raise DatasetError(f"cannot write to the output folder {root}: {e.strerror or e}") from None
    return manifest


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / layout.MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{root} is not a SynthKiln dataset (no {layout.MANIFEST})") from None
    except (OSError, ValueError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
