"""The frame pipeline (DESIGN §3): sample → apply → one render → decode → labels → files, record last.

``FrameJob`` is shared by the preview operator (``apply_frame``), the render operator (``render_frame``
in a loop or a modal timer) and therefore by the headless runner, which calls those same operators.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import bpy

from ..core.images import exr, png
from ..core.dataset import layout
from ..core.labels import masks, passes
from ..core.exports.build import write_exports
from ..core.errors import UserError
from ..core.fsio import atomic_write_bytes, atomic_write_json, clean_scratch, clean_temp_files, writer_tag
from ..core.dataset.job import (GENERATOR, VERSION, Shard, application_order, clip_of, object_attributes,
                                object_categories, open_dataset, sample_frame, swaps_meshes)
from ..core.randomizers import Context
from ..core.recipe.model import Recipe
from ..core.params.rng import render_seed
from ..core.dataset.status import record_frame_time
from . import appliers
from . import assets, camera, compat, labels, render, scene as scene_setup
from .appliers import motion
from .appliers.objects import Simulations
from .sensor import SensorFrame
from .envvars import DEFER_EXPORTS

progress_log = logging.getLogger("synthkiln.progress")
SCRATCH = "synthkiln-"      # + writer tag: a frame job's scratch folder in the system temp


class FrameJob:
    """One recipe on one scene: prepares once, then applies or renders any frame index."""

    def __init__(self, scene, recipe: Recipe, base_dir: str | Path = "."):
        self.scene, self.recipe, self.base_dir = scene, recipe, Path(base_dir)
        self.targets: list[scene_setup.Target] = []
        self.contexts: dict[str, Context] = {}
        self._scratch: Path | None = None
        self.rare: dict[str, list[int]] = {}   # the last applied frame's rare-mixture draws, for its record
        self.device = None                      # core.devices.Choice once prepared: what this process renders on

    # -- setup ---------------------------------------------------------------------------------------
    def prepare(self) -> "FrameJob":
        """Build what is missing, label targets, set up randomizers and render settings (idempotent)."""
        sc, recipe = self.scene, self.recipe
        Simulations.clear()       # a clip simulated by an earlier job (its scene may have changed since)
        scene_setup.ensure_scene(sc, recipe, self.base_dir)
        pool_assets = assets.prepare_pools(sc, recipe, self.base_dir)     # pool slots are targets: made first
        self.targets = assets.slot_targets(sc, recipe, scene_setup.resolve_targets(sc, recipe), pool_assets)
        scene_setup.assign_instance_ids(sc, self.targets)
        labels = {t.name: t for t in self.targets}
        target_objs = [bpy.data.objects[t.name] for t in self.targets]
        appliers.hide_orphans(sc, {r.key() for r in recipe.randomizers.all()})
        for r in recipe.randomizers.all():
            if r.TARGETS == "objects" and r.select.is_empty():
                objs = target_objs
            else:
                objs = scene_setup.select(sc, r.select, appliers.pool(sc, r), labels) if r.TARGETS != "none" else []
            a = appliers.applier(r)
            if not r.enabled:       # muted: take back what it leaves in the scene (helper objects, world photo...)
                a.release(sc, r, objs)
                continue
            with appliers.owning(r):
                a.setup(sc, r, objs, recipe.randomizers.path(r))
            ctx = a.context(sc, r, objs)
            ctx.data.setdefault("categories", {o.name: labels[o.name].category for o in objs if o.name in labels})
            self.contexts[r.key()] = ctx
        self.device = render.configure(sc, recipe.render, recipe.output, swaps_meshes(recipe))
        bpy.context.view_layer.update()     # objects made by setup get their world matrices before frame 0
        return self

    # -- one frame -----------------------------------------------------------------------------------
    def apply_frame(self, index: int, clip_keys: tuple[int, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sample frame ``index`` and apply it to the scene; returns the sampled values and what the
        appliers report having done (retries, settled poses, achieved occlusion...). In a clip job, motion
        is keyed around the frame (``clip_keys``: other clip frames to key, e.g. the whole clip for a
        preview) and the scene goes to its scene frame (``motion.scene_frame``)."""
        seed = self.recipe.output.seed
        self.rare = {}
        motion.reset(self.scene)
        clip = clip_of(self.recipe, index)
        if clip is not None:      # the frame's scene frame from the start: what simulates (physics_drop) starts there
            self.scene.frame_current = motion.scene_frame(clip[1])
        values = sample_frame(self.recipe, seed, index, self.contexts, self.rare, clip_keys)
        applied = {}
        phase = None
        for r in application_order(self.recipe):
            if phase is not None and r.phase() != phase:
                bpy.context.view_layer.update()     # later phases aim at what earlier ones moved
            phase = r.phase()
            result = appliers.applier(r).apply(self.scene, r, values[r.key()])
            if result:
                applied[r.key()] = result
        self.scene.cycles.seed = render_seed(seed, index)
        if clip is not None:
            self.scene.frame_set(motion.scene_frame(clip[1]))     # evaluates the motion keys, updates the scene
        bpy.context.view_layer.update()
        return values, applied

    def key_clip(self, clip: int) -> int:
        """Apply clip ``clip``'s start and key its whole motion onto the timeline (scene frames ``FRAME0`` ..
        ``FRAME0 + L - 1``), so the viewport plays the clip; returns its first scene frame. Rendering any of
        those scene frames matches the dataset's frame (the same keys, the same start state)."""
        out = self.recipe.output
        if out.clips <= 0:
            raise UserError("Preview Clip needs a clip job: set output.clips (and clip_length)")
        if not 0 <= clip < out.clips:
            raise UserError(f"clip {clip} is not in the job: expected 0..{out.clips - 1}")
        length = out.clip_length
        self.apply_frame(clip * length, clip_keys=tuple(range(-1, length + 1)))
        sc = self.scene
        sc.frame_start, sc.frame_end = motion.scene_frame(0), motion.scene_frame(length - 1)
        sc.frame_set(motion.scene_frame(0))
        return sc.frame_start

    def render_frame(self, index: int, root: Path) -> dict[str, Any]:
        """Render frame ``index`` into dataset ``root``; its record is written last."""
        values, applied = self.apply_frame(index)
        out = self.recipe.output
        ext = "jpg" if out.image_format == "JPEG" else "png"
        image_path = root / layout.image_name(index, ext)
        scratch = self._scratch_dir()
        raw_image = scratch / f"rgb.{ext}"
        sensor = SensorFrame(self.scene, self.recipe, values)      # issue 18: effects after the one render
        if sensor.active:
            decoded = sensor.render(self.scene, scratch, out)
        else:
            decoded = render.render(self.scene, scratch / "passes.exr", raw_image, out)
        mask, depth = decoded["instance"], decoded["depth"]
        h, w = mask.shape

        stamp = {"Software": f"{GENERATOR} {VERSION}", "synthkiln:seed": str(out.seed),
                 "synthkiln:frame": str(index), "synthkiln:synthetic": "true"}
        if sensor.active:
            atomic_write_bytes(image_path, sensor.image_bytes(out, stamp))
        else:
            data = raw_image.read_bytes()
            atomic_write_bytes(image_path, png.add_text_chunks(data, stamp, replace_all=True) if ext == "png" else data)
        atomic_write_bytes(root / layout.mask_name(index), png.encode_png(mask, stamp))
        files = {"image": layout.image_name(index, ext), "mask": layout.mask_name(index)}
        files.update(sensor.write_clean(root, index))     # the render before the sensor stack, for the report
        categories = {t.name: t.category for t in self.targets} | object_categories(self.recipe, values)
        if out.semantic:
            cat_ids = self.recipe.category_ids()
            sem = passes.semantic_from_instance(mask, {t.instance_id: cat_ids[categories[t.name]] for t in self.targets})
            files["semantic"] = layout.semantic_name(index)
            atomic_write_bytes(root / files["semantic"], png.encode_png(sem, stamp))
        clip = clip_of(self.recipe, index)
        flow = _channels(decoded, "flow", "UV")
        if flow and clip is not None:     # a clip frame: backward flow too (to frame t-1)
            flow |= _channels(decoded, "flow_backward", ("BU", "BV"))
        maps = {"depth": {"Z": depth} if out.depth else {}, "distance": _channels(decoded, "distance", "D"),
                "normals": _channels(decoded, "normals", "XYZ"), "flow": flow}
        for key, channels in maps.items():
            if channels:
                files[key] = getattr(layout, f"{key}_name")(index)
                exr.write_channels(root / files[key], channels)

        stats = masks.instance_stats(mask)
        rles = masks.rle_encode_instances(mask)
        cam = self.scene.camera
        K, w2c = camera.intrinsics(self.scene, cam), camera.world_to_camera(cam)
        if sensor.lens is not None:       # labels measured on the wider render, then through the distortion
            geometry = labels.object_labels(self.scene, cam, self.targets, mask, decoded["render_depth"],
                                            sensor.lens.render_K, w2c, lens=sensor.lens)
        else:
            geometry = labels.object_labels(self.scene, cam, self.targets, mask, depth, K, w2c)
        attributes = object_attributes(self.recipe, values)
        objects = []
        for t in self.targets:
            s = stats.get(t.instance_id)
            objects.append({"instance_id": t.instance_id, "name": t.name, "category": categories[t.name],
                            "attributes": {**t.attributes, **attributes.get(t.name, {})},
                            "hidden": bpy.data.objects[t.name].hide_render,
                            "bbox": s["bbox"] if s else None, "area": s["area"] if s else 0,
                            "rle": rles.get(t.instance_id), **geometry.get(t.instance_id, {})})
            if clip is not None:      # the instance id: one per object for the whole job, so stable in a clip
                objects[-1]["track_id"] = t.instance_id
        record = {"synthkiln": VERSION, "frame": index, "seed": out.seed, "width": w, "height": h,
                  "files": files, "camera": {"name": cam.name, "K": K.tolist(), "world_to_camera": w2c.tolist()},
                  "values": values, "applied": applied, "objects": objects}
        if sensor.lens is not None:       # OpenCV's model and coefficients, next to K
            record["camera"]["distortion"] = sensor.plan.distortion
            applied.update(sensor.applied())
        if clip is not None:
            record["clip"] = {"index": clip[0], "frame": clip[1], "length": out.clip_length}
        if self.rare:
            record["rare"] = self.rare    # [draws, rare draws] per parameter with a rare mixture
        atomic_write_json(root / layout.record_name(index), record)
        return record

    def _scratch_dir(self) -> Path:
        """A private folder in the system temp (local disk, even when the dataset is on a network share)
        for the render's EXR. Named after this writer, so the next run on this host (``DatasetRun``)
        removes one that a killed process left behind."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{writer_tag()}-"))
        return self._scratch

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


class StopRequest:
    """Set from a signal handler (headless) to end a render loop between frames: the frame Cycles is
    rendering is finished and written, then ``DatasetRun.step`` reports nothing left."""
    signum = 0

    @classmethod
    def request(cls, signum: int) -> None:
        cls.signum = signum

    @classmethod
    def clear(cls) -> None:
        cls.signum = 0


class DatasetRun:
    """A render job into a folder: resume (skip frames with a record), shards, progress and exports."""

    def __init__(self, job: FrameJob, root: Path, shard: Shard = Shard()):
        recipe = job.recipe
        self.job, self.root, self.shard = job, Path(root), shard.of(recipe)    # a clip job: whole clips per shard
        frames = self.shard.frames(recipe.output.frames)
        if len(frames):
            job.apply_frame(frames[0])    # a recipe that cannot apply fails here, before anything is written
        device = job.device
        self.manifest = open_dataset(self.root, recipe, compat.version_string(), device.to_data() if device else None)
        if device is not None:      # the runner prints it, the heartbeat keeps it (`synthkiln status`)
            if device.warning:
                progress_log.warning("Warning: %s", device.warning)
            progress_log.info("device: %s", device.label(), extra={"sk_device": device.label()})
        clean_temp_files(self.root, {layout.stem(i) for i in frames})
        clean_scratch(Path(tempfile.gettempdir()), SCRATCH)     # a killed run's, even when nothing is left to do
        done = set(layout.record_indices(self.root))
        self.todo = [i for i in frames if i not in done]
        self.total = len(frames)
        self.skipped = self.total - len(self.todo)
        self.rendered = 0

    def step(self) -> bool:
        """Render the next frame; False when nothing is left (or a stop was requested)."""
        if self.rendered >= len(self.todo) or StopRequest.signum:
            return False
        index = self.todo[self.rendered]
        t0 = time.perf_counter()
        try:
            self.job.render_frame(index, self.root)
        except OSError as e:
            raise UserError(f"cannot write frame {index} to {self.root}: {e.strerror or e}") from None
        seconds = time.perf_counter() - t0
        record_frame_time(self.root, index, seconds)
        self.rendered += 1
        progress_log.info("frame %d done in %.2fs", index, seconds,
                          extra={"sk_done": self.skipped + self.rendered, "sk_total": self.total, "sk_frame": index})
        return True

    def finish(self) -> list[Path]:
        """Write the exports once every planned frame of the job (all shards) has its record."""
        self.job.close()
        if os.environ.get(DEFER_EXPORTS) == "1":     # a worker-pool child: the pool exports once
            return []
        if len(layout.record_indices(self.root)) < self.recipe_frames():
            return []
        return write_exports(self.root, report=progress_log.info)   # the formats, filters, previews asked for

    def recipe_frames(self) -> int:
        return self.job.recipe.output.frames


def _channels(decoded: dict, key: str, names: str) -> dict:
    """EXR channels of a decoded pass (H x W, or H x W x C named by ``names``); empty if not rendered."""
    image = decoded.get(key)
    if image is None:
        return {}
    return {names[0]: image} if image.ndim == 2 else {n: image[..., k] for k, n in enumerate(names)}
