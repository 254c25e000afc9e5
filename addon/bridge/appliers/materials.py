"""Materials group, Blender half.

Every material randomizer works on the object's *own* material: ``own_material`` gives each object a
copy of its material once, in setup (object-linked slot 0), so per-object values never leak to other
objects that share the source. Texture randomizers build their nodes once per material in setup; per
frame only socket values change and which texture output is linked (a link is not a datablock).

Colour, roughness, metallic and specular are *driven*: in setup an Attribute node reading an object
property (``sk_drive_<socket>``) is linked into the socket, and each frame only sets that property. A
changed node value makes Cycles recompile the material's shader every frame; an object property only
re-syncs the object, which moves anyway. The render is that of the socket's value: bit-identical on
the anchor and tabletop scenes and in tests/bpy/test_materials.py; on warehouse a few pixels a frame differ
by one level, where Cycles had folded a constant into the shader. Randomizers that drive the same socket
share its property: the one applied last wins, as with values. Distractors drive theirs too.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import bpy

from ...core.errors import UserError
from ...core.randomizers.materials import IMAGE_SUFFIXES
from ...core.params.schema import path_str
from .. import compat
from ..scene import append_from_library
from ..files import folder_files, load_image, user_path
from .base import Applier, principled

DEFAULT_MATERIAL = "SK Material"     # the source given to objects that have no material at all
MIX_TAG = "sk_color_mix"             # marks the Mix nodes that sit in front of the base colour


# -- the object's own material ------------------------------------------------------------------------

def own_name(source_name: str, obj) -> str:
    return f"{source_name}.sk.{obj.name}"


def _default_material():
    mat = bpy.data.materials.get(DEFAULT_MATERIAL)
    if mat is None:
        mat = bpy.data.materials.new(DEFAULT_MATERIAL)
        compat.enable_nodes(mat)
    return mat


def own_material(obj, source=None):
    """The object's own copy of ``source`` (default: its slot-0 material, or a plain Principled one if it
    has none), made once and found by name afterwards; setup only. Returns None for objects that
    cannot carry a material (empties, lights)."""
    if obj.data is None or not hasattr(obj.data, "materials"):
        return None
    if source is None:
        current = obj.material_slots[0].material if obj.material_slots else None
        source = current or _default_material()
    src_name = source.get("sk_source", source.name)
    mat = bpy.data.materials.get(own_name(src_name, obj))
    if mat is None:
        mat = (bpy.data.materials.get(src_name) or source).copy()
        mat.name = own_name(src_name, obj)
        mat["sk_source"], mat["sk_owner"] = src_name, obj.name
        compat.enable_nodes(mat)
        node = principled(mat)
        if node is not None:
            mat["sk_base_color"] = list(color_socket(mat).default_value)[:3]
    return mat


def take_own(obj):
    """Put the object's own material in its slot 0 (object-linked) and return it (setup only)."""
    mat = own_material(obj)
    if mat is None:
        return None
    if not obj.material_slots:
        obj.data.materials.append(None)
    slot = obj.material_slots[0]
    if slot.link != "OBJECT":
        slot.link = "OBJECT"
    if slot.material != mat:
        slot.material = mat
    return mat


def owned(obj) -> list:
    """Every material this object owns (its current one first): texture nodes go into all of them, so
    a material swapped in later carries them too."""
    first = take_own(obj)
    if first is None:
        return []
    return [first] + [m for m in bpy.data.materials if m.get("sk_owner") == obj.name and m != first]


def current_material(name: str):
    obj = bpy.data.objects[name]
    return obj.material_slots[0].material if obj.material_slots else None


# -- node helpers -------------------------------------------------------------------------------------

def socket(sockets, identifier: str):
    """A socket by its identifier (stable across versions; names changed, e.g. Fac -> Factor in 5.0)."""
    return next(s for s in sockets if s.identifier == identifier)


def color_socket(mat):
    """Where a material's randomizable base colour lives: the Principled base colour, or the first
    colour of the texture Mix nodes put in front of it (so colour and textures combine)."""
    node = principled(mat)
    if node is None:
        return None
    sock = node.inputs["Base Color"]
    while sock.is_linked and sock.links[0].from_node.get(MIX_TAG):
        sock = socket(sock.links[0].from_node.inputs, "A_Color")
    return sock


def _node(nodes, name: str, kind: str, location=None):
    n = nodes.get(name)
    if n is None:
        n = nodes.new(kind)
        n.name = n.label = name
    if location is not None:
        n.location = location
    return n


