"""The label overlay in the 3D view: the previewed frame's record (tight and amodal boxes, instance colours,
category names, visibility, keypoints) drawn over the camera view, so the artist sees what the dataset says.

``WindowManager.synthkiln_label_overlay`` switches it (the pinned run panel and the viewport's Overlays popover
show it). The record comes from ``bridge/overlay.label_record`` (a label render of the frame through the
dataset's own pipeline), run by a background worker (``bridge/background.start_labels``) that a timer starts
when a new frame is drawn, so the UI never waits for it; the shapes and their placement come from
``core/labels/overlay.py``. The same drawing puts the labels over the last frame a background Render Dataset
finished, in the image editor (``show_frame``).
"""

from __future__ import annotations

from pathlib import Path

import bpy
import blf
import gpu
import numpy as np
from bpy.props import BoolProperty
from gpu_extras.batch import batch_for_shader

from ..bridge import background
from ..bridge.files import base_dir
from ..bridge.overlay import camera_frame
from ..bridge.recipe import scene_recipe
from ..core.dataset.job import recipe_hash
from ..core.dataset.records import read_record
from ..core.errors import DatasetError, UserError
from ..core.exports.preview import category_colours
from ..core.labels.overlay import CameraFrame, instance_rgba, record_shapes, region_lines

_ADDON = __package__.rpartition(".")[0]      # the add-on's package: its label workers import its bridge
POLL_S = 0.2
RECHECK_S = 0.5         # after a scene change, when the overlay checks whether the recipe changed
LAST_FRAME = "SynthKiln Last Frame"      # the image a background render shows its finished frames in
LINE_WIDTH = 2.0
POINT_RADIUS = 4.0


class _State:
    """The viewport overlay's one record: for which (scene, frame), the record or the error, its GPU texture;
    and the label job computing the next one."""
    key = None
    record: dict | None = None
    error = ""
    texture = None
    pending = False             # the timer (``_tick``) is registered
    job = None                  # bridge.background.LabelJob
    job_key = None
    handle = None


class _Last:
    """The last frame a background render finished, shown in an image editor with its labels."""
    record: dict | None = None
    texture = None
    handle = None


def _view_key(scene) -> tuple:
    """What the drawn record must match, cheap enough for every redraw: the scene and its previewed frame."""
    state = scene.synthkiln
    return scene.name, state.preview_frame, state.preview_status


def _key(scene) -> tuple:
    """``_view_key`` and the recipe's hash (what the frame's record depends on): read in timers only."""
    try:
        recipe = recipe_hash(scene_recipe(scene))
    except UserError as e:
        recipe = str(e)
    return (*_view_key(scene), recipe)


def _schedule(delay: float) -> None:
    if not _State.pending:
        _State.pending = True
        bpy.app.timers.register(_tick, first_interval=delay)


@bpy.app.handlers.persistent
def _scene_changed(scene, _depsgraph=None) -> None:
    """A change to the scene may be one to its recipe: check (in a timer, once the edits settle) whether the
    overlay's record is still the frame's."""
    wm = bpy.context.window_manager
    if wm is not None and getattr(wm, "synthkiln_label_overlay", False):
        _schedule(RECHECK_S)


def _redraw() -> None:
    for window in bpy.context.window_manager.windows if bpy.context.window_manager else ():
        for area in window.screen.areas:
            if area.type == 'VIEW_3D':
                area.tag_redraw()


def _category_colours(scene) -> dict:
    """The colours the previews use per category (the recipe's, or the automatic ones), as 0..1 floats."""
    cats = [{"id": i + 1, "name": c.name, "color": list(c.color)}
            for i, c in enumerate(scene.synthkiln.recipe.categories)]
    return {name: tuple(x / 255.0 for x in rgb) for name, rgb in category_colours({"categories": cats}).items()}


