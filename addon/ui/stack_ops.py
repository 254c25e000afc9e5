"""Operators that edit the scene's recipe: the randomizer stacks, categories, labels and list fields.

Every one works on ``context.scene.synthkiln.recipe`` through RNA (indices and data paths, never stored
references), so undo and redo see plain property changes. Defaults come from the schema dataclasses
(``write(pg, cls())``), never from the PropertyGroups' own defaults, which know nothing of a
field's default distribution or list.
"""

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

from ..bridge.recipe import json_value, write, write_recipe
from ..bridge.scene import RENDERABLE, label_rule
from ..core.errors import UserError
from ..core.randomizers import GROUPS, Randomizer, Selector
from ..core.recipe.model import EXPORT_FORMATS, Category, LabelRule, OutputSettings, Recipe
from . import prefs, props
from .draw import title
from .operators import _Reporting

GROUP_ITEMS = [(g, title(g), f"The {g} stack") for g in GROUPS]
TYPE_ITEMS = [(t, title(t), (c.__doc__ or t).strip().split("\n")[0]) for t, c in sorted(Randomizer.REGISTRY.items())]
SCOPE_ITEMS = [("SELECTED", "Selected", "The selected objects, one rule each"),
               ("ACTIVE", "Active", "The active object"),
               ("COLLECTION", "Collection", "A collection as a whole, one rule")]


def _recipe(context):
    state = context.scene.synthkiln
    if not state.initialized:
        raise UserError(f"scene {context.scene.name!r} has no SynthKiln recipe yet: make a new one or import a preset")
    return state.recipe


def _unique(wanted: str, taken) -> str:
    taken = set(taken)
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}_{n}" in taken:
        n += 1
    return f"{wanted}_{n}"


def _index(i: int, n: int, what: str) -> int:
    if not 0 <= i < n:
        raise UserError(f"no {what} at index {i} (there are {n})")
    return i


# -- randomizer stacks -------------------------------------------------------------------------------

def randomizer_names(recipe) -> set[str]:
    return {getattr(s, s.type).name or s.type for g in GROUPS for s in getattr(recipe.randomizers, g)}


class SYNTHKILN_OT_randomizer_add(_Reporting, bpy.types.Operator):
    """Add a randomizer to the end of a stack, with its schema defaults and a unique name"""
    bl_idname = "synthkiln.randomizer_add"
    bl_label = "Add Randomizer"
    bl_options = {'REGISTER', 'UNDO'}

    group: EnumProperty(name="Group", items=GROUP_ITEMS)
    type: EnumProperty(name="Type", items=TYPE_ITEMS)

    @classmethod
    def description(cls, context, properties):
        c = Randomizer.REGISTRY.get(properties.type)
        return (c.__doc__ or "").strip().split("\n")[0] if c else cls.__doc__

    def _execute(self, context):
        recipe = _recipe(context)
        cls = Randomizer.REGISTRY[self.type]
        if cls.GROUP != self.group:
            raise UserError(f"a {self.type} randomizer belongs in the {cls.GROUP} stack, not {self.group}")
        stack = getattr(recipe.randomizers, self.group)
        name = _unique(self.type, randomizer_names(recipe))
        slot = stack.add()
        slot.type = self.type
        write(getattr(slot, self.type), cls(name=name))
        slot.show_expanded = True
        setattr(context.scene.synthkiln, f"active_{self.group}", len(stack) - 1)
        return {'FINISHED'}


class _StackEntry:
    """An operator on one entry of a randomizer stack: ``group``, and ``index`` (-1: the active one)."""
    group: EnumProperty(name="Group", items=GROUP_ITEMS)
    index: IntProperty(name="Index", default=-1, min=-1, description="Stack position (-1: the active one)")

    def entry(self, context):
        """(stack, the scene's UI state, the name of its active-index property, the entry's index)."""
        stack = getattr(_recipe(context).randomizers, self.group)
        state, active = context.scene.synthkiln, f"active_{self.group}"
        i = _index(getattr(state, active) if self.index < 0 else self.index, len(stack), f"{self.group} randomizer")
        return stack, state, active, i


