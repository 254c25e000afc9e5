"""Operators: thin. Read the scene's recipe, call core and bridge, report. The headless runner calls
these very operators through ``bpy.ops.synthkiln.*``, so the UI and the farm cannot drift apart."""

import json
import os
import time
from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..bridge.pipeline import DatasetRun, FrameJob
from ..core.errors import UserError
from ..core.job import parse_shard
from ..core.preset import merge_data, load_preset, save_preset
from ..core.recipe import Recipe, recipe_to_data
from ..core.schema import SchemaError, from_data, path_str
from . import props


def base_dir() -> Path:
    """Relative paths in a scene's recipe are relative to its .blend (or the working folder if unsaved)."""
    return Path(bpy.path.abspath("//")) if bpy.data.filepath else Path.cwd()


def output_dir(recipe: Recipe) -> Path:
    d = recipe.output.directory
    return Path(bpy.path.abspath(d)) if d.startswith("//") else base_dir() / Path(d).expanduser()


def scene_recipe(scene, overrides: str = "") -> Recipe:
    """The scene's recipe with optional overrides (recipe-shaped JSON, e.g. from the command line)."""
    if not scene.synthkiln.initialized:
        raise UserError(f"scene {scene.name!r} has no SynthKiln recipe yet: import a preset or add randomizers")
    recipe = props.read_recipe(scene)
    if overrides:
        data = merge_data(recipe_to_data(recipe), json.loads(overrides))
        try:
            recipe = from_data(Recipe, data)
        except SchemaError as e:
            raise UserError(f"{path_str(e.path)}: {e}") from None
    return recipe


class _Reporting:
    """Turns a UserError into one report and CANCELLED (in the bpy module, bpy.ops raises it)."""

    def run(self, context, fn):
        try:
            return fn(context)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}


class SYNTHKILN_OT_randomize(_Reporting, bpy.types.Operator):
    """Apply frame i's sample of the recipe to the open scene (the dataset's frame, in the viewport)"""
    bl_idname = "synthkiln.randomize"
    bl_label = "Preview Frame"
    bl_options = {'REGISTER', 'UNDO'}

    frame: IntProperty(name="Frame", min=0, description="Frame index to show")

    def execute(self, context):
        return self.run(context, self._execute)

    def _execute(self, context):
        scene = context.scene
        recipe = scene_recipe(scene)
        job = FrameJob(scene, recipe, base_dir()).prepare()
        job.apply_frame(self.frame)
        scene.synthkiln.preview_frame = self.frame
        self.report({'INFO'}, f"Frame {self.frame}: {len(job.targets)} targets")
        return {'FINISHED'}


class SYNTHKILN_OT_render_dataset(_Reporting, bpy.types.Operator):
    """Render the dataset (resumes: frames already done are skipped). Esc cancels and keeps finished frames"""
    bl_idname = "synthkiln.render_dataset"
    bl_label = "Render Dataset"

    shard: StringProperty(name="Shard", description="K/N: render only shard K (from 0) of N")
    overrides: StringProperty(name="Overrides", description="Recipe-shaped JSON merged over the scene's recipe",
                              options={'HIDDEN', 'SKIP_SAVE'})

    _timer = None
    _run = None

    def _start(self, context) -> DatasetRun:
        recipe = scene_recipe(context.scene, self.overrides)
        job = FrameJob(context.scene, recipe, base_dir()).prepare()
        return DatasetRun(job, output_dir(recipe), parse_shard(self.shard, dict(os.environ)))

    def execute(self, context):
        return self.run(context, self._execute)

    def _execute(self, context):
        run = self._start(context)
        try:
            while run.step():
                pass
        finally:
            written = run.finish()
        self.report({'INFO'}, f"{run.rendered} frames rendered, {run.skipped} already done; "
                              f"{len(written)} export files in {run.root}")
        return {'FINISHED'}

    def invoke(self, context, event):
        """Interactive: render frame by frame from a timer, so the UI stays live and Esc can stop it."""
        try:
            self._run = self._start(context)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        wm = context.window_manager
        wm.progress_begin(0, max(self._run.total, 1))
        self._timer = wm.event_timer_add(0.05, window=context.window)
        wm.modal_handler_add(self)
        self._t0 = time.perf_counter()
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        if event.type == 'ESC':
            return self._end(context, cancelled=True)
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}
        try:
            more = self._run.step()
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return self._end(context, cancelled=True)
        run = self._run
        context.window_manager.progress_update(run.skipped + run.rendered)
        done = run.rendered
        eta = (time.perf_counter() - self._t0) / done * (len(run.todo) - done) if done else 0
        context.workspace.status_text_set(f"SynthKiln: {run.skipped + done}/{run.total} frames, ETA {eta:.0f}s")
        return {'RUNNING_MODAL'} if more else self._end(context)

    def _end(self, context, cancelled=False):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        if cancelled:
            self._run.job.close()
            self.report({'WARNING'}, f"Cancelled after {self._run.rendered} frames; render again to resume")
            return {'CANCELLED'}
        self._run.finish()
        self.report({'INFO'}, f"Dataset written to {self._run.root}")
        return {'FINISHED'}


class SYNTHKILN_OT_import_preset(_Reporting, bpy.types.Operator, ImportHelper):
    """Load a YAML preset into the scene's recipe (replaces it)"""
    bl_idname = "synthkiln.import_preset"
    bl_label = "Import Preset"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".yaml"
    filter_glob: StringProperty(default="*.yaml;*.yml", options={'HIDDEN'})

    def execute(self, context):
        return self.run(context, self._execute)

    def _execute(self, context):
        recipe = load_preset(self.filepath)
        props.write_recipe(context.scene, recipe)
        self.report({'INFO'}, f"Imported {Path(self.filepath).name}")
        return {'FINISHED'}


class SYNTHKILN_OT_export_preset(_Reporting, bpy.types.Operator, ExportHelper):
    """Save the scene's recipe as a YAML preset"""
    bl_idname = "synthkiln.export_preset"
    bl_label = "Export Preset"

    filename_ext = ".yaml"
    filter_glob: StringProperty(default="*.yaml;*.yml", options={'HIDDEN'})

    def execute(self, context):
        return self.run(context, self._execute)

    def _execute(self, context):
        try:
            save_preset(scene_recipe(context.scene), self.filepath)
        except OSError as e:
            raise UserError(f"cannot write {self.filepath}: {e.strerror or e}") from None
        self.report({'INFO'}, f"Exported {Path(self.filepath).name}")
        return {'FINISHED'}


classes = (SYNTHKILN_OT_randomize, SYNTHKILN_OT_render_dataset, SYNTHKILN_OT_import_preset,
           SYNTHKILN_OT_export_preset)
register, unregister = bpy.utils.register_classes_factory(classes)
