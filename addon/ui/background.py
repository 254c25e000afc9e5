"""Stop Render: the Cancel button beside a background Render Dataset (Esc does the same in the 3D view)."""

import bpy

from .operators import SYNTHKILN_OT_render_dataset


class SYNTHKILN_OT_render_stop(bpy.types.Operator):
    """Stop the background render: workers finish the frames they are rendering, finished frames stay, and
    Render Dataset resumes from there"""
    bl_idname = "synthkiln.render_stop"
    bl_label = "Stop Render"

    @classmethod
    def poll(cls, context):
        return SYNTHKILN_OT_render_dataset.running

    def execute(self, context):
        SYNTHKILN_OT_render_dataset.stop_requested = True
        return {'FINISHED'}


classes = (SYNTHKILN_OT_render_stop,)
register, unregister = bpy.utils.register_classes_factory(classes)