def _done(key, record: dict | None, error: str = "") -> None:
    """The outcome of a label job for ``key``; the job is closed."""
    if _State.job is not None:
        _State.job.close()
    _State.job = None
    _State.key, _State.record, _State.error, _State.texture = key, record, error, None
    _redraw()


def _tick():
    """Timer: start the label job of the previewed frame, then poll it until its record is in (a label job
    whose frame is no longer the previewed one is dropped)."""
    wm, scene = bpy.context.window_manager, bpy.context.scene
    if wm is None or scene is None or not wm.synthkiln_label_overlay or not scene.synthkiln.initialized:
        if _State.job is not None:
            _State.job.close()
            _State.job = None
        _State.pending = False
        return None
    key = _key(scene)
    if _State.job is not None and _State.job_key != key:
        _State.job.close()
        _State.job = None
    try:
        if _State.job is None:
            if _State.key == key:
                _State.pending = False
                return None
            _State.job = background.start_labels(scene.synthkiln.preview_frame, _ADDON, base_dir())
            _State.job_key = key
            return POLL_S
        record = _State.job.result()
    except (UserError, OSError) as e:
        record = None
        _done(key, None, str(e))
    if record is None and _State.job is not None:
        return POLL_S
    if record is not None:
        _done(key, record)
    _State.pending = False
    return None


def _toggled(self, context) -> None:
    _State.key = None              # recompute when switched on: the scene may have changed meanwhile
    _redraw()


def _texture(holder) -> object:
    """The instance colours of ``holder.record`` as a GPU texture, made once per record."""
    if holder.texture is None:
        rgba = instance_rgba(holder.record)
        if rgba is None:
            return None
        h, w = rgba.shape[:2]
        buf = gpu.types.Buffer('FLOAT', w * h * 4, rgba.ravel())
        holder.texture = gpu.types.GPUTexture((w, h), format='RGBA32F', data=buf)
    return holder.texture


def _draw_text(pos, colour, text: str, size: float) -> None:
    blf.size(0, size)
    blf.color(0, *colour, 1.0)
    blf.enable(0, blf.SHADOW)
    blf.shadow(0, 3, 0.0, 0.0, 0.0, 1.0)
    blf.position(0, float(pos[0]), float(pos[1]), 0)
    blf.draw(0, text)
    blf.disable(0, blf.SHADOW)


def draw() -> None:
    """POST_PIXEL draw callback of every 3D view."""
    context = bpy.context
    wm, scene = context.window_manager, context.scene
    if wm is None or scene is None or not wm.synthkiln_label_overlay or not scene.synthkiln.initialized:
        return
    region, rv3d = context.region, context.region_data
    size = 12 * context.preferences.view.ui_scale
    if _State.key is None or _State.key[:3] != _view_key(scene):
        _schedule(0.0)
        _draw_text((20, 20), (1.0, 1.0, 1.0),
                   f"SynthKiln: computing the labels of frame {scene.synthkiln.preview_frame}...", size)
        return
    if _State.job is not None:          # the recipe changed: the new record is on its way
        _draw_text((20, 20), (1.0, 1.0, 1.0), "SynthKiln: updating the labels...", size)
    if _State.record is None:
        _draw_text((20, 20), (1.0, 0.4, 0.3), f"SynthKiln labels: {_State.error}", size)
        return
    record = _State.record
    frame = camera_frame(scene, region, rv3d, int(record["width"]), int(record["height"]))
    if frame is None:
        _draw_text((20, 20), (1.0, 1.0, 1.0), "SynthKiln labels: look through the camera (Numpad 0)", size)
        return
    _draw_record(_State, frame, region, _category_colours(scene), size)
    _draw_text((frame.corners[0][0], frame.corners[0][1] + 6), (1.0, 1.0, 1.0),
               f"SynthKiln labels: frame {record['frame']}", size)


