"""The recipe's scene view: PropertyGroups generated from the core schema (never written by hand),
stored on ``Scene.synthkiln`` and saved in the .blend.

``bridge/recipe`` converts between the dataclasses and these properties (the headless runner reads
them too); this module only defines and registers them.
"""

import json
import math

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, FloatVectorProperty,
                       IntProperty, IntVectorProperty, PointerProperty, StringProperty)

from ..bridge import compat, snapshot
from ..bridge.preview import show_preview_frame
from ..bridge.recipe import json_value
from ..core.exports.preview import category_colour
from ..core.params.distributions import KINDS
from ..core.randomizers import GROUPS, Randomizer
from ..core.recipe.model import Category, Recipe
from ..core.params.schema import field_specs
from .draw import summary, title


class SYNTHKILN_PG_string(bpy.types.PropertyGroup):
    value: StringProperty(name="Value", description="One entry of the list (a choice: a JSON value)")
    # a name choice without its JSON quotes: "red" is drawn and typed as red (the recipe keeps JSON)
    text: StringProperty(name="Name", description="One name to choose from",
                         get=lambda self: _unquoted(self.value), set=lambda self, v: _set_quoted(self, v))


def _unquoted(text: str) -> str:
    v = json_value(text)
    return v if isinstance(v, str) else text


def _set_quoted(pg, text: str) -> None:
    pg.value = json.dumps(text)


class SYNTHKILN_PG_float(bpy.types.PropertyGroup):
    value: FloatProperty(name="Weight", description="Relative weight of the choice beside it (any scale)", min=0.0)


class SYNTHKILN_PG_keyvalue(bpy.types.PropertyGroup):
    key: StringProperty(name="Key", description="Attribute name, as written in the exports")
    value: StringProperty(name="Value", description="JSON value: a number, true/false, or a \"string\"")


# How each kind reads, for the one-row distribution editor (icon, tooltip)
KIND_ITEMS = {"constant": ('IPO_CONSTANT', "The same value every frame"),
              "uniform": ('IPO_LINEAR', "Any value between min and max, equally likely"),
              "normal": ('IPO_EASE_IN_OUT', "Around a mean with a standard deviation (clip: kept within min..max)"),
              "log_uniform": ('IPO_EXPO', "Between min and max, evenly on a log scale (small values as likely "
                                          "as large ones by ratio)"),
              "choice": ('PRESET', "One of a list of values, by weight")}
UNITS = ("", "LENGTH", "ANGLE", "COUNT", "CAMERA")


def unit_of(spec) -> str:
    """A field's unit, from its help text (the schema writes units there: "(m)", "(degrees)", "(mm)")."""
    h = spec.help
    if "(degrees" in h or "degrees)" in h:
        return "ANGLE"
    if "(mm)" in h:
        return "CAMERA"
    if "(m)" in h or "(m;" in h or "(m:" in h or " (m," in h:
        return "LENGTH"
    if "rounded" in h and spec.kind == "dist":
        return "COUNT"
    return ""


_FLOAT_UNIT = {"LENGTH": {"subtype": 'DISTANCE'}, "CAMERA": {"subtype": 'DISTANCE_CAMERA'},
               "COUNT": {"precision": 0, "step": 100}, "": {}, "ANGLE": {}}


def angle_proxy(name: str, label: str, description: str) -> FloatProperty:
    """A field the recipe keeps in degrees, shown and typed as a Blender angle (it converts; the stored degrees
    stay what presets say)."""
    return FloatProperty(name=label, description=description, subtype='ANGLE', unit='ROTATION',
                         get=lambda self: math.radians(getattr(self, name)),
                         set=lambda self, v: setattr(self, name, math.degrees(v)))


ANGLE_SUFFIX = "_angle"
_DIST_NUMBERS = {"value": ("Value", "The value of every draw (constant)"),
                 "min": ("Min", "Smallest value (uniform, log-uniform; normal when clipped)"),
                 "max": ("Max", "Largest value (uniform, log-uniform; normal when clipped)"),
                 "mean": ("Mean", "Centre of the normal distribution"),
                 "std": ("Std", "Standard deviation of the normal distribution"),
                 "rare_min": ("Rare Min", "Smallest value of a rare draw"),
                 "rare_max": ("Rare Max", "Largest value of a rare draw")}


