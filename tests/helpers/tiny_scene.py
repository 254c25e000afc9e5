"""The tiny tabletop (tests/tiny.py) imported into a fresh scene through the sidebar's operator, previewed."""

import bpy

from tests.tiny import TINY_PRESET


def tiny_tabletop(tmp_path, frames: int, preview: int = 1):
    """A fresh file whose scene holds the tiny tabletop recipe with ``frames`` frames, frame ``preview`` applied."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    preset = tmp_path / "tiny.yaml"
    preset.write_text(TINY_PRESET)
    assert bpy.ops.synthkiln.import_preset(filepath=str(preset)) == {"FINISHED"}
    state = bpy.context.scene.synthkiln
    state.recipe.output.frames = frames
    state.preview_frame = preview
    assert not state.preview_failed, state.preview_status
    return bpy.context.scene
