"""Every Blender version difference, in one place, keyed on ``bpy.app.version`` tuples."""

from __future__ import annotations

from pathlib import Path

import bpy

VERSION = tuple(bpy.app.version)
HAS_MEDIA_TYPE = VERSION >= (5, 0, 0)          # 5.0 split image formats into media types


def version_string() -> str:
    return ".".join(map(str, VERSION[:3]))


def set_image_format(image_settings, file_format: str, *, color_depth: str | None = None,
                     color_mode: str | None = None) -> None:
    """Set an output format; 5.0 wants ``media_type`` first, 4.x knows only ``file_format``."""
    if HAS_MEDIA_TYPE:
        image_settings.media_type = "MULTI_LAYER_IMAGE" if file_format == "OPEN_EXR_MULTILAYER" else "IMAGE"
    image_settings.file_format = file_format
    if color_mode:
        image_settings.color_mode = color_mode
    if color_depth:
        image_settings.color_depth = color_depth


def bundled_hdri_dir() -> Path:
    """Blender's own CC0 studio-light HDRIs (city, courtyard, forest, ...)."""
    return Path(bpy.utils.system_resource("DATAFILES", path="studiolights/world"))


# Names of passes in a multilayer EXR: 4.x writes "Depth"/"IndexOB", 5.0 "Depth"/"Object Index".
DEPTH_PASS_NAMES = ("Depth", "Z")
INDEX_PASS_NAMES = ("Object Index", "IndexOB")


def enable_nodes(id_block) -> None:
    """Worlds and materials are always node-based from 5.0 (``use_nodes`` is deprecated there)."""
    if VERSION < (5, 0, 0) and not id_block.use_nodes:
        id_block.use_nodes = True
    elif id_block.node_tree is None:
        id_block.use_nodes = True


def path_property_options() -> set[str]:
    """File/folder properties that accept Blender's ``//`` (relative to the .blend) must say so from 4.5."""
    return {"PATH_SUPPORTS_BLEND_RELATIVE"} if VERSION >= (4, 5, 0) else set()


def physical_sky_type() -> str:
    """The physical (Nishita) sky: 4.x calls it ``NISHITA``; 5.0 replaced it by ``SINGLE_SCATTERING``
    and the new default ``MULTIPLE_SCATTERING``."""
    return "MULTIPLE_SCATTERING" if VERSION >= (5, 0, 0) else "NISHITA"


def set_sky_aerosols(sky_node, density: float) -> None:
    """Aerosol density of the physical sky: ``dust_density`` in 4.x, ``aerosol_density`` from 5.0."""
    setattr(sky_node, "aerosol_density" if VERSION >= (5, 0, 0) else "dust_density", density)


# Normal and Vector passes keep their names in multilayer EXRs on 4.2 and 5.0 (checked on 4.2.23 and 5.0.1),
# and the Vector pass keeps its layout and signs (see core/passes.flow_from_vector).
NORMAL_PASS_NAMES = ("Normal",)
VECTOR_PASS_NAMES = ("Vector",)
