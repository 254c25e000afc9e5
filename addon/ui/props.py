"""The recipe's scene view: PropertyGroups generated from the core schema (never written by hand),
stored on ``Scene.synthkiln`` and saved in the .blend.

``bridge/recipe`` converts between the dataclasses and these properties (the headless runner reads
them too); this module only defines and registers them.
"""

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, FloatVectorProperty,
                       IntProperty, IntVectorProperty, PointerProperty, StringProperty)

from ..bridge import compat
from ..bridge.preview import show_preview_frame
from ..core.params.distributions import KINDS
from ..core.randomizers import GROUPS, Randomizer
from ..core.recipe.model import Category, Recipe
from ..core.params.schema import field_specs


class SYNTHKILN_PG_string(bpy.types.PropertyGroup):
    value: StringProperty()


class SYNTHKILN_PG_float(bpy.types.PropertyGroup):
    value: FloatProperty()


class SYNTHKILN_PG_keyvalue(bpy.types.PropertyGroup):
    key: StringProperty(name="Key")
    value: StringProperty(name="Value", description="JSON value: a number, true/false, or a \"string\"")


class SYNTHKILN_PG_distribution(bpy.types.PropertyGroup):
    kind: EnumProperty(name="Distribution", items=[(k, k.replace("_", " ").title(), "") for k in KINDS])
    value: FloatProperty(name="Value")
    min: FloatProperty(name="Min")
    max: FloatProperty(name="Max", default=1.0)
    mean: FloatProperty(name="Mean")
    std: FloatProperty(name="Std", default=1.0, min=0.0)
    clip: BoolProperty(name="Clip", description="Clip normal draws to [min, max]")
    choices: CollectionProperty(type=SYNTHKILN_PG_string, description="Choice values (JSON)")
    weights: CollectionProperty(type=SYNTHKILN_PG_float)
    rare_p: FloatProperty(name="Rare p", min=0.0, max=1.0, description="Probability of an outlier draw")
    rare_min: FloatProperty(name="Rare min")
    rare_max: FloatProperty(name="Rare max")


_BASE = (SYNTHKILN_PG_string, SYNTHKILN_PG_float, SYNTHKILN_PG_keyvalue, SYNTHKILN_PG_distribution)
_GENERATED: dict[type, type] = {}       # schema dataclass -> PropertyGroup class
_ORDER: list[type] = []                 # registration order (children first)


_VECTOR_SUBTYPES = {"COLOR", "COLOR_GAMMA", "TRANSLATION", "DIRECTION", "XYZ", "XYZ_LENGTH", "EULER"}


def _prop(spec, group_for):
    opts = {"name": spec.name.replace("_", " ").title(), "description": spec.help}
    lim = {k: v for k, v in (("min", spec.min), ("max", spec.max)) if v is not None}
    k = spec.kind
    if k == "bool":
        return BoolProperty(default=spec.default, **opts)
    if k == "int":
        return IntProperty(default=spec.default, **opts, **lim)
    if k == "float":
        return FloatProperty(default=spec.default, **opts, **lim)
    if k == "str":
        if spec.subtype in ("FILE_PATH", "DIR_PATH"):
            return StringProperty(default=spec.default, subtype=spec.subtype,
                                  options=compat.path_property_options(), **opts)
        return StringProperty(default=spec.default, **opts)
    if k == "enum":
        return EnumProperty(items=[(o, o.replace("_", " ").title(), "") for o in spec.options],
                            default=spec.default, **opts)
    if k == "int2":
        return IntVectorProperty(size=2, default=spec.default, **opts, **lim)
    if k == "float3":
        sub = {"subtype": spec.subtype} if spec.subtype in _VECTOR_SUBTYPES else {}
        return FloatVectorProperty(size=3, default=spec.default, **opts, **lim, **sub)
    if k == "dist":
        return PointerProperty(type=SYNTHKILN_PG_distribution, **opts)
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
        annotations = {spec.name: _prop(spec, _group_for) for spec in field_specs(cls)}
        if cls is Category:
            # a rename follows through to every rule that names the category (UI state, not in the recipe)
            annotations["name"] = StringProperty(**annotations["name"].keywords, update=_category_renamed)
            annotations["prev_name"] = StringProperty(options={'HIDDEN'})
        pg = type(f"SYNTHKILN_PG_{cls.__name__}", (bpy.types.PropertyGroup,),
                  {"__annotations__": annotations, "__doc__": (cls.__doc__ or cls.__name__).strip().split("\n")[0]})
        _GENERATED[cls] = pg
        _ORDER.append(pg)
    return _GENERATED[cls]


