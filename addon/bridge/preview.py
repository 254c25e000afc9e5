"""The preview: one frame of the dataset applied to the open scene, for the artist to look at.

Setting ``Scene.synthkiln.preview_frame`` is the one way in: its update callback (``show_preview_frame``)
applies the frame, and the preview operator only sets that field, so the field and the operator can
never apply a frame twice or differently.
"""

from __future__ import annotations

from ..core.errors import UserError
from .files import base_dir
from .pipeline import FrameJob
from .recipe import scene_recipe


def apply_preview(scene, frame: int) -> str:
    """Apply frame ``frame`` of the scene's recipe to the scene; returns what it did, for the status line."""
    job = FrameJob(scene, scene_recipe(scene), base_dir()).prepare()
    job.apply_frame(frame)
    return f"Frame {frame}: {len(job.targets)} targets"


def show_preview_frame(scene) -> None:
    """Apply the frame the scene's Preview field names and put the outcome in its status line. Never
    raises: an exception out of an RNA update callback would only reach the console."""
    state = scene.synthkiln
    state.preview_failed = True
    try:
        state.preview_status = apply_preview(scene, state.preview_frame)
        state.preview_failed = False
    except UserError as e:
        state.preview_status = str(e)
    except Exception as e:    # noqa: BLE001  (a bug must not escape into Blender's property system)
        state.preview_status = f"{type(e).__name__}: {e}"
