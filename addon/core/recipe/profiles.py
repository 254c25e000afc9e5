"""Render profiles: named sets of the Cycles settings that trade time for noise (issue 16), so a recipe says
``render.profile: fast`` instead of a dozen bounce counts. Explicit recipe fields still win: a set
``max_bounces`` replaces the profile's, and ``denoise`` switches the denoiser the profile tunes.

| profile | for | bounces (max / diffuse / glossy / transmission / volume / transparent) | light tree | adaptive threshold | clamp indirect | denoiser prefilter |
|---|---|---|---|---|---|---|
| fast | big jobs, small frames: at most BlenderProc's own defaults | 3 / 3 / 0 / 0 / 0 / 8 | off | 0.01 | 10 | none |
| balanced | the default: clean at 16 spp with ``denoise`` | 6 / 3 / 2 / 4 / 1 / 8 | on | 0.02 | 10 | fast |
| final | glass, liquids, hero frames | 12 / 4 / 4 / 12 / 2 / 16 | on | 0.01 | 0 (off) | accurate |

A profile's light tree is used only where it pays (``light_tree_pays``): Cycles' light tree picks among many
lights; with a few it only costs time. Measured on the anchor scene (one area light and the world, 320x240,
4 spp): the same frame with and without it differs by 6e-6 on average (0.003 at most, of 0..1), and it
rendered 8-16% slower. A job that swaps meshes per frame (an asset pool) always uses it: see ``use_light_tree``.

Labels never depend on the profile: masks come from the Object Index pass, depth from the first hit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    max_bounces: int
    diffuse: int
    glossy: int
    transmission: int
    volume: int
    transparent: int
    light_tree: bool
    adaptive_threshold: float      # 0: adaptive sampling off
    clamp_indirect: float          # 0: no clamp (fireflies stay)
    prefilter: str                 # OIDN's prefilter when ``denoise`` is on: NONE, FAST, ACCURATE


PROFILES = {
    "fast": Profile(3, 3, 0, 0, 0, 8, False, 0.01, 10.0, "NONE"),
    "balanced": Profile(6, 3, 2, 4, 1, 8, True, 0.02, 10.0, "FAST"),
    "final": Profile(12, 4, 4, 12, 2, 16, True, 0.01, 0.0, "ACCURATE"),
}
NAMES = tuple(PROFILES)
# Lights from which the light tree is worth its cost (emissive meshes always are: many small emitters).
LIGHT_TREE_MIN_LIGHTS = 4


def light_tree_pays(lights: int, emissive_meshes: int) -> bool:
    """Whether a profile's light tree is used in a scene with ``lights`` light objects and
    ``emissive_meshes`` meshes with an emitting material."""
    return lights >= LIGHT_TREE_MIN_LIGHTS or emissive_meshes > 0


def use_light_tree(p: Profile, lights: int, emissive_meshes: int, swaps_meshes: bool) -> bool:
    """The light tree setting for a job: the profile's where it pays, and always where a randomizer swaps
    meshes per frame (an asset pool). Without the tree, Cycles' persistent data kept a light distribution
    that depended on the meshes shown before: the same frame rendered differently after other frames
    (tests/bpy/test_assets.py, frames in opposite orders)."""
    return swaps_meshes or (p.light_tree and light_tree_pays(lights, emissive_meshes))


def effective(profile: str, max_bounces: int = -1) -> Profile:
    """The profile's settings with the recipe's explicit ``max_bounces`` (>= 0) over its own; no bounce
    kind may exceed the total."""
    p = PROFILES[profile]
    if max_bounces < 0:
        return p
    cap = lambda n: min(n, max_bounces)       # noqa: E731
    return replace(p, max_bounces=max_bounces, diffuse=cap(p.diffuse), glossy=cap(p.glossy),
                   transmission=cap(p.transmission), volume=cap(p.volume))