def _distribution_group(unit: str) -> type:
    """The distribution editor's properties in one unit: one group per unit, so numbers show m, ° or whole
    counts (the recipe's fields are the same in each)."""
    fmt = _FLOAT_UNIT[unit]
    ann = {"kind": EnumProperty(name="Distribution", description="How the value is drawn each frame",
                                items=[(k, title(k), KIND_ITEMS[k][1], KIND_ITEMS[k][0], i)
                                       for i, k in enumerate(KINDS)])}
    for name, (label, desc) in _DIST_NUMBERS.items():
        extra = {"min": 0.0} if name == "std" else {}
        default = 1.0 if name in ("max", "std") else 0.0
        ann[name] = FloatProperty(name=label, description=desc, default=default, **fmt, **extra)
        if unit == "ANGLE":
            ann[name + ANGLE_SUFFIX] = angle_proxy(name, label, desc)
    ann.update(
        clip=BoolProperty(name="Clip", description="Keep normal draws within min..max"),
        choices=CollectionProperty(type=SYNTHKILN_PG_string, name="Choices", description="The values to choose from"),
        weights=CollectionProperty(type=SYNTHKILN_PG_float, name="Weights",
                                   description="Relative weight per choice (none: evenly)"),
        rare_p=FloatProperty(name="Rare p", min=0.0, max=1.0, description="Probability of an outlier draw from "
                             "rare min..rare max instead (0: never): synthetic data lacks outliers otherwise"),
        show_rare=BoolProperty(name="Rare Draws", description="Show the rare-draw settings (outliers)"),
    )
    suffix = f"_{unit.lower()}" if unit else ""
    return type(f"SYNTHKILN_PG_distribution{suffix}", (bpy.types.PropertyGroup,),
                {"__annotations__": ann, "__doc__": "A distribution's settings (the recipe's YAML form, editable)"})


DISTRIBUTIONS = {unit: _distribution_group(unit) for unit in UNITS}
SYNTHKILN_PG_distribution = DISTRIBUTIONS[""]

_BASE = (SYNTHKILN_PG_string, SYNTHKILN_PG_float, SYNTHKILN_PG_keyvalue, *DISTRIBUTIONS.values())
_GENERATED: dict[type, type] = {}       # schema dataclass -> PropertyGroup class
_ORDER: list[type] = []                 # registration order (children first)


_VECTOR_SUBTYPES = {"COLOR", "COLOR_GAMMA", "TRANSLATION", "DIRECTION", "XYZ", "XYZ_LENGTH", "EULER"}


def _description(spec) -> str:
    """The tooltip: the schema's help (with its unit) and the allowed range."""
    text = spec.help or title(spec.name)
    if spec.kind in ("int", "float", "dist") and (spec.min is not None or spec.max is not None):
        lo = "" if spec.min is None else f"{spec.min:g}"
        hi = "" if spec.max is None else f"{spec.max:g}"
        text += f". Range {lo}..{hi}" if lo and hi else (f". At least {lo}" if lo else f". At most {hi}")
    return text


def _prop(spec, group_for):
    opts = {"name": title(spec.name), "description": _description(spec)}
    lim = {k: v for k, v in (("min", spec.min), ("max", spec.max)) if v is not None}
    k, unit = spec.kind, unit_of(spec)
    if k == "bool":
        return BoolProperty(default=spec.default, **opts)
    if k == "int":
        return IntProperty(default=spec.default, **opts, **lim)
    if k == "float":
        return FloatProperty(default=spec.default, **opts, **lim, **_FLOAT_UNIT[unit])
    if k == "str":
        if spec.subtype in ("FILE_PATH", "DIR_PATH"):
            return StringProperty(default=spec.default, subtype=spec.subtype,
                                  options=compat.path_property_options(), **opts)
        return StringProperty(default=spec.default, **opts)
    if k == "enum":
        return EnumProperty(items=[(o, title(o), f"{spec.help}: {o}") for o in spec.options],
                            default=spec.default, **opts)
    if k == "int2":
        return IntVectorProperty(size=2, default=spec.default, **opts, **lim)
    if k == "float3":
        sub = {"subtype": spec.subtype} if spec.subtype in _VECTOR_SUBTYPES else {}
        if not sub and unit == "LENGTH":
            sub = {"subtype": 'TRANSLATION', "unit": 'LENGTH'}
        return FloatVectorProperty(size=3, default=spec.default, **opts, **lim, **sub)
    if k == "dist":
        return PointerProperty(type=DISTRIBUTIONS[unit], **opts)
    if k == "struct":
        return PointerProperty(type=group_for(spec.type), **opts)
    if k == "list_struct":
        return CollectionProperty(type=group_for(spec.type), **opts)
    if k == "list_str":
        return CollectionProperty(type=SYNTHKILN_PG_string, **opts)
    if k == "dict":
        return CollectionProperty(type=SYNTHKILN_PG_keyvalue, **opts)
    if k == "stack":
        return CollectionProperty(type=_slot_group(group_for), **opts)
    raise AssertionError(k)


