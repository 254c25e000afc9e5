"""Starting Blender (the ``bpy`` module) for the runner: version check, add-on registration, safe
.blend loading. What only Blender can check (library assets, HDRI files) is checked by the render
operator's job setup, before anything is written."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import bpy

from ..addon.bridge import files, recipe as scene_recipes
from ..addon.core.errors import UserError
from ..addon.core.recipe.model import Recipe

SUPPORTED = (5, 0)
_registered = False


def start() -> None:
    if tuple(bpy.app.version[:2]) != SUPPORTED:
        raise UserError(f"the runner is built for bpy {SUPPORTED[0]}.{SUPPORTED[1]}, found {bpy.app.version_string}")
    # never run Python embedded in a .blend (drivers, registered text blocks)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False


class _DropErrorReports:
    """sys.stdout without the "Error: ..." lines Blender writes for an operator's error report: the same
    report comes back as the RuntimeError that the runner turns into its one message."""

    def __init__(self, out):
        self.out, self.pending = out, ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if not line.startswith("Error: "):
                self.out.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending and not self.pending.startswith("Error: "):
            self.out.write(self.pending)
        self.pending = ""
        self.out.flush()

    def __getattr__(self, name):
        return getattr(self.out, name)


@contextlib.contextmanager
def one_message():
    """Run operators without Blender echoing their error reports (each error is printed once, by the CLI)."""
    original = sys.stdout
    sys.stdout = _DropErrorReports(original)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = original


def register() -> None:
    """Register the add-on's non-UI classes (in the bpy module ``bpy.app.background`` is true)."""
    global _registered
    if not _registered:
        from .. import addon
        addon.register()
        _registered = True


def open_blend(path: Path) -> None:
    register()
    try:
        with one_message():
            bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False, use_scripts=False)
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else "unknown error"
        reason = reason.removeprefix("Error:").strip()
        raise UserError(f"{path}: cannot open as a .blend: {reason}") from None


def output_dir(recipe: Recipe) -> Path:
    """Where the render operator will write (relative folders are relative to the .blend)."""
    return files.output_dir(recipe)


def scene_recipe(overrides: str) -> Recipe:
    """The open scene's recipe with the command line's overrides, as the render operator will read it."""
    return scene_recipes.scene_recipe(bpy.context.scene, overrides)


def render_devices() -> dict:
    """What Cycles lists here: the CPU, GPUs per backend (name and id), and ``render.device auto``'s pick."""
    from ..addon.bridge import compat
    from ..addon.core import devices
    start()
    listed = compat.gpu_devices(devices.BACKENDS)
    available = {b: [devices.Device(b, n, i) for n, i in found] for b, found in listed.items()}
    return {"blender": compat.version_string(), "cpu": compat.cpu_name(),
            "gpus": {b: [{"name": n, "id": i} for n, i in found] for b, found in listed.items()},
            "auto": devices.choose("auto", "auto", available).label()}
