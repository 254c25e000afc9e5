"""Every Blender version difference, in one place, keyed on ``bpy.app.version`` tuples."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
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


# -- Cycles devices (the same preferences API on 4.2 and 5.0; checked on 4.2.23 and 5.0.1) ----------------
def cycles_preferences():
    """Cycles' add-on preferences: the compute backend and the device list (headless and in the GUI)."""
    return bpy.context.preferences.addons["cycles"].preferences


@contextlib.contextmanager
def _quiet_fds():
    """Cycles logs a warning line per missing GPU library (CUEW, HIPEW) while listing devices; a CPU-only
    machine is not an error, so those lines are kept off the user's terminal."""
    for f in (sys.stdout, sys.stderr):
        f.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        _flush_c_stdio()        # Cycles' lines may still sit in C's buffers: they belong to the null device
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):     # no C library to ask (Windows): its lines may show, harmless
        pass


def gpu_devices(backends) -> dict[str, list[tuple[str, str]]]:
    """(name, Cycles id) of every GPU per backend this Blender build supports and the driver reports now."""
    prefs = cycles_preferences()
    out: dict[str, list[tuple[str, str]]] = {}
    with _quiet_fds():
        supported = {item[0] for item in prefs.get_device_types(bpy.context)}
        for backend in backends:
            if backend in supported:
                # (name, type, id, ...) tuples; the CPU is listed with every backend
                out[backend] = [(d[0], d[2]) for d in prefs.get_device_list(backend) if d[1] == backend]
    return out


def use_gpu_devices(scene, backend: str, ids) -> None:
    """Render ``scene`` on exactly these GPUs of ``backend``: every other device (the CPU too) off."""
    prefs = cycles_preferences()
    prefs.compute_device_type = backend
    ids = set(ids)
    for entry in prefs.devices:
        entry.use = entry.type == backend and entry.id in ids
    scene.cycles.device = "GPU"


def cpu_name() -> str:
    """The CPU as Cycles names it (for the manifest and ``synthkiln devices``)."""
    with _quiet_fds():      # listing initialises Cycles' GPU libraries, which warn where there are none
        return next((d[0] for d in cycles_preferences().get_device_list("CPU") if d[1] == "CPU"), "CPU")


# -- model importers (asset sources): the same operators on 4.2 and 5.0.1 (checked on both) ---------------
# extension -> (operator module, name, keyword for the up axis or None, keyword for forward, axis spelling)
IMPORTERS = {
    ".glb": ("import_scene", "gltf", None), ".gltf": ("import_scene", "gltf", None),
    ".obj": ("wm", "obj_import", "wm"), ".ply": ("wm", "ply_import", "wm"), ".stl": ("wm", "stl_import", "wm"),
    ".fbx": ("import_scene", "fbx", "fbx"),
    ".usd": ("wm", "usd_import", None), ".usda": ("wm", "usd_import", None), ".usdc": ("wm", "usd_import", None),
    ".usdz": ("wm", "usd_import", None),
}


def importer(ext: str, up: str | None):
    """(operator, keyword arguments) that import a file with this extension; ``up`` (Z, Y, -Y, ...) is the
    file's up axis where the importer takes one (None: the importer's own convention). Returns the axes
    the importer could not take as ``None`` in the second item's place: the caller rotates instead."""
    module, name, axes = IMPORTERS[ext]
    op = getattr(getattr(bpy.ops, module), name)
    if up is None or axes is None:
        return op, {}, up is None
    forward = {"Z": "Y", "-Z": "Y", "Y": "-Z", "-Y": "Z", "X": "Y", "-X": "Y"}[up]
    if axes == "wm":
        spell = lambda a: ("NEGATIVE_" + a[1]) if a.startswith("-") else a   # noqa: E731
        return op, {"up_axis": spell(up), "forward_axis": spell(forward)}, True
    return op, {"use_manual_orientation": True, "axis_up": up, "axis_forward": forward}, True


def cycles_engine():
    """The Cycles add-on's render engine class, whose ``render_frame_finish`` (4.2 and 5.x: called once the
    frame's result is complete, with ``get_result`` readable) bridge/render.py wraps; None without it."""
    module = sys.modules.get("cycles")
    if module is None:
        try:
            import cycles as module
        except ImportError:
            return None
    engine = getattr(module, "CyclesRender", None)
    return engine if engine is not None and hasattr(engine, "render_frame_finish") else None
