"""The recipe: the whole description of a dataset, defined once (DESIGN §1).

YAML presets (``preset.py``) and the scene's PropertyGroups (``ui/props.py``) are views of these
dataclasses; ranges and help texts live here and nowhere else.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from ..params.balance import BalanceTarget
from .assets import AssetSource
from ..randomizers import GROUPS, Randomizer, Selector
from ..params.schema import SchemaError, fld, from_data, to_data

SCHEMA_VERSION = 1


@dataclass
class Category:
    name: str = fld("", "Category name, as written in the exports")
    supercategory: str = fld("", "COCO supercategory")
    color: tuple[float, float, float] = fld((0.0, 0.0, 0.0), "Colour in previews and the UI (black: automatic)",
                                            min=0.0, max=1.0, subtype="COLOR")


@dataclass
class LabelRule:
    """Makes the selected objects targets with this category and attributes."""
    select: Selector = fld(Selector(), "Which objects get this label")
    category: str = fld("", "Category name (must be listed under categories)")
    attributes: dict[str, Any] = fld({}, "Free attributes written with every instance (name: value)")


@dataclass
class AssetRef:
    asset: str = fld("", "Object name in the library .blend")
    count: int = fld(1, "How many copies to place (they share mesh data)", min=0, max=1000)
    collection: str = fld("Targets", "Collection the copies go into")


@dataclass
class LightSpec:
    name: str = fld("Light", "Light object name (created if the scene has none by that name)")
    type: Literal["POINT", "SUN", "SPOT", "AREA"] = fld("AREA", "Blender light type")
    size: float = fld(0.5, "Size of area lights / radius of point and spot lights (m)", min=0.0)


@dataclass
class SceneSetup:
    """How to build the scene from an asset library when it is not already in the .blend."""
    library: str = fld("", "Library .blend to append from: a path relative to the preset, or builtin:...",
                       subtype="FILE_PATH")
    objects: list[AssetRef] = fld([], "Objects to append from the library")
    lights: list[LightSpec] = fld([], "Lights to create if missing")
    camera: str = fld("Camera", "Camera object to use (created if missing)")


@dataclass
class Randomizers:
    """Ordered stacks, applied group by group in this order, each top to bottom."""
    objects: list[Randomizer] = fld([], "Pose, placement")
    materials: list[Randomizer] = fld([], "Colours and surface values")
    camera: list[Randomizer] = fld([], "Camera placement and lens")
    lighting: list[Randomizer] = fld([], "Lights and world")
    environment: list[Randomizer] = fld([], "Fog, weather, backgrounds")
    sensor: list[Randomizer] = fld([], "Lens, noise, blur, colour, compression: applied to the render afterwards")

    def check(self, path):
        seen: dict[str, tuple] = {}
        for group in GROUPS:
            for i, r in enumerate(getattr(self, group)):
                where = path + (group, i)
                if r.GROUP != group:
                    raise SchemaError(f"a {r.TYPE} randomizer belongs under randomizers.{r.GROUP}, not {group}",
                                      where + ("type",), r.TYPE, f"a {group} randomizer")
                if not r.name:
                    r.name = r.TYPE if r.TYPE not in {x.name for x in self.all()} else f"{r.TYPE}_{i}"
                r._path = where          # for messages from the bridge (not a field: never saved)
                if r.name in seen:
                    raise SchemaError(f"randomizer name {r.name!r} is used twice: names must be unique",
                                      where + ("name",), r.name, "a unique name")
                seen[r.name] = where

    def path(self, r: Randomizer) -> tuple:
        """Field path of a randomizer, for messages: ("randomizers", "lighting", 0)."""
        return ("randomizers", r.GROUP, getattr(self, r.GROUP).index(r))

    def all(self) -> list[Randomizer]:
        return [r for g in GROUPS for r in getattr(self, g)]


@dataclass
class RenderSettings:
    engine: Literal["CYCLES"] = fld("CYCLES", "Render engine (Cycles: exact object-index masks)")
    resolution: tuple[int, int] = fld((640, 480), "Width, height (px)", min=1, max=16384)
    samples: int = fld(16, "Cycles samples per pixel", min=1, max=65536)
    denoise: bool = fld(False, "Denoise (costs about 40% of a small CPU frame)")
    device: Literal["CPU", "GPU", "auto"] = fld("CPU", "Cycles device: CPU, GPU (an error where none is usable), "
                                                "or auto (a GPU if there is one, else the CPU with a warning)")
    gpu_backend: Literal["auto", "OPTIX", "CUDA", "HIP", "METAL", "ONEAPI"] = fld(
        "auto", "GPU backend (auto: OptiX, then CUDA, HIP, oneAPI, Metal, whichever has a device)")
    threads: int = fld(0, "CPU threads (0: all cores)", min=0, max=1024)
    profile: Literal["fast", "balanced", "final"] = fld(
        "balanced", "Render profile: bounces, light tree, adaptive sampling and denoiser tuning, from cheapest "
        "(fast) to cleanest (final); explicit fields below override it")
    max_bounces: int = fld(-1, "Light path bounces (-1: the profile's)", min=-1, max=1024)
    view_transform: Literal["Standard", "AgX", "Filmic"] = fld("AgX", "Colour view transform of the RGB image")
    motion_blur: bool = fld(False, "Motion blur along the keyed motion of a clip job (off while output.flow is on: "
                                   "Cycles then writes an empty Vector pass)")


EXPORT_FORMATS = ("coco", "yolo", "yolo-seg", "voc", "kitti", "mot", "kitti_tracking", "video")
CLIP_FORMATS = ("mot", "kitti_tracking", "video")       # tracking formats: clip jobs only (output.clips > 0)


@dataclass
class OutputSettings:
    directory: str = fld("synthkiln_output", "Dataset folder (// = next to the .blend)", subtype="DIR_PATH")
    frames: int = fld(20, "Frames in the job (a clip job: clips × clip_length, set from those)", min=0,
                      max=10_000_000)
    clips: int = fld(0, "Clips in the job (0: a job of independent stills); frame i is frame i % clip_length "
                        "of clip i // clip_length", min=0, max=1_000_000)
    clip_length: int = fld(16, "Frames per clip (clip jobs only)", min=1, max=100_000)
    seed: int = fld(0, "Job seed: with the recipe it fixes every frame", min=0, max=2**31 - 1)
    image_format: Literal["PNG", "JPEG"] = fld("PNG", "RGB image format")
    jpeg_quality: int = fld(92, "JPEG quality", min=1, max=100)
    depth: bool = fld(True, "Write z-depth (float32 EXR, metres along the optical axis)")
    distance: bool = fld(False, "Write distance to the camera centre (float32 EXR, metres)")
    normals: bool = fld(False, "Write surface normals in camera space (EXR; Normal pass)")
    flow: bool = fld(False, "Write forward optical flow to the next scene frame (EXR; Vector pass)")
    semantic: bool = fld(True, "Write a semantic mask (16-bit PNG of category ids)")
    exports: list[str] = fld(["coco"], "Formats written when the job completes: coco, yolo, yolo-seg, voc, kitti; "
                                       "for clip jobs also mot, kitti_tracking, video")
    coco_segmentation: Literal["rle", "polygon"] = fld("rle", "COCO masks as compressed RLE or polygons")
    val_fraction: float = fld(0.2, "Share of frames in the validation split (YOLO, VOC), by a seeded rule",
                              min=0.0, max=1.0)
    min_visibility: float = fld(0.0, "Exports skip instances less visible than this (0..1)", min=0.0, max=1.0)
    min_area: int = fld(1, "Exports skip instances with fewer visible pixels", min=0, max=1 << 30)
    include_categories: list[str] = fld([], "Exports keep only these categories (empty: all)")
    previews: int = fld(20, "Box/mask preview overlays written with the exports (0: none)", min=0, max=1_000_000)

    def __post_init__(self):
        if self.clips > 0:      # a clip job's frame count follows its shape: resume and shards see every frame
            self.frames = self.clips * self.clip_length

    def shard_unit(self) -> int:
        """Frames per unit of work that must stay together (a clip), 1 for stills."""
        return self.clip_length if self.clips > 0 else 1

    def check(self, path):
        if self.clips * self.clip_length > 10_000_000:
            raise SchemaError(f"clips × clip_length = {self.clips * self.clip_length} frames: expected at most "
                              "10000000", path + ("clips",), self.clips, "fewer frames")
        for i, f in enumerate(self.exports):
            if f not in EXPORT_FORMATS:
                close = difflib.get_close_matches(f, EXPORT_FORMATS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise SchemaError(f"unknown export format {f!r}{hint}: expected some of {', '.join(EXPORT_FORMATS)}",
                                  path + ("exports", i), f, f"one of {EXPORT_FORMATS}")
            if f in CLIP_FORMATS and self.clips == 0:
                raise SchemaError(f"export format {f!r} needs a clip job: set output.clips (and clip_length), or "
                                  "leave it out", path + ("exports", i), f, "a format for stills with clips: 0")


@dataclass
class Recipe:
    version: int = fld(SCHEMA_VERSION, "Recipe schema version", min=1, max=SCHEMA_VERSION)
    categories: list[Category] = fld([], "Categories, in id order (ids start at 1)")
    labels: list[LabelRule] = fld([], "Which objects are targets, with which category and attributes")
    scene: SceneSetup = fld(SceneSetup(), "Scene building from an asset library")
    assets: list[AssetSource] = fld([], "Model files imported as targets (scans, CAD, downloads); a pool shows them")
    randomizers: Randomizers = fld(Randomizers(), "Randomizer stacks")
    balance: list[BalanceTarget] = fld([], "Target shares for categories and attributes, followed over the job")
    render: RenderSettings = fld(RenderSettings(), "Render settings")
    output: OutputSettings = fld(OutputSettings(), "Output settings")

    def check(self, path):
        names = [c.name for c in self.categories]
        for i, c in enumerate(self.categories):
            if not c.name:
                raise SchemaError("a category needs a name", path + ("categories", i, "name"), "", "a name")
            if names.count(c.name) > 1:
                raise SchemaError(f"category {c.name!r} is listed twice", path + ("categories", i, "name"), c.name,
                                  "unique names")
        for i, rule in enumerate(self.labels):
            if rule.category not in names:
                raise SchemaError(f"category {rule.category!r} is not in categories ({', '.join(names) or 'none'})",
                                  path + ("labels", i, "category"), rule.category, f"one of {names}")

        sources = [a.name for a in self.assets]
        for i, a in enumerate(self.assets):
            if sources.count(a.name) > 1:
                raise SchemaError(f"asset source {a.name!r} is listed twice", path + ("assets", i, "name"), a.name,
                                  "unique names")
        self.check_output(path)
        views = max([r.views() for r in self.randomizers.all() if r.enabled] or [1])
        if self.output.clips > 0 and views > 1:
            raise SchemaError(f"a clip job cannot render {views} views per scene (camera_select mode each): "
                              "use mode pick, or output.clips: 0", path + ("output", "clips"), self.output.clips,
                              "0 with several views per scene")
        attrs = [b.attribute for b in self.balance]
        for i, b in enumerate(self.balance):
            if b.attribute in attrs[:i]:
                raise SchemaError(f"balance for {b.attribute!r} is given twice", path + ("balance", i, "attribute"),
                                  b.attribute, "one entry per attribute")
            # muted followers count: muting one for a preview must not make the recipe invalid
            followers = [r.balances()[b.attribute] for r in self.randomizers.all() if b.attribute in r.balances()]
            if not followers:
                offered = sorted({a for r in self.randomizers.all() for a in r.balances()})
                hint = ", ".join(offered) or ("none (an object_count follows category, a material_color "
                                              "palette its attribute)")
                raise SchemaError(f"no randomizer follows a balance on {b.attribute!r}: expected one of "
                                  f"{hint}", path + ("balance", i, "attribute"), b.attribute, f"one of {offered}")
            for k in b.shares:
                for ok in followers:
                    if ok is not None and not ok(str(k)):
                        raise SchemaError(f"{k!r} is not a value the randomizer following {b.attribute!r} can take",
                                          path + ("balance", i, "shares", k), k, "a value it can take")
            if b.attribute == "category":
                for k in b.shares:
                    if k not in names:
                        raise SchemaError(f"category {k!r} is not in categories ({', '.join(names) or 'none'})",
                                          path + ("balance", i, "shares", k), k, f"one of {names}")

    def check_output(self, path):
        names = [c.name for c in self.categories]
        for i, c in enumerate(self.output.include_categories):
            if c not in names:
                raise SchemaError(f"category {c!r} is not in categories ({', '.join(names) or 'none'})",
                                  path + ("output", "include_categories", i), c, f"one of {names}")

    def balance_shares(self) -> dict[str, dict[str, float]]:
        return {b.attribute: b.normalised() for b in self.balance}

    def category_ids(self) -> dict[str, int]:
        return {c.name: i + 1 for i, c in enumerate(self.categories)}


def recipe_from_data(data: Any) -> Recipe:
    return from_data(Recipe, data)


def recipe_to_data(recipe: Recipe) -> dict:
    return to_data(recipe)
