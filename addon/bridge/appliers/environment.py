"""Environment group, Blender half: fog, rain, wet surfaces, night.

Every object, mesh and material these types need is made once in ``setup`` (found by name when it
exists) and marked ``sk_environment``; frames only show, hide and set values.
"""

from __future__ import annotations

import fnmatch
import math

import bpy
import numpy as np
from mathutils import Matrix

from ...core import randomizers as R
from .. import compat, world
from .base import Applier, principled

MARK = "sk_environment"       # objects made here: not scene content (wet skips them)


def _object(scene, name: str, mesh_fn, material) -> bpy.types.Object:
    """The environment object ``name`` (created once, with its own mesh and one material slot)."""
    obj = bpy.data.objects.get(name)
    if obj is None:
        obj = bpy.data.objects.new(name, mesh_fn(name))
        obj[MARK] = True
    if obj.name not in scene.collection.objects:
        scene.collection.objects.link(obj)
    if material is not None and obj.data.materials[:] != [material]:
        obj.data.materials.clear()
        obj.data.materials.append(material)
    return obj


def _material(name: str, build) -> bpy.types.Material:
    """Material ``name`` with the node graph ``build`` makes (rebuilt only when a node is missing)."""
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    build(mat.node_tree, rebuild=not all(n in mat.node_tree.nodes for n in build.NODES))
    return mat


def _show(obj, on: bool) -> None:
    if obj.hide_render == on or obj.hide_viewport == on:
        obj.hide_render = obj.hide_viewport = not on


def _camera_only(obj) -> None:
    """Seen by camera rays and nothing else: casts no shadow, shows in no reflection."""
    obj.visible_shadow = obj.visible_diffuse = obj.visible_glossy = False
    obj.visible_transmission = obj.visible_volume_scatter = False


def keep_camera_paths(scene, crossings: int) -> None:
    """Let camera rays cross ``crossings`` more see-through surfaces without Russian roulette ending
    them: a path ended on the way to the object it looks at leaves that pixel out of the Object Index
    and depth passes (measured: about 2% of pixels behind fog and rain sheets at 2 samples)."""
    c = scene.cycles
    c.transparent_max_bounces = max(c.transparent_max_bounces, 8 + crossings)
    c.min_transparent_bounces = max(c.min_transparent_bounces, c.transparent_max_bounces)


# -- fog ------------------------------------------------------------------------------------------

def _cube_mesh(name):
    me = bpy.data.meshes.new(name)
    v = [(x, y, z) for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]
    me.from_pydata(v, [], [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)])
    return me


def _fog_nodes(nt, rebuild):
    """Absorption + emission, no scattering (why: ``core.randomizers.environment.Fog``)."""
    if not rebuild:
        return
    nt.nodes.clear()
    absorb = nt.nodes.new("ShaderNodeVolumeAbsorption")
    absorb.name = "SK Absorption"
    absorb.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)     # grey: every channel fades alike
    glow = nt.nodes.new("ShaderNodeEmission")
    glow.name = "SK Glow"
    add = nt.nodes.new("ShaderNodeAddShader")
    add.name = "SK Add"
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    out.name = "SK Output"
    nt.links.new(absorb.outputs[0], add.inputs[0])
    nt.links.new(glow.outputs[0], add.inputs[1])
    nt.links.new(add.outputs[0], out.inputs["Volume"])


_fog_nodes.NODES = ("SK Absorption", "SK Glow", "SK Add", "SK Output")


def _image_mean(image) -> list[float]:
    """Mean colour of an equirectangular image, weighted by solid angle (cached on the image)."""
    key = f"{image.filepath} {tuple(image.size)}"
    if image.get("sk_mean_of") != key:
        w, h = image.size
        if not w or not h:
            return [1.0, 1.0, 1.0]
        px = np.empty(w * h * image.channels, dtype=np.float32)
        image.pixels.foreach_get(px)
        rgb = px.reshape(h, w, image.channels)[..., :3].astype(np.float64)
        weight = np.cos((np.arange(h) + 0.5) / h * math.pi - math.pi / 2)[:, None, None]
        image["sk_mean"] = [float(x) for x in (rgb * weight).sum((0, 1)) / (weight.sum() * w)]
        image["sk_mean_of"] = key
    return list(image["sk_mean"])


