"""The sidebar tab "SynthKiln" (3D view). ``draw`` only reads; every change goes through operators."""

import bpy


class SYNTHKILN_PT_main(bpy.types.Panel):
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "SynthKiln"
    bl_label = "SynthKiln"

    def draw(self, context):
        layout = self.layout
        state = context.scene.synthkiln
        if not state.initialized:
            layout.label(text="No recipe yet", icon='INFO')
            layout.operator("synthkiln.import_preset", icon='IMPORT')
            return
        out = state.recipe.output
        col = layout.column(align=True)
        col.prop(out, "directory")
        col.prop(out, "frames")
        col.prop(out, "seed")
        col.prop(out, "image_format")
        col = layout.column(align=True)
        col.prop(state.recipe.render, "resolution")
        col.prop(state.recipe.render, "samples")
        col.prop(state.recipe.render, "denoise")
        row = layout.row(align=True)
        row.prop(state, "preview_frame", text="Frame")
        row.operator("synthkiln.randomize", text="Preview", icon='FILE_REFRESH').frame = state.preview_frame
        layout.operator("synthkiln.render_dataset", icon='RENDER_ANIMATION')
        row = layout.row(align=True)
        row.operator("synthkiln.import_preset", icon='IMPORT')
        row.operator("synthkiln.export_preset", icon='EXPORT')


classes = (SYNTHKILN_PT_main,)
register, unregister = bpy.utils.register_classes_factory(classes)