class SYNTHKILN_OT_randomizer_remove(_StackEntry, _Reporting, bpy.types.Operator):
    """Remove a randomizer from its stack"""
    bl_idname = "synthkiln.randomizer_remove"
    bl_label = "Remove Randomizer"
    bl_options = {'REGISTER', 'UNDO'}

    def _execute(self, context):
        stack, state, active, i = self.entry(context)
        stack.remove(i)
        setattr(state, active, max(0, min(getattr(state, active), len(stack) - 1)))
        return {'FINISHED'}


class SYNTHKILN_OT_randomizer_move(_StackEntry, _Reporting, bpy.types.Operator):
    """Move a randomizer up or down its stack (stacks apply top to bottom)"""
    bl_idname = "synthkiln.randomizer_move"
    bl_label = "Move Randomizer"
    bl_options = {'REGISTER', 'UNDO'}

    direction: EnumProperty(name="Direction", items=[("UP", "Up", ""), ("DOWN", "Down", "")])

    def _execute(self, context):
        stack, state, active, i = self.entry(context)
        j = i - 1 if self.direction == 'UP' else i + 1
        if not 0 <= j < len(stack):
            return {'CANCELLED'}
        stack.move(i, j)
        setattr(state, active, j)
        return {'FINISHED'}


# -- categories --------------------------------------------------------------------------------------

class SYNTHKILN_OT_category_add(_Reporting, bpy.types.Operator):
    """Add a category (ids follow the list order, from 1)"""
    bl_idname = "synthkiln.category_add"
    bl_label = "Add Category"
    bl_options = {'REGISTER', 'UNDO'}

    name: StringProperty(name="Name", description="Category name (empty: a new unique one)")

    def _execute(self, context):
        recipe, state = _recipe(context), context.scene.synthkiln
        names = [c.name for c in recipe.categories]
        if self.name and self.name in names:
            raise UserError(f"category {self.name!r} already exists")
        name = self.name or _unique("category", names)
        write(recipe.categories.add(), Category(name=name))
        state.active_category = len(recipe.categories) - 1
        if not state.label_category:
            state.label_category = name
        return {'FINISHED'}


class SYNTHKILN_OT_category_remove(_Reporting, bpy.types.Operator):
    """Remove a category and the label rules that give it"""
    bl_idname = "synthkiln.category_remove"
    bl_label = "Remove Category"
    bl_options = {'REGISTER', 'UNDO'}

    index: IntProperty(name="Index", default=-1, min=-1, description="List position (-1: the active one)")

    def _execute(self, context):
        recipe, state = _recipe(context), context.scene.synthkiln
        i = _index(state.active_category if self.index < 0 else self.index, len(recipe.categories), "category")
        name = recipe.categories[i].name
        recipe.categories.remove(i)
        rules = [k for k, rule in enumerate(recipe.labels) if rule.category == name]
        for k in reversed(rules):
            recipe.labels.remove(k)
        if name not in {c.name for c in recipe.categories}:
            props.rename_category(recipe, name, "")
        if state.label_category == name:
            state.label_category = ""
        state.active_category = max(0, min(state.active_category, len(recipe.categories) - 1))
        if rules:
            self.report({'INFO'}, f"Removed category {name!r} and {len(rules)} label rule(s)")
        return {'FINISHED'}


# -- labels ------------------------------------------------------------------------------------------

def object_rule(recipe, name: str) -> int:
    """Index of the per-object label rule of ``name`` (a rule selecting exactly that name), or -1."""
    for i, rule in enumerate(recipe.labels):
        sel = rule.select
        if not sel.collection and not sel.category and len(sel.names) == 1 and sel.names[0].value == name:
            return i
    return -1


def collection_rule(recipe, name: str) -> int:
    for i, rule in enumerate(recipe.labels):
        sel = rule.select
        if sel.collection == name and not sel.category and not len(sel.names):
            return i
    return -1


def effective_rule(scene, recipe, obj) -> int:
    """Index of the rule that labels ``obj`` (as a render resolves the rules), or -1. Reads only."""
    return label_rule(scene, [Selector(collection=r.select.collection, names=[p.value for p in r.select.names],
                                       category=r.select.category) for r in recipe.labels], obj)


