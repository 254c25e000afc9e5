"""Occluders (objects group): clutter placed between the camera and its targets, run after the camera.

Placement is solved in the image plane: the target and the occluder are seen as disks of equal
projected area, and the occluder's offset is the one whose disk covers the requested fraction of the
target's disk (``offset_for_overlap``). The bridge then measures what it really covers and corrects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..params.distributions import Distribution
from ..params.schema import fld
from .base import Randomizer, names, uni


def disk_overlap(R: float, r: float, d: float) -> float:
    """Area of the intersection of disks of radii ``R`` and ``r`` whose centres are ``d`` apart."""
    if d >= R + r:
        return 0.0
    if d <= abs(R - r):
        return math.pi * min(R, r) ** 2
    a = math.acos(max(-1.0, min(1.0, (d * d + R * R - r * r) / (2 * d * R))))
    b = math.acos(max(-1.0, min(1.0, (d * d + r * r - R * R) / (2 * d * r))))
    tri = 0.5 * math.sqrt(max(0.0, (-d + R + r) * (d + R - r) * (d - R + r) * (d + R + r)))
    return R * R * a + r * r * b - tri


def covered_fraction(R: float, r: float, d: float) -> float:
    """Fraction of the target disk (radius ``R``) that the occluder disk (``r``, ``d`` away) covers."""
    return disk_overlap(R, r, d) / (math.pi * R * R)


def offset_for_overlap(R: float, r: float, fraction: float) -> float:
    """Centre distance at which a disk of radius ``r`` covers ``fraction`` of a disk of radius ``R``.

    The covered fraction falls monotonically from its maximum (at ``d <= |R - r|``) to 0 (at
    ``d = R + r``), so bisection finds it; a fraction above what ``r`` can cover gives the full overlap."""
    lo, hi = abs(R - r), R + r
    if fraction >= covered_fraction(R, r, lo):
        return lo
    if fraction <= 0.0:
        return hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if covered_fraction(R, r, mid) > fraction:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def min_radius(R: float, fraction: float) -> float:
    """Smallest occluder radius that can cover ``fraction`` of the target disk (with a little slack)."""
    return R * math.sqrt(max(fraction, 0.0)) * 1.05


@dataclass
class Occluder(Randomizer):
    """An object between the camera and a target that hides a chosen fraction of it."""
    TYPE: ClassVar[str] = "occluder"
    GROUP: ClassVar[str] = "objects"
    TARGETS: ClassVar[str] = "any"          # `select`: the occluder objects (empty: a built-in pool)
    PHASE: ClassVar[int | None] = 25        # after the camera group, before lighting
    PER_OBJECT: ClassVar[bool] = False

    target: str = fld("", "Object to occlude; shell-style patterns allowed (empty: any visible labelled target)")
    probability: float = fld(1.0, "Chance that an occluder appears in a frame", min=0.0, max=1.0)
    shapes: Distribution = fld(names("box", "cylinder", "plane"),
                               "Built-in occluder shapes (box, cylinder, plane), used when `select` is empty",
                               subtype="names")
    occlusion: Distribution = fld(uni(0.2, 0.6), "Fraction of the target's visible area to hide", min=0.0, max=1.0)
    position: Distribution = fld(uni(0.3, 0.7), "Where along the camera-to-target line (0: camera, 1: target)",
                                 min=0.05, max=0.95)
    size: Distribution = fld(uni(0.6, 1.5), "Occluder size relative to the target's projected size "
                                            "(raised where too small to hide the requested fraction)", min=0.01)
    refine: int = fld(3, "Measure-and-correct steps towards the requested occlusion", min=0, max=20)

    def sample(self, rng, ctx):
        """Every draw is taken every frame (fixed count), so the stream does not depend on `appear`."""
        appear = bool(rng.random() < self.probability)
        return {"appear": appear, "pick": float(rng.random()), "which": float(rng.random()), "shape": self.shapes.sample(rng),
                "occlusion": self.occlusion.sample(rng), "position": self.position.sample(rng),
                "size": self.size.sample(rng), "angle": float(rng.uniform(0.0, 2.0 * math.pi)),
                "roll": float(rng.uniform(0.0, 2.0 * math.pi))}
