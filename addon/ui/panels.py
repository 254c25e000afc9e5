"""The sidebar tab "SynthKiln" (3D view) and the labels in the Object properties. ``draw`` only reads;
every change is a property edit or an operator. Registered only when Blender has a UI.

The Run panel sits first (preview, render, progress: always on screen), with the presets menu in its header;
the stacks follow, then Assets and Output."""

import textwrap
from pathlib import Path

import bpy

from ..bridge import snapshot
from ..bridge.scene import RENDERABLE
from ..core.recipe.assets import AssetSource
from ..core.recipe.preset import PACKAGE_ROOT
from ..core.randomizers import GROUPS, Randomizer
from ..core.recipe.model import (CLIP_FORMATS, EXPORT_FORMATS, Category, OutputSettings, Recipe, RenderSettings,
                                 SceneSetup)
from ..core.params.schema import field_specs
from .draw import CHAR_PX, draw_field, draw_fields, draw_list, labelled_row, region_width, title, ui_scale
from .stack_ops import effective_rule, object_rule, source_pool

GROUP_ICONS = {"objects": 'OBJECT_DATA', "materials": 'MATERIAL', "camera": 'CAMERA_DATA', "lighting": 'LIGHT',
               "environment": 'WORLD', "sensor": 'IMAGE_DATA'}
RECIPE = "synthkiln.recipe"
OUTPUT_MAIN = ("directory", "frames", "seed", "clips", "clip_length", "depth", "distance", "normals", "flow", "semantic", "exports")
RENDER_MAIN = ("resolution", "engine", "samples", "denoise")


def _spec(cls, name):
    return next(s for s in field_specs(cls) if s.name == name)


# -- lists and menus ---------------------------------------------------------------------------------

class SYNTHKILN_UL_randomizers(bpy.types.UIList):
    """A randomizer stack, like the modifier stack: expand, name, type, mute."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0, flt_flag=0):
        r = getattr(item, item.type)
        row = layout.row(align=True)
        row.prop(item, "show_expanded", text="", emboss=False,
                 icon='DISCLOSURE_TRI_DOWN' if item.show_expanded else 'DISCLOSURE_TRI_RIGHT')
        row.prop(r, "name", text="", emboss=False)     # the type is in its settings' box (narrow at 292 px)
        row.prop(r, "enabled", text="", emboss=False, icon='HIDE_OFF' if r.enabled else 'HIDE_ON')


class SYNTHKILN_UL_categories(bpy.types.UIList):
    """Categories in id order; double-click a name to rename it everywhere it is used."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0, flt_flag=0):
        row = layout.row(align=True)
        cell = row.row(align=True)
        cell.ui_units_x = 1.2                      # the id, as narrow as its digits: the name takes the rest
        cell.label(text=str(index + 1))
        row.prop(item, "name", text="", emboss=False, icon='TAG')
        cell = row.row(align=True)                 # the colour previews really use (automatic or chosen)
        cell.ui_units_x = 1.2
        cell.prop(item, "swatch", text="")


def _add_menu(group):
    def draw(self, context):
        for t, cls in sorted(Randomizer.REGISTRY.items()):
            if cls.GROUP == group:
                op = self.layout.operator("synthkiln.randomizer_add", text=title(t))
                op.group, op.type = group, t
    return type(f"SYNTHKILN_MT_add_{group}", (bpy.types.Menu,),
                {"bl_label": f"Add {title(group)} Randomizer", "draw": draw,
                 "__doc__": f"Randomizer types of the {group} stack"})


ADD_MENUS = {g: _add_menu(g) for g in GROUPS}


# -- the sidebar ----------------------------------------------------------------------------------------

class _Sidebar:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "SynthKiln"

    @classmethod
    def poll(cls, context):
        return context.scene is not None and context.scene.synthkiln.initialized


def draw_object_labels(layout, context, obj, scope: str) -> None:
    """One object's label: target on/off, its category and attributes (its own rule), or which rule
    labels it otherwise."""
    recipe = context.scene.synthkiln.recipe
    box = layout.box()
    row = box.row()
    row.label(text=obj.name, icon='OBJECT_DATA')
    if obj.type not in RENDERABLE:
        box.label(text="Not renderable: cannot be a target", icon='INFO')
        return
    own = object_rule(recipe, obj.name)
    rule = effective_rule(context.scene, recipe, obj)
    if own >= 0:
        row.operator("synthkiln.label_clear", text="Target", icon='CHECKBOX_HLT', depress=True).scope = scope
        r = recipe.labels[own]
        box.prop_search(r, "category", recipe, "categories", icon='TAG')
        draw_list(box, r.attributes, "dict", "Attributes", f"{RECIPE}.labels[{own}].attributes")
        if rule != own:
            box.label(text=f"Overridden by label rule {rule + 1} ({recipe.labels[rule].category})", icon='ERROR')
    else:
        row.operator("synthkiln.label_assign", text="Target", icon='CHECKBOX_DEHLT').scope = scope
        if rule >= 0:
            box.label(text=f"Labelled {recipe.labels[rule].category!r} by rule {rule + 1}", icon='INFO')