def _relabel(recipe, index: int, rule: LabelRule) -> None:
    """Replace rule ``index`` (or none: -1) by ``rule`` at the end (later rules win), keeping attributes."""
    if index >= 0:
        old = recipe.labels[index]
        rule.attributes = {kv.key: json_value(kv.value) for kv in old.attributes}
        recipe.labels.remove(index)
    write(recipe.labels.add(), rule)


class _Scoped:
    scope: EnumProperty(name="Scope", items=SCOPE_ITEMS, default="SELECTED")
    collection: StringProperty(name="Collection", description="Collection for scope COLLECTION "
                                                              "(empty: the panel's collection)")

    def objects(self, context) -> list:
        objs = list(context.selected_objects) if self.scope == 'SELECTED' else [context.object]
        objs = [o for o in objs if o is not None and o.type in RENDERABLE]
        if not objs:
            raise UserError("no renderable object " + ("selected" if self.scope == 'SELECTED' else "is active"))
        return objs

    def collection_name(self, context) -> str:
        name = self.collection or context.scene.synthkiln.label_collection
        if name not in bpy.data.collections:
            raise UserError(f"no collection named {name!r}" if name else "choose a collection to label")
        return name


class SYNTHKILN_OT_label_assign(_Scoped, _Reporting, bpy.types.Operator):
    """Make objects targets of a category (the selection or the active object one rule each, or a
    collection as one rule); their attributes are kept"""
    bl_idname = "synthkiln.label_assign"
    bl_label = "Assign Label"
    bl_options = {'REGISTER', 'UNDO'}

    category: StringProperty(name="Category", description="Category (empty: the panel's category)")

    def _execute(self, context):
        recipe, state = _recipe(context), context.scene.synthkiln
        names = [c.name for c in recipe.categories]
        cat = self.category or state.label_category or (names[state.active_category] if names else "")
        if cat not in names:
            raise UserError(f"category {cat!r} is not in the category list ({', '.join(names) or 'none yet'}): "
                            "add it first" if cat else "add a category first")
        if self.scope == 'COLLECTION':
            coll = self.collection_name(context)
            _relabel(recipe, collection_rule(recipe, coll), LabelRule(select=Selector(collection=coll), category=cat))
            self.report({'INFO'}, f"Collection {coll!r} labelled {cat!r}")
            return {'FINISHED'}
        objs = self.objects(context)
        for obj in objs:
            _relabel(recipe, object_rule(recipe, obj.name), LabelRule(select=Selector(names=[obj.name]), category=cat))
        self.report({'INFO'}, f"{len(objs)} object(s) labelled {cat!r}")
        return {'FINISHED'}


class SYNTHKILN_OT_label_clear(_Scoped, _Reporting, bpy.types.Operator):
    """Remove the objects' own label rules (a collection's rule with scope Collection)"""
    bl_idname = "synthkiln.label_clear"
    bl_label = "Clear Label"
    bl_options = {'REGISTER', 'UNDO'}

    def _execute(self, context):
        recipe = _recipe(context)
        if self.scope == 'COLLECTION':
            found = [collection_rule(recipe, self.collection_name(context))]
            objs = []
        else:
            objs = self.objects(context)
            found = [object_rule(recipe, o.name) for o in objs]
        for i in sorted((i for i in found if i >= 0), reverse=True):
            recipe.labels.remove(i)
        still = [o.name for o in objs if effective_rule(context.scene, recipe, o) >= 0]
        if still:
            self.report({'WARNING'}, f"still labelled by another rule (collection or pattern): {', '.join(still)}")
        return {'FINISHED'}


# -- generic list fields (by data path from the scene) -----------------------------------------------

def _resolve(context, data_path: str):
    """(owner property group, property name, collection) for a data path below ``scene.synthkiln``."""
    if not data_path.startswith("synthkiln."):
        raise UserError(f"not a SynthKiln property: {data_path!r}")
    owner_path, _, name = data_path.rpartition(".")
    try:
        owner = context.scene.path_resolve(owner_path)
        coll = getattr(owner, name)
    except (ValueError, AttributeError):
        raise UserError(f"no property at {data_path!r}") from None
    if not isinstance(owner.bl_rna.properties.get(name), bpy.types.CollectionProperty):
        raise UserError(f"{data_path!r} is not a list")
    return owner, name, coll


