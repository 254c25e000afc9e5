"""Lighting: lights (type, count, energy, colour temperature, placement), HDRI world, sky."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..params.distributions import Distribution
from ..params.schema import SchemaError, fld
from .base import Randomizer, const, deg, names, uni

def kelvin_to_rgb(kelvin: float) -> list[float]:
    """Colour of a black body at ``kelvin`` as linear RGB scaled to max 1 (Tanner Helland's fit)."""
    t = min(max(kelvin, 1000.0), 40000.0) / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    srgb = [min(max(c, 0.0), 255.0) / 255.0 for c in (r, g, b)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    m = max(lin)
    return [c / m for c in lin]


LIGHT_TYPES = ("POINT", "SUN", "SPOT", "AREA")
KEEP = "KEEP"
# Blender's own CC0 set (datafiles/studiolights/world/NAME.exr), found by name without a path
BUNDLED_HDRIS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")
HDRI_SUFFIXES = (".exr", ".hdr")


def is_hdri_path(name: str) -> bool:
    """Whether an ``hdri`` choice names a file (else a bundled HDRI), as the applier decides."""
    return "/" in name or "\\" in name or name.lower().endswith(HDRI_SUFFIXES)


def sun_direction(elevation: float, azimuth: float) -> list[float]:
    """Unit vector towards the sun (radians; azimuth from +x towards +y, like the light shell)."""
    ce = math.cos(elevation)
    return [ce * math.cos(azimuth), ce * math.sin(azimuth), math.sin(elevation)]


def daylight_kelvin(elevation: float) -> float:
    """Rough colour temperature of direct sunlight by sun elevation (radians): red at the horizon,
    about 5500 K from 30 degrees up. Keeps a sun lamp's colour in step with the physical sky."""
    t = min(max(math.sin(elevation) / math.sin(math.radians(30)), 0.0), 1.0)
    return 2000.0 + 3500.0 * t


def sun_dimming(elevation: float) -> float:
    """Direct sunlight fades as the sun nears the horizon (longer path through air): 1 from 20 degrees up."""
    return min(max(math.sin(elevation), 0.0) / math.sin(math.radians(20)), 1.0)


def round_count(d: Distribution, rng, available: int) -> int:
    """One draw of a count parameter: rounded, clamped to 0..available; negative means all."""
    x = d.sample(rng)
    return available if x < 0 else min(max(int(math.floor(x + 0.5)), 0), available)


@dataclass
class LightRandomizer(Randomizer):
    """Light type, how many are on, energy, colour temperature and position on a shell around a target."""
    TYPE: ClassVar[str] = "light"
    GROUP: ClassVar[str] = "lighting"
    TARGETS: ClassVar[str] = "lights"

    target: str = fld("", "Object the lights circle around (empty: the world origin)")
    light_type: Distribution = fld(names(KEEP), "Light types to draw from (POINT, SUN, SPOT, AREA); "
                                   "KEEP: each light keeps its own", subtype="names")
    pool: int = fld(0, "Lights to create for this randomizer (collection 'SK Lights'); 0: use the selected "
                    "lights, or make as many as `count` can ask for when none is selected", min=0, max=64)
    count: Distribution = fld(const(-1), "Lights switched on per frame (rounded; -1: all of them)", min=-1)
    energy: Distribution = fld(Distribution(kind="log_uniform", min=50.0, max=500.0),
                               "Power of point, spot and area lights (W)", min=0.0)
    sun_energy: Distribution = fld(Distribution(kind="log_uniform", min=1.0, max=5.0),
                                   "Strength of sun lights (W/m²)", min=0.0)
    temperature: Distribution = fld(uni(3000, 7500), "Colour temperature (K)", min=1000, max=40000)
    distance: Distribution = fld(uni(2, 4), "Distance to the target (m)", min=0.0)
    elevation: Distribution = fld(uni(30, 80), "Elevation (degrees)", min=-90, max=90)
    azimuth: Distribution = fld(uni(0, 360), "Azimuth (degrees)")

    def check(self, path):
        known = LIGHT_TYPES + (KEEP,)
        for k, kind in enumerate(self.light_type.choices):
            if kind not in known:
                raise SchemaError(f"unknown light type {kind!r}: expected one of {', '.join(known)}",
                                  path + ("light_type", "choice", k), kind, f"one of {known}")
        if KEEP in self.light_type.choices and len(self.light_type.choices) > 1:
            raise SchemaError("KEEP cannot be mixed with light types: a light changed by one frame would not "
                              "know its own type in the next", path + ("light_type",), self.light_type.choices,
                              "KEEP alone, or light types")

    def pool_size(self, selected: int) -> int:
        """How many lights setup creates, given how many the selector found."""
        if self.pool:
            return self.pool
        if selected:
            return 0
        hi = (self.count.support() or (1, 1))[1]
        return max(1, int(math.floor(hi + 0.5)))

    def sample(self, rng, ctx):
        lights = ctx.targets
        n = round_count(self.count, rng, len(lights))
        on = set(int(i) for i in rng.permutation(len(lights))[:n])
        kinds = ctx.data.get("light_types", {})
        out = {}
        for i, name in enumerate(lights):
            kind = self.light_type.sample(rng)
            kind = kinds.get(name, "POINT") if kind == KEEP else kind
            power = (self.sun_energy if kind == "SUN" else self.energy).sample(rng)
            k = self.temperature.sample(rng)
            out[name] = {"visible": i in on, "type": kind, "energy": power, "temperature": k,
                         "color": kelvin_to_rgb(k), "distance": self.distance.sample(rng),
                         "elevation": deg(self.elevation, rng), "azimuth": deg(self.azimuth, rng)}
        return out


@dataclass
class WorldHDRI(Randomizer):
    """World lighting from an HDRI: Blender's bundled CC0 set by name, files, or a folder; rotation, strength."""
    TYPE: ClassVar[str] = "world_hdri"
    GROUP: ClassVar[str] = "lighting"
    TARGETS: ClassVar[str] = "none"

    hdri: Distribution = fld(Distribution(kind="choice", choices=["forest", "city", "courtyard", "interior",
                                                                   "studio", "sunrise", "sunset", "night"]),
                             "HDRI names (bundled: city, courtyard, forest, interior, night, studio, sunrise,"
                             " sunset) or paths to .exr/.hdr files", subtype="names")
    folder: str = fld("", "Folder of .exr/.hdr files (absolute, builtin:..., or relative to the .blend / working "
                      "folder); its files become choices too", subtype="DIR_PATH")
    folder_share: float = fld(1.0, "With a folder: share of frames whose HDRI comes from the folder (the rest "
                              "from `hdri`)", min=0.0, max=1.0)
    rotation: Distribution = fld(uni(0, 360), "Rotation about the vertical axis (degrees)")
    strength: Distribution = fld(uni(0.5, 1.5), "Background strength", min=0.0)

    def check(self, path):
        """A choice that is not a path must be a bundled HDRI: the render would refuse it, so validate does."""
        for k, name in enumerate(self.hdri.choices):
            if not is_hdri_path(name) and name not in BUNDLED_HDRIS:
                raise SchemaError(f"HDRI {name!r} not found: expected a bundled HDRI ({', '.join(BUNDLED_HDRIS)}) "
                                  "or the path of an .exr/.hdr file", path + ("hdri", "choice", k), name,
                                  "a bundled HDRI or a file path")

    def sample(self, rng, ctx):
        files = (ctx.data.get("hdri_files") or []) if self.folder else []
        from_folder = bool(files) and rng.random() < self.folder_share
        name = self.hdri.sample(rng)       # drawn either way: the folder share never shifts later draws
        k = int(rng.integers(len(files))) if files else 0
        return {"hdri": files[k] if from_folder else name, "rotation": deg(self.rotation, rng),
                "strength": self.strength.sample(rng)}


@dataclass
class Sky(Randomizer):
    """Physical daylight sky at a random time of day (sun elevation and azimuth), optionally with a sun lamp
    along the sun's direction for crisp shadows."""
    TYPE: ClassVar[str] = "sky"
    GROUP: ClassVar[str] = "lighting"
    TARGETS: ClassVar[str] = "none"

    elevation: Distribution = fld(uni(5, 60), "Sun elevation above the horizon (degrees)", min=-90, max=90)
    azimuth: Distribution = fld(uni(0, 360), "Sun azimuth from +x towards +y (degrees)")
    strength: Distribution = fld(uni(0.05, 0.25), "Sky background strength (the physical sky is bright: about "
                                 "0.1 goes with a sun lamp of a few W/m²)", min=0.0)
    air: Distribution = fld(const(1.0), "Air density (haze of the sky colour)", min=0.0, max=10.0)
    aerosols: Distribution = fld(uni(0.5, 2.0), "Aerosol (dust) density", min=0.0, max=10.0)
    sun: str = fld("", "Sun lamp to aim along the sun direction (empty: none; the sky's own sun disc lights "
                   "the scene then)")
    sun_energy: Distribution = fld(uni(2.0, 5.0), "Sun lamp strength at a high sun (W/m²)", min=0.0)

    def sample(self, rng, ctx):
        e, a = deg(self.elevation, rng), deg(self.azimuth, rng)
        return {"elevation": e, "azimuth": a, "direction": sun_direction(e, a),
                "strength": self.strength.sample(rng), "air": self.air.sample(rng),
                "aerosols": self.aerosols.sample(rng), "sun_energy": self.sun_energy.sample(rng) * sun_dimming(e),
                "sun_color": kelvin_to_rgb(daylight_kelvin(e))}
