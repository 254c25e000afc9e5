"""The preview: one frame of the dataset applied to the open scene, for the artist to look at.

Setting ``Scene.synthkiln.preview_frame`` is the one way in: its update callback (``show_preview_frame``)
applies the frame, and the preview operator only sets that field, so the field and the operator can
never apply a frame twice or differently.

The viewport shows the scene, not a render, so what acts on the render (the sensor stack: distortion,
noise, JPEG...) shows only in ``render_preview``: the frame rendered by the dataset's own ``FrameJob``
into a private folder, so its image is byte for byte the one a dataset run stores.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from ..core.dataset import layout
from ..core.errors import UserError
from ..core.fsio import writer_tag
from .appliers.materials import show_in_viewport
from .files import base_dir
from .pipeline import SCRATCH, FrameJob
from .recipe import scene_recipe


def apply_preview(scene, frame: int) -> str:
    """Apply frame ``frame`` of the scene's recipe to the scene; returns what it did, for the status line."""
    job = FrameJob(scene, scene_recipe(scene), base_dir()).prepare()
    job.apply_frame(frame)
    show_in_viewport(scene)
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


class _Rendered:
    """The folder of the last rendered preview (one per process; a run on this host sweeps a dead one's)."""
    root: Path | None = None


def _fresh_root() -> Path:
    if _Rendered.root is not None:
        shutil.rmtree(_Rendered.root, ignore_errors=True)
    else:
        atexit.register(lambda: _Rendered.root and shutil.rmtree(_Rendered.root, ignore_errors=True))
    _Rendered.root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{writer_tag()}-"))
    return _Rendered.root


def render_preview(scene, frame: int) -> tuple[Path, dict]:
    """Render frame ``frame`` of the scene's recipe as the dataset will store it (the frame applied, one
    render, the sensor stack, every file and the record) into a private folder that the next preview
    replaces; returns (that folder, the record). Its ``files["image"]`` is what the artist looks at."""
    job = FrameJob(scene, scene_recipe(scene), base_dir()).prepare()
    root = _fresh_root()
    try:
        layout.make_dirs(root, (layout.SEMANTIC, layout.DISTANCE, layout.NORMALS, layout.FLOW))   # whatever it asks
        return root, job.render_frame(frame, root)
    finally:
        job.close()
