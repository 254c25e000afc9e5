"""Lighting randomizers (light, world_hdri, sky) and photo backgrounds, the pure half: ranges, counts,
colours, cover-fit crops. Determinism and plain-JSON values: the contract in test_contracts.py."""

import math

import numpy as np
import pytest

from synthkiln.addon.core.randomizers import Context, Randomizer
from synthkiln.addon.core.randomizers.backdrop import cover_fit
from synthkiln.addon.core.randomizers.lighting import daylight_kelvin, kelvin_to_rgb
from synthkiln.addon.core.params.schema import SchemaError, from_data

LIGHTS = ["A", "B", "C", "D"]
CTX = {"light": Context(targets=LIGHTS, data={"light_types": {n: "AREA" for n in LIGHTS}}),
       "world_hdri": Context(data={"hdri_files": ["a.exr", "b.hdr"]}),
       "sky": Context(),
       "background_photo": Context(data={"photos": ["p1.jpg", "p2.jpg", "p3.png"]})}


def make(t, **data):
    return from_data(Randomizer.REGISTRY[t], data)


def draws(r, ctx, n=500, seed=0):
    rng = np.random.Generator(np.random.PCG64(seed))
    return [r.sample(rng, ctx) for _ in range(n)]


def test_light_count_types_and_ranges():
    r = make("light", light_type={"choice": ["POINT", "SUN", "SPOT"]}, count={"uniform": [1, 3]},
             energy={"log_uniform": [10, 100]}, sun_energy={"uniform": [1, 2]}, temperature={"uniform": [3000, 5000]},
             elevation={"uniform": [20, 40]})
    counts, kinds = [], set()
    for v in draws(r, CTX["light"]):
        assert list(v) == LIGHTS
        counts.append(sum(x["visible"] for x in v.values()))
        for x in v.values():
            kinds.add(x["type"])
            lo, hi = (1, 2) if x["type"] == "SUN" else (10, 100)
            assert lo <= x["energy"] <= hi
            assert 3000 <= x["temperature"] <= 5000 and x["color"] == kelvin_to_rgb(x["temperature"])
            assert math.radians(20) <= x["elevation"] <= math.radians(40)
    assert set(counts) == {1, 2, 3}
    assert kinds == {"POINT", "SUN", "SPOT"}
    # which lights are on varies too
    on = [tuple(n for n, x in v.items() if x["visible"]) for v in draws(r, CTX["light"], 100)]
    assert len(set(on)) > 5


def test_light_defaults_keep_types_and_show_all():
    for v in draws(make("light"), CTX["light"], 50):
        assert all(x["visible"] and x["type"] == "AREA" for x in v.values())


def test_light_count_clamps_to_what_exists():
    r = make("light", count={"uniform": [0, 10]})
    counts = [sum(x["visible"] for x in v.values()) for v in draws(r, CTX["light"])]
    assert min(counts) == 0 and max(counts) == len(LIGHTS)


def test_light_pool_size():
    assert make("light").pool_size(selected=2) == 0
    assert make("light").pool_size(selected=0) == 1
    assert make("light", count={"uniform": [1, 3]}).pool_size(selected=0) == 3
    assert make("light", pool=5).pool_size(selected=2) == 5


@pytest.mark.parametrize("bad, words, path", [
    ({"choice": ["SUN", "LAMP"]}, "unknown light type 'LAMP'", ("light_type", "choice", 1)),
    ({"choice": ["KEEP", "SUN"]}, "KEEP cannot be mixed", ("light_type",))])
def test_light_type_is_checked(bad, words, path):
    with pytest.raises(SchemaError, match=words) as e:
        make("light", light_type=bad)
    assert e.value.path == path


def test_kelvin_colours_are_sane():
    candle, noon, shade = kelvin_to_rgb(1900), kelvin_to_rgb(6500), kelvin_to_rgb(12000)
    assert candle[0] == 1.0 and candle[0] > candle[1] > candle[2]          # warm: red > green > blue
    assert min(noon) > 0.9                                                  # 6500 K is close to white
    assert shade[2] == 1.0 and shade[2] > shade[0]                          # cold: blue-ish
    ratios = [kelvin_to_rgb(k)[2] / kelvin_to_rgb(k)[0] for k in range(2000, 12001, 500)]
    assert all(a < b for a, b in zip(ratios, ratios[1:]))                   # bluer as it gets hotter
    assert all(0.0 <= c <= 1.0 for k in range(1000, 40001, 1000) for c in kelvin_to_rgb(k))


