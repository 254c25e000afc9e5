"""Environment: fog, rain, wet surfaces, night, real photos as backgrounds.

Weather comes and goes: each type has a ``probability`` (the share of frames it is on). A frame draws
every parameter whether the effect is on or not, so a stream's use never depends on the coin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..params.distributions import Distribution
from ..params.schema import SchemaError, fld
from .base import Randomizer, deg, uni


def _coin(rng, p: float) -> bool:
    return bool(rng.random() < p)


@dataclass
class Fog(Randomizer):
    """Fog: a glowing, absorbing medium filling a box around the scene, on a share of frames.

    ``density`` is the extinction per metre: things fade to the fog's colour over about 3.9/density
    metres (0.05: 80 m of visibility, 0.3: 13 m). The medium absorbs and emits but does not scatter:
    a scattering volume would turn some camera rays aside before they reach the object they look at, and
    Cycles writes the Object Index and depth passes from that first path (masks would lose pixels). Its
    glow is the single-scattering limit under the scene's light: ``color`` times the ambient light
    (world and sun lights, after night), times ``brightness``. Runs after night (phase 45)."""
    TYPE: ClassVar[str] = "fog"
    GROUP: ClassVar[str] = "environment"
    TARGETS: ClassVar[str] = "none"
    PHASE: ClassVar[int] = 45
    PER_OBJECT: ClassVar[bool] = False

    probability: float = fld(0.3, "Share of frames with fog", min=0.0, max=1.0)
    density: Distribution = fld(Distribution(kind="log_uniform", min=0.03, max=0.3),
                                "Extinction per metre (visibility about 3.9/density m)", min=0.0, max=100.0)
    brightness: Distribution = fld(uni(0.8, 1.2), "Glow relative to the scene's ambient light", min=0.0)
    color: tuple[float, float, float] = fld((0.85, 0.87, 0.9), "Fog colour (albedo, 0..1 each)")
    center: tuple[float, float, float] = fld((0.0, 0.0, 0.0), "Centre of the fog box (m)")
    size: float = fld(80.0, "Edge of the fog box (m): it must hold the camera and the scene", min=0.01)

    def sample(self, rng, ctx):
        on = _coin(rng, self.probability)
        return {"on": on, "density": self.density.sample(rng), "brightness": self.brightness.sample(rng)}


@dataclass
class Rain(Randomizer):
    """Rain: falling streaks on see-through sheets in front of the camera, on a share of frames.

    Method: ``layers`` planes face the camera at depths spread from ``near`` to ``far``, each sized to
    fill the view; one material draws thin streaks with an anisotropic Voronoi pattern (one streak per
    cell, a random share ``intensity`` of cells lit), tilted by ``angle`` (wind), shifted by a random
    offset per frame. Nearer sheets have fewer, bigger streaks, farther ones are hidden behind objects:
    that gives depth. Streaks only emit (a glow of the scene's ambient light times ``brightness``, so
    dim at night; runs after night, phase 45) over full transparency: camera rays always go straight
    on to what is behind, so the Object Index and depth passes are those of the dry scene. The sheets
    are seen by camera rays only: no shadows, no reflections, no light cast."""
    TYPE: ClassVar[str] = "rain"
    GROUP: ClassVar[str] = "environment"
    TARGETS: ClassVar[str] = "none"
    PHASE: ClassVar[int] = 45
    PER_OBJECT: ClassVar[bool] = False

    probability: float = fld(0.3, "Share of frames with rain", min=0.0, max=1.0)
    intensity: Distribution = fld(uni(0.02, 0.08), "Share of streak cells lit: how heavy the rain is",
                                  min=0.0, max=1.0)
    brightness: Distribution = fld(uni(0.3, 0.7), "Streak glow relative to the scene's ambient light",
                                   min=0.0)
    angle: Distribution = fld(uni(-15, 15), "Streak tilt from vertical in the image (degrees): wind",
                              min=-80, max=80)
    length: Distribution = fld(uni(0.04, 0.1), "Streak length on the nearest sheet, as a share of the image "
                               "height", min=0.001, max=1.0)
    width: float = fld(0.003, "Streak width on the nearest sheet, as a share of the image height",
                       min=0.0001, max=0.1)
    layers: int = fld(3, "Sheets at different depths", min=1, max=8)
    near: float = fld(0.5, "Depth of the nearest sheet (m)", min=0.001)
    far: float = fld(8.0, "Depth of the farthest sheet (m)", min=0.001)

    def check(self, path):
        if self.far < self.near:
            raise SchemaError("far must be at least near", path + ("far",), self.far, f">= {self.near}")

    def sample(self, rng, ctx):
        on = _coin(rng, self.probability)
        return {"on": on, "intensity": self.intensity.sample(rng), "brightness": self.brightness.sample(rng),
                "angle": deg(self.angle, rng), "length": self.length.sample(rng),
                "offset": [float(rng.uniform(0.0, 1000.0)), float(rng.uniform(0.0, 1000.0))]}


@dataclass
class Wet(Randomizer):
    """Wet surfaces: a thin water coat on the selected objects' materials, on a share of frames.

    It writes the Principled BSDF's coat (weight = wetness, low roughness, IOR 1.33, a darker tint) on
    every material in the objects' slots, and puts each material's own coat back on dry frames. It acts
    on the materials as they are: objects sharing a material get wet together (give them their own
    copies first, as material randomizers do, for per-object wetness). Empty ``select``: every object."""
    TYPE: ClassVar[str] = "wet"
    GROUP: ClassVar[str] = "environment"
    TARGETS: ClassVar[str] = "any"

    probability: float = fld(0.3, "Share of wet frames", min=0.0, max=1.0)
    wetness: Distribution = fld(uni(0.4, 1.0), "Wetness on a wet frame: 0 dry .. 1 soaked", min=0.0, max=1.0)
    coat_roughness: Distribution = fld(uni(0.02, 0.12), "Roughness of the water film", min=0.0, max=1.0)
    darken: float = fld(0.35, "How much darker a soaked surface looks (coat tint 1 - darken * wetness)",
                        min=0.0, max=1.0)
    per_object: bool = fld(False, "Draw wetness per object; off: one draw for the whole frame")

    def sample(self, rng, ctx):
        on = _coin(rng, self.probability)
        out: dict[str, Any] = {}
        shared = None
        for name in ctx.targets:
            if shared is None or self.per_object:
                w = self.wetness.sample(rng)
                shared = {"wetness": w if on else 0.0, "coat_roughness": self.coat_roughness.sample(rng)}
            out[name] = dict(shared)
        return out


@dataclass
class Night(Randomizer):
    """Night: a dark world, the sun dimmed to moonlight and the street lamps switched on, on a share of frames.

    On a night frame the world's background strength is scaled by ``ambient``, every SUN light's energy
    is set to ``sun_energy`` and the lights named by ``lamps`` are shown (with the energy they have);
    on a day frame the lamps are hidden and what the last night frame changed is put back, unless
    another randomizer has set it since."""
    TYPE: ClassVar[str] = "night"
    GROUP: ClassVar[str] = "environment"
    TARGETS: ClassVar[str] = "none"
    PER_OBJECT: ClassVar[bool] = False

    probability: float = fld(0.3, "Share of night frames", min=0.0, max=1.0)
    ambient: Distribution = fld(Distribution(kind="log_uniform", min=0.005, max=0.05),
                                "World strength factor at night (day strength times this)", min=0.0, max=1.0)
    sun_energy: Distribution = fld(uni(0.0, 0.1), "Energy of SUN lights at night (W/m²): moonlight", min=0.0)
    lamps: list[str] = fld([], "Artificial lights on at night and off by day: names, shell-style patterns")

    def sample(self, rng, ctx):
        on = _coin(rng, self.probability)
        return {"on": on, "ambient": self.ambient.sample(rng), "sun_energy": self.sun_energy.sample(rng)}
