"""Materials randomizers, pure half: ranges, palette names and balance, the rare-event mixture, schema
checks, and the bundled image textures. Determinism and plain-JSON values: the contract in test_contracts.py."""

from collections import Counter

import numpy as np
import pytest

from synthkiln.addon.core.errors import UserError
from synthkiln.addon.core.dataset.job import object_attributes, sample_frame
from synthkiln.addon.core.randomizers import Context, FrameState, Randomizer
from synthkiln.addon.core.randomizers.materials import COLOURS, TEXTURE_KINDS, colour_rgb
from synthkiln.addon.core.recipe.model import recipe_from_data
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import SchemaError, from_data

TARGETS = ["Bowl", "Box", "Mug", "Mug.001"]
IMAGES = ["bricks.png", "dots.png", "stripes.png"]
TYPES = ["material_color", "material_pbr", "procedural_texture", "image_texture", "material_swap"]


def make(data):
    data = dict(data)
    return from_data(Randomizer.REGISTRY[data.pop("type")], data)


def ctx(**frame):
    return Context(targets=list(TARGETS), data={"images": list(IMAGES)}, frame=FrameState(**frame))


def draws(r, n, seed=7):
    return [r.sample(stream(seed, i, r.key()), ctx(index=i, scene_index=i)) for i in range(n)]


@pytest.mark.parametrize("mode", ["replace", "shift", "palette"])
def test_material_color_ranges(mode):
    r = make({"type": "material_color", "mode": mode, "roughness": {"uniform": [0.2, 0.4]},
              "saturation": {"uniform": [0.5, 0.6]}, "value": {"uniform": [0.1, 0.7]}})
    for frame in draws(r, 500):
        for v in frame.values():
            assert v["mode"] == mode and 0.2 <= v["roughness"] <= 0.4
            if mode != "palette":
                h, s, val = v["hsv"]
                assert 0.5 <= s <= 0.6 and 0.1 <= val <= 0.7
            if mode == "replace":
                assert 0 <= h < 1 and all(0 <= c <= 0.7 + 1e-9 for c in v["color"])
            if mode == "palette":
                assert v["name"] in ("red", "green", "blue", "yellow", "orange", "purple", "white", "black", "grey",
                                     "brown")
                assert v["color"] == colour_rgb(v["name"])
                assert v["attributes"] == {"colour": v["name"]}


def test_per_object_off_shares_one_draw():
    for t in TYPES:
        r = make({"type": t, "per_object": False})
        for frame in draws(r, 20):
            assert len({repr(v) for v in frame.values()}) == 1, t
    r = make({"type": "material_color"})
    assert any(len({repr(v) for v in frame.values()}) == len(TARGETS) for frame in draws(r, 5))


def test_colour_names_and_hex():
    assert all(colour_rgb(n) is not None for n in COLOURS)
    assert colour_rgb("#ff0000") == [1.0, 0.0, 0.0]
    assert colour_rgb("#FFFFFF") == [1.0, 1.0, 1.0]
    assert colour_rgb("#80808") is None and colour_rgb("forest") is None
    red, grey = colour_rgb("red"), colour_rgb("grey")
    assert red[0] > 5 * max(red[1:]) and abs(grey[0] - 0.212) < 0.01    # linear RGB, not sRGB
    r = make({"type": "material_color", "mode": "palette", "palette": {"choice": ["#102030", "Teal"]}})
    assert {v["name"] for f in draws(r, 50) for v in f.values()} == {"#102030", "Teal"}


def test_schema_checks_palette_and_kind_names():
    with pytest.raises(SchemaError) as e:
        make({"type": "material_color", "mode": "palette", "palette": {"choice": ["red", "forest"]}})
    assert e.value.path == ("palette", "choice", 1)
    # outside palette mode the palette is not used, so it is not checked
    make({"type": "material_color", "palette": {"choice": ["red", "forest"]}})
    with pytest.raises(SchemaError) as e:
        make({"type": "procedural_texture", "kind": {"choice": ["noise", "marble"]}})
    assert e.value.path == ("kind", "choice", 1) and "voronoi" in str(e.value)
    with pytest.raises(SchemaError):
        make({"type": "material_pbr", "metallic": {"uniform": [0, 2]}})


