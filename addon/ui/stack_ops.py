"""Operators that edit the scene's recipe: the randomizer stacks, categories, labels and list fields, asset
sources; and the sidebar's helpers around it: Reset to Scene, Check Scene's click-to-select and its staleness,
the presets folder, the object eyedropper.

Every one works on ``context.scene.synthkiln.recipe`` through RNA (indices and data paths, never stored
references), so undo and redo see plain property changes. Defaults come from the schema dataclasses
(``write(pg, cls())``), never from the PropertyGroups' own defaults, which know nothing of a
field's default distribution or list.
"""

import json
from pathlib import Path

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..bridge import asset_libraries, snapshot
from ..bridge.files import base_dir, user_path
from ..bridge.recipe import json_value, read, write, write_recipe
from ..bridge.scene_check import fingerprint
from ..bridge.scene import RENDERABLE, label_rule
from ..core.errors import UserError
from ..core.randomizers import GROUPS, Randomizer, Selector
from ..core.params.schema import from_data
from ..core.recipe.assets import FORMATS as MODEL_FORMATS, AssetSource, list_assets
from ..core.recipe.model import EXPORT_FORMATS, Category, LabelRule, OutputSettings, Recipe
from . import prefs, props
from .draw import summary, title
from .operators import _Reporting, registration, save_recipe

GROUP_ITEMS = [(g, title(g), f"The {g} stack") for g in GROUPS]
TYPE_ITEMS = [(t, title(t), summary(c.__doc__, t)) for t, c in sorted(Randomizer.REGISTRY.items())]
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

    group: EnumProperty(name="Group", items=GROUP_ITEMS, description="The stack to add to")
    type: EnumProperty(name="Type", items=TYPE_ITEMS, description="The randomizer type to add")

    @classmethod
    def description(cls, context, properties):
        c = Randomizer.REGISTRY.get(properties.type)
        return summary(c.__doc__, title(c.TYPE)) if c else summary(cls.__doc__)

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
    group: EnumProperty(name="Group", items=GROUP_ITEMS, description="The stack the entry is in")
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

    direction: EnumProperty(name="Direction", description="Towards the top (applied earlier) or the bottom",
                            items=[("UP", "Up", "One place up"), ("DOWN", "Down", "One place down")])

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

def _field(context, data_path: str):
    """(owner property group, property name) of a field below ``scene.synthkiln``."""
    if not data_path.startswith("synthkiln."):
        raise UserError(f"not a SynthKiln property: {data_path!r}")
    owner_path, _, name = data_path.rpartition(".")
    try:
        owner = context.scene.path_resolve(owner_path)
    except ValueError:
        raise UserError(f"no property at {data_path!r}") from None
    if name not in owner.bl_rna.properties:
        raise UserError(f"no property at {data_path!r}")
    return owner, name


def _resolve(context, data_path: str):
    """(owner property group, property name, collection) for a data path below ``scene.synthkiln``."""
    owner, name = _field(context, data_path)
    if not isinstance(owner.bl_rna.properties.get(name), bpy.types.CollectionProperty):
        raise UserError(f"{data_path!r} is not a list")
    return owner, name, getattr(owner, name)


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
    index: IntProperty(name="Index", min=0, description="The entry's position in the list")

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

    format: EnumProperty(name="Format", description="The export format to turn on or off",
                         items=[(f, title(f), f"{title(f)} files") for f in EXPORT_FORMATS])

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


# -- object fields, Check Scene, Reset to Scene, presets ------------------------------------------------------

class SYNTHKILN_OT_pick_active(_Reporting, bpy.types.Operator):
    """Use the active object: select it in the viewport, then click here"""
    bl_idname = "synthkiln.pick_active"
    bl_label = "Use Active Object"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    data_path: StringProperty(name="Data Path", description="The object field, from the scene", options={'HIDDEN'})

    def _execute(self, context):
        owner, name = _field(context, self.data_path)
        obj = context.object
        if obj is None:
            raise UserError("no active object: click one in the viewport first")
        setattr(owner, name, obj.name)
        return {'FINISHED'}


class SYNTHKILN_OT_check_select(_Reporting, bpy.types.Operator):
    """Select what this finding is about: its objects in the viewport, or its randomizer in the stack"""
    bl_idname = "synthkiln.check_select"
    bl_label = "Select Culprit"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    index: IntProperty(name="Index", min=0, description="The finding, in Check Scene's list")

    def _execute(self, context):
        state = context.scene.synthkiln
        p = state.check_problems[_index(self.index, len(state.check_problems), "Check Scene finding")]
        names = [n for n in json.loads(p.objects or "[]") if n in context.view_layer.objects]
        if names:
            for obj in context.view_layer.objects:
                obj.select_set(obj.name in names)
            context.view_layer.objects.active = context.view_layer.objects[names[0]]
        if p.group in GROUPS:
            stack = getattr(_recipe(context).randomizers, p.group)
            if 0 <= p.index < len(stack):
                setattr(state, f"active_{p.group}", p.index)
                stack[p.index].show_expanded = True
        return {'FINISHED'}