def _draw_record(holder, frame, region, colours: dict, size: float) -> None:
    """``holder.record`` over ``frame``: instance colours, boxes, tags, keypoints."""
    record = holder.record
    gpu.state.blend_set('ALPHA')
    tex = _texture(holder)
    if tex is not None:
        quad = frame.to_region([(0, record["height"]), (record["width"], record["height"]),
                                (record["width"], 0), (0, 0)])        # bottom-left first: the texture's row 0
        shader = gpu.shader.from_builtin('IMAGE')
        batch = batch_for_shader(shader, 'TRI_FAN', {"pos": [tuple(p) for p in quad],
                                                    "texCoord": ((0, 0), (1, 0), (1, 1), (0, 1))})
        shader.bind()
        shader.uniform_sampler("image", tex)
        batch.draw(shader)
    lines = region_lines(record_shapes(record, colours), frame)
    _stroke(lines["solid"] + lines["dashed"], region)
    _points(lines["points"], region)
    for pos, colour, text in lines["texts"]:
        _draw_text((pos[0] + 2, pos[1] + 4), colour, text, size)
    gpu.state.blend_set('NONE')


def draw_image_editor() -> None:
    """POST_PIXEL draw callback of image editors: the labels over the background render's last frame."""
    context = bpy.context
    space, region = context.space_data, context.region
    image = getattr(space, "image", None)
    if _Last.record is None or image is None or image.name != LAST_FRAME:
        return
    v2d = region.view2d
    corners = [v2d.view_to_region(x, y, clip=False) for x, y in ((0, 1), (1, 1), (1, 0), (0, 0))]
    frame = CameraFrame(tuple(tuple(float(c) for c in p) for p in corners),
                        int(_Last.record["width"]), int(_Last.record["height"]))
    _draw_record(_Last, frame, region, _category_colours(context.scene),
                 12 * context.preferences.view.ui_scale)


def show_frame(context, root: Path, index: int, open_editor: bool) -> None:
    """Show frame ``index`` of the dataset in ``root`` with its labels in the image editors showing the last
    frame; ``open_editor``: where no image editor is open, open one as Blender shows renders (Preferences'
    Render Display)."""
    try:
        record = read_record(root, index)
        path = Path(root) / record["files"]["image"]
        image = bpy.data.images.get(LAST_FRAME)
        if image is None:
            image = bpy.data.images.load(str(path))
            image.name = LAST_FRAME
        else:
            image.filepath = str(path)
            image.reload()
    except (DatasetError, OSError, RuntimeError, KeyError, TypeError):
        return          # a frame that cannot be shown does not stop the render
    _Last.record, _Last.texture = record, None
    if open_editor:
        open_image_editor(context)
    else:
        _show_image(context.window_manager)


def open_image_editor(context) -> None:
    """Where no image editor is open, open one as Blender shows renders (Preferences' Render Display); editors
    already open show the last frame."""
    if not _show_image(context.window_manager) and context.window is not None:
        window, screen, area = context.window, context.screen, context.area
        bpy.app.timers.register(lambda: _open_editor(window, screen, area), first_interval=0.0)


def _show_image(wm) -> bool:
    """The last frame in every image editor showing nothing, a render or the last frame; False if none is open."""
    image = bpy.data.images.get(LAST_FRAME)
    editors = [a for w in wm.windows for a in w.screen.areas if a.type == 'IMAGE_EDITOR']
    for area in editors:
        space = area.spaces.active
        if image is not None and (space.image is None or space.image.name == LAST_FRAME
                                  or space.image.type == 'RENDER_RESULT'):
            space.image = image
        area.tag_redraw()
    return bool(editors)


def _open_editor(window, screen, area) -> None:
    """Open an image editor as Blender shows renders (Preferences' Render Display), from a timer: a window
    opened inside the modal operator's own event handling would keep the operator from ending."""
    try:
        with bpy.context.temp_override(window=window, screen=screen, area=area):
            bpy.ops.render.view_show('INVOKE_DEFAULT')
    except (RuntimeError, ReferenceError, TypeError):
        return None
    _show_image(bpy.context.window_manager)
    bpy.app.timers.register(_fit_editors, first_interval=0.2)      # once the new editor has its size
    return None


