"""The sidebar tab "SynthKiln" (3D view) and the labels in the Object properties. ``draw`` only reads;
every change is a property edit or an operator. Registered only when Blender has a UI."""

import bpy

from ..bridge.scene import RENDERABLE
from ..core.randomizers import GROUPS, Randomizer
from ..core.recipe.model import EXPORT_FORMATS, Category, OutputSettings, Recipe, RenderSettings, SceneSetup
from ..core.params.schema import field_specs
from .draw import draw_field, draw_fields, draw_list, title
from .stack_ops import effective_rule, object_rule

GROUP_ICONS = {"objects": 'OBJECT_DATA', "materials": 'MATERIAL', "camera": 'CAMERA_DATA', "lighting": 'LIGHT',
               "environment": 'WORLD', "sensor": 'IMAGE_DATA'}
RECIPE = "synthkiln.recipe"
OUTPUT_MAIN = ("directory", "frames", "seed", "depth", "distance", "normals", "flow", "semantic", "exports")
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
        row.prop(r, "name", text="", emboss=False)
        row.label(text=title(item.type))
        row.prop(r, "enabled", text="", emboss=False, icon='HIDE_OFF' if r.enabled else 'HIDE_ON')


class SYNTHKILN_UL_categories(bpy.types.UIList):
    """Categories in id order; double-click a name to rename it everywhere it is used."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0, flt_flag=0):
        row = layout.row(align=True)
        cell = row.row(align=True)
        cell.ui_units_x = 1.2                      # the id, as narrow as its digits: the name takes the rest
        cell.label(text=str(index + 1))
        row.prop(item, "name", text="", emboss=False, icon='TAG')
        for spec in field_specs(Category):         # further fields (supercategory, colour) follow the schema
            if spec.name != "name":
                cell = row.row(align=True)
                cell.ui_units_x = 3.5 if spec.kind == "str" else 1.2
                cell.prop(item, spec.name, text="", emboss=spec.kind != "str")


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
            head.label(text=f"{r.name or slot.type} ({title(slot.type)})", icon=GROUP_ICONS[g])
            head.prop(r, "enabled", text="", icon='HIDE_OFF' if r.enabled else 'HIDE_ON')
            rm = head.operator("synthkiln.randomizer_remove", text="", icon='X', emboss=False)
            rm.group, rm.index = g, i
            draw_fields(box.column(), r, Randomizer.REGISTRY[slot.type], f"{RECIPE}.randomizers.{g}[{i}].{slot.type}",
                        skip=("enabled",))


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

    def draw(self, context):
        layout = self.layout
        recipe = context.scene.synthkiln.recipe
        out, render = recipe.output, recipe.render
        col = layout.column(align=True)
        for name in ("directory", "frames", "seed"):
            col.prop(out, name)
        col = layout.column(align=True)
        for name in RENDER_MAIN:
            col.prop(render, name)
        layout.label(text="Labels")
        flow = layout.grid_flow(columns=2, align=True)
        for name in ("depth", "distance", "normals", "flow", "semantic"):
            flow.prop(out, name, toggle=True)
        layout.label(text="Formats")
        have = {e.value for e in out.exports}
        row = layout.row(align=True)
        for f in EXPORT_FORMATS:
            row.operator("synthkiln.export_toggle", text=f.upper(), depress=f in have).format = f


class SYNTHKILN_PT_output_more(_Sidebar, bpy.types.Panel):
    bl_label = "More Settings"
    bl_parent_id = "SYNTHKILN_PT_output"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        recipe = context.scene.synthkiln.recipe
        col = self.layout.column()
        draw_fields(col, recipe.output, OutputSettings, f"{RECIPE}.output", skip=OUTPUT_MAIN)
        draw_fields(col, recipe.render, RenderSettings, f"{RECIPE}.render", skip=RENDER_MAIN)


class SYNTHKILN_PT_run(bpy.types.Panel):
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "SynthKiln"
    bl_label = "Run"

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
        if state.preview_status:
            col.label(text=state.preview_status, icon='ERROR' if state.preview_failed else 'INFO')
        layout.separator()
        if state.render_running:
            total = max(state.render_total, 1)
            layout.progress(factor=state.render_done / total,
                            text=f"{state.render_done}/{state.render_total} frames, ETA {state.render_eta:.0f} s")
            layout.label(text="Esc cancels (finished frames are kept)", icon='INFO')
        else:
            layout.operator("synthkiln.render_dataset", icon='RENDER_ANIMATION')
            if state.render_status:
                layout.label(text=state.render_status)
        row = layout.row(align=True)
        row.operator("synthkiln.open_output", icon='FILE_FOLDER')
        row.operator("synthkiln.open_report", icon='GRAPH')
        row = layout.row(align=True)
        row.operator("synthkiln.check_scene", icon='VIEWZOOM')
        row.operator("synthkiln.recipe_new", icon='FILE_NEW')
        row = layout.row(align=True)
        row.operator("synthkiln.import_preset", text="Import Preset...", icon='IMPORT')
        row.operator("synthkiln.export_preset", text="Export Preset...", icon='EXPORT')
        if state.check_done:
            box = layout.box()
            if not len(state.check_problems):
                box.label(text="No problems found", icon='CHECKMARK')
            for p in state.check_problems:
                box.label(text=p.value, icon='ERROR')


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


PANELS = (SYNTHKILN_PT_labels, SYNTHKILN_PT_categories, SYNTHKILN_PT_label_rules, SYNTHKILN_PT_balance,
          *STACK_PANELS.values(), SYNTHKILN_PT_scene_setup, SYNTHKILN_PT_output, SYNTHKILN_PT_output_more,
          SYNTHKILN_PT_run, SYNTHKILN_PT_object_labels)
classes = (SYNTHKILN_UL_randomizers, SYNTHKILN_UL_categories, *ADD_MENUS.values(), *PANELS)
register, unregister = bpy.utils.register_classes_factory(classes)
