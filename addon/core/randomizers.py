"""Randomizers, the pure half: typed parameters and ``sample(rng, ctx) -> values``.

Each randomizer is a dataclass registered under its ``TYPE``; the bridge has the matching
``apply(values, scene)``. ``values`` are plain JSON data and go into the frame record, so any frame can
be re-applied (and re-rendered) from its record alone. Angles in parameters are degrees.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from .distributions import Distribution
from .schema import SchemaError, fld


def const(v: float) -> Distribution:
    return Distribution.constant(v)


def uni(lo: float, hi: float) -> Distribution:
    return Distribution.uniform(lo, hi)


@dataclass
class Selector:
    """Which objects a rule or randomizer acts on. Every given condition must hold; empty = all targets."""
    collection: str = fld("", "Objects in this collection (and its children)")
    names: list[str] = fld([], "Object names; shell-style patterns allowed (Mug*, Can.00?)")
    category: str = fld("", "Objects labelled with this category")

    def is_empty(self) -> bool:
        return not (self.collection or self.names or self.category)


@dataclass
class Context:
    """What a sampler may know about the scene: resolved, sorted target names and static geometry."""
    targets: list[str] = field(default_factory=list)
    footprints: dict[str, float] = field(default_factory=dict)   # footprint radius per object (m)
    bounds: tuple[float, float, float, float] | None = None      # surface top: xmin, xmax, ymin, ymax


@dataclass
class Randomizer:
    REGISTRY: ClassVar[dict[str, type]] = {}
    TYPE: ClassVar[str] = ""
    GROUP: ClassVar[str] = ""
    TARGETS: ClassVar[str] = "objects"   # what `select` picks: labelled objects, lights, or nothing

    name: str = fld("", "Stable name: keys this randomizer's random stream (unique in the recipe)")
    enabled: bool = fld(True, "A muted randomizer draws nothing and changes nothing")
    select: Selector = fld(Selector(), "Which objects it acts on")

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.TYPE:
            Randomizer.REGISTRY[cls.TYPE] = cls

    def key(self) -> str:
        return f"{self.GROUP}/{self.name or self.TYPE}"

    def sample(self, rng: np.random.Generator, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError


def _deg(d: Distribution, rng: np.random.Generator) -> float:
    return math.radians(d.sample(rng))


@dataclass
class ObjectPose(Randomizer):
    """Location in a box or on a surface (no overlaps), rotation and uniform scale."""
    TYPE: ClassVar[str] = "object_pose"
    GROUP: ClassVar[str] = "objects"

    mode: Literal["volume", "surface"] = fld("volume", "volume: x, y, z draws; surface: on top of `surface`")
    surface: str = fld("", "Surface object for mode=surface (objects are dropped onto it by ray cast)")
    x: Distribution = fld(uni(-1, 1), "Location x (m); in surface mode, unused")
    y: Distribution = fld(uni(-1, 1), "Location y (m); in surface mode, unused")
    z: Distribution = fld(const(0.0), "Location z (m); in surface mode, height above the surface")
    margin: float = fld(0.02, "Surface mode: keep objects this far from the surface's edge (m)", min=0.0)
    min_spacing: float = fld(0.01, "Surface mode: gap between objects' footprints (m); no overlaps", min=0.0)
    rotation_x: Distribution = fld(const(0.0), "Rotation about x (degrees)")
    rotation_y: Distribution = fld(const(0.0), "Rotation about y (degrees)")
    rotation_z: Distribution = fld(uni(0, 360), "Rotation about z (degrees)")
    scale: Distribution = fld(const(1.0), "Uniform scale factor", min=0.0)
    max_tries: int = fld(100, "Surface mode: placement tries per object before it is hidden", min=1, max=10000)

    def check(self, path):
        if self.mode == "surface" and not self.surface:
            raise SchemaError("mode surface needs a `surface` object name", path + ("surface",), "", "an object name")

    def sample(self, rng, ctx):
        out: dict[str, Any] = {}
        placed: list[tuple[float, float, float]] = []
        for name in ctx.targets:
            rot = [_deg(self.rotation_x, rng), _deg(self.rotation_y, rng), _deg(self.rotation_z, rng)]
            s = float(self.scale.sample(rng))
            v: dict[str, Any] = {"rotation": rot, "scale": s, "visible": True}
            if self.mode == "volume":
                v["location"] = [self.x.sample(rng), self.y.sample(rng), self.z.sample(rng)]
            else:
                v.update(self._on_surface(rng, ctx, name, s, placed))
            out[name] = v
        return out

    def _on_surface(self, rng, ctx, name, s, placed):
        if ctx.bounds is None:
            raise ValueError(f"{self.key()}: surface bounds unknown")
        xmin, xmax, ymin, ymax = ctx.bounds
        r = ctx.footprints.get(name, 0.0) * s
        lo_x, hi_x, lo_y, hi_y = xmin + r + self.margin, xmax - r - self.margin, ymin + r + self.margin, ymax - r - self.margin
        z = float(self.z.sample(rng))
        for _ in range(self.max_tries):
            x, y = float(rng.uniform(lo_x, hi_x)), float(rng.uniform(lo_y, hi_y))
            if all(math.hypot(x - px, y - py) >= r + pr + self.min_spacing for px, py, pr in placed):
                placed.append((x, y, r))
                return {"location": [x, y, z], "on_surface": True}
        return {"visible": False}


@dataclass
class MaterialColor(Randomizer):
    """Base colour in HSV (replace, or shift the original) and roughness of each object's material."""
    TYPE: ClassVar[str] = "material_color"
    GROUP: ClassVar[str] = "materials"

    mode: Literal["replace", "shift"] = fld("replace", "replace: absolute HSV; shift: hue offset, S/V factors")
    hue: Distribution = fld(uni(0, 1), "Hue 0..1 (shift: offset added to the original hue)")
    saturation: Distribution = fld(uni(0.3, 0.9), "Saturation (shift: factor)", min=0.0)
    value: Distribution = fld(uni(0.3, 0.9), "Value/brightness (shift: factor)", min=0.0)
    roughness: Distribution = fld(uni(0.2, 0.8), "Principled roughness", min=0.0, max=1.0)
    per_object: bool = fld(True, "Draw per object; off: one draw shared by all selected objects")

    def sample(self, rng, ctx):
        out = {}
        shared = None
        for name in ctx.targets:
            if shared is None or self.per_object:
                h, s, v, r = (self.hue.sample(rng), self.saturation.sample(rng), self.value.sample(rng),
                              self.roughness.sample(rng))
                shared = {"mode": self.mode, "hsv": [h % 1.0 if self.mode == "replace" else h, s, v], "roughness": r}
                if self.mode == "replace":
                    shared["color"] = list(colorsys.hsv_to_rgb(h % 1.0, min(s, 1.0), v))
            out[name] = dict(shared)
        return out


