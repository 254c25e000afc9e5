"""Materials: colour, PBR values, procedural and image textures, material swap."""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..distributions import Distribution
from ..schema import SchemaError, fld
from .base import Randomizer, const, deg, names, uni

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