def test_world_hdri_folder_share():
    only_names = make("world_hdri")
    assert {v["hdri"] for v in draws(only_names, CTX["world_hdri"])} <= set(only_names.hdri.choices)
    assert all(v["hdri"] in ("a.exr", "b.hdr") for v in draws(make("world_hdri", folder="/x"), CTX["world_hdri"]))
    half = [v["hdri"] in ("a.exr", "b.hdr") for v in draws(make("world_hdri", folder="/x", folder_share=0.5),
                                                              CTX["world_hdri"], 1000)]
    assert 0.44 < np.mean(half) < 0.56
    for v in draws(make("world_hdri", rotation={"uniform": [10, 20]}, strength={"uniform": [2, 3]}), Context()):
        assert math.radians(10) <= v["rotation"] <= math.radians(20) and 2 <= v["strength"] <= 3


def test_sky_ranges_direction_and_sun_colour():
    r = make("sky", elevation={"uniform": [0, 80]}, azimuth={"uniform": [0, 360]}, strength={"uniform": [0.2, 0.4]},
             sun_energy={"constant": 4.0})
    for v in draws(r, Context()):
        e, a = v["elevation"], v["azimuth"]
        assert 0 <= e <= math.radians(80) and 0 <= a <= 2 * math.pi and 0.2 <= v["strength"] <= 0.4
        d = np.array(v["direction"])
        assert abs(np.linalg.norm(d) - 1) < 1e-9 and abs(math.asin(d[2]) - e) < 1e-9
        assert abs(math.atan2(d[1], d[0]) % (2 * math.pi) - a % (2 * math.pi)) < 1e-6 or e > math.radians(89.9)
        assert 0 <= v["sun_energy"] <= 4.0
        if e >= math.radians(20):
            assert v["sun_energy"] == pytest.approx(4.0)
    low, high = kelvin_to_rgb(daylight_kelvin(math.radians(3))), kelvin_to_rgb(daylight_kelvin(math.radians(60)))
    assert low[2] < high[2]          # the low sun is redder


def test_background_photo_probability_offsets_and_zoom():
    photos = CTX["background_photo"].data["photos"]
    vs = draws(make("background_photo", probability=0.3, zoom={"uniform": [1, 2]}), CTX["background_photo"], 1000)
    shown = [v["photo"] for v in vs if v["photo"]]
    assert 0.25 < len(shown) / len(vs) < 0.35 and set(shown) == set(photos)
    for v in vs:
        assert 1 <= v["zoom"] <= 2 and all(0 <= o <= 1 for o in v["offset"])
    assert all(v["photo"] == "" for v in draws(make("background_photo", probability=0.0), CTX["background_photo"]))
    assert all(v["photo"] for v in draws(make("background_photo"), CTX["background_photo"]))


@pytest.mark.parametrize("photo, render", [((480, 360), (640, 480)), ((1000, 400), (640, 480)),
                                           ((300, 600), (320, 240)), ((400, 400), (160, 320))])
def test_cover_fit_fills_the_frame_keeping_the_photo_aspect(photo, render):
    for zoom in (1.0, 1.5):
        for offset in ((0, 0), (1, 1), (0.3, 0.8)):
            (sx, sy, _), (ox, oy, _) = cover_fit(photo, render, zoom, offset)
            # the crop stays inside the photo ...
            assert 0 <= ox and ox + sx <= 1 + 1e-12 and 0 <= oy and oy + sy <= 1 + 1e-12
            # ... has the render's aspect in photo pixels (no stretching) ...
            assert (sx * photo[0]) / (sy * photo[1]) == pytest.approx(render[0] / render[1])
            # ... and at zoom 1 spans the photo fully on one axis
            if zoom == 1.0:
                assert max(sx, sy) == pytest.approx(1.0)
