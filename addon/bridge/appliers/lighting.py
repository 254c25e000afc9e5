"""Lighting group, Blender half."""

from __future__ import annotations

import math

from pathlib import Path

import bpy
from mathutils import Euler, Vector

from ...core import randomizers as R
from ...core.errors import UserError
from ...core.schema import path_str
from .. import compat
from .base import Applier, aim, find_object, footprint, on_shell, principled, target_point

class Light(Applier):
    TYPE = "light"

    def apply(self, scene, r, values):
        center = target_point(r.target, what=f"{r.key()}.target")
        for name, v in values.items():
            obj = bpy.data.objects[name]
            obj.data.energy = v["energy"]
            obj.data.color = v["color"]
            obj.location = on_shell(center, v["distance"], v["elevation"], v["azimuth"])
            aim(obj, center)


def hdri_path(name: str) -> Path:
    if "/" in name or "\\" in name or name.lower().endswith((".exr", ".hdr")):
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
    NODES = ("SK Coordinates", "SK Mapping", "SK Environment", "SK Background", "SK Output")

    def setup(self, scene, r, objs, where=()):
        world = scene.world
        compat.enable_nodes(world)
        nodes, links = world.node_tree.nodes, world.node_tree.links
        if not all(n in nodes for n in self.NODES):
            nodes.clear()
            coords = nodes.new("ShaderNodeTexCoord")
            mapping = nodes.new("ShaderNodeMapping")
            env = nodes.new("ShaderNodeTexEnvironment")
            bg = nodes.new("ShaderNodeBackground")
            out = nodes.new("ShaderNodeOutputWorld")
            for node, name in zip((coords, mapping, env, bg, out), self.NODES):
                node.name = name
            links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
            links.new(mapping.outputs["Vector"], env.inputs["Vector"])
            links.new(env.outputs["Color"], bg.inputs["Color"])
            links.new(bg.outputs["Background"], out.inputs["Surface"])
        # A fixed, modest importance map: the automatic one is rebuilt at 1024² on every HDRI change
        # (about 2 s a frame on 2 cores); 256² samples these soft studio HDRIs just as well.
        world.cycles.sampling_method = "MANUAL"
        world.cycles.sample_map_resolution = 256
        for k, name in enumerate(r.hdri.choices):   # load every candidate once: frames never add images
            try:
                path = hdri_path(str(name))
            except UserError as e:
                raise UserError(f"{path_str(where + ('hdri', 'choice', k))}: {e}") from None
            bpy.data.images.load(str(path), check_existing=True)

    def apply(self, scene, r, v):
        nodes = scene.world.node_tree.nodes
        nodes["SK Environment"].image = bpy.data.images.load(str(hdri_path(v["hdri"])), check_existing=True)
        nodes["SK Mapping"].inputs["Rotation"].default_value = (0.0, 0.0, v["rotation"])
        nodes["SK Background"].inputs["Strength"].default_value = v["strength"]