@dataclass
class CameraShell(Randomizer):
    """Camera on a spherical shell around a target, looking at it, with roll and focal length."""
    TYPE: ClassVar[str] = "camera_shell"
    GROUP: ClassVar[str] = "camera"
    TARGETS: ClassVar[str] = "none"

    camera: str = fld("", "Camera object (empty: the scene camera)")
    target: str = fld("", "Object to look at (empty: the point `look_at`)")
    look_at: tuple[float, float, float] = fld((0.0, 0.0, 0.0), "Offset added to the target's location (m)")
    distance: Distribution = fld(uni(1.0, 2.0), "Distance to the target (m)", min=0.0)
    elevation: Distribution = fld(uni(20, 60), "Elevation above the target's horizon (degrees)", min=-90, max=90)
    azimuth: Distribution = fld(uni(0, 360), "Azimuth around the target (degrees)")
    roll: Distribution = fld(const(0.0), "Roll about the viewing axis (degrees)")
    focal_length: Distribution = fld(const(35.0), "Lens focal length (mm)", min=1.0)

    def sample(self, rng, ctx):
        return {"distance": self.distance.sample(rng), "elevation": _deg(self.elevation, rng),
                "azimuth": _deg(self.azimuth, rng), "roll": _deg(self.roll, rng),
                "focal_length": self.focal_length.sample(rng)}


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
                         "distance": self.distance.sample(rng), "elevation": _deg(self.elevation, rng),
                         "azimuth": _deg(self.azimuth, rng)}
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
        return {"hdri": self.hdri.sample(rng), "rotation": _deg(self.rotation, rng),
                "strength": self.strength.sample(rng)}


GROUPS = ("objects", "materials", "camera", "lighting", "environment")