def _splice(mat, name: str, kind: str, target: str, through: str, out: str, dy: float, init):
    """A node named ``name`` put in front of the Principled input ``target`` (made once): what fed
    ``target`` (a link, or its value) now feeds the node's input ``through``, and the node's ``out``
    feeds ``target``. ``init(node)`` sets it up before it is linked. Sockets by identifier."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    node = nodes.get(name)
    if node is not None:
        return node
    bsdf = principled(mat)
    dst = bsdf.inputs[target]
    node = _node(nodes, name, kind, (bsdf.location.x - 250, bsdf.location.y + dy))
    init(node)
    src = socket(node.inputs, through)
    if dst.is_linked:
        links.new(dst.links[0].from_socket, src)
    else:
        src.default_value = dst.default_value[:]
    links.new(socket(node.outputs, out), dst)
    return node


def _color_mix_init(mix) -> None:
    mix.data_type, mix.blend_type = "RGBA", "MIX"
    mix[MIX_TAG] = True
    socket(mix.inputs, "Factor_Float").default_value = 0.0


def insert_color_mix(mat, name: str):
    """A colour Mix node named ``name`` in front of the Principled base colour (made once): its first
    colour takes what fed the base colour, so ``color_socket`` still reaches the base colour."""
    return _splice(mat, name, "ShaderNodeMix", "Base Color", "A_Color", "Result_Color", 0, _color_mix_init)


def insert_bump(mat, name: str):
    """A Bump node named ``name`` feeding the Principled normal (made once; keeps an existing normal input)."""
    return _splice(mat, name, "ShaderNodeBump", "Normal", "Normal", "Normal", -400,
                   lambda bump: setattr(bump.inputs["Strength"], "default_value", 0.0))


DRIVE_PREFIX = "sk_drive_"          # + socket key: the object property an Attribute node feeds into a socket


def drive(obj, mat, sock, key: str) -> None:
    """Feed ``sock`` of ``mat`` from an Attribute node (``SK <key>``, made once per material) reading the
    object property ``sk_drive_<key>``, first set to the socket's value so nothing changes before a draw.
    A socket already fed by something else (a texture) is left alone: draws for it do not show, as
    with a value."""
    prop = DRIVE_PREFIX + key
    colour = sock.type == "RGBA"
    if prop not in obj:
        obj[prop] = list(sock.default_value)[:3] if colour else float(sock.default_value)
    nodes = mat.node_tree.nodes
    node = nodes.get(driver_node(key))
    if node is None:
        bsdf = principled(mat)
        y = {"base_color": 0, "roughness": -150, "metallic": -300}.get(key, -450)
        node = _node(nodes, driver_node(key), "ShaderNodeAttribute", (bsdf.location.x - 700, bsdf.location.y + y))
        node.attribute_type, node.attribute_name = "OBJECT", prop
    if not sock.is_linked:
        mat.node_tree.links.new(node.outputs["Color" if colour else "Fac"], sock)


def driver_node(key: str) -> str:
    """The name of the Attribute node that drives socket ``key`` in a material."""
    return f"SK {key}"


def drive_colour(obj, mat) -> None:
    """Drive the base colour and roughness of ``mat`` (a Principled one; others are left alone) from ``obj``:
    what ``material_color`` and distractors randomize."""
    node = principled(mat)
    if node is not None:
        drive(obj, mat, color_socket(mat), "base_color")
        drive(obj, mat, node.inputs["Roughness"], "roughness")


def set_driven(obj, values: dict) -> None:
    """This frame's values of driven sockets (by key); the object is tagged so the render re-syncs it even
    where nothing else about it changed."""
    for key, value in values.items():
        obj[DRIVE_PREFIX + key] = value
    obj.update_tag(refresh={"OBJECT"})


def show_in_viewport(scene) -> None:
    """Solid shading's colours (each material's viewport display) from the driven properties, for a preview;
    not per dataset frame: a changed material makes the next render recompile its shader."""
    for obj in scene.objects:
        rgb, rough = obj.get(DRIVE_PREFIX + "base_color"), obj.get(DRIVE_PREFIX + "roughness")
        mat = current_material(obj.name) if rgb is not None else None
        if mat is not None:
            mat.diffuse_color = (*rgb, 1.0)
            if rough is not None:
                mat.roughness = rough


def _prefix(r) -> str:
    return f"SK {r.name or r.TYPE}"


def _skip_note(skipped: list[str]) -> dict | None:
    return {"skipped": sorted(skipped)} if skipped else None


# -- appliers -----------------------------------------------------------------------------------------

class MaterialApplier(Applier):
    """Gives every selected object its own material in setup (shared by all material types)."""

    def setup(self, scene, r, objs, where=()):
        for obj in objs:
            take_own(obj)

    def _nodes(self, scene, r, name: str, node: str):
        """The object's current material and its nodes; a material without this randomizer's ``node`` (an asset
        pool's slot showing another asset's material) gets its nodes now."""
        mat = current_material(name)
        nodes = mat.node_tree.nodes if mat is not None and mat.node_tree else {}
        if mat is not None and node not in nodes:
            self.setup(scene, r, [bpy.data.objects[name]])
        return mat, nodes


class MaterialColor(MaterialApplier):
    TYPE = "material_color"

    def setup(self, scene, r, objs, where=()):
        for obj in objs:
            for mat in owned(obj):
                drive_colour(obj, mat)

    def apply(self, scene, r, values):
        for name, v in values.items():
            mat, _ = self._nodes(scene, r, name, driver_node("base_color"))
            if principled(mat) is None:
                continue
            if v["mode"] == "shift":
                h, s, val = colorsys.rgb_to_hsv(*mat.get("sk_base_color", (0.8, 0.8, 0.8)))
                dh, fs, fv = v["hsv"]
                rgb = colorsys.hsv_to_rgb((h + dh) % 1.0, min(s * fs, 1.0), val * fv)
            else:
                rgb = v["color"]
            set_driven(bpy.data.objects[name], {"base_color": rgb, "roughness": v["roughness"]})


class MaterialPBR(MaterialApplier):
    TYPE = "material_pbr"
    SOCKETS = {"roughness": "Roughness", "metallic": "Metallic", "specular": "Specular IOR Level"}  # 4.2-5.0

    def setup(self, scene, r, objs, where=()):
        for obj in objs:
            for mat in owned(obj):
                node = principled(mat)
                if node is not None:
                    for key, socket_name in self.SOCKETS.items():
                        drive(obj, mat, node.inputs[socket_name], key)

    def apply(self, scene, r, values):
        for name, v in values.items():
            mat, _ = self._nodes(scene, r, name, driver_node("metallic"))
            if principled(mat) is not None:
                set_driven(bpy.data.objects[name], {k: v[k] for k in self.SOCKETS})


# Which output of each texture node carries its grey pattern (by identifier).
PATTERN_OUTPUT = {"noise": "Fac", "voronoi": "Distance", "wave": "Fac", "checker": "Fac", "brick": "Fac"}
TEXTURE_NODES = {"noise": "ShaderNodeTexNoise", "voronoi": "ShaderNodeTexVoronoi", "wave": "ShaderNodeTexWave",
                 "checker": "ShaderNodeTexChecker", "brick": "ShaderNodeTexBrick"}


class ProceduralTexture(MaterialApplier):
    TYPE = "procedural_texture"

    def setup(self, scene, r, objs, where=()):
        """Per material, once: object coordinates -> mapping -> each listed pattern; pattern x amount is
        the factor of a colour Mix in front of the base colour, and the height of a Bump node."""
        p = _prefix(r)
        for obj in objs:
            for mat in owned(obj):
                if principled(mat) is None:
                    continue
                nodes, links = mat.node_tree.nodes, mat.node_tree.links
                mix = insert_color_mix(mat, f"{p} mix")
                insert_bump(mat, f"{p} bump")           # apply feeds it the pattern (found by name)
                x, y = mix.location
                coords = _node(nodes, f"{p} coordinates", "ShaderNodeTexCoord", (x - 900, y))
                mapping = _node(nodes, f"{p} mapping", "ShaderNodeMapping", (x - 700, y))
                amount = _node(nodes, f"{p} amount", "ShaderNodeMath", (x - 200, y + 200))
                amount.operation = "MULTIPLY"
                if not mapping.inputs["Vector"].is_linked:
                    links.new(coords.outputs["Object"], mapping.inputs["Vector"])
                if not socket(mix.inputs, "Factor_Float").is_linked:
                    links.new(amount.outputs[0], socket(mix.inputs, "Factor_Float"))
                for k, kind in enumerate(dict.fromkeys(str(c) for c in r.kind.choices)):   # only the kinds drawn
                    tex = _node(nodes, f"{p} {kind}", TEXTURE_NODES[kind], (x - 450, y - 250 * k))
                    if not tex.inputs["Vector"].is_linked:
                        links.new(mapping.outputs["Vector"], tex.inputs["Vector"])

    def apply(self, scene, r, values):
        p, skipped = _prefix(r), []
        for name, v in values.items():
            mat, nodes = self._nodes(scene, r, name, f"{p} {v['kind']}")
            tex = nodes.get(f"{p} {v['kind']}")
            if tex is None:
                skipped.append(name)     # a material that got no nodes in setup (e.g. swapped in by a later setup)
                continue
            links = mat.node_tree.links
            out = socket(tex.outputs, PATTERN_OUTPUT[v["kind"]])
            amount, mix, bump = nodes[f"{p} amount"], nodes[f"{p} mix"], nodes[f"{p} bump"]
            links.new(out, amount.inputs[0])
            links.new(out, bump.inputs["Height"])
            amount.inputs[1].default_value = v["mix"]
            socket(mix.inputs, "B_Color").default_value = (*v["color"], 1.0)
            bump.inputs["Strength"].default_value = v["bump"]
            tex.inputs["Scale"].default_value = v["scale"]
            nodes[f"{p} mapping"].inputs["Location"].default_value = v["offset"]
        return _skip_note(skipped)


def image_files(r, where=()) -> tuple[Path, list[str]]:
    """The image folder and the file names the randomizer picks from: the first ``max_images`` by name."""
    folder, files = folder_files(r.folder, IMAGE_SUFFIXES, tuple(where) + ("folder",), "images")
    return folder, files[:r.max_images]


class ImageTexture(MaterialApplier):
    TYPE = "image_texture"

    def setup(self, scene, r, objs, where=()):
        """Load every image once; per material: coordinates (UV, or object space with box projection
        where the mesh has no UVs) -> mapping -> image -> colour Mix in front of the base colour."""
        folder, files = image_files(r, where)
        images = [load_image(folder / n) for n in files]
        p = _prefix(r)
        for obj in objs:
            has_uv = bool(getattr(obj.data, "uv_layers", None))
            for mat in owned(obj):
                if principled(mat) is None:
                    continue
                nodes, links = mat.node_tree.nodes, mat.node_tree.links
                mix = insert_color_mix(mat, f"{p} mix")
                x, y = mix.location
                coords = _node(nodes, f"{p} coordinates", "ShaderNodeTexCoord", (x - 750, y - 300))
                mapping = _node(nodes, f"{p} mapping", "ShaderNodeMapping", (x - 550, y - 300))
                tex = _node(nodes, f"{p} image", "ShaderNodeTexImage", (x - 300, y - 300))
                links.new(coords.outputs["UV" if has_uv else "Object"], mapping.inputs["Vector"])
                links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
                links.new(tex.outputs["Color"], socket(mix.inputs, "B_Color"))
                tex.projection = "FLAT" if has_uv else "BOX"
                tex.projection_blend = 0.0 if has_uv else 0.25
                if tex.image is None:
                    tex.image = images[0]

    def context(self, scene, r, objs):
        ctx = super().context(scene, r, objs)
        ctx.data["images"] = image_files(r)[1]
        return ctx

    def apply(self, scene, r, values):
        p, skipped = _prefix(r), []
        folder = user_path(r.folder)
        for name, v in values.items():
            obj = bpy.data.objects[name]
            mat, nodes = self._nodes(scene, r, name, f"{p} image")
            tex = nodes.get(f"{p} image")
            if tex is None:
                skipped.append(name)
                continue
            tex.image = load_image(folder / v["image"])
            socket(nodes[f"{p} mix"].inputs, "Factor_Float").default_value = v["mix"]
            scale = v["scale"]
            if tex.projection == "BOX":    # object space is in metres: repeats across the object's size
                size = max(max(c[i] for c in obj.bound_box) - min(c[i] for c in obj.bound_box) for i in range(3))
                scale /= max(size, 1e-6)
            mapping = nodes[f"{p} mapping"]
            mapping.inputs["Scale"].default_value = (scale, scale, scale)
            mapping.inputs["Rotation"].default_value = (0.0, 0.0, v["rotation"])
            mapping.inputs["Location"].default_value = (*v["offset"], 0.0)
        return _skip_note(skipped)


class MaterialSwap(Applier):
    TYPE = "material_swap"

    def setup(self, scene, r, objs, where=()):
        """Find or append every candidate once, and give each object its own copy of each."""
        names = [str(c) for c in r.materials.choices]
        missing = [n for n in names if n not in bpy.data.materials]
        if missing:
            self._append(r, missing, where)
        for obj in objs:
            for n in names:
                own_material(obj, bpy.data.materials[n])
            take_own(obj)

    @staticmethod
    def _append(r, missing: list[str], where) -> None:
        lib_field = path_str(tuple(where) + ("library",))
        if not r.library:
            k = [str(c) for c in r.materials.choices].index(missing[0])
            raise UserError(f"{path_str(tuple(where) + ('materials', 'choice', k))}: no material named "
                            f"{missing[0]!r} in the scene and no library to append it from")
        names = [str(c) for c in r.materials.choices]
        append_from_library(user_path(r.library), "materials", missing,
                            lambda n: path_str(tuple(where) + ("materials", "choice", names.index(n))),
                            f"{lib_field}: {r.library!r}", "material")

    def apply(self, scene, r, values):
        for name, v in values.items():
            obj = bpy.data.objects[name]
            mat = bpy.data.materials.get(own_name(v["material"], obj))
            if mat is not None and obj.material_slots:
                obj.material_slots[0].material = mat