@bpy.app.handlers.persistent
def check_outdated(scene, _depsgraph=None) -> None:
    """Grey out Check Scene's findings once what they depend on changed (not on mere moves)."""
    state = getattr(scene, "synthkiln", None)
    if state is None or not state.check_done or state.check_stale:
        return
    if _depsgraph is not None and all(isinstance(u.id, bpy.types.Object) and not u.is_updated_geometry
                                      and u.is_updated_transform for u in _depsgraph.updates):
        return
    try:
        changed = fingerprint(scene) != state.check_fingerprint
    except Exception:       # noqa: BLE001  (a handler must never raise into Blender; an odd state is stale)
        changed = True
    if changed:
        state.check_stale = True


class SYNTHKILN_OT_reset_scene(_Reporting, bpy.types.Operator):
    """Put back what previewing changed: transforms, visibility, materials, lights, camera, world and render
    settings as they were before the first preview; objects and materials the preview made are removed"""
    bl_idname = "synthkiln.reset_scene"
    bl_label = "Reset to Scene"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and snapshot.has(context.scene)

    def _execute(self, context):
        n = snapshot.restore(context.scene)
        state = context.scene.synthkiln
        state.preview_status, state.preview_failed = f"Scene reset ({n} objects as before the preview)", False
        self.report({'INFO'}, state.preview_status)
        return {'FINISHED'}


def user_presets() -> Path:
    """The user's presets folder (Blender's own presets/synthkiln), made when first needed."""
    return Path(bpy.utils.user_resource('SCRIPTS', path="presets/synthkiln", create=True))


class SYNTHKILN_OT_preset_save(_Reporting, bpy.types.Operator):
    """Save the scene's recipe as a preset in your presets folder: it then shows in the Presets menu"""
    bl_idname = "synthkiln.preset_save"
    bl_label = "Save Preset"

    name: StringProperty(name="Name", description="Preset name (its file name, without .yaml)")

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def _execute(self, context):
        stem = bpy.path.clean_name(self.name.strip()).lower()
        if not self.name.strip():
            raise UserError("give the preset a name")
        path = user_presets() / f"{stem}.yaml"
        save_recipe(context, path)
        self.report({'INFO'}, f"Saved preset {path}")
        return {'FINISHED'}


# -- asset sources -----------------------------------------------------------------------------------------

_POOL_CACHE: dict[str, tuple[int, list[str], str]] = {}     # a source's settings -> (files, categories, error)


def source_pool(src_pg) -> tuple[int, list[str], str]:
    """How many files a source matches and their categories (or why none), cached by the source's settings
    (the Refresh button forgets the cache, for files added on disk)."""
    data = read(src_pg, AssetSource)
    key = json.dumps([data, str(base_dir())], sort_keys=True)
    if key not in _POOL_CACHE:
        try:
            src = from_data(AssetSource, data)
            if not src.path:
                raise UserError("no file or folder yet")
            manifest = user_path(src.manifest) if src.manifest else None
            found = list_assets(src, user_path(src.path), ("assets",), manifest)
            _POOL_CACHE[key] = (len(found), sorted({a.category for a in found}), "")
        except Exception as e:      # noqa: BLE001  (a draw must not raise; the message is shown instead)
            _POOL_CACHE[key] = (0, [], str(e))
    return _POOL_CACHE[key]


class SYNTHKILN_OT_asset_source_add(_Reporting, bpy.types.Operator, ImportHelper):
    """Add model files as an asset source: pick a folder (its sub-folders name the categories) or files"""
    bl_idname = "synthkiln.asset_source_add"
    bl_label = "Add Asset Source"
    bl_options = {'REGISTER', 'UNDO'}

    filter_glob: StringProperty(default=";".join(f"*{e}" for e in MODEL_FORMATS), options={'HIDDEN'})
    directory: StringProperty(name="Folder", subtype='DIR_PATH', description="Folder of model files")
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={'HIDDEN', 'SKIP_SAVE'})

    def _execute(self, context):
        recipe, state = _recipe(context), context.scene.synthkiln
        folder = Path(self.directory or Path(self.filepath).parent)
        picked = [f.name for f in self.files if f.name] or ([Path(self.filepath).name] if Path(self.filepath).suffix
                                                           else [])
        taken = [s.name for s in recipe.assets]
        fallback = state.label_category or (recipe.categories[0].name if len(recipe.categories) else "")
        sources = [AssetSource(name=_unique(bpy.path.clean_name(folder.name or "assets"), taken),
                               path=str(folder), category_from="folder", category=fallback)] if not picked else []
        for f in picked:
            taken.append(_unique(bpy.path.clean_name(Path(f).stem), taken + [s.name for s in sources]))
            sources.append(AssetSource(name=taken[-1], path=str(folder / f), category_from="fixed",
                                       category=fallback or folder.name))
        for src in sources:
            write(recipe.assets.add(), src)
        state.active_source = len(recipe.assets) - 1
        self.report({'INFO'}, f"Added {len(sources)} asset source(s)")
        return {'FINISHED'}