def test_balanced_palette_follows_targets_over_1000_frames():
    shares = {"red": 0.5, "blue": 0.3, "yellow": 0.2}
    recipe = recipe_from_data({
        "balance": [{"attribute": "colour", "shares": shares}],
        "randomizers": {"materials": [{"type": "material_color", "name": "c", "mode": "palette"}]}})
    contexts = {"materials/c": Context(targets=list(TARGETS))}
    counts = Counter()
    for i in range(1000):
        values = sample_frame(recipe, 11, i, contexts)
        for attrs in object_attributes(recipe, values).values():
            counts[attrs["colour"]] += 1
    total = sum(counts.values())
    assert total == 4000 and set(counts) == set(shares)
    for k, p in shares.items():
        assert abs(counts[k] / total - p) < 0.02, (k, counts[k] / total)


def test_balance_with_an_unknown_colour_is_refused_at_load():
    from synthkiln.addon.core.recipe.model import recipe_from_data
    from synthkiln.addon.core.params.schema import SchemaError
    palette = {"materials": [{"type": "material_color", "mode": "palette"}]}
    recipe_from_data({"randomizers": palette, "balance": [{"attribute": "colour", "shares": {"red": 1}}]})
    with pytest.raises(SchemaError, match="'forest' is not a value") as e:
        recipe_from_data({"randomizers": palette, "balance": [{"attribute": "colour", "shares": {"forest": 1}}]})
    assert e.value.path == ("balance", 0, "shares", "forest")
    with pytest.raises(SchemaError, match="no randomizer follows a balance on 'color': expected one of colour"):
        recipe_from_data({"randomizers": palette, "balance": [{"attribute": "color", "shares": {"red": 1}}]})


def test_material_pbr_ranges_and_rare_mixture():
    r = make({"type": "material_pbr", "roughness": {"uniform": [0.3, 0.5], "rare": {"p": 0.05, "uniform": [0.9, 1.0]}},
              "specular": {"uniform": [0.4, 0.6]}})
    rough = []
    for frame in draws(r, 1000):
        for v in frame.values():
            rough.append(v["roughness"])
            assert v["metallic"] in (0.0, 1.0) and 0.4 <= v["specular"] <= 0.6
    rough = np.array(rough)
    assert len(rough) == 4000
    assert np.all(((rough >= 0.3) & (rough <= 0.5)) | ((rough >= 0.9) & (rough <= 1.0)))
    assert abs(np.mean(rough >= 0.9) - 0.05) < 0.01


def test_procedural_texture_ranges_and_every_kind():
    r = make({"type": "procedural_texture", "scale": {"uniform": [2, 3]}, "bump": {"uniform": [0.1, 0.2]},
              "mix": {"uniform": [0.4, 0.5]}})
    kinds = Counter()
    for frame in draws(r, 500):
        for v in frame.values():
            kinds[v["kind"]] += 1
            assert 2 <= v["scale"] <= 3 and 0.1 <= v["bump"] <= 0.2 and 0.4 <= v["mix"] <= 0.5
            assert len(v["color"]) == 3 and all(0 <= c <= 1 for c in v["color"])
            assert len(v["offset"]) == 3 and all(0 <= x <= 100 for x in v["offset"])
    assert set(kinds) == set(TEXTURE_KINDS)


def test_image_texture_ranges_and_needs_images():
    import math
    r = make({"type": "image_texture", "rotation": {"uniform": [10, 20]}, "scale": {"uniform": [1, 2]}})
    seen = set()
    for frame in draws(r, 500):
        for v in frame.values():
            seen.add(v["image"])
            assert math.radians(10) <= v["rotation"] <= math.radians(20) and 1 <= v["scale"] <= 2
            assert all(0 <= x < 1 for x in v["offset"]) and 0.7 <= v["mix"] <= 1.0
    assert seen == set(IMAGES)
    with pytest.raises(UserError, match="no images"):
        r.sample(stream(0, 0, r.key()), Context(targets=["A"]))


def test_material_swap_picks_from_the_list():
    r = make({"type": "material_swap", "materials": {"choice": ["A", "B"], "weights": [1, 3]}})
    picks = Counter(v["material"] for f in draws(r, 500) for v in f.values())
    assert set(picks) == {"A", "B"} and 0.68 < picks["B"] / 2000 < 0.82


def test_bundled_textures_are_rebuilt_byte_identically():
    from synthkiln.addon.core.recipe.preset import PACKAGE_ROOT
    from synthkiln.asset_library import make_textures
    built = make_textures.build()
    folder = PACKAGE_ROOT / "asset_library" / "textures"
    assert sorted(built) == sorted(p.name for p in folder.iterdir())
    for name, data in built.items():
        assert (folder / name).read_bytes() == data, f"{name} is stale: rerun python -m asset_library.make_textures"
    assert sum(len(d) for d in built.values()) < 300_000
