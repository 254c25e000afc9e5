"""Operators: thin. Read the scene's recipe, call core and bridge, report. The headless runner calls
these very operators through ``bpy.ops.synthkiln.*``, so the UI and the farm cannot drift apart."""

import json
import os
import webbrowser
from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..bridge import background, snapshot
from ..bridge.files import base_dir, output_dir, user_path
from ..bridge.pipeline import DatasetRun, FrameJob
from ..bridge.preview import render_preview
from ..bridge.recipe import scene_recipe, write_recipe
from ..bridge.report import build_report
from ..bridge.scene_check import fingerprint, scene_problems
from ..core.dataset import layout
from ..core.errors import UserError
from ..core.dataset.job import parse_shard
from ..core.recipe.preset import load_preset, save_preset
from . import overlay
from .prefs import local_workers


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


class SYNTHKILN_OT_render_preview(_Reporting, bpy.types.Operator):
    """Render the previewed frame as the dataset will store it (sensor effects, JPEG and all) and show it with
    its labels in an image editor"""
    bl_idname = "synthkiln.render_preview"
    bl_label = "Render Preview"

    def _execute(self, context):
        scene = context.scene
        snapshot.ensure(scene)                   # it applies the frame, as Preview Frame does
        with snapshot.track(scene):
            root, record = render_preview(scene, scene.synthkiln.preview_frame)
        overlay.show_frame(context, root, record["frame"], open_editor=True)
        self.report({'INFO'}, f"Frame {record['frame']}: the image as the dataset stores it")
        return {'FINISHED'}


class SYNTHKILN_OT_render_dataset(_Reporting, bpy.types.Operator):
    """Render the dataset (resumes: frames already done are skipped). Esc cancels and keeps finished frames"""
    bl_idname = "synthkiln.render_dataset"
    bl_label = "Render Dataset"

    shard: StringProperty(name="Shard", description="K/N: render only shard K (from 0) of N")
    overrides: StringProperty(name="Overrides", description="Recipe-shaped JSON merged over the scene's recipe",
                              options={'HIDDEN', 'SKIP_SAVE'})

    _timer = None
    _pool = None
    running = False     # one interactive render at a time (reset when a file is loaded)
    stop_requested = False      # set by Stop Render (ui/background.py): as Esc

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
            _progress(context, run.skipped + run.rendered, run.total, 0.0, running=False)
        self.report({'INFO'}, f"{run.rendered} frames rendered, {run.skipped} already done; "
                              f"{len(written)} export files in {run.root}")
        return {'FINISHED'}

    def invoke(self, context, event):
        """Interactive: render in background Blender workers (Preferences' Local Workers) from a saved copy of
        the file, so the UI stays live, the scene stays as it is, and Esc stops them (finished frames stay)."""
        try:
            recipe = scene_recipe(context.scene, self.overrides)
            root = output_dir(recipe)
            shard = parse_shard(self.shard, dict(os.environ))
            self._pool = background.start(root, recipe.output.frames, shard, local_workers(context), self.overrides,
                                          __package__.rpartition(".")[0], recipe, base_dir())
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        pool = self._pool
        # the image editor opens at once, as F12's does: a new window costs seconds under software GL, paid
        # while the workers start rather than as a frozen progress once frames come
        overlay.open_image_editor(context)
        wm = context.window_manager
        wm.progress_begin(0, max(len(pool.scope), 1))
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.modal_handler_add(self)
        SYNTHKILN_OT_render_dataset.running = True
        SYNTHKILN_OT_render_dataset.stop_requested = False
        self._show(context, running=True)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        pool = self._pool
        esc = event.type == 'ESC' and event.value == 'PRESS'
        if (esc or SYNTHKILN_OT_render_dataset.stop_requested) and pool.stopping_since is None:
            pool.stop()
            self._show(context, running=True, status="Stopping: finishing the frames being rendered...")
            return {'RUNNING_MODAL'}
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}
        if pool.poll() and pool.last_frame is not None:       # the last finished frame, with its labels
            overlay.show_frame(context, pool.root, pool.last_frame, open_editor=False)
        if pool.stopping_since is not None:
            if pool.reap():
                return self._end(context, cancelled=True)
        elif errors := pool.errors():      # one worker failed: stop the others, keep what is finished
            pool.stop()
            pool.reap(force=True)
            return self._end(context, error="; ".join(errors))
        elif not pool.running():
            return self._end(context)
        self._show(context, running=True)
        return {'RUNNING_MODAL'}

    def cancel(self, context):
        """Blender ends the operator (the file is closed, Blender quits): stop the workers at once."""
        self._pool.stop()
        self._pool.reap(force=True)
        try:
            self._end(context, cancelled=True)
        except (AttributeError, ReferenceError):    # the window or workspace is going away
            self._pool.close(kill=True)
            SYNTHKILN_OT_render_dataset.running = False

    def _show(self, context, running: bool, status: str = "") -> None:
        pool = self._pool
        done, total = pool.finished_in_scope(), len(pool.scope)
        eta = pool.eta() if running else 0.0
        if running:
            context.window_manager.progress_update(done)
            context.workspace.status_text_set(f"SynthKiln: {done}/{total} frames, ETA {eta:.0f}s (Esc to stop)")
        _progress(context, done, total, eta, running, status)

    def _end(self, context, cancelled: bool = False, error: str = ""):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        SYNTHKILN_OT_render_dataset.running = False
        pool = self._pool
        try:
            written = pool.close(kill=cancelled or bool(error))
        except UserError as e:
            written, error = [], str(e)
        rendered = pool.finished_in_scope() - pool.start_done
        if error or cancelled:
            status = f"Failed: {error}" if error else f"Cancelled after {rendered} frames"
            self._show(context, running=False, status=status)
            self.report({'ERROR'} if error else {'WARNING'},
                        f"{error or f'Cancelled after {rendered} frames'}; render again to resume")
            return {'CANCELLED'}
        self._show(context, running=False, status="Done")
        self.report({'INFO'}, f"{rendered} frames rendered; {len(written)} export files in {pool.root}")
        return {'FINISHED'}


