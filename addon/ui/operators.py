"""Operators: thin. Read the scene's recipe, call core and bridge, report. The headless runner calls
these very operators through ``bpy.ops.synthkiln.*``, so the UI and the farm cannot drift apart."""

import os
import time
import webbrowser
from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..bridge.files import base_dir, output_dir, user_path
from ..bridge.pipeline import DatasetRun, FrameJob
from ..bridge.recipe import scene_recipe, write_recipe
from ..bridge.report import build_report
from ..bridge.scene_check import scene_problems
from ..core.dataset import layout
from ..core.errors import UserError
from ..core.dataset.job import parse_shard
from ..core.dataset.progress import eta_seconds
from ..core.recipe.preset import load_preset, save_preset


class _Reporting:
    """Turns a UserError into one report and CANCELLED (in the bpy module, bpy.ops raises it)."""

    def run(self, context, fn):
        try:
            return fn(context)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}

    def execute(self, context):
        return self.run(context, self._execute)


class SYNTHKILN_OT_randomize(_Reporting, bpy.types.Operator):
    """Apply frame i's sample of the recipe to the open scene (the dataset's frame, in the viewport)"""
    bl_idname = "synthkiln.randomize"
    bl_label = "Preview Frame"
    bl_options = {'REGISTER', 'UNDO'}

    frame: IntProperty(name="Frame", min=0, description="Frame index to show")

    def _execute(self, context):
        state = context.scene.synthkiln
        state.preview_frame = self.frame        # the field's update callback applies the frame
        if state.preview_failed:
            raise UserError(state.preview_status)
        self.report({'INFO'}, state.preview_status)
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
    running = False     # one interactive render at a time (reset when a file is loaded)

    @classmethod
    def poll(cls, context):
        return not SYNTHKILN_OT_render_dataset.running

    def _start(self, context) -> DatasetRun:
        recipe = scene_recipe(context.scene, self.overrides)
        job = FrameJob(context.scene, recipe, base_dir()).prepare()
        if job.device is not None and job.device.warning and not bpy.app.background:   # the runner prints it
            self.report({'WARNING'}, job.device.warning)
        return DatasetRun(job, output_dir(recipe), parse_shard(self.shard, dict(os.environ)))

    def _execute(self, context):
        run = self._start(context)
        try:
            while run.step():
                pass
        finally:
            written = run.finish()
            _progress(context, run, 0.0, running=False)
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
        SYNTHKILN_OT_render_dataset.running = True
        _progress(context, self._run, 0.0, running=True)
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
        eta = eta_seconds(time.perf_counter() - self._t0, done, len(run.todo) - done)
        context.workspace.status_text_set(f"SynthKiln: {run.skipped + done}/{run.total} frames, ETA {eta:.0f}s")
        _progress(context, run, eta, running=True)
        return {'RUNNING_MODAL'} if more else self._end(context)

    def _end(self, context, cancelled=False):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        SYNTHKILN_OT_render_dataset.running = False
        _progress(context, self._run, 0.0, running=False,
                  status=f"Cancelled after {self._run.rendered} frames" if cancelled else "Done")
        if cancelled:
            self._run.job.close()
            self.report({'WARNING'}, f"Cancelled after {self._run.rendered} frames; render again to resume")
            return {'CANCELLED'}
        self._run.finish()
        self.report({'INFO'}, f"Dataset written to {self._run.root}")
        return {'FINISHED'}


def _progress(context, run: DatasetRun, eta: float, running: bool, status: str = "") -> None:
    """Progress the panel shows (it only reads these), and a redraw of the sidebars that show it."""
    state = context.scene.synthkiln
    state.render_running, state.render_total = running, run.total
    state.render_done, state.render_eta = run.skipped + run.rendered, eta
    state.render_status = status or f"{run.skipped + run.rendered}/{run.total} frames"
    for area in (context.screen.areas if context.screen else ()):
        if area.type == 'VIEW_3D':
            area.tag_redraw()


@bpy.app.handlers.persistent
def reset_after_load(*_args) -> None:
    """A file loaded during (or saved in) a render has no run behind its progress: clear it."""
    SYNTHKILN_OT_render_dataset.running = False
    for scene in bpy.data.scenes:
        state = getattr(scene, "synthkiln", None)
        if state is not None and state.render_running:
            state.render_running = False


