"""Jobs and shards (DESIGN §5): which frames a process renders, the job manifest, and the frame sample.

Frame ``i`` depends only on (recipe, seed, i), so any process can render any frame; shard ``k`` of
``n`` takes a contiguous block of indices. Resume is the default: frames whose record exists are done.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import VERSION
from . import layout
from .records import read_json
from ..errors import DatasetError, UserError
from ..fsio import atomic_write_json
from ..params.distributions import Distribution, rare_tally
from ..randomizers import Context, FrameState, Randomizer
from ..recipe.model import Recipe, recipe_to_data
from ..params.rng import stream
from ..params.schema import field_specs

GENERATOR = "SynthKiln"


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1
    unit: int = 1       # frames that stay together: a clip job's clip_length (``OutputSettings.shard_unit``)

    def frames(self, total: int) -> range:
        """This shard's contiguous block of frame indices: whole units (clips), so one process renders every
        frame of a clip; shards of shards (the worker pool's chunks) nest inside them."""
        u = self.unit
        blocks = -(-total // u)
        return range(min(total, u * (self.index * blocks // self.count)),
                     min(total, u * ((self.index + 1) * blocks // self.count)))

    def of(self, recipe: Recipe) -> "Shard":
        """This shard in units of ``recipe``'s clips (itself for a still job)."""
        return dataclasses.replace(self, unit=recipe.output.shard_unit())


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


def application_order(recipe: Recipe) -> list[Randomizer]:
    """Enabled randomizers in the order they are sampled and applied: by phase (objects, materials,
    camera, lighting, environment; a type may ask to run later, e.g. occluders after the camera), then
    stack position."""
    enabled = [r for r in recipe.randomizers.all() if r.enabled]
    return sorted(enabled, key=lambda r: r.phase())     # sorted() is stable: stack order within a phase


def swaps_meshes(recipe: Recipe) -> bool:
    """Whether an enabled randomizer puts other meshes in objects per frame (the render keeps its light tree)."""
    return any(r.SWAPS_MESHES for r in application_order(recipe))


def views_per_scene(recipe: Recipe) -> int:
    return max([r.views() for r in recipe.randomizers.all() if r.enabled] or [1])


def clip_of(recipe: Recipe, index: int) -> tuple[int, int] | None:
    """(clip c, frame t within it) of dataset frame ``index = c * clip_length + t``; None in a still job."""
    out = recipe.output
    return divmod(index, out.clip_length) if out.clips > 0 else None


def frame_state(recipe: Recipe, index: int) -> FrameState:
    """The shared state a frame's sampling starts from: which scene sample (and clip frame) it is."""
    clip = clip_of(recipe, index)
    if clip is not None:
        return FrameState(index=index, scene_index=clip[0], balance=recipe.balance_shares(), clip=clip[0],
                          clip_frame=clip[1], clip_length=recipe.output.clip_length)
    return FrameState(index=index, scene_index=index // views_per_scene(recipe), balance=recipe.balance_shares())


def sample_frame(recipe: Recipe, seed: int, index: int, contexts: dict[str, Context],
                 rare: dict[str, list[int]] | None = None, clip_keys: tuple[int, ...] = ()) -> dict[str, Any]:
    """Every enabled randomizer's draw for frame ``index``, each from its own named stream, in
    application order, sharing one ``FrameState``. With several views per scene sample, the scene's
    draws are keyed by ``index // views`` and only per-view randomizers by ``index``. In a clip job every
    draw is keyed by the clip (its start state); motion types turn that into the state at frame t, so
    clip c depends only on (recipe, seed, c) and any frame of it can be rendered alone. ``clip_keys``:
    the clip frames motion is evaluated at (default t-1, t, t+1; a preview keys the whole clip).

    ``rare``, if given, is filled with ``{"<key>.<field>": [draws, rare draws]}`` for every parameter
    with a rare-event mixture (what the dataset report compares with ``rare.p``)."""
    state = frame_state(recipe, index)
    if clip_keys:
        state.clip_keys = tuple(clip_keys)
    values = {}
    for r in application_order(recipe):
        ctx = contexts.get(r.key()) or Context()
        ctx = dataclasses.replace(ctx, frame=state)
        key_index = state.scene_index if state.clip >= 0 or not r.PER_VIEW else index
        with rare_tally() as tally:
            values[r.key()] = r.sample(stream(seed, key_index, r.key()), ctx)
        if rare is not None:
            for path, d in rare_parameters(r):
                rare[f"{r.key()}.{path}"] = tally.get(id(d), [0, 0])
    return values


def rare_parameters(obj: Any, prefix: str = "") -> list[tuple[str, Distribution]]:
    """(field path, distribution) of every parameter of a randomizer with a rare-event mixture."""
    out = []
    for spec in field_specs(type(obj)):
        value = getattr(obj, spec.name)
        if spec.kind == "dist" and value.rare_p > 0.0:
            out.append((prefix + spec.name, value))
        elif spec.kind == "struct":
            out.extend(rare_parameters(value, f"{prefix}{spec.name}."))
    return out


def object_attributes(recipe: Recipe, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Attributes that randomizers set on objects this frame (e.g. a palette colour's name)."""
    out: dict[str, dict[str, Any]] = {}
    for r in application_order(recipe):
        v = values.get(r.key())
        if r.PER_OBJECT and isinstance(v, dict):
            for name, per in v.items():
                if isinstance(per, dict) and per.get("attributes"):
                    out.setdefault(name, {}).update(per["attributes"])
    return out


def object_categories(recipe: Recipe, values: dict[str, Any]) -> dict[str, str]:
    """Categories that randomizers give objects this frame (an asset pool's slot takes its asset's)."""
    out: dict[str, str] = {}
    for r in application_order(recipe):
        v = values.get(r.key())
        if r.PER_OBJECT and isinstance(v, dict):
            for name, per in v.items():
                if isinstance(per, dict) and per.get("visible") and per.get("category"):
                    out[name] = per["category"]
    return out


def recipe_hash(recipe: Recipe) -> str:
    """Identity of what frames look like: the recipe without the output fields that don't change them."""
    data = recipe_to_data(recipe)
    out = dict(data["output"])
    for k in ("directory", "frames", "exports", "coco_segmentation", "val_fraction", "min_visibility", "min_area",
              "include_categories", "previews"):      # export-only: they never change what a frame holds
        out.pop(k, None)
    data["output"] = out
    # where a frame is computed, not what it shows: labels are identical on any device (pixels differ only by
    # noise), so a GPU farm may finish a CPU job and `auto` may land on either
    data["render"] = {k: v for k, v in data["render"].items() if k not in ("device", "gpu_backend", "threads")}
    if not data["render"].get("motion_blur"):
        data["render"].pop("motion_blur", None)
    if not out.get("clips"):      # a still job (issue 19) keeps older datasets' identity
        out.pop("clips", None)
        out.pop("clip_length", None)
    data["categories"] = [{k: v for k, v in c.items() if k != "color"} for c in data["categories"]]   # previews only
    for stack in data["randomizers"].values():     # physics_drop settling before a clip keeps older identities
        for r in stack:
            if r.get("type") == "physics_drop" and not r.get("during_clip"):
                r.pop("during_clip", None)
    if not data["randomizers"].get("sensor"):     # an empty sensor stack (issue 18) keeps older datasets' identity
        data["randomizers"] = {k: v for k, v in data["randomizers"].items() if k != "sensor"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def make_manifest(recipe: Recipe, blender_version: str) -> dict[str, Any]:
    return {
        "generator": GENERATOR, "version": VERSION, "blender": blender_version,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": recipe.output.seed, "frames": recipe.output.frames, "recipe_hash": recipe_hash(recipe),
        "categories": [{"id": i + 1, "name": c.name, "supercategory": c.supercategory, "color": list(c.color)}
                       for i, c in enumerate(recipe.categories)],
        "recipe": recipe_to_data(recipe),
    }


def merge_devices(*lists: list | None) -> list[dict]:
    """The devices a job rendered on (``Choice.to_data()`` entries), each once, in a stable order."""
    seen: dict[str, dict] = {}
    for entries in lists:
        for d in entries or []:
            if isinstance(d, dict):
                seen.setdefault(json.dumps(d, sort_keys=True), d)
    return [seen[k] for k in sorted(seen)]


def open_dataset(root: Path, recipe: Recipe, blender_version: str, device: dict | None = None) -> dict[str, Any]:
    """Create or reopen a dataset folder for this recipe; refuses one made by another recipe or seed.
    ``device``: what this process renders on, added to the manifest's ``devices``."""
    root = Path(root)
    layout.claim_output(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        out = recipe.output
        layout.make_dirs(root, tuple(d for d, on in ((layout.SEMANTIC, out.semantic), (layout.DISTANCE, out.distance),
                                                     (layout.NORMALS, out.normals), (layout.FLOW, out.flow)) if on))
    except OSError as e:
        raise DatasetError(f"cannot create the output folder {root}: {e.strerror or e}") from None
    path = root / layout.MANIFEST
    manifest = make_manifest(recipe, blender_version)
    if path.exists():
        old = claim_job(root, recipe)
        manifest["created"] = old.get("created", manifest["created"])
        manifest["frames"] = max(int(old.get("frames", 0)), manifest["frames"])
        if old.get("devices") or device:
            manifest["devices"] = merge_devices(old.get("devices"), [device] if device else None)
        if old == manifest:
            return manifest
    elif device:
        manifest["devices"] = [device]
    try:
        atomic_write_json(path, manifest, indent=1)
    except OSError as e:
        raise DatasetError(f"cannot write to the output folder {root}: {e.strerror or e}") from None
    return manifest


def claim_job(root: Path, recipe: Recipe) -> dict[str, Any] | None:
    """The dataset's manifest if ``root`` holds one of this recipe and seed (None: no dataset yet); a dataset
    of another job is refused, even when it is complete and nothing would be rendered."""
    layout.claim_output(root)
    if not (Path(root) / layout.MANIFEST).exists():
        return None
    old = read_manifest(root)
    if (old.get("recipe_hash"), old.get("seed")) != (recipe_hash(recipe), recipe.output.seed):
        raise DatasetError(f"{root} holds a dataset made with another recipe or seed; "
                           "choose a new output folder (or delete this one) to start a new job")
    return old


def manifest_unit(manifest: dict[str, Any]) -> int:
    """The shard unit of a dataset's job from its manifest: clip_length for a clip job, else 1."""
    out = (manifest.get("recipe") or {}).get("output") or {}
    try:
        return max(1, int(out.get("clip_length") or 1)) if int(out.get("clips") or 0) > 0 else 1
    except (TypeError, ValueError):
        return 1


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / layout.MANIFEST
    if not path.exists() and not path.is_symlink():
        raise DatasetError(f"{root} is not a SynthKiln dataset (no {layout.MANIFEST})")
    manifest = read_json(path)      # bounded, regular files only: a manifest linked to /dev/zero is refused
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    return manifest
