"""Environment randomizers (fog, rain, wet, night), the pure half: the share of frames each effect is on,
ranges, and stream use that never depends on the coin. Determinism and plain-JSON values: the contract in
test_contracts.py."""

import math

import numpy as np
import pytest

from synthkiln.addon.core.randomizers import Context, Randomizer
from synthkiln.addon.core.recipe.model import recipe_from_data
from synthkiln.addon.core.params.schema import SchemaError, from_data

CTX = {"fog": Context(), "rain": Context(), "night": Context(), "wet": Context(targets=["Floor", "Van", "Cone"])}


def make(t, **data):
    return from_data(Randomizer.REGISTRY[t], data)


def draws(r, ctx, n=500, seed=0):
    rng = np.random.Generator(np.random.PCG64(seed))
    return [r.sample(rng, ctx) for _ in range(n)]


def is_on(t, v):
    return any(x["wetness"] > 0 for x in v.values()) if t == "wet" else v["on"]


@pytest.mark.parametrize("t", sorted(CTX))
@pytest.mark.parametrize("p", [0.0, 0.1, 0.35, 1.0])
def test_share_of_frames_follows_probability(t, p):
    n = 2000
    on = sum(is_on(t, v) for v in draws(make(t, probability=p), CTX[t], n, seed=1))
    assert abs(on / n - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9     # within 4 standard errors


@pytest.mark.parametrize("t", sorted(CTX))
def test_stream_use_does_not_depend_on_the_coin(t):
    """Each frame takes the same draws whether the effect is on or off."""
    used = []
    for p in (0.0, 1.0):
        rng = np.random.Generator(np.random.PCG64(3))
        make(t, probability=p).sample(rng, CTX[t])
        used.append(rng.random())
    assert used[0] == used[1]


def test_fog_ranges():
    r = make("fog", probability=1.0, density={"log_uniform": [0.05, 0.2]}, brightness={"uniform": [0.5, 2]})
    for v in draws(r, CTX["fog"]):
        assert v["on"] and 0.05 <= v["density"] <= 0.2 and 0.5 <= v["brightness"] <= 2


def test_rain_ranges_radians_and_offsets():
    r = make("rain", probability=1.0, angle={"uniform": [-20, 10]}, length={"uniform": [0.1, 0.2]},
             intensity={"uniform": [0.01, 0.05]})
    vs = draws(r, CTX["rain"])
    for v in vs:
        assert -math.radians(20) <= v["angle"] <= math.radians(10)
        assert 0.1 <= v["length"] <= 0.2 and 0.01 <= v["intensity"] <= 0.05
        assert all(0 <= o < 1000 for o in v["offset"])
    assert len({tuple(v["offset"]) for v in vs}) == len(vs)        # a fresh streak pattern every frame


def test_rain_far_must_not_be_nearer_than_near():
    with pytest.raises(SchemaError, match="far must be at least near"):
        recipe_from_data({"randomizers": {"environment": [{"type": "rain", "near": 2.0, "far": 1.0}]}})


def test_wet_shared_or_per_object_and_dry_is_zero():
    ctx = CTX["wet"]
    for v in draws(make("wet", probability=0.5, wetness={"uniform": [0.3, 0.9]}), ctx):
        assert list(v) == ctx.targets
        w = {x["wetness"] for x in v.values()}
        assert len(w) == 1                                      # one draw for the whole frame
        assert w == {0.0} or 0.3 <= w.pop() <= 0.9
        assert all(0.0 <= x["coat_roughness"] <= 1.0 for x in v.values())
    per = draws(make("wet", probability=1.0, per_object=True), ctx, 50)
    assert all(len({x["wetness"] for x in v.values()}) == 3 for v in per)


def test_night_ranges():
    r = make("night", probability=1.0, ambient={"uniform": [0.01, 0.02]}, sun_energy={"uniform": [0, 0.05]},
             lamps=["Lamp*"])
    for v in draws(r, CTX["night"]):
        assert v["on"] and 0.01 <= v["ambient"] <= 0.02 and 0.0 <= v["sun_energy"] <= 0.05


def test_fog_and_rain_apply_after_night():
    """Their glow follows the ambient light that night has already dimmed."""
    from synthkiln.addon.core.dataset.job import application_order
    recipe = recipe_from_data({"randomizers": {"environment": [{"type": "fog"}, {"type": "rain"}, {"type": "night"}]}})
    assert [r.TYPE for r in application_order(recipe)] == ["night", "fog", "rain"]