class SYNTHKILN_OT_asset_categories_add(_Reporting, bpy.types.Operator):
    """Add the categories the asset sources name (folders, patterns) to the category list"""
    bl_idname = "synthkiln.asset_categories_add"
    bl_label = "Add Their Categories"
    bl_options = {'REGISTER', 'UNDO'}

    def _execute(self, context):
        recipe = _recipe(context)
        have = [c.name for c in recipe.categories]
        new = sorted({c for src in recipe.assets for c in source_pool(src)[1]} - set(have))
        for name in new:
            write(recipe.categories.add(), Category(name=name))
        self.report({'INFO'}, f"Added categories: {', '.join(new)}" if new else "No category missing")
        return {'FINISHED'}


class SYNTHKILN_OT_asset_pool_refresh(bpy.types.Operator):
    """Count the sources' files again (after files were added or removed on disk)"""
    bl_idname = "synthkiln.asset_pool_refresh"
    bl_label = "Refresh Pool"
    bl_options = {'INTERNAL'}

    def execute(self, context):
        _POOL_CACHE.clear()
        for area in (context.screen.areas if context.screen else ()):
            area.tag_redraw()
        return {'FINISHED'}


class SYNTHKILN_OT_assets_to_library(_Reporting, bpy.types.Operator, ExportHelper):
    """Import the active source's files into an asset library .blend (one asset per file, catalogs by category),
    in a background Blender: drag them in from the Asset Browser afterwards"""
    bl_idname = "synthkiln.assets_to_library"
    bl_label = "Import into Asset Library"

    filename_ext = ".blend"
    filter_glob: StringProperty(default="*.blend", options={'HIDDEN'})
    wait: BoolProperty(name="Wait", description="Block until the import is done (scripts, tests)",
                       options={'HIDDEN', 'SKIP_SAVE'})

    _running: dict = {}     # library path -> (process, report path, scene name)

    def invoke(self, context, event):
        folder = prefs.asset_library(context) or str(user_presets().parent.parent / "synthkiln_assets")
        self.filepath = str(Path(folder) / "SynthKiln Assets.blend")
        return super().invoke(context, event)

    def _execute(self, context):
        import subprocess
        import tempfile
        recipe, state = _recipe(context), context.scene.synthkiln
        if not len(recipe.assets):
            raise UserError("no asset source: add a folder or files first")
        src = recipe.assets[min(state.active_source, len(recipe.assets) - 1)]
        data = read(src, AssetSource)
        paths = [str(user_path(data["path"]))]
        library = str(Path(bpy.path.abspath(self.filepath)))
        if library in self._running:
            raise UserError(f"{library} is being imported into already")
        report = str(Path(tempfile.mkdtemp(prefix="synthkiln-lib-")) / "report.json")
        cmd = asset_libraries.import_command(paths, library, data, report)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._running[library] = (proc, report, context.scene.name)
        state.library_status = f"Importing {src.name} into {Path(library).name}..."
        if self.wait:
            proc.wait()
            _library_done(library)
            return {'FINISHED'}
        bpy.app.timers.register(lambda: _library_done(library), first_interval=1.0)
        return {'FINISHED'}


def _library_done(library: str):
    """Timer: once the background import ended, its report goes to the Assets panel's status line."""
    proc, report, scene_name = SYNTHKILN_OT_assets_to_library._running[library]
    if proc.poll() is None:
        return 1.0
    del SYNTHKILN_OT_assets_to_library._running[library]
    try:
        got = json.loads(Path(report).read_text())
    except (OSError, ValueError):
        got = {"imported": [], "failed": [f"the import stopped (exit code {proc.returncode})"]}
    failed = got.get("failed", [])
    text = f"{Path(library).name}: {len(got.get('imported', []))} imported, {len(failed)} failed"
    if failed:
        text += f" ({failed[0]})"
    scene = bpy.data.scenes.get(scene_name)
    if scene is not None:
        scene.synthkiln.library_status = text
    asset_libraries.register(str(Path(library).parent) if not prefs.asset_library() else prefs.asset_library())
    return None


classes = (SYNTHKILN_OT_randomizer_add, SYNTHKILN_OT_randomizer_remove, SYNTHKILN_OT_randomizer_move,
           SYNTHKILN_OT_category_add, SYNTHKILN_OT_category_remove, SYNTHKILN_OT_label_assign,
           SYNTHKILN_OT_label_clear, SYNTHKILN_OT_item_add, SYNTHKILN_OT_item_remove, SYNTHKILN_OT_dist_weights,
           SYNTHKILN_OT_export_toggle, SYNTHKILN_OT_recipe_new, SYNTHKILN_OT_pick_active, SYNTHKILN_OT_check_select,
           SYNTHKILN_OT_reset_scene, SYNTHKILN_OT_preset_save, SYNTHKILN_OT_asset_source_add,
           SYNTHKILN_OT_asset_categories_add, SYNTHKILN_OT_asset_pool_refresh, SYNTHKILN_OT_assets_to_library)
register, unregister = registration(classes, depsgraph_update_post=check_outdated)