def _group_for(cls: type) -> type:
    if cls not in _GENERATED:
        annotations = {}
        for spec in field_specs(cls):
            annotations[spec.name] = _prop(spec, _group_for)
            if spec.kind == "float" and unit_of(spec) == "ANGLE":
                annotations[spec.name + ANGLE_SUFFIX] = angle_proxy(spec.name, title(spec.name), _description(spec))
        if cls is Category:
            # a rename follows through to every rule that names the category (UI state, not in the recipe)
            annotations["name"] = StringProperty(**annotations["name"].keywords, update=_category_renamed)
            annotations["prev_name"] = StringProperty(options={'HIDDEN'}, description="The name before a rename")
            annotations["swatch"] = FloatVectorProperty(
                name="Colour", size=3, subtype='COLOR_GAMMA', min=0.0, max=1.0, get=_swatch_get, set=_swatch_set,
                description="Colour of this category in previews and the label overlay (the automatic one "
                            "until you pick another)")
        pg = type(f"SYNTHKILN_PG_{cls.__name__}", (bpy.types.PropertyGroup,),
                  {"__annotations__": annotations, "__doc__": (cls.__doc__ or cls.__name__).strip().split("\n")[0]})
        _GENERATED[cls] = pg
        _ORDER.append(pg)
    return _GENERATED[cls]


def _slot_group(group_for) -> type:
    """A stack entry: which randomizer type it is, and one pointer per type (like Blender's modifiers)."""
    if Randomizer not in _GENERATED:
        types = sorted(Randomizer.REGISTRY.items())
        annotations = {"type": EnumProperty(name="Type", description="The randomizer's type",
                                            items=[(t, title(t), summary(c.__doc__, title(t))) for t, c in types])}
        for t, c in types:
            annotations[t] = PointerProperty(type=group_for(c), name=title(t), description=summary(c.__doc__, title(t)))
        # UI state, not part of the recipe (``read`` only walks schema fields)
        annotations["show_expanded"] = BoolProperty(name="Expanded", description="Show this randomizer's settings")
        pg = type("SYNTHKILN_PG_randomizer_slot", (bpy.types.PropertyGroup,), {"__annotations__": annotations})
        _GENERATED[Randomizer] = pg
        _ORDER.append(pg)
    return _GENERATED[Randomizer]


def _swatch_get(self):
    """The colour previews really use: the recipe's colour, or the automatic one of the category's id."""
    if any(self.color):
        return tuple(self.color)
    cats = self.id_data.synthkiln.recipe.categories
    i = next((i for i, c in enumerate(cats) if c.as_pointer() == self.as_pointer()), 0)
    return tuple(x / 255.0 for x in category_colour(i + 1))


def _swatch_set(self, value) -> None:
    self.color = tuple(value)


def _category_renamed(self, context) -> None:
    old, new = self.prev_name, self.name
    self.prev_name = new
    recipe = self.id_data.synthkiln.recipe
    if old and old != new and not any(c.name == old for c in recipe.categories):
        rename_category(recipe, old, new)


def rename_category(recipe, old: str, new: str) -> None:
    """Every place of the scene's recipe that names category ``old`` now names ``new``. ``new=""`` (a removed
    category) drops its output filter entry and balance share; label rules are left to the caller and
    selectors keep the old name (matching nothing)."""
    selectors = [rule.select for rule in recipe.labels]
    selectors += [getattr(slot, slot.type).select for g in GROUPS for slot in getattr(recipe.randomizers, g)]
    for rule in recipe.labels:
        if rule.category == old:
            rule.category = new
    for sel in selectors if new else ():     # an emptied selector would widen to every target
        if sel.category == old:
            sel.category = new
    for coll, attr in ((recipe.output.include_categories, "value"),
                       *((b.shares, "key") for b in recipe.balance if b.attribute == "category")):
        for i in reversed(range(len(coll))):
            if getattr(coll[i], attr) == old:
                if new:
                    setattr(coll[i], attr, new)
                else:
                    coll.remove(i)