def _slot_group(group_for) -> type:
    """A stack entry: which randomizer type it is, and one pointer per type (like Blender's modifiers)."""
    if Randomizer not in _GENERATED:
        types = sorted(Randomizer.REGISTRY.items())
        annotations = {"type": EnumProperty(name="Type", items=[(t, t.replace("_", " ").title(), c.__doc__ or "")
                                                                for t, c in types])}
        for t, c in types:
            annotations[t] = PointerProperty(type=group_for(c))
        # UI state, not part of the recipe (``read`` only walks schema fields)
        annotations["show_expanded"] = BoolProperty(name="Expanded", description="Show this randomizer's settings")
        pg = type("SYNTHKILN_PG_randomizer_slot", (bpy.types.PropertyGroup,), {"__annotations__": annotations})
        _GENERATED[Randomizer] = pg
        _ORDER.append(pg)
    return _GENERATED[Randomizer]


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
    show_preview_frame(self.id_data)


class SYNTHKILN_PG_scene(bpy.types.PropertyGroup):
    """SynthKiln's per-scene state: the recipe and UI bookkeeping that is not part of it."""
    initialized: BoolProperty(default=False, description="The recipe has been filled with its defaults")
    preview_frame: IntProperty(name="Preview Frame", min=0, update=_preview_frame_changed,
                               description="Frame index the scene shows: changing it applies that frame's sample")
    preview_status: StringProperty(name="Preview Status", description="What the last preview did, or its error")
    preview_failed: BoolProperty(name="Preview Failed", description="The last preview stopped on an error")
    # list cursors and bulk-labelling choices (UI state)
    active_category: IntProperty(name="Active Category", min=0)
    active_objects: IntProperty(min=0)
    active_materials: IntProperty(min=0)
    active_camera: IntProperty(min=0)
    active_lighting: IntProperty(min=0)
    active_environment: IntProperty(min=0)
    active_sensor: IntProperty(min=0)
    label_category: StringProperty(name="Category", description="Category that Assign gives the objects")
    label_collection: StringProperty(name="Collection", description="Collection that Assign labels as a whole")
    # render progress, written by the render operator (the panel only reads it)
    render_running: BoolProperty(name="Rendering")
    render_done: IntProperty(name="Frames Done", min=0)
    render_total: IntProperty(name="Frames", min=0)
    render_eta: FloatProperty(name="ETA", min=0.0, subtype='TIME_ABSOLUTE', unit='TIME_ABSOLUTE')
    render_status: StringProperty(name="Render Status")
    # the last Check Scene
    check_done: BoolProperty(name="Checked")
    check_problems: CollectionProperty(type=SYNTHKILN_PG_string)


def classes() -> list[type]:
    _group_for(Recipe)
    SYNTHKILN_PG_scene.__annotations__["recipe"] = PointerProperty(type=_GENERATED[Recipe])
    return [*_BASE, *_ORDER, SYNTHKILN_PG_scene]


def register() -> None:
    for cls in classes():
        bpy.utils.register_class(cls)
    bpy.types.Scene.synthkiln = PointerProperty(type=SYNTHKILN_PG_scene)


def unregister() -> None:
    del bpy.types.Scene.synthkiln
    for cls in reversed(classes()):
        bpy.utils.unregister_class(cls)