class SYNTHKILN_PT_labels(_Sidebar, bpy.types.Panel):
    bl_label = "Labels"

    def draw(self, context):
        layout = self.layout
        state = context.scene.synthkiln
        recipe = state.recipe
        if context.object is not None:
            draw_object_labels(layout, context, context.object, 'ACTIVE')
        col = layout.column(align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        col.label(text=f"{len(context.selected_objects)} selected")
        col.prop_search(state, "label_category", recipe, "categories", icon='TAG')
        row = col.row(align=True)
        row.operator("synthkiln.label_assign", text="Assign to Selected", icon='RESTRICT_SELECT_OFF').scope = 'SELECTED'
        row.operator("synthkiln.label_clear", text="", icon='X').scope = 'SELECTED'
        col.separator()
        col.prop_search(state, "label_collection", bpy.data, "collections", icon='OUTLINER_COLLECTION')
        row = col.row(align=True)
        op = row.operator("synthkiln.label_assign", text="Assign to Collection", icon='OUTLINER_COLLECTION')
        op.scope = 'COLLECTION'
        row.operator("synthkiln.label_clear", text="", icon='X').scope = 'COLLECTION'


class SYNTHKILN_PT_categories(_Sidebar, bpy.types.Panel):
    bl_label = "Categories"
    bl_parent_id = "SYNTHKILN_PT_labels"

    def draw(self, context):
        state = context.scene.synthkiln
        row = self.layout.row()
        row.template_list("SYNTHKILN_UL_categories", "", state.recipe, "categories", state, "active_category", rows=3)
        col = row.column(align=True)
        col.operator("synthkiln.category_add", text="", icon='ADD')
        col.operator("synthkiln.category_remove", text="", icon='REMOVE')
        cats = state.recipe.categories
        if len(cats):                               # the active one's further fields (supercategory...)
            i = min(state.active_category, len(cats) - 1)
            draw_fields(self.layout, cats[i], Category, f"{RECIPE}.categories[{i}]", skip=("name", "color"))


class SYNTHKILN_PT_label_rules(_Sidebar, bpy.types.Panel):
    bl_label = "Label Rules"
    bl_parent_id = "SYNTHKILN_PT_labels"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        recipe = context.scene.synthkiln.recipe
        draw_field(self.layout, recipe, Recipe, _spec(Recipe, "labels"), f"{RECIPE}.labels")


class SYNTHKILN_PT_balance(_Sidebar, bpy.types.Panel):
    bl_label = "Balance"
    bl_parent_id = "SYNTHKILN_PT_labels"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        recipe = context.scene.synthkiln.recipe
        draw_field(self.layout, recipe, Recipe, _spec(Recipe, "balance"), f"{RECIPE}.balance")


class _Stack(_Sidebar):
    group = ""

    def draw_header(self, context):
        self.layout.label(icon=GROUP_ICONS[self.group])

    def draw(self, context):
        g, layout = self.group, self.layout
        state = context.scene.synthkiln
        stack = getattr(state.recipe.randomizers, g)
        row = layout.row()
        row.template_list("SYNTHKILN_UL_randomizers", g, state.recipe.randomizers, g, state, f"active_{g}", rows=3)
        col = row.column(align=True)
        col.menu(f"SYNTHKILN_MT_add_{g}", text="", icon='ADD')
        col.operator("synthkiln.randomizer_remove", text="", icon='REMOVE').group = g
        col.separator()
        for direction, icon in (("UP", 'TRIA_UP'), ("DOWN", 'TRIA_DOWN')):
            op = col.operator("synthkiln.randomizer_move", text="", icon=icon)
            op.group, op.direction = g, direction
        for i, slot in enumerate(stack):
            if not slot.show_expanded:
                continue
            r = getattr(slot, slot.type)
            box = layout.box()
            head = box.row(align=True)
            head.prop(slot, "show_expanded", text="", emboss=False, icon='DISCLOSURE_TRI_DOWN')
            head.label(icon=GROUP_ICONS[g])
            head.prop(r, "name", text="")
            head.prop(r, "enabled", text="", icon='HIDE_OFF' if r.enabled else 'HIDE_ON')
            rm = head.operator("synthkiln.randomizer_remove", text="", icon='X', emboss=False)
            rm.group, rm.index = g, i
            labelled_row(box, "Type").label(text=title(slot.type))
            draw_fields(box.column(), r, Randomizer.REGISTRY[slot.type], f"{RECIPE}.randomizers.{g}[{i}].{slot.type}",
                        skip=("enabled", "name"))


def _stack_panel(group):
    return type(f"SYNTHKILN_PT_{group}", (_Stack, bpy.types.Panel), {"bl_label": title(group), "group": group})


STACK_PANELS = {g: _stack_panel(g) for g in GROUPS}


class SYNTHKILN_PT_scene_setup(_Sidebar, bpy.types.Panel):
    bl_label = "Scene Setup"
    bl_parent_id = "SYNTHKILN_PT_objects"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        draw_fields(self.layout, context.scene.synthkiln.recipe.scene, SceneSetup, f"{RECIPE}.scene")


class SYNTHKILN_PT_output(_Sidebar, bpy.types.Panel):
    bl_label = "Output"

    def draw_header(self, context):
        self.layout.label(icon='OUTPUT')

    def draw(self, context):
        layout = self.layout
        recipe = context.scene.synthkiln.recipe
        out, render = recipe.output, recipe.render
        col = layout.column(align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        for name in ("directory", "frames", "seed", "clips"):
            if name == "frames" and out.clips:      # a clip job's frame count follows clips x clip_length
                col.label(text=f"Frames: {out.clips * out.clip_length} ({out.clips} clips)")
            else:
                col.prop(out, name)
        if out.clips:
            col.prop(out, "clip_length")
        col = layout.column(align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(render, "resolution", index=0, text="Resolution X")   # as Blender's own Output properties
        col.prop(render, "resolution", index=1, text="Y")
        for name in RENDER_MAIN[1:]:
            col.prop(render, name)
        layout.label(text="Labels")
        flow = layout.grid_flow(columns=2, align=True)
        for name in ("depth", "distance", "normals", "flow", "semantic"):
            flow.prop(out, name, toggle=True)
        layout.label(text="Formats")
        have = {e.value for e in out.exports}
        flow = layout.grid_flow(columns=2, align=True)
        for f in EXPORT_FORMATS:
            if f in CLIP_FORMATS and not out.clips and f not in have:     # tracking formats need a clip job
                continue
            flow.operator("synthkiln.export_toggle", text=title(f), depress=f in have).format = f


class SYNTHKILN_PT_output_more(_Sidebar, bpy.types.Panel):
    bl_label = "More Settings"
    bl_parent_id = "SYNTHKILN_PT_output"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        recipe = context.scene.synthkiln.recipe
        col = self.layout.column()
        draw_fields(col, recipe.output, OutputSettings, f"{RECIPE}.output", skip=OUTPUT_MAIN)
        draw_fields(col, recipe.render, RenderSettings, f"{RECIPE}.render", skip=RENDER_MAIN)


# -- the pinned Run panel, its presets menu and Check Scene ------------------------------------------------

def wrap(context, text: str, indent_px: int = 56) -> list[str]:
    """``text`` in lines that fit the sidebar's width (292 px by default), never cut mid-word."""
    chars = max(16, int((region_width() - indent_px) / (CHAR_PX * ui_scale())))
    return textwrap.wrap(text, chars) or [""]


def wrapped_label(layout, context, text: str, icon: str = 'NONE') -> None:
    col = layout.column(align=True)
    for i, line in enumerate(wrap(context, text)):
        col.label(text=line, icon=icon if i == 0 or icon == 'NONE' else 'BLANK1')   # lines under the first


def preset_folders() -> list[str]:
    """Where the presets menu looks: the bundled presets, then the user's (Blender's presets/synthkiln)."""
    folders = [str(PACKAGE_ROOT / "presets")]
    user = bpy.utils.user_resource('SCRIPTS', path="presets/synthkiln", create=False)
    if user and Path(user).is_dir():
        folders.append(user)
    return folders


class SYNTHKILN_MT_presets(bpy.types.Menu):
    """Load a preset into the scene's recipe: the bundled ones and your own (saved to your presets folder)"""
    bl_label = "Presets"

    def draw(self, context):
        layout = self.layout
        layout.operator_context = 'EXEC_DEFAULT'          # load the file named, no file browser
        self.path_menu(preset_folders(), "synthkiln.import_preset", filter_ext=lambda ext: ext in (".yaml", ".yml"),
                       display_name=lambda name: title(Path(name).stem))
        layout.separator()
        layout.operator_context = 'INVOKE_DEFAULT'
        layout.operator("synthkiln.import_preset", text="Import Preset...", icon='IMPORT')
        layout.operator("synthkiln.preset_save", text="Save Preset...", icon='ADD')


class SYNTHKILN_PT_run(bpy.types.Panel):
    """Preview, render and progress: first in the tab, so they are always on screen."""
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "SynthKiln"
    bl_label = "Run"
    bl_order = 0

    def draw_header_preset(self, context):
        self.layout.menu("SYNTHKILN_MT_presets", text="", icon='PRESET')

    def draw(self, context):
        layout = self.layout
        state = context.scene.synthkiln
        if not state.initialized:
            layout.label(text="No recipe yet", icon='INFO')
            row = layout.row(align=True)
            row.operator("synthkiln.recipe_new", icon='FILE_NEW')
            row.operator("synthkiln.import_preset", text="Import Preset...", icon='IMPORT')
            return
        col = layout.column(align=True)
        row = col.row(align=True)
        row.prop(state, "preview_frame", text="Preview Frame")
        row.operator("synthkiln.randomize", text="", icon='FILE_REFRESH').frame = state.preview_frame
        row.operator("synthkiln.render_preview", text="", icon='RENDER_STILL')
        if snapshot.has(context.scene):
            row.operator("synthkiln.reset_scene", text="", icon='LOOP_BACK')
        clips = state.recipe.output.clips
        if clips:       # a clip job: key the previewed frame's clip onto the timeline (play it with Space)
            length = max(state.recipe.output.clip_length, 1)
            col.operator("synthkiln.preview_clip", icon='PLAY').clip = min(state.preview_frame // length, clips - 1)
        if state.preview_status:
            wrapped_label(col, context, state.preview_status, 'ERROR' if state.preview_failed else 'INFO')
        wm = context.window_manager
        if hasattr(wm, "synthkiln_label_overlay"):
            layout.prop(wm, "synthkiln_label_overlay", text="Label Overlay", icon='OVERLAY')
        if state.render_running:
            total = max(state.render_total, 1)
            layout.progress(factor=state.render_done / total,
                            text=f"{state.render_done}/{state.render_total} frames, ETA {state.render_eta:.0f} s")
            layout.operator("synthkiln.render_stop", text="Stop Render (Esc)", icon='CANCEL')
        else:
            layout.operator("synthkiln.render_dataset", icon='RENDER_ANIMATION')
            if state.render_status:
                wrapped_label(layout, context, state.render_status)
        row = layout.row(align=True)
        row.operator("synthkiln.open_output", icon='FILE_FOLDER')
        row.operator("synthkiln.open_report", icon='GRAPH')
        row = layout.row(align=True)
        row.operator("synthkiln.import_preset", text="Import...", icon='IMPORT')
        row.operator("synthkiln.export_preset", text="Export...", icon='EXPORT')
        row.operator("synthkiln.recipe_new", text="", icon='FILE_NEW')


class SYNTHKILN_PT_check(_Sidebar, bpy.types.Panel):
    """What would spoil the dataset; a click on a finding selects what it is about."""
    bl_label = "Check Scene"
    bl_parent_id = "SYNTHKILN_PT_run"

    def draw(self, context):
        layout = self.layout
        state = context.scene.synthkiln
        layout.operator("synthkiln.check_scene", text="Check Again" if state.check_done else "Check Scene",
                        icon='VIEWZOOM')
        if not state.check_done:
            return
        col = layout.column(align=True)
        if state.check_stale:
            wrapped_label(col, context, "The scene changed since: check again for current results", 'TIME')
            col = layout.column(align=True)
            col.active = False
        if not len(state.check_problems):
            col.label(text="No problems found", icon='CHECKMARK')
        for i, p in enumerate(state.check_problems):
            clickable = bool(p.objects or p.group)
            for k, line in enumerate(wrap(context, p.text)):
                row = col.row(align=True)
                row.alignment = 'LEFT'
                icon = ('RESTRICT_SELECT_OFF' if clickable else 'ERROR') if k == 0 else 'BLANK1'
                if clickable:
                    row.operator("synthkiln.check_select", text=line, icon=icon, emboss=False).index = i
                else:
                    row.label(text=line, icon=icon)


# -- assets ------------------------------------------------------------------------------------------------

class SYNTHKILN_UL_sources(bpy.types.UIList):
    """Asset sources: name, and how many files each matches."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0, flt_flag=0):
        n, _cats, err = source_pool(item)
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon='FILE_FOLDER' if not Path(item.path).suffix else 'FILE_3D')
        sub = row.row()
        sub.alert = bool(err)
        sub.label(text=f"{n} files" if not err else "no files")


class SYNTHKILN_PT_assets(_Sidebar, bpy.types.Panel):
    """Your model files (scans, CAD, downloads) as targets: sources, category rule, pool size, asset library."""
    bl_label = "Assets"
    bl_options = {'DEFAULT_CLOSED'}

    def draw_header(self, context):
        self.layout.label(icon='ASSET_MANAGER')

    def draw(self, context):
        layout = self.layout
        state = context.scene.synthkiln
        recipe = state.recipe
        row = layout.row()
        row.template_list("SYNTHKILN_UL_sources", "", recipe, "assets", state, "active_source", rows=3)
        col = row.column(align=True)
        col.operator("synthkiln.asset_source_add", text="", icon='ADD')
        rm = col.operator("synthkiln.item_remove", text="", icon='REMOVE')
        rm.data_path, rm.index = f"{RECIPE}.assets", min(state.active_source, max(len(recipe.assets) - 1, 0))
        col.separator()
        col.operator("synthkiln.asset_pool_refresh", text="", icon='FILE_REFRESH')
        pools = [source_pool(src) for src in recipe.assets]
        total = sum(n for n, _c, _e in pools)
        cats = sorted({c for _n, cs, _e in pools for c in cs})
        layout.label(text=f"Pool: {total} assets in {len(cats)} categories" if recipe.assets
                     else "No sources: add a folder or files", icon='PACKAGE')
        if not recipe.assets:
            return
        i = min(state.active_source, len(recipe.assets) - 1)
        src = recipe.assets[i]
        n, cs, err = pools[i]
        if err:
            box = layout.box()
            box.alert = True
            wrapped_label(box, context, err, 'ERROR')
        elif cs:
            wrapped_label(layout, context, f"Categories: {', '.join(cs)}")
        known = {c.name for c in recipe.categories}
        missing = [c for c in cs if c not in known]
        if missing:
            wrapped_label(layout, context, f"Not in Categories yet: {', '.join(missing)}", 'ERROR')
            layout.operator("synthkiln.asset_categories_add", icon='ADD')
        col = layout.column()
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(src, "path")
        col.prop(src, "category_from", text="Category")
        if src.category_from == "pattern":
            col.prop(src, "pattern")
        col.prop(src, "category", text="Fixed" if src.category_from == "fixed" else "Fallback")
        layout.operator("synthkiln.assets_to_library", icon='ASSET_MANAGER')
        if state.library_status:
            wrapped_label(layout, context, state.library_status, 'INFO')


class SYNTHKILN_PT_assets_more(_Sidebar, bpy.types.Panel):
    bl_label = "Normalisation"
    bl_parent_id = "SYNTHKILN_PT_assets"
    bl_options = {'DEFAULT_CLOSED'}

    @classmethod
    def poll(cls, context):
        return _Sidebar.poll(context) and len(context.scene.synthkiln.recipe.assets) > 0

    def draw(self, context):
        state = context.scene.synthkiln
        i = min(state.active_source, len(state.recipe.assets) - 1)
        draw_fields(self.layout, state.recipe.assets[i], AssetSource, f"{RECIPE}.assets[{i}]",
                    skip=("name", "path", "category_from", "pattern", "category"))


class SYNTHKILN_PT_object_labels(bpy.types.Panel):
    """The active object's label, in the Object properties."""
    bl_space_type = 'PROPERTIES'
    bl_region_type = 'WINDOW'
    bl_context = "object"
    bl_label = "SynthKiln Label"

    @classmethod
    def poll(cls, context):
        return context.object is not None and context.scene.synthkiln.initialized

    def draw(self, context):
        draw_object_labels(self.layout, context, context.object, 'ACTIVE')


PANELS = (SYNTHKILN_PT_run, SYNTHKILN_PT_check, SYNTHKILN_PT_labels, SYNTHKILN_PT_categories, SYNTHKILN_PT_label_rules,
          SYNTHKILN_PT_balance,
          *STACK_PANELS.values(), SYNTHKILN_PT_scene_setup, SYNTHKILN_PT_assets, SYNTHKILN_PT_assets_more,
          SYNTHKILN_PT_output, SYNTHKILN_PT_output_more, SYNTHKILN_PT_object_labels)
classes = (SYNTHKILN_UL_randomizers, SYNTHKILN_UL_categories, SYNTHKILN_UL_sources, SYNTHKILN_MT_presets,
           *ADD_MENUS.values(), *PANELS)
register, unregister = bpy.utils.register_classes_factory(classes)
