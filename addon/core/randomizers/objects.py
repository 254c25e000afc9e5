"""Objects: pose, placement on surfaces, count, distractors, occluders, physics drop."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..distributions import Distribution
from ..schema import SchemaError, fld
from .base import Randomizer, const, deg, names, uni

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
            rot = [deg(self.rotation_x, rng), deg(self.rotation_y, rng), deg(self.rotation_z, rng)]
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
