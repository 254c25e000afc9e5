"""Materials: colour, PBR values, procedural and image textures, material swap."""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal


from ..params.balance import balanced_choice
from ..params.distributions import Distribution
from ..errors import UserError
from ..params.schema import SchemaError, fld
from .base import Context, Randomizer, deg, names, uni

# Named colours as sRGB hex (what people mean by "red"); values hold them as linear RGB for Blender.
COLOURS = {
    "red": "#c0201c", "green": "#2f9a3c", "blue": "#1f4fc0", "yellow": "#f2d024", "orange": "#ef7a18",
    "purple": "#75309e", "pink": "#ef8fb4", "white": "#f2f2ee", "black": "#161616", "grey": "#7f7f7f",
    "gray": "#7f7f7f", "brown": "#6b4424", "cyan": "#22b2c8", "magenta": "#c81e96", "beige": "#ddcca2",
    "navy": "#1c2660", "olive": "#707a22", "teal": "#1c7f7a", "maroon": "#6e1620", "silver": "#c0c0c0",
}
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
TEXTURE_KINDS = ("noise", "voronoi", "wave", "checker", "brick")


def colour_rgb(name: str) -> list[float] | None:
    """Linear RGB of a named colour or ``#rrggbb`` (None if neither)."""
    code = COLOURS.get(name.lower()) if isinstance(name, str) else None
    if code is None and isinstance(name, str) and _HEX.fullmatch(name):
        code = name
    if code is None:
        return None
    srgb = [int(code[i:i + 2], 16) / 255.0 for i in (1, 3, 5)]
    return [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]


def _check_names(d: Distribution, valid: Callable[[str], bool], path, expected: str) -> None:
    for k, c in enumerate(d.choices):
        if not valid(str(c)):
            raise SchemaError(f"{c!r} is not {expected}", path + ("choice", k), c, expected)


def _hsv(rng, h: Distribution, s: Distribution, v: Distribution) -> list[float]:
    """Linear RGB from one draw of hue (wraps), saturation (clipped to 1) and value."""
    return list(colorsys.hsv_to_rgb(h.sample(rng) % 1.0, min(s.sample(rng), 1.0), v.sample(rng)))


