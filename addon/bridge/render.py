"""Render settings, and one render per frame: the RGB image plus every pass in one multilayer EXR,
decoded to numpy (DESIGN §3.4–5). Never a second render for labels."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import bpy
import numpy as np

from ..core import devices
from ..core.images import exr
from ..core.labels import passes
from ..core.recipe import profiles
from ..core.recipe.model import OutputSettings, RenderSettings
from . import camera, compat, envvars

BACKGROUND_DEPTH = 1e9     # Cycles writes 1e10 where a ray hits nothing


def select_device(scene, rs: RenderSettings) -> devices.Choice:
    """Choose and enable the render device (``core/devices.choose`` decides from what Cycles lists). The CPU
    touches no preference; a worker-pool child renders on the GPU its parent gave it (``envvars.GPU``)."""
    if rs.device == "CPU":
        scene.cycles.device = "CPU"
        return devices.Choice("CPU", devices=(_cpu(),))
    listed = compat.gpu_devices(devices.BACKENDS)
    available = {b: [devices.Device(b, name, id_) for name, id_ in found] for b, found in listed.items()}
    wanted = [i for i in os.environ.get(envvars.GPU, "").split(",") if i]
    choice = devices.choose(rs.device, rs.gpu_backend, available, wanted or None)
    if choice.device == "GPU":
        compat.use_gpu_devices(scene, choice.backend, [d.id for d in choice.devices])
    else:
        scene.cycles.device = "CPU"
        choice = dataclasses.replace(choice, devices=(_cpu(),))
    return choice


def _cpu() -> devices.Device:
    return devices.Device("CPU", compat.cpu_name(), "CPU")


def configure(scene, rs: RenderSettings, out: OutputSettings, swaps_meshes: bool = False) -> devices.Choice:
    """Apply the recipe's render settings and enable the passes the labels need; returns the device.
    ``swaps_meshes``: a randomizer puts other meshes in objects per frame (``Randomizer.SWAPS_MESHES``)."""
    r = scene.render
    r.engine = "CYCLES"
    r.resolution_x, r.resolution_y = rs.resolution
    r.resolution_percentage = 100
    r.use_persistent_data = True       # keep BVH and textures between frames
    r.film_transparent = False
    r.use_compositing = False
    r.use_sequencer = False
    threads = rs.threads
    if os.environ.get(envvars.THREADS, "").isdigit():     # --workers auto sized this process
        threads = int(os.environ[envvars.THREADS]) or threads
    r.threads_mode = "FIXED" if threads else "AUTO"
    if threads:
        r.threads = threads
    for attr in dir(r):                # no date/time/render-time stamps: identical runs give identical files
        if attr.startswith("use_stamp") and isinstance(getattr(r, attr), bool):
            setattr(r, attr, False)
    c = scene.cycles
    c.samples = rs.samples
    c.use_denoising = rs.denoise
    choice = select_device(scene, rs)
    apply_profile(c, profiles.effective(rs.profile, rs.max_bounces), scene, swaps_meshes)
    scene.view_settings.view_transform = rs.view_transform
    scene.view_settings.look = "None"
    vl = scene.view_layers[0]
    vl.use_pass_z = True
    vl.use_pass_object_index = True
    vl.use_pass_normal = out.normals      # each extra pass costs render time: only when asked
    vl.use_pass_vector = out.flow
    if vl.use_pass_vector:
        r.use_motion_blur = False      # Cycles writes an all-zero Vector pass when motion blur is on
    elif rs.motion_blur:
        r.use_motion_blur = True       # along the motion keyed around the frame (clip jobs)
    return choice


def apply_profile(c, p: profiles.Profile, scene, swaps_meshes: bool = False) -> None:
    """A render profile on ``scene.cycles`` (the table is in core/recipe/profiles.py). Its light tree only
    where it pays for ``scene``'s lights, as they are once the randomizers are set up, or where meshes swap."""
    c.max_bounces, c.diffuse_bounces, c.glossy_bounces = p.max_bounces, p.diffuse, p.glossy
    c.transmission_bounces, c.volume_bounces = p.transmission, p.volume
    # never fewer than fog and rain asked for (environment.keep_camera_paths): labels need those paths
    c.transparent_max_bounces = max(c.transparent_max_bounces, p.transparent)
    c.use_light_tree = profiles.use_light_tree(p, *_emitters(scene), swaps_meshes)
    c.use_adaptive_sampling = p.adaptive_threshold > 0
    if p.adaptive_threshold > 0:
        c.adaptive_threshold = p.adaptive_threshold
    c.sample_clamp_indirect = p.clamp_indirect
    c.denoising_prefilter = p.prefilter     # OIDN's; the denoiser itself stays Blender's choice (listing
                                            # them wakes every GPU library, which warns on a CPU machine)


def _emitters(scene) -> tuple[int, int]:
    """(light objects, meshes with an emitting material) in ``scene``, hidden ones too: randomizers show
    them per frame. Emitting: an Emission shader, or a Principled BSDF whose Emission Strength is linked or
    above 0, anywhere in the material's nodes."""
    lights = sum(1 for o in scene.objects if o.type == "LIGHT")
    emitting: dict[str, bool] = {}

    def emits(mat) -> bool:
        if mat.name not in emitting:
            nodes = mat.node_tree.nodes if mat.use_nodes and mat.node_tree else ()
            emitting[mat.name] = any(
                n.type == "EMISSION" or (n.type == "BSDF_PRINCIPLED" and "Emission Strength" in n.inputs and (
                    n.inputs["Emission Strength"].is_linked or n.inputs["Emission Strength"].default_value > 0))
                for n in nodes)
        return emitting[mat.name]

    meshes = sum(1 for o in scene.objects if o.type == "MESH"
                 and any(s.material is not None and emits(s.material) for s in o.material_slots))
    return lights, meshes