class SYNTHKILN_OT_item_add(_Reporting, bpy.types.Operator):
    """Add an entry to a list field of the recipe"""
    bl_idname = "synthkiln.item_add"
    bl_label = "Add Entry"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    data_path: StringProperty(name="Data Path", description="The list, from the scene", options={'HIDDEN'})

    def _execute(self, context):
        owner, name, coll = _resolve(context, self.data_path)
        element = owner.bl_rna.properties[name].fixed_type.identifier
        schema = {pg.__name__: cls for cls, pg in props._GENERATED.items()}.get(element)
        last = coll[-1] if len(coll) else None
        entry = coll.add()
        if schema is not None:
            write(entry, schema())
        elif element == props.SYNTHKILN_PG_keyvalue.__name__:
            entry.key = _unique("key", [e.key for e in coll])
            entry.value = "0"
        elif element == props.SYNTHKILN_PG_string.__name__:
            entry.value = last.value if last is not None else ""
        if isinstance(owner, props.SYNTHKILN_PG_distribution) and name == "choices" and len(owner.weights):
            owner.weights.add().value = 1.0
        return {'FINISHED'}


class SYNTHKILN_OT_item_remove(_Reporting, bpy.types.Operator):
    """Remove an entry from a list field of the recipe"""
    bl_idname = "synthkiln.item_remove"
    bl_label = "Remove Entry"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    data_path: StringProperty(name="Data Path", description="The list, from the scene", options={'HIDDEN'})
    index: IntProperty(name="Index", min=0)

    def _execute(self, context):
        owner, name, coll = _resolve(context, self.data_path)
        coll.remove(_index(self.index, len(coll), "entry"))
        if isinstance(owner, props.SYNTHKILN_PG_distribution) and name == "choices" and self.index < len(owner.weights):
            owner.weights.remove(self.index)
        return {'FINISHED'}


class SYNTHKILN_OT_dist_weights(_Reporting, bpy.types.Operator):
    """Weight the choices (each starts at 1), or draw them evenly again"""
    bl_idname = "synthkiln.dist_weights"
    bl_label = "Choice Weights"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    data_path: StringProperty(name="Data Path", description="The distribution, from the scene", options={'HIDDEN'})

    def _execute(self, context):
        owner, _, weights = _resolve(context, f"{self.data_path}.weights")
        if len(weights):
            weights.clear()
        else:
            for _ in owner.choices:
                weights.add().value = 1.0
        return {'FINISHED'}


class SYNTHKILN_OT_export_toggle(_Reporting, bpy.types.Operator):
    """Write this format when the job completes (or stop writing it)"""
    bl_idname = "synthkiln.export_toggle"
    bl_label = "Toggle Export Format"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    format: EnumProperty(name="Format", items=[(f, f.upper(), "") for f in EXPORT_FORMATS])

    def _execute(self, context):
        exports = _recipe(context).output.exports
        have = [e.value for e in exports]
        if self.format in have:
            exports.remove(have.index(self.format))
        else:
            exports.add().value = self.format
        return {'FINISHED'}


class SYNTHKILN_OT_recipe_new(_Reporting, bpy.types.Operator):
    """Start an empty recipe in this scene (replaces the scene's recipe)"""
    bl_idname = "synthkiln.recipe_new"
    bl_label = "New Recipe"
    bl_options = {'REGISTER', 'UNDO'}

    def invoke(self, context, event):
        if context.scene.synthkiln.initialized:
            return context.window_manager.invoke_confirm(self, event)
        return self.execute(context)

    def execute(self, context):
        out = prefs.get(context).output_directory or OutputSettings().directory
        write_recipe(context.scene, Recipe(output=OutputSettings(directory=out)))
        return {'FINISHED'}


classes = (SYNTHKILN_OT_randomizer_add, SYNTHKILN_OT_randomizer_remove, SYNTHKILN_OT_randomizer_move,
           SYNTHKILN_OT_category_add, SYNTHKILN_OT_category_remove, SYNTHKILN_OT_label_assign,
           SYNTHKILN_OT_label_clear, SYNTHKILN_OT_item_add, SYNTHKILN_OT_item_remove, SYNTHKILN_OT_dist_weights,
           SYNTHKILN_OT_export_toggle, SYNTHKILN_OT_recipe_new)
register, unregister = bpy.utils.register_classes_factory(classes)