def _fit_editors() -> None:
    """Zoom the image editors showing the last frame to fit it (a small frame would be a speck)."""
    for w in bpy.context.window_manager.windows:
        for a in w.screen.areas:
            image = a.spaces.active.image if a.type == 'IMAGE_EDITOR' else None
            region = next((r for r in a.regions if r.type == 'WINDOW'), None)
            if image is not None and image.name == LAST_FRAME and region is not None:
                try:        # no screen: a render window's is temporary, which temp_override refuses
                    with bpy.context.temp_override(window=w, area=a, region=region):
                        bpy.ops.image.view_all(fit_view=True)
                except (RuntimeError, TypeError):
                    pass
    return None


def _stroke(segments, region) -> None:
    if not segments:
        return
    shader = gpu.shader.from_builtin('POLYLINE_FLAT_COLOR')
    pos = [tuple(p) for a, b, _ in segments for p in (a, b)]
    col = [(*c, 1.0) for _, _, c in segments for _ in (0, 1)]
    batch = batch_for_shader(shader, 'LINES', {"pos": pos, "color": col})
    shader.bind()
    shader.uniform_float("viewportSize", (region.width, region.height))
    shader.uniform_float("lineWidth", LINE_WIDTH)
    batch.draw(shader)


def _points(points, region) -> None:
    """Keypoints: filled dots when visible, rings when occluded (as the previews draw them)."""
    angles = np.linspace(0.0, 2 * np.pi, 13)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1) * POINT_RADIUS
    fill = gpu.shader.from_builtin('FLAT_COLOR')
    segments = []
    for p, colour, filled in points:
        circle = ring + np.asarray(p)
        if filled:
            tris = [tuple(v) for i in range(12) for v in (p, circle[i], circle[i + 1])]
            batch = batch_for_shader(fill, 'TRIS', {"pos": tris, "color": [(*colour, 1.0)] * len(tris)})
            batch.draw(fill)
        segments += [(circle[i], circle[i + 1], (0.0, 0.0, 0.0) if filled else colour) for i in range(12)]
    _stroke(segments, region)


def _popover(self, context) -> None:
    """In the 3D view's Overlays popover."""
    self.layout.prop(context.window_manager, "synthkiln_label_overlay")


def register(ui: bool) -> None:
    bpy.types.WindowManager.synthkiln_label_overlay = BoolProperty(
        name="SynthKiln Labels", default=False, update=_toggled,
        description="Draw the previewed frame's labels over the camera view: tight and dashed amodal boxes, "
                    "instance colours, category and visibility, keypoints (what the dataset's record will say)")
    if ui:
        _State.handle = bpy.types.SpaceView3D.draw_handler_add(draw, (), 'WINDOW', 'POST_PIXEL')
        bpy.app.handlers.depsgraph_update_post.append(_scene_changed)
        _Last.handle = bpy.types.SpaceImageEditor.draw_handler_add(draw_image_editor, (), 'WINDOW', 'POST_PIXEL')
        bpy.types.VIEW3D_PT_overlay.append(_popover)


def unregister() -> None:
    if _State.handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_State.handle, 'WINDOW')
        while _scene_changed in bpy.app.handlers.depsgraph_update_post:
            bpy.app.handlers.depsgraph_update_post.remove(_scene_changed)
        bpy.types.SpaceImageEditor.draw_handler_remove(_Last.handle, 'WINDOW')
        _State.handle = _Last.handle = None
        bpy.types.VIEW3D_PT_overlay.remove(_popover)
    if _State.job is not None:
        _State.job.close()
    _State.key = _State.record = _State.texture = _State.job = _Last.record = _Last.texture = None
    del bpy.types.WindowManager.synthkiln_label_overlay
