"""The label overlay in the 3D view: the previewed frame's record (tight and amodal boxes, instance colours,
category names, visibility, keypoints) drawn over the camera view, so the artist sees what the dataset says.

``WindowManager.synthkiln_label_overlay`` switches it (the pinned run panel and the viewport's Overlays popover
show it). The record comes from ``bridge/overlay.label_record`` (a label render of the frame through the
dataset's own pipeline), computed in a timer the first time a frame is drawn, never inside the draw callback;
the shapes and their placement come from ``core/labels/overlay.py``.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import blf
import gpu
import numpy as np
from bpy.props import BoolProperty
from gpu_extras.batch import batch_for_shader

from ..bridge.overlay import camera_frame, label_record
from ..core.errors import UserError
from ..core.exports.preview import category_colours
from ..core.dataset.records import read_record
from ..core.errors import DatasetError
from ..core.labels.overlay import CameraFrame, instance_rgba, record_shapes, region_lines

LAST_FRAME = "SynthKiln Last Frame"      # the image a background render shows its finished frames in
LINE_WIDTH = 2.0
POINT_RADIUS = 4.0


class _State:
    """The viewport overlay's one record: for which (scene, frame), the record or the error, its GPU texture."""
    key = None
    record: dict | None = None
    error = ""
    texture = None
    pending = False
    handle = None


class _Last:
    """The last frame a background render finished, shown in an image editor with its labels."""
    record: dict | None = None
    texture = None
    handle = None


def _key(scene) -> tuple:
    state = scene.synthkiln
    return scene.name, state.preview_frame, state.preview_status


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


def refresh(scene) -> None:
    """Compute the record of the scene's previewed frame now (a label render) and redraw."""
    _State.key, _State.record, _State.error, _State.texture = _key(scene), None, "", None
    try:
        _State.record = label_record(scene, scene.synthkiln.preview_frame)
    except UserError as e:
        _State.error = str(e)
    except Exception as e:    # noqa: BLE001  (a timer's exception only reaches the console)
        _State.error = f"{type(e).__name__}: {e}"
    _State.key = _key(scene)         # a label render may set the status line: key it after
    _redraw()


def _refresh_timer():
    _State.pending = False
    scene = bpy.context.scene
    if scene is not None and bpy.context.window_manager.synthkiln_label_overlay and scene.synthkiln.initialized:
        refresh(scene)
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
    if _State.key != _key(scene):
        if not _State.pending:
            _State.pending = True
            bpy.app.timers.register(_refresh_timer, first_interval=0.0)
        _draw_text((20, 20), (1.0, 1.0, 1.0), "SynthKiln: computing labels...", size)
        return
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
    editors = [a for w in context.window_manager.windows for a in w.screen.areas if a.type == 'IMAGE_EDITOR']
    if not editors and open_editor and context.window is not None:
        try:
            bpy.ops.render.view_show('INVOKE_DEFAULT')
        except RuntimeError:
            pass
        editors = [a for w in context.window_manager.windows for a in w.screen.areas if a.type == 'IMAGE_EDITOR']
    for area in editors:
        space = area.spaces.active
        if space.image is None or space.image.name == LAST_FRAME or space.image.type == 'RENDER_RESULT':
            space.image = image
        area.tag_redraw()


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
        _Last.handle = bpy.types.SpaceImageEditor.draw_handler_add(draw_image_editor, (), 'WINDOW', 'POST_PIXEL')
        bpy.types.VIEW3D_PT_overlay.append(_popover)


def unregister() -> None:
    if _State.handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_State.handle, 'WINDOW')
        bpy.types.SpaceImageEditor.draw_handler_remove(_Last.handle, 'WINDOW')
        _State.handle = _Last.handle = None
        bpy.types.VIEW3D_PT_overlay.remove(_popover)
    _State.key = _State.record = _State.texture = _Last.record = _Last.texture = None
    del bpy.types.WindowManager.synthkiln_label_overlay
