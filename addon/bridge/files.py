"""Files a recipe names (texture, photo and HDRI folders, libraries): resolved the same way everywhere,
and images loaded once and reused, so frames never add images."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..core.errors import UserError
from ..core.images.sniff import image_problem
from ..core.recipe.model import Recipe
from ..core.recipe.preset import resolve_path
from ..core.params.schema import path_str


def base_dir() -> Path:
    """What relative paths in a scene's recipe are relative to: the .blend's folder (the working folder
    while it is unsaved)."""
    return Path(bpy.path.abspath("//")) if bpy.data.filepath else Path.cwd()


def user_path(value: str, base: str | Path | None = None) -> Path:
    """A path from a recipe: ``//`` is next to the .blend, ``builtin:`` inside SynthKiln, relative ones
    are against ``base`` (default: ``base_dir()``). The one path resolution of the add-on."""
    if value.startswith("//"):
        return Path(bpy.path.abspath(value))
    return resolve_path(value, base_dir() if base is None else base)


def output_dir(recipe: Recipe) -> Path:
    """The dataset folder the recipe's ``output.directory`` names."""
    return user_path(recipe.output.directory)


def folder_files(value: str, suffixes: tuple[str, ...], where: tuple, what: str) -> tuple[Path, list[str]]:
    """The folder a recipe names and the sorted names of its files with ``suffixes``."""
    folder = user_path(value)
    if not folder.is_dir():
        raise UserError(f"{path_str(where)}: {value!r}: {folder} is not a folder: expected a folder of {what}")
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not names:
        raise UserError(f"{path_str(where)}: {folder} holds no {what} ({', '.join(suffixes)})")
    return folder, names


def load_image(path: Path):
    """An image by file, loaded on first use and reused after (frames never add images). Blender loads
    pixels lazily and shows magenta for a file it cannot decode, so the header is checked here."""
    problem = image_problem(path)
    if problem:
        raise UserError(f"{path}: {problem}")
    return bpy.data.images.load(str(path), check_existing=True)
