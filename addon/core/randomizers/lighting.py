"""Lighting: lights (type, count, energy, colour temperature, placement), HDRI world, sky."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..distributions import Distribution
from ..schema import SchemaError, fld
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


@dataclass
class LightRandomizer(Randomizer):
    """Energy, colour temperature and position on a shell around a target, for each selected light."""
    TYPE: ClassVar[str] = "light"
    GROUP: ClassVar[str] = "lighting"
    TARGETS: ClassVar[str] = "lights"

    target: str = fld("", "Object the lights circle around (empty: the world origin)")
    energy: Distribution = fld(Distribution(kind="log_uniform", min=50.0, max=500.0), "Power (W)", min=0.0)
    temperature: Distribution = fld(uni(3000, 7500), "Colour temperature (K)", min=1000, max=40000)
    distance: Distribution = fld(uni(2, 4), "Distance to the target (m)", min=0.0)
    elevation: Distribution = fld(uni(30, 80), "Elevation (degrees)", min=-90, max=90)
    azimuth: Distribution = fld(uni(0, 360), "Azimuth (degrees)")

    def sample(self, rng, ctx):
        out = {}
        for name in ctx.targets:
            k = self.temperature.sample(rng)
            out[name] = {"energy": self.energy.sample(rng), "temperature": k, "color": kelvin_to_rgb(k),
                         "distance": self.distance.sample(rng), "elevation": deg(self.elevation, rng),
                         "azimuth": deg(self.azimuth, rng)}
        return out


@dataclass
class WorldHDRI(Randomizer):
    """World lighting from an HDRI: Blender's bundled CC0 set by name, or image files; rotation, strength."""
    TYPE: ClassVar[str] = "world_hdri"
    GROUP: ClassVar[str] = "lighting"
    TARGETS: ClassVar[str] = "none"

    hdri: Distribution = fld(Distribution(kind="choice", choices=["forest", "city", "courtyard", "interior",
                                                                   "studio", "sunrise", "sunset", "night"]),
                             "HDRI names (bundled: city, courtyard, forest, interior, night, studio, sunrise,"
                             " sunset) or paths to .exr/.hdr files", subtype="names")
    rotation: Distribution = fld(uni(0, 360), "Rotation about the vertical axis (degrees)")
    strength: Distribution = fld(uni(0.5, 1.5), "Background strength", min=0.0)

    def sample(self, rng, ctx):
        return {"hdri": self.hdri.sample(rng), "rotation": deg(self.rotation, rng),
                "strength": self.strength.sample(rng)}
