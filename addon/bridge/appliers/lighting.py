"""Lighting group, Blender half: lights, HDRI world, physical sky (the world graph is ``bridge/world.py``)."""

from __future__ import annotations

from pathlib import Path

import bpy
from mathutils import Vector

from ...core import randomizers as R
from ...core.errors import UserError
from ...core.params.schema import path_str
from .. import compat, world
from ..files import folder_files, load_image, user_path
from .base import Applier, aim, find_object, on_shell, target_point

POOL_COLLECTION = "SK Lights"
HDRI_SUFFIXES = (".exr", ".hdr")


class Light(Applier):
    TYPE = "light"

    def setup(self, scene, r, objs, where=()):
        self._lights(scene, r, objs, create=True)

    def context(self, scene, r, objs):
        lights = self._lights(scene, r, objs)
        return R.Context(targets=[o.name for o in lights], data={"light_types": {o.name: o.data.type for o in lights}})

    @staticmethod
    def _lights(scene, r, objs, create: bool = False) -> list:
        """The selected lights plus this randomizer's pool (made once, in ``SK Lights``)."""
        coll = bpy.data.collections.get(POOL_COLLECTION)
        pooled = set(o.name for o in coll.objects) if coll else set()
        if r.select.is_empty():
            objs = [o for o in objs if o.name not in pooled]    # another randomizer's pool is not a selection
        prefix = f"SK {r.name or r.TYPE} "
        size = r.pool_size(len(objs))
        if create and (size or coll):
            if coll is None:
                coll = bpy.data.collections.new(POOL_COLLECTION)
            if coll not in scene.collection.children_recursive:
                scene.collection.children.link(coll)
            for i in range(size):
                name = f"{prefix}{i + 1}"
                if name not in bpy.data.objects:
                    obj = bpy.data.objects.new(name, bpy.data.lights.new(name, "POINT"))
                    coll.objects.link(obj)
            for o in coll.objects:            # a pool that shrank: its extra lights stay dark
                rest = o.name[len(prefix):]
                if o.name.startswith(prefix) and rest.isdigit() and int(rest) > size:
                    o.hide_render = o.hide_viewport = True
        pool = [bpy.data.objects[f"{prefix}{i + 1}"] for i in range(size)]
        return sorted(objs, key=lambda o: o.name) + pool

    def apply(self, scene, r, values):
        center = target_point(r.target, what=f"{r.where()}.target")
        for name, v in values.items():
            obj = bpy.data.objects[name]
            obj.hide_render = obj.hide_viewport = not v["visible"]
            if not v["visible"]:
                continue
            light = obj.data
            if light.type != v["type"]:
                light.type = v["type"]         # the same datablock changes kind: nothing new is made
            light.energy = v["energy"]
            light.color = v["color"]
            obj.location = on_shell(center, v["distance"], v["elevation"], v["azimuth"])
            aim(obj, center)


def hdri_path(name: str, folder: Path | None = None) -> Path:
    if folder is not None and (folder / name).is_file():
        return folder / name
    if "/" in name or "\\" in name or name.lower().endswith(HDRI_SUFFIXES):
        p = Path(name).expanduser()
    else:
        p = compat.bundled_hdri_dir() / f"{name}.exr"
    if not p.is_file():
        bundled = sorted(x.stem for x in compat.bundled_hdri_dir().glob("*.exr"))
        raise UserError(f"HDRI {name!r} not found: expected a bundled HDRI ({', '.join(bundled)}) "
                        "or the path of an .exr/.hdr file")
    return p


class WorldHDRI(Applier):
    TYPE = "world_hdri"

    def setup(self, scene, r, objs, where=()):
        world.use_source(scene, "hdri")
        for k, name in enumerate(r.hdri.choices):   # load every candidate once: frames never add images
            try:
                path = hdri_path(str(name))
            except UserError as e:
                raise UserError(f"{path_str(where + ('hdri', 'choice', k))}: {e}") from None
            load_image(path)
        if r.folder:
            folder, files = folder_files(r.folder, HDRI_SUFFIXES, where + ("folder",), "HDRIs")
            for f in files:
                load_image(folder / f)

    def context(self, scene, r, objs):
        files = folder_files(r.folder, HDRI_SUFFIXES, (), "HDRIs")[1] if r.folder else []
        return R.Context(data={"hdri_files": files})

    def apply(self, scene, r, v):
        nodes = world.use_source(scene, "hdri")
        folder = user_path(r.folder) if r.folder else None
        image = load_image(hdri_path(v["hdri"], folder))
        if nodes[world.ENV].image != image:
            nodes[world.ENV].image = image
        nodes[world.MAPPING].inputs["Rotation"].default_value = (0.0, 0.0, v["rotation"])
        nodes[world.BACKGROUND].inputs["Strength"].default_value = v["strength"]


class Sky(Applier):
    TYPE = "sky"

    def setup(self, scene, r, objs, where=()):
        world.use_source(scene, "sky")
        if r.sun:
            lamp = find_object(r.sun, f"{path_str(where + ('sun',))}")
            if lamp.type != "LIGHT" or lamp.data.type != "SUN":
                raise UserError(f"{path_str(where + ('sun',))}: {r.sun!r} is not a sun lamp: expected a light "
                                "of type SUN")

    def apply(self, scene, r, v):
        nodes = world.use_source(scene, "sky")
        sky = nodes[world.SKY]
        sky.sun_elevation = v["elevation"]
        sky.sun_rotation = world.sky_rotation(v["azimuth"])
        sky.air_density = v["air"]
        compat.set_sky_aerosols(sky, v["aerosols"])
        sky.sun_disc = not r.sun              # a sun lamp gives the direct light (crisp, noise-free shadows)
        nodes[world.BACKGROUND].inputs["Strength"].default_value = v["strength"]
        if r.sun:
            lamp = bpy.data.objects[r.sun]
            lamp.rotation_mode = "XYZ"
            lamp.rotation_euler = Vector(v["direction"]).to_track_quat("Z", "Y").to_euler("XYZ")   # shines along -Z
            lamp.data.energy = v["sun_energy"]
            lamp.data.color = v["sun_color"]