@dataclass
class MaterialRandomizer(Randomizer):
    """What every material randomizer shares: one draw per object or one for all selected objects."""
    GROUP: ClassVar[str] = "materials"

    per_object: bool = fld(True, "Draw per object; off: one draw shared by all selected objects")

    def per_target(self, ctx: Context, draw: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """``{target: draw(slot)}``; ``slot`` is the object's rank among the targets shown this frame
        (hidden ones after them; 0 when shared), so balanced draws spread over what is seen."""
        shown = [n for n in ctx.targets if n not in ctx.frame.hidden]
        slots = {n: k for k, n in enumerate(shown + [n for n in ctx.targets if n in ctx.frame.hidden])}
        out, shared = {}, None
        for name in ctx.targets:
            if shared is None or self.per_object:
                shared = draw(slots[name])
            out[name] = dict(shared)
        return out


@dataclass
class MaterialColor(MaterialRandomizer):
    """Base colour in HSV (replace, or shift the original) or from a named palette, and roughness."""
    TYPE: ClassVar[str] = "material_color"

    mode: Literal["replace", "shift", "palette"] = fld(
        "replace", "replace: absolute HSV; shift: hue offset, S/V factors; palette: a named colour")
    hue: Distribution = fld(uni(0, 1), "Hue 0..1 (shift: offset added to the original hue)")
    saturation: Distribution = fld(uni(0.3, 0.9), "Saturation (shift: factor)", min=0.0)
    value: Distribution = fld(uni(0.3, 0.9), "Value/brightness (shift: factor)", min=0.0)
    palette: Distribution = fld(names("red", "green", "blue", "yellow", "orange", "purple", "white", "black",
                                      "grey", "brown"),
                                "Palette mode: colour names (red, green, blue, yellow, orange, purple, pink, white,"
                                " black, grey, brown, cyan, magenta, beige, ...) or #rrggbb", subtype="names")
    attribute: str = fld("colour", "Palette mode: the object attribute that records the colour name (empty: none);"
                                   " a balance target on it steers the colours")
    roughness: Distribution = fld(uni(0.2, 0.8), "Principled roughness", min=0.0, max=1.0)

    def check(self, path):
        if self.mode == "palette":
            _check_names(self.palette, lambda c: colour_rgb(c) is not None, path + ("palette",),
                         "a colour name or #rrggbb")

    def balances(self):
        if self.mode == "palette" and self.attribute:
            return {self.attribute: lambda name: colour_rgb(name) is not None}
        return {}

    def sample(self, rng, ctx):
        shares = ctx.frame.balance.get(self.attribute) if self.mode == "palette" and self.attribute else None

        def draw(slot):
            if self.mode != "palette":
                h, s, v, r = (self.hue.sample(rng), self.saturation.sample(rng), self.value.sample(rng),
                              self.roughness.sample(rng))
                out = {"mode": self.mode, "hsv": [h % 1.0 if self.mode == "replace" else h, s, v], "roughness": r}
                if self.mode == "replace":
                    out["color"] = list(colorsys.hsv_to_rgb(h % 1.0, min(s, 1.0), v))
                return out
            name = str(self.palette.sample(rng))
            if shares:
                name = balanced_choice(shares, ctx.frame.scene_index, self.key(), slot=slot)
            out = {"mode": "palette", "name": name, "color": colour_rgb(name), "roughness": self.roughness.sample(rng)}
            if self.attribute:
                out["attributes"] = {self.attribute: name}
            return out
        return self.per_target(ctx, draw)


@dataclass
class MaterialPBR(MaterialRandomizer):
    """Principled roughness, metallic and specular of each object's material."""
    TYPE: ClassVar[str] = "material_pbr"

    roughness: Distribution = fld(uni(0.1, 0.9), "Roughness", min=0.0, max=1.0)
    metallic: Distribution = fld(Distribution(kind="choice", choices=[0.0, 1.0], weights=[3.0, 1.0]),
                                 "Metallic (real materials are mostly 0 or 1)", min=0.0, max=1.0)
    specular: Distribution = fld(uni(0.3, 0.7), "Specular (IOR level; 0.5 is the physical default)",
                                 min=0.0, max=1.0)

    def sample(self, rng, ctx):
        return self.per_target(ctx, lambda slot: {"roughness": self.roughness.sample(rng),
                                                  "metallic": self.metallic.sample(rng),
                                                  "specular": self.specular.sample(rng)})


@dataclass
class ProceduralTexture(MaterialRandomizer):
    """A procedural pattern (noise, Voronoi, wave, checker, brick) painting a second colour and bump."""
    TYPE: ClassVar[str] = "procedural_texture"

    kind: Distribution = fld(names(*TEXTURE_KINDS), "Pattern: noise, voronoi, wave, checker, brick",
                             subtype="names")
    scale: Distribution = fld(uni(5, 40), "Pattern scale (repeats per metre of the object's own space)", min=0.0)
    mix: Distribution = fld(uni(0.3, 0.9), "How strongly the second colour shows where the pattern is high",
                            min=0.0, max=1.0)
    hue: Distribution = fld(uni(0, 1), "Second colour: hue 0..1")
    saturation: Distribution = fld(uni(0.2, 0.9), "Second colour: saturation", min=0.0)
    value: Distribution = fld(uni(0.05, 0.9), "Second colour: value", min=0.0)
    bump: Distribution = fld(uni(0.0, 0.3), "Bump strength (0: flat)", min=0.0, max=1.0)

    def check(self, path):
        _check_names(self.kind, lambda c: c in TEXTURE_KINDS, path + ("kind",), f"one of {', '.join(TEXTURE_KINDS)}")

    def sample(self, rng, ctx):
        def draw(slot):
            return {"kind": str(self.kind.sample(rng)), "scale": self.scale.sample(rng), "mix": self.mix.sample(rng),
                    "color": _hsv(rng, self.hue, self.saturation, self.value), "bump": self.bump.sample(rng),
                    "offset": [float(x) for x in rng.uniform(0.0, 100.0, 3)]}
        return self.per_target(ctx, draw)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".hdr", ".bmp", ".tga", ".webp")


@dataclass
class ImageTexture(MaterialRandomizer):
    """Images from a folder mixed into the base colour (UVs where the mesh has them, else box projection)."""
    TYPE: ClassVar[str] = "image_texture"

    folder: str = fld("builtin:asset_library/textures", "Folder of images (absolute, or builtin:...)",
                      subtype="DIR_PATH")
    max_images: int = fld(64, "Load at most this many images (the first by file name)", min=1)
    mix: Distribution = fld(uni(0.7, 1.0), "How much of the image replaces the base colour", min=0.0, max=1.0)
    scale: Distribution = fld(uni(1, 4), "Repeats across the object (UV: per UV tile)", min=0.0)
    rotation: Distribution = fld(uni(0, 360), "Rotation of the image (degrees)")

    def sample(self, rng, ctx):
        images = ctx.data.get("images") or []
        if not images:
            raise UserError(f"{self.key()}: no images found in {self.folder!r}")

        def draw(slot):
            return {"image": images[int(rng.integers(len(images)))], "mix": self.mix.sample(rng),
                    "scale": self.scale.sample(rng), "rotation": deg(self.rotation, rng),
                    "offset": [float(x) for x in rng.uniform(0.0, 1.0, 2)]}
        return self.per_target(ctx, draw)


@dataclass
class MaterialSwap(MaterialRandomizer):
    """Give each object a material picked from a list (from the scene, or appended once from a library).

    List it first in the materials stack: colour and texture randomizers after it then act on the
    swapped-in material."""
    TYPE: ClassVar[str] = "material_swap"

    materials: Distribution = fld(names("MugMaterial", "BottleMaterial", "BowlMaterial", "CanMaterial",
                                        "BookMaterial", "BoxMaterial"),
                                  "Material names (found in the scene, else appended from the library)",
                                  subtype="names")
    library: str = fld("builtin:asset_library/tabletop.blend", ".blend to append missing materials from",
                       subtype="FILE_PATH")

    def sample(self, rng, ctx):
        return self.per_target(ctx, lambda slot: {"material": str(self.materials.sample(rng))})