def _luminance(rgb) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def ambient_light(scene) -> float:
    """About how bright an unlit white haze would glow in this scene now: the world's mean radiance
    plus sun irradiance scattered evenly (E / 4 pi). Fog and rain scale their glow by it, so both
    follow the HDRI's strength and night without scattering light themselves."""
    total = 0.0
    for sock in world.strength_inputs(scene.world, lighting_only=True):
        color = sock.node.inputs["Color"]
        rgb = list(color.default_value)[:3]
        if color.is_linked:
            src = color.links[0].from_node
            image = getattr(src, "image", None)
            rgb = _image_mean(image) if image is not None else [1.0, 1.0, 1.0]
        total += sock.default_value * _luminance(rgb)
    for obj in scene.objects:
        if obj.type == "LIGHT" and obj.data.type == "SUN" and not obj.hide_render:
            total += obj.data.energy * _luminance(obj.data.color) / (4 * math.pi)
    return total


class Fog(Applier):
    """A box of absorbing, glowing medium; volume-only, it writes no object index or depth."""
    TYPE = "fog"

    def setup(self, scene, r, objs, where=()):
        mat = _material("SK Fog", _fog_nodes)
        obj = _object(scene, "SK Fog", _cube_mesh, mat)
        obj.location = r.center
        obj.scale = (r.size,) * 3
        obj.pass_index = 0
        keep_camera_paths(scene, 2)
        _camera_only(obj)      # the glow stands in for scattered light: other rays need not see it

    def apply(self, scene, r, v):
        obj = bpy.data.objects["SK Fog"]
        _show(obj, v["on"])
        if v["on"]:
            nodes = obj.data.materials[0].node_tree.nodes
            nodes["SK Absorption"].inputs["Density"].default_value = v["density"]
            glow = nodes["SK Glow"].inputs
            glow["Color"].default_value = (*[min(max(c, 0.0), 1.0) for c in r.color], 1.0)
            glow["Strength"].default_value = v["density"] * v["brightness"] * ambient_light(scene)


# -- rain -----------------------------------------------------------------------------------------

RAIN_MAX_LAYERS = 8


def _rain_nodes(nt, rebuild):
    """UV -> (aspect, offset) -> tilt -> cell scale -> Voronoi F1: one streak per cell, a random share
    of cells lit; the streak emits over full transparency (camera rays always pass straight on)."""
    if not rebuild:
        return
    nt.nodes.clear()
    N, L = nt.nodes, nt.links

    def node(kind, name, **props):
        n = N.new(kind)
        n.name = name
        for k, val in props.items():
            setattr(n, k, val)
        return n

    uv = node("ShaderNodeTexCoord", "SK UV")
    place = node("ShaderNodeMapping", "SK Place")          # scale x by the aspect, add the frame's offset
    tilt = node("ShaderNodeMapping", "SK Tilt")            # rotate about the view axis (wind)
    cells = node("ShaderNodeMapping", "SK Cells")          # cell = one streak's width x length
    vor = node("ShaderNodeTexVoronoi", "SK Voronoi", voronoi_dimensions="2D", feature="F1", distance="EUCLIDEAN")
    vor.inputs["Scale"].default_value = 1.0
    vor.inputs["Randomness"].default_value = 1.0
    shape = node("ShaderNodeMapRange", "SK Shape", clamp=True)
    shape.inputs["From Min"].default_value, shape.inputs["From Max"].default_value = 0.0, 0.5
    shape.inputs["To Min"].default_value, shape.inputs["To Max"].default_value = 1.0, 0.0
    sep = node("ShaderNodeSeparateColor", "SK Cell Random")
    lit = node("ShaderNodeMath", "SK Lit", operation="LESS_THAN")
    streak = node("ShaderNodeMath", "SK Streak", operation="MULTIPLY")
    glow = node("ShaderNodeMath", "SK Brightness", operation="MULTIPLY")
    clear = node("ShaderNodeBsdfTransparent", "SK Clear")
    drop = node("ShaderNodeEmission", "SK Drop")
    drop.inputs["Color"].default_value = (0.85, 0.9, 1.0, 1.0)
    add = node("ShaderNodeAddShader", "SK Add")
    out = node("ShaderNodeOutputMaterial", "SK Output")
    L.new(uv.outputs["UV"], place.inputs["Vector"])
    L.new(place.outputs["Vector"], tilt.inputs["Vector"])
    L.new(tilt.outputs["Vector"], cells.inputs["Vector"])
    L.new(cells.outputs["Vector"], vor.inputs["Vector"])
    L.new(vor.outputs["Distance"], shape.inputs["Value"])
    L.new(vor.outputs["Color"], sep.inputs["Color"])
    L.new(sep.outputs[0], lit.inputs[0])
    L.new(shape.outputs["Result"], streak.inputs[0])
    L.new(lit.outputs[0], streak.inputs[1])
    L.new(streak.outputs[0], glow.inputs[0])
    L.new(glow.outputs[0], drop.inputs["Strength"])
    L.new(clear.outputs[0], add.inputs[0])
    L.new(drop.outputs[0], add.inputs[1])
    L.new(add.outputs[0], out.inputs["Surface"])


