"""Camera: shell around a target, look-at, lens, depth of field, several cameras, targets visible."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..distributions import Distribution
from ..schema import SchemaError, fld
from .base import Randomizer, const, deg, names, uni

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
        return {"distance": self.distance.sample(rng), "elevation": deg(self.elevation, rng),
                "azimuth": deg(self.azimuth, rng), "roll": deg(self.roll, rng),
                "focal_length": self.focal_length.sample(rng)}
