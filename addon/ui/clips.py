"""Clip preview (issue 19): key a clip of the scene's recipe onto the timeline so the viewport plays it."""

import bpy
from bpy.props import IntProperty

from ..bridge.files import base_dir
from ..bridge.pipeline import FrameJob
from ..bridge.recipe import scene_recipe
from ..core.errors import UserError


class SYNTHKILN_OT_preview_clip(bpy.types.Operator):
    """Apply a clip's start and key its motion on the timeline (frames 1 to its length): press play to watch it"""
    bl_idname = "synthkiln.preview_clip"
    bl_label = "Preview Clip"
    bl_options = {'REGISTER', 'UNDO'}

    clip: IntProperty(name="Clip", min=0, description="Clip index to key onto the timeline")

    def execute(self, context):
        try:
            recipe = scene_recipe(context.scene)
            first = FrameJob(context.scene, recipe, base_dir()).prepare().key_clip(self.clip)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        length = recipe.output.clip_length
        self.report({'INFO'}, f"Clip {self.clip}: {length} frames on the timeline ({first}-{first + length - 1})")
        return {'FINISHED'}


classes = (SYNTHKILN_OT_preview_clip,)


def register():
    for c in classes:
        bpy.utils.register_class(c)


def unregister():
    for c in reversed(classes):
        bpy.utils.unregister_class(c)