class _Passes:
    """The render's passes, read from Cycles' own render result as the frame finishes (issue 16): a wrap of
    the Cycles engine's ``render_frame_finish`` that copies each pass (``RenderPass.rect.foreach_get``, ~0.05 ms
    a pass) while ``render`` below asks for it, instead of saving a multilayer EXR and decoding it (~5 ms a
    frame at 160x120). Channels are named and laid out as in that EXR (``ViewLayer.Depth.Z``, top row first);
    tests/bpy/test_passes.py checks both are bit-identical. Any other render (F12, the viewport) only
    passes through the wrap. Where the wrap cannot be installed or read nothing, ``render`` saves the EXR."""
    wanted = False
    channels: dict[str, np.ndarray] | None = None
    installed: bool | None = None

    @classmethod
    def install(cls) -> bool:
        if cls.installed is None:
            engine = compat.cycles_engine()
            cls.installed = engine is not None
            if cls.installed:       # over Cycles' own method, also where a reloaded add-on wrapped it before
                finish = getattr(engine.render_frame_finish, "_synthkiln_wraps", engine.render_frame_finish)

                def render_frame_finish(self):      # exactly one argument: Blender calls it by its signature
                    finish(self)
                    if cls.wanted:
                        cls.channels = cls.read(self.get_result())
                render_frame_finish._synthkiln_wraps = finish
                engine.render_frame_finish = render_frame_finish
        return cls.installed

    @staticmethod
    def read(result) -> dict[str, np.ndarray] | None:
        try:
            h, w = result.resolution_y, result.resolution_x
            out = {}
            for layer in result.layers:
                for p in layer.passes:
                    if p.name == "Combined":       # the image is saved by Blender, with the view transform
                        continue
                    px = np.empty(w * h * p.channels, np.float32)
                    p.rect.foreach_get(px)
                    px = px.reshape(h, w, p.channels)[::-1]       # Blender's rows run bottom-up
                    for k, c in enumerate(p.channel_id):
                        out[f"{layer.name}.{p.name}.{c}"] = np.ascontiguousarray(px[..., k])
            return out or None
        except (AttributeError, RuntimeError, ValueError, TypeError):
            return None


def _render_passes(scene, scratch_exr: Path) -> dict[str, np.ndarray]:
    """Render once; the passes by channel name, as a multilayer EXR of the render would hold them."""
    _Passes.channels, _Passes.wanted = None, _Passes.install()
    try:
        bpy.ops.render.render()
    finally:
        _Passes.wanted = False
    channels, _Passes.channels = _Passes.channels, None
    if channels is not None:
        return channels
    ims = scene.render.image_settings
    compat.set_image_format(ims, "OPEN_EXR_MULTILAYER", color_depth="32")
    ims.exr_codec = "NONE"             # scratch file read back at once: no time spent compressing
    _render_result().save_render(str(scratch_exr), scene=scene)
    return exr.read_channels(scratch_exr)


def _render_result():
    return next(im for im in bpy.data.images if im.type == "RENDER_RESULT")


def render(scene, scratch_exr: Path, image_path: Path, out: OutputSettings,
           display_tiff: bool = False) -> dict[str, np.ndarray]:
    """Render once; save the RGB image (view transform applied); read the passes (``_Passes``; else through
    ``scratch_exr``, a multilayer EXR).

    Always: ``instance`` (uint16 H×W object index) and ``depth`` (float32 H×W planar z, metres, 0 where
    nothing was hit). When asked for by ``out``: ``distance`` (float32 H×W, metres from the camera centre),
    ``normals`` (float32 H×W×3, unit, OpenCV camera coordinates), ``flow`` (float32 H×W×2, forward flow in
    pixels to the next scene frame, u right, v down) and ``flow_backward`` (to the previous one). Conventions: core/passes.py.

    ``display_tiff``: the RGB image goes to ``image_path`` as an uncompressed 16-bit TIFF for the sensor group
    to process (``bridge/sensor.py``), not as the dataset's file."""
    channels = _render_passes(scene, scratch_exr)
    result = _render_result()
    ims = scene.render.image_settings
    if display_tiff:
        compat.set_image_format(ims, "TIFF", color_mode="RGB", color_depth="16")
        ims.tiff_codec = "NONE"
    elif out.image_format == "JPEG":
        compat.set_image_format(ims, "JPEG", color_mode="RGB")
        ims.quality = out.jpeg_quality
    else:
        compat.set_image_format(ims, "PNG", color_mode="RGB", color_depth="8")
        ims.compression = 15
    result.save_render(str(image_path), scene=scene)
    index = exr.find_channel(channels, compat.INDEX_PASS_NAMES)
    depth = exr.find_channel(channels, compat.DEPTH_PASS_NAMES)
    scale = scene.unit_settings.scale_length or 1.0
    depth = np.where(depth >= BACKGROUND_DEPTH, 0.0, depth * scale).astype(np.float32)
    labels = {"instance": np.rint(index).astype(np.uint16), "depth": depth}
    vl = scene.view_layers[0]
    if out.distance:
        labels["distance"] = passes.distance_from_depth(depth, camera.intrinsics(scene, scene.camera))
    if vl.use_pass_normal:
        world = exr.find_channels(channels, compat.NORMAL_PASS_NAMES, "XYZ")
        labels["normals"] = passes.normals_to_camera(world, camera.world_to_camera(scene.camera))
    if vl.use_pass_vector:
        vector = exr.find_channels(channels, compat.VECTOR_PASS_NAMES, "XYZW")
        labels["flow"] = passes.flow_from_vector(vector)
        labels["flow_backward"] = passes.flow_from_vector(vector, "backward")     # clip frames write it too
    return labels