def _preview_frame_changed(self, context) -> None:
    scene = self.id_data
    snapshot.ensure(scene)               # the artist's scene, before the first preview moves it
    with snapshot.track(scene):          # what the preview makes, for Reset to Scene to remove
        show_preview_frame(scene)


class SYNTHKILN_PG_problem(bpy.types.PropertyGroup):
    """One Check Scene finding, and what a click on it selects."""
    text: StringProperty(name="Problem", description="What would spoil the dataset, and how to fix it")
    objects: StringProperty(name="Objects", description="Objects a click selects (JSON list of names)")
    group: StringProperty(name="Stack", description="Randomizer stack a click opens (empty: none)")
    index: IntProperty(name="Entry", default=-1, description="Stack entry a click makes active (-1: none)")


class SYNTHKILN_PG_scene(bpy.types.PropertyGroup):
    """SynthKiln's per-scene state: the recipe and UI bookkeeping that is not part of it."""
    initialized: BoolProperty(default=False, description="The recipe has been filled with its defaults")
    preview_frame: IntProperty(name="Preview Frame", min=0, update=_preview_frame_changed,
                               description="Frame index the scene shows: changing it applies that frame's sample")
    preview_status: StringProperty(name="Preview Status", description="What the last preview did, or its error")
    preview_failed: BoolProperty(name="Preview Failed", description="The last preview stopped on an error")
    snapshot: StringProperty(name="Scene Snapshot", options={'HIDDEN'},
                             description="The scene as it was before the first preview (Reset to Scene restores it)")
    # list cursors and bulk-labelling choices (UI state)
    active_category: IntProperty(name="Active Category", min=0, description="The category selected in the list")
    active_objects: IntProperty(min=0, description="The selected entry of the objects stack")
    active_materials: IntProperty(min=0, description="The selected entry of the materials stack")
    active_camera: IntProperty(min=0, description="The selected entry of the camera stack")
    active_lighting: IntProperty(min=0, description="The selected entry of the lighting stack")
    active_environment: IntProperty(min=0, description="The selected entry of the environment stack")
    active_sensor: IntProperty(min=0, description="The selected entry of the sensor stack")
    active_source: IntProperty(min=0, description="The selected asset source")
    label_category: StringProperty(name="Category", description="Category that Assign gives the objects")
    label_collection: StringProperty(name="Collection", description="Collection that Assign labels as a whole")
    # render progress, written by the render operator (the panel only reads it)
    render_running: BoolProperty(name="Rendering", description="A Render Dataset is running")
    render_done: IntProperty(name="Frames Done", min=0, description="Frames finished (rendered or already there)")
    render_total: IntProperty(name="Frames", min=0, description="Frames the running job renders in all")
    render_eta: FloatProperty(name="ETA", min=0.0, subtype='TIME_ABSOLUTE', unit='TIME_ABSOLUTE',
                              description="Time left, estimated from the frames rendered so far")
    render_status: StringProperty(name="Render Status", description="How the last Render Dataset went")
    # the last Check Scene, and whether the scene changed since (a depsgraph handler sets it)
    check_done: BoolProperty(name="Checked", description="Check Scene has run in this scene")
    check_stale: BoolProperty(name="Check Outdated", description="The scene changed after the last Check Scene")
    check_fingerprint: StringProperty(options={'HIDDEN'}, description="What the last Check Scene saw, hashed")
    check_problems: CollectionProperty(type=SYNTHKILN_PG_problem, name="Problems",
                                       description="What the last Check Scene found")
    # the Assets panel's import into an asset library
    library_status: StringProperty(name="Library Status", description="How the last import into a library went")


def classes() -> list[type]:
    _group_for(Recipe)
    SYNTHKILN_PG_scene.__annotations__["recipe"] = PointerProperty(
        type=_GENERATED[Recipe], name="Recipe", description="The scene's dataset recipe (saved with the .blend)")
    return [*_BASE, *_ORDER, SYNTHKILN_PG_problem, SYNTHKILN_PG_scene]


def register() -> None:
    for cls in classes():
        bpy.utils.register_class(cls)
    bpy.types.Scene.synthkiln = PointerProperty(type=SYNTHKILN_PG_scene)


def unregister() -> None:
    del bpy.types.Scene.synthkiln
    for cls in reversed(classes()):
        bpy.utils.unregister_class(cls)
