"""Contracts over the registries, not copies per type: every randomizer type in ``Randomizer.REGISTRY`` draws
the same values for the same (seed, frame, name) and different ones when any of them changes, and writes
plain JSON (what the frame record stores, so a frame can be re-applied from its record alone); every export
format a recipe may ask for (``EXPORT_FORMATS``) has a writer. A new type or format is covered by being
registered. The Blender half (every type has an applier) is ``tests/bpy/test_contracts.py``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from synthkiln.addon.core.exports import build
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import from_data
from synthkiln.addon.core.randomizers import Context, FrameState, Randomizer
from synthkiln.addon.core.randomizers.surface import box_corners
from synthkiln.addon.core.recipe.model import CLIP_FORMATS, EXPORT_FORMATS

from tests.helpers.clip_dataset import make_clip_dataset
from tests.helpers.known_dataset import make_dataset

TARGETS = ["Bowl", "Box", "Mug", "Mug.001"]
CORNERS = box_corners((-0.05, -0.03, 0.0), (0.05, 0.03, 0.12)).tolist()
# What the appliers' ``context`` hands the samplers, for every type at once: each reads the keys it knows.
DATA = {"images": ["bricks.png", "dots.png", "stripes.png"], "photos": ["p1.jpg", "p2.jpg", "p3.png"],
        "hdri_files": ["a.exr", "b.hdr"], "light_types": {n: "AREA" for n in TARGETS},
        "corners": {n: CORNERS for n in TARGETS}, "categories": {n: "mug" for n in TARGETS},
        "assets": [{"id": f"s/{f}", "file": f, "category": "mug", "attributes": {}}
                   for f in ("a.glb", "b.ply", "c.stl", "d.obj", "e.fbx", "f.usdc", "g.gltf")]}
# Parameters for types whose defaults draw the same every frame (one camera to pick from).
PARAMS = {"camera_select": {"cameras": {"choice": ["CamA", "CamB", "CamC"]}}}
FRAMES = range(8)
PLAIN = (str, int, float, bool, type(None))


def context(frame: int) -> Context:
    return Context(targets=list(TARGETS), footprints={n: 0.06 for n in TARGETS}, bounds=(-1.0, 1.0, -1.0, 1.0),
                   data=DATA, frame=FrameState(index=frame, scene_index=frame))


def make(t: str, name: str = "contract") -> Randomizer:
    return from_data(Randomizer.REGISTRY[t], {"name": name, **PARAMS.get(t, {})})


def draws(t: str, seed: int = 7, name: str = "contract", frames=FRAMES) -> dict[int, object]:
    """Each frame's values, drawn by a fresh randomizer from the stream of (seed, frame, name)."""
    r = make(t, name)
    return {i: r.sample(stream(seed, i, r.key()), context(i)) for i in frames}


def not_plain(value, path: str = "values") -> list[str]:
    """Where ``value`` holds anything but JSON's own types (numpy scalars, tuples, sets, non-str keys)."""
    if isinstance(value, dict):
        return [f"{path}: key {k!r}" for k in value if type(k) is not str] + \
               [p for k, v in value.items() for p in not_plain(v, f"{path}[{k!r}]")]
    if type(value) is list:
        return [p for i, v in enumerate(value) for p in not_plain(v, f"{path}[{i}]")]
    return [] if type(value) in PLAIN else [f"{path}: {type(value).__name__}"]


@pytest.mark.parametrize("t", sorted(Randomizer.REGISTRY))
def test_randomizer_contract(t):
    cls = Randomizer.REGISTRY[t]
    a = draws(t)

    # deterministic per (seed, frame, name): in any order, whatever the global random state
    random.seed(1)
    np.random.seed(1)
    assert draws(t, frames=reversed(FRAMES)) == a
    # ... and each of the three changes the draw
    assert len({json.dumps(v, sort_keys=True) for v in a.values()}) > 1, f"{t}: every frame draws the same"
    assert draws(t, seed=8) != a, f"{t}: the seed changes nothing"
    assert draws(t, name="other") != a, f"{t}: the name does not key the stream"

    # plain JSON, as stored in the frame record
    for i, v in a.items():
        assert not_plain(v) == [], f"{t}, frame {i}"
        assert json.loads(json.dumps(v)) == v
        if cls.PER_OBJECT and cls.TARGETS != "none":
            assert v and set(v) <= set(TARGETS), f"{t}: per-object values are keyed by target names"


def test_every_export_format_has_a_writer(tmp_path):
    """The formats a recipe accepts are those ``write_exports`` dispatches on, and each writes its folder
    (the tracking formats from a clip job's records, the others from a still job's)."""
    assert tuple(build.FORMATS) == tuple(EXPORT_FORMATS) and set(CLIP_FORMATS) <= set(EXPORT_FORMATS)
    stills, clips = tmp_path / "stills", tmp_path / "clips"
    make_dataset(stills, frames=range(2))
    make_clip_dataset(clips)
    for f in EXPORT_FORMATS:
        root = clips if f in CLIP_FORMATS else stills
        [main] = build.write_exports(root, [f], 0)
        assert main.exists() and main.relative_to(root).parts[:2] == ("exports", f), (f, main)
    writers = {getattr(m, name).DIR for m in (build.coco, build.yolo, build.voc, build.kitti, build.mot,
                                               build.kitti_tracking, build.video)
               for name in dir(m) if name.endswith("Writer")}
    assert writers == set(EXPORT_FORMATS), "a writer class without a format, or a format without one"
    made = {p.name for root in (stills, clips) for p in Path(root, "exports").iterdir()}
    assert made == set(EXPORT_FORMATS)