def _progress(context, done: int, total: int, eta: float, running: bool, status: str = "") -> None:
    """Progress the panel shows (it only reads these), and a redraw of the sidebars that show it."""
    state = context.scene.synthkiln
    state.render_running, state.render_total = running, total
    state.render_done, state.render_eta = done, eta
    state.render_status = status or f"{done}/{total} frames"
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
            entry = state.check_problems.add()
            entry.text, entry.objects, entry.group, entry.index = p.text, json.dumps(p.objects), p.group, p.index
        state.check_done, state.check_stale = True, False
        state.check_fingerprint = fingerprint(context.scene)
        for p in problems:
            self.report({'WARNING'}, p.text)
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
        # build and show the preview frame now, so the scene (and Check Scene) is what a render would see
        state.preview_frame = state.preview_frame
        self.report({'INFO'}, f"Imported {Path(self.filepath).name}")
        return {'FINISHED'}


class SYNTHKILN_OT_export_preset(_Reporting, bpy.types.Operator, ExportHelper):
    """Save the scene's recipe as a YAML preset"""
    bl_idname = "synthkiln.export_preset"
    bl_label = "Export Preset"

    filename_ext = ".yaml"
    filter_glob: StringProperty(default="*.yaml;*.yml", options={'HIDDEN'})

    def _execute(self, context):
        save_recipe(context, self.filepath)
        self.report({'INFO'}, f"Exported {Path(self.filepath).name}")
        return {'FINISHED'}


def save_recipe(context, path) -> None:
    """The scene's recipe as a YAML preset at ``path`` (Export Preset, Save Preset)."""
    try:
        save_preset(scene_recipe(context.scene), path)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None


classes = (SYNTHKILN_OT_randomize, SYNTHKILN_OT_render_preview, SYNTHKILN_OT_render_dataset,
           SYNTHKILN_OT_import_preset, SYNTHKILN_OT_export_preset, SYNTHKILN_OT_open_output, SYNTHKILN_OT_open_report,
           SYNTHKILN_OT_check_scene)


def registration(classes, **handlers):
    """(register, unregister) of ``classes`` and of app handlers given as ``load_post=fn``: idempotent, and
    unregister leaves none behind."""
    register_classes, unregister_classes = bpy.utils.register_classes_factory(classes)

    def register() -> None:
        register_classes()
        for kind, fn in handlers.items():
            if fn not in getattr(bpy.app.handlers, kind):
                getattr(bpy.app.handlers, kind).append(fn)

    def unregister() -> None:
        for kind, fn in handlers.items():
            while fn in getattr(bpy.app.handlers, kind):
                getattr(bpy.app.handlers, kind).remove(fn)
        unregister_classes()
    return register, unregister


register, unregister = registration(classes, load_post=reset_after_load)