class SYNTHKILN_OT_open_output(bpy.types.Operator):
    """Open the dataset folder in the system's file browser"""
    bl_idname = "synthkiln.open_output"
    bl_label = "Open Output"

    @classmethod
    def poll(cls, context):
        state = context.scene.synthkiln
        if not state.initialized:
            return False
        try:
            return user_path(state.recipe.output.directory).is_dir()
        except (OSError, ValueError):
            return False

    def execute(self, context):
        bpy.ops.wm.path_open(filepath=str(user_path(context.scene.synthkiln.recipe.output.directory)))
        return {'FINISHED'}


class SYNTHKILN_OT_open_report(_Reporting, bpy.types.Operator):
    """Build the dataset's report (counts, balance, histograms, contact sheets, the job) and open it in the
    web browser"""
    bl_idname = "synthkiln.open_report"
    bl_label = "Open Report"

    @classmethod
    def poll(cls, context):
        state = context.scene.synthkiln
        if not state.initialized or SYNTHKILN_OT_render_dataset.running:
            return False
        try:
            return (user_path(state.recipe.output.directory) / layout.MANIFEST).is_file()
        except (OSError, ValueError):
            return False

    def _execute(self, context):
        index = build_report(user_path(context.scene.synthkiln.recipe.output.directory))
        webbrowser.open(index.as_uri())     # Python's, not wm.url_open: that one does nothing without a window
        self.report({'INFO'}, f"Report written to {index}")
        return {'FINISHED'}


class SYNTHKILN_OT_check_scene(_Reporting, bpy.types.Operator):
    """List what would spoil a dataset: no targets or camera, missing images or folders, unlabelled
    visible objects, randomizers whose selection matches nothing"""
    bl_idname = "synthkiln.check_scene"
    bl_label = "Check Scene"

    def execute(self, context):
        state = context.scene.synthkiln
        problems = scene_problems(context.scene)
        state.check_problems.clear()
        for p in problems:
            state.check_problems.add().value = p
        state.check_done = True
        for p in problems:
            self.report({'WARNING'}, p)
        if not problems:
            self.report({'INFO'}, "No problems found")
        return {'FINISHED'}


class SYNTHKILN_OT_import_preset(_Reporting, bpy.types.Operator, ImportHelper):
    """Load a YAML preset into the scene's recipe (replaces it)"""
    bl_idname = "synthkiln.import_preset"
    bl_label = "Import Preset"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".yaml"
    filter_glob: StringProperty(default="*.yaml;*.yml", options={'HIDDEN'})

    def _execute(self, context):
        recipe = load_preset(self.filepath)
        write_recipe(context.scene, recipe)
        state = context.scene.synthkiln
        if state.label_category not in {c.name for c in recipe.categories}:   # UI state naming an old category
            state.label_category = recipe.categories[0].name if recipe.categories else ""
        self.report({'INFO'}, f"Imported {Path(self.filepath).name}")
        return {'FINISHED'}


class SYNTHKILN_OT_export_preset(_Reporting, bpy.types.Operator, ExportHelper):
    """Save the scene's recipe as a YAML preset"""
    bl_idname = "synthkiln.export_preset"
    bl_label = "Export Preset"

    filename_ext = ".yaml"
    filter_glob: StringProperty(default="*.yaml;*.yml", options={'HIDDEN'})

    def _execute(self, context):
        try:
            save_preset(scene_recipe(context.scene), self.filepath)
        except OSError as e:
            raise UserError(f"cannot write {self.filepath}: {e.strerror or e}") from None
        self.report({'INFO'}, f"Exported {Path(self.filepath).name}")
        return {'FINISHED'}


classes = (SYNTHKILN_OT_randomize, SYNTHKILN_OT_render_dataset, SYNTHKILN_OT_import_preset,
           SYNTHKILN_OT_export_preset, SYNTHKILN_OT_open_output, SYNTHKILN_OT_open_report,
           SYNTHKILN_OT_check_scene)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register_classes()
    if reset_after_load not in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.append(reset_after_load)


def unregister() -> None:
    while reset_after_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(reset_after_load)
    _unregister_classes()