_rain_nodes.NODES = ("SK UV", "SK Place", "SK Tilt", "SK Cells", "SK Voronoi", "SK Shape", "SK Cell Random",
                     "SK Lit", "SK Streak", "SK Brightness", "SK Clear", "SK Drop", "SK Add", "SK Output")


def _rain_depths(r) -> list[float]:
    """Sheet depths, evenly spread in log depth from near to far."""
    n = r.layers
    return [r.near * (r.far / r.near) ** (k / (n - 1)) if n > 1 else r.near for k in range(n)]


def _sheet_mesh_fn(k: int, density: float):
    """A unit plane whose UVs span ``density`` cells-units, shifted per sheet so sheets differ."""
    def make(name):
        me = bpy.data.meshes.new(name)
        me.from_pydata([(-0.5, -0.5, 0.0), (0.5, -0.5, 0.0), (0.5, 0.5, 0.0), (-0.5, 0.5, 0.0)], [], [(0, 1, 2, 3)])
        uv = me.uv_layers.new(name="UVMap")
        u0, v0 = 37.17 * k, 11.3 * k
        for loop in me.loops:
            x, y, _z = me.vertices[loop.vertex_index].co
            uv.data[loop.index].uv = (u0 + (x + 0.5) * density, v0 + (y + 0.5) * density)
        return me
    return make


def view_rect(scene, cam, depth: float) -> tuple[float, float, float, float]:
    """The camera's view at ``depth`` metres, in its own frame: (xmin, xmax, ymin, ymax)."""
    corners = cam.data.view_frame(scene=scene)
    s = depth / -corners[0].z if cam.data.type == "PERSP" else 1.0
    xs, ys = [c.x * s for c in corners], [c.y * s for c in corners]
    return min(xs), max(xs), min(ys), max(ys)


class Rain(Applier):
    """Streak sheets in front of the camera (method in ``core.randomizers.environment.Rain``)."""
    TYPE = "rain"

    def setup(self, scene, r, objs, where=()):
        mat = _material("SK Rain", _rain_nodes)
        mat.cycles.emission_sampling = "NONE"
        for k, depth in enumerate(_rain_depths(r)):
            name = f"SK Rain {k}"
            density = math.sqrt(depth / r.near)             # farther sheets: smaller, denser streaks
            old = bpy.data.objects.get(name)
            if old is not None and abs(old.get("sk_rain_density", 0.0) - density) > 1e-6:
                bpy.data.objects.remove(old)                # the recipe's depths changed: rebuild this sheet
                if name in bpy.data.meshes:
                    bpy.data.meshes.remove(bpy.data.meshes[name])
            obj = _object(scene, name, _sheet_mesh_fn(k, density), mat)
            obj["sk_rain_density"] = density
            obj["sk_rain_depth"] = depth
            obj.pass_index = 0
            _camera_only(obj)
        keep_camera_paths(scene, r.layers)

    def apply(self, scene, r, v):
        sheets = [o for k in range(RAIN_MAX_LAYERS) if (o := bpy.data.objects.get(f"SK Rain {k}")) is not None]
        for k, obj in enumerate(sheets):
            _show(obj, v["on"] and k < r.layers)
        if not v["on"]:
            return
        cam = scene.camera
        frame = cam.matrix_world.normalized()
        aspect = 1.0
        for obj in sheets[:r.layers]:
            depth = max(obj["sk_rain_depth"], cam.data.clip_start * 1.01)
            x0, x1, y0, y1 = view_rect(scene, cam, depth)
            pad = 0.02 * (x1 - x0)
            w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
            aspect = w / h
            obj.matrix_world = (frame @ Matrix.Translation(((x0 + x1) / 2, (y0 + y1) / 2, -depth))
                                @ Matrix.Diagonal((w, h, 1.0, 1.0)))
        nodes = bpy.data.materials["SK Rain"].node_tree.nodes
        place = nodes["SK Place"].inputs
        place["Scale"].default_value = (aspect, 1.0, 1.0)
        place["Location"].default_value = (v["offset"][0], v["offset"][1], 0.0)
        nodes["SK Tilt"].inputs["Rotation"].default_value = (0.0, 0.0, v["angle"])
        nodes["SK Cells"].inputs["Scale"].default_value = (1.0 / r.width, 1.0 / v["length"], 1.0)
        nodes["SK Lit"].inputs[1].default_value = v["intensity"]
        nodes["SK Brightness"].inputs[1].default_value = v["brightness"] * ambient_light(scene)


# -- wet ------------------------------------------------------------------------------------------

WATER_IOR = 1.33
DRY = "sk_dry_coat"    # a material's own coat (weight, roughness, IOR, tint RGBA), put back on dry frames


def _coat(node):
    i = node.inputs
    return [i["Coat Weight"].default_value, i["Coat Roughness"].default_value, i["Coat IOR"].default_value,
            *i["Coat Tint"].default_value]


def _set_coat(node, c):
    i = node.inputs
    i["Coat Weight"].default_value, i["Coat Roughness"].default_value, i["Coat IOR"].default_value = c[:3]
    i["Coat Tint"].default_value = c[3:7]


class Wet(Applier):
    """A water film as the Principled coat, on the materials the objects have now (read at apply time,
    so per-object copies made by earlier randomizers are honoured)."""
    TYPE = "wet"

    def context(self, scene, r, objs):
        return R.Context(targets=[o.name for o in objs if not o.get(MARK) and getattr(o, "material_slots", None)])

    def release(self, scene, r, objs):
        self.apply(scene, r, {name: {"wetness": 0.0} for name in self.context(scene, r, objs).targets})

    def apply(self, scene, r, values):
        done = set()
        for name, v in values.items():
            for slot in bpy.data.objects[name].material_slots:
                mat = slot.material
                node = principled(mat)
                if node is None or mat.name in done:
                    continue
                done.add(mat.name)
                if DRY not in mat:
                    mat[DRY] = _coat(node)
                w = v["wetness"]
                if w > 0.0:
                    t = 1.0 - r.darken * w
                    _set_coat(node, [w, v["coat_roughness"], WATER_IOR, t, t, t, 1.0])
                else:
                    _set_coat(node, list(mat[DRY]))


# -- night ----------------------------------------------------------------------------------------

NIGHT = "sk_night"     # ID property prefix: [day value, value night wrote]


def _night_write(idb, key, get, put, value_of_day) -> None:
    """Write the night value; remember the day value. A value still equal to what night wrote last
    is night's own, so the day value stays the saved one (nothing compounds over night frames)."""
    key = f"{NIGHT} {key}"
    cur = get()
    rec = idb.get(key)
    day = rec[0] if rec is not None and cur == rec[1] else cur
    put(value_of_day(day))
    idb[key] = [day, get()]


def _day_restore(idb, key, get, put) -> None:
    """Put back the day value, unless another randomizer has set the value since night wrote it."""
    key = f"{NIGHT} {key}"
    rec = idb.get(key)
    if rec is None:
        return
    if get() == rec[1]:
        put(rec[0])
    del idb[key]


class Night(Applier):
    TYPE = "night"

    def release(self, scene, r, objs):
        self.apply(scene, r, {"on": False})

    def apply(self, scene, r, v):
        on = v["on"]
        for sock in world.strength_inputs(scene.world):
            get = lambda s=sock: s.default_value
            put = lambda x, s=sock: setattr(s, "default_value", x)
            if on:
                _night_write(scene.world, sock.node.name, get, put, lambda day: day * v["ambient"])
            else:
                _day_restore(scene.world, sock.node.name, get, put)
        lights = [o for o in scene.objects if o.type == "LIGHT"]
        lamps = [o for o in lights if any(fnmatch.fnmatchcase(o.name, p) for p in r.lamps)]
        for obj in lamps:
            _show(obj, on)
        suns = {o.data.name: o.data for o in lights if o.data.type == "SUN" and o not in lamps}
        for light in suns.values():
            get = lambda l=light: l.energy
            put = lambda x, l=light: setattr(l, "energy", x)
            if on:
                _night_write(light, "energy", get, put, lambda day: v["sun_energy"])
            else:
                _day_restore(light, "energy", get, put)
