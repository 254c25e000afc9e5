"""The one world node graph every world randomizer shares (HDRI, sky, background photo).

Built once, found by node names afterwards; randomizers only change values, images and which source
feeds the lighting background, so frames create no datablocks::

    Environment (HDRI) <- Mapping (rotation) <- Generated ─┐
    Sky (physical) ────────────────────────────────────────┴─> Background (strength) ──┐
    Photo <- Photo Mapping (cover-fit crop) <- Window ──> Photo Background ────────────┤
    Light Path "Is Camera Ray" x Photo Gate (0/1) ──────────────────────> Camera Mix ──┴─> Output

Camera rays see the photo (when the gate is open); every other ray -- diffuse, glossy, shadow -- sees
the lighting background. With an opaque film a shadow catcher ground shows the camera-ray background
with the objects' shadows on it, so photo backgrounds need no compositor and no second render.
"""

from __future__ import annotations

import math

import bpy

from ..core.randomizers.backdrop import cover_fit
from . import compat

COORDS, MAPPING, ENV, SKY, BACKGROUND = "SK Coordinates", "SK Mapping", "SK Environment", "SK Sky", "SK Background"
PHOTO_MAPPING, PHOTO, PHOTO_BG = "SK Photo Mapping", "SK Photo", "SK Photo Background"
LIGHT_PATH, GATE, CAMERA_MIX, OUTPUT = "SK Light Path", "SK Photo Gate", "SK Camera Mix", "SK Output"
NODES = (COORDS, MAPPING, ENV, SKY, BACKGROUND, PHOTO_MAPPING, PHOTO, PHOTO_BG, LIGHT_PATH, GATE, CAMERA_MIX,
         OUTPUT)
# A fixed, modest importance map: the automatic one is rebuilt at 1024² on every HDRI change (about
# 2 s a frame on 2 cores); 256² samples these soft HDRIs and skies just as well.
IMPORTANCE_MAP = 256


def ensure(scene):
    """The scene world's SK node graph (built if any node is missing); returns its nodes."""
    if scene.world is None:
        scene.world = bpy.data.worlds.get("World") or bpy.data.worlds.new("World")
    world = scene.world
    compat.enable_nodes(world)
    nodes = world.node_tree.nodes
    if not all(n in nodes for n in NODES):
        _build(world)
    wc = world.cycles
    if (wc.sampling_method, wc.sample_map_resolution) != ("MANUAL", IMPORTANCE_MAP):   # a write re-tags the world
        wc.sampling_method, wc.sample_map_resolution = "MANUAL", IMPORTANCE_MAP
    return nodes


def has_graph(scene) -> bool:
    w = scene.world
    return bool(w and w.node_tree and all(n in w.node_tree.nodes for n in NODES))


def _build(world) -> None:
    colour = tuple(world.color)            # what the world showed before: the background until a source is set
    nt = world.node_tree
    nodes, links = nt.nodes, nt.links
    nodes.clear()
    kinds = ("ShaderNodeTexCoord", "ShaderNodeMapping", "ShaderNodeTexEnvironment", "ShaderNodeTexSky",
             "ShaderNodeBackground", "ShaderNodeMapping", "ShaderNodeTexImage", "ShaderNodeBackground",
             "ShaderNodeLightPath", "ShaderNodeMath", "ShaderNodeMixShader", "ShaderNodeOutputWorld")
    n = {}
    for i, (name, kind) in enumerate(zip(NODES, kinds)):
        node = nodes.new(kind)
        node.name = node.label = name
        node.location = (300 * (i % 4) - 600, -300 * (i // 4))
        n[name] = node
    n[SKY].sky_type = compat.physical_sky_type()
    n[BACKGROUND].inputs["Color"].default_value = (*colour[:3], 1.0)
    n[PHOTO].extension = "EXTEND"
    n[GATE].operation = "MULTIPLY"
    n[GATE].inputs[1].default_value = 0.0
    links.new(n[COORDS].outputs["Generated"], n[MAPPING].inputs["Vector"])
    links.new(n[MAPPING].outputs["Vector"], n[ENV].inputs["Vector"])
    links.new(n[COORDS].outputs["Window"], n[PHOTO_MAPPING].inputs["Vector"])
    links.new(n[PHOTO_MAPPING].outputs["Vector"], n[PHOTO].inputs["Vector"])
    links.new(n[PHOTO].outputs["Color"], n[PHOTO_BG].inputs["Color"])
    links.new(n[LIGHT_PATH].outputs["Is Camera Ray"], n[GATE].inputs[0])
    links.new(n[GATE].outputs[0], n[CAMERA_MIX].inputs[0])            # "Fac" in 4.x, "Factor" in 5.0
    links.new(n[BACKGROUND].outputs["Background"], n[CAMERA_MIX].inputs[1])
    links.new(n[PHOTO_BG].outputs["Background"], n[CAMERA_MIX].inputs[2])
    links.new(n[CAMERA_MIX].outputs[0], n[OUTPUT].inputs["Surface"])


def strength_inputs(world, *, lighting_only: bool = False) -> list:
    """The (unlinked) Strength inputs of the Background nodes that reach the world's output, in any graph,
    the artist's own too. Night scales them all, so a photo backdrop darkens with the scene it stands
    behind. ``lighting_only`` leaves out the SK graph's photo, which only camera rays see (and which is
    gated off when no photo shows): what lights the scene, which fog and rain glow by."""
    if world is None or world.node_tree is None:
        return []
    outs = [n for n in world.node_tree.nodes if n.type == "OUTPUT_WORLD"]
    out = next((n for n in outs if n.is_active_output), outs[0] if outs else None)
    found, stack, seen = [], [out] if out else [], set()
    while stack:
        n = stack.pop()
        if n.name in seen:
            continue
        seen.add(n.name)
        if n.type == "BACKGROUND":
            if not n.inputs["Strength"].is_linked and not (lighting_only and n.name == PHOTO_BG):
                found.append(n.inputs["Strength"])
            continue
        stack.extend(link.from_node for inp in n.inputs for link in inp.links)
    return sorted(found, key=lambda s: s.node.name)


def use_source(scene, source: str | None):
    """Feed the lighting background from ``"hdri"``, ``"sky"`` or nothing (its plain colour); returns nodes."""
    nodes = ensure(scene)
    inp = nodes[BACKGROUND].inputs["Color"]
    want = {"hdri": nodes[ENV].outputs["Color"], "sky": nodes[SKY].outputs["Color"]}.get(source)
    current = inp.links[0].from_socket if inp.is_linked else None
    if want is None and current is not None:
        scene.world.node_tree.links.remove(inp.links[0])
    elif want is not None and current != want:
        scene.world.node_tree.links.new(want, inp)
    return nodes


def render_size(scene) -> tuple[float, float]:
    r = scene.render
    return r.resolution_x * r.pixel_aspect_x, r.resolution_y * r.pixel_aspect_y


def show_photo(scene, image, zoom: float = 1.0, offset=(0.5, 0.5)) -> None:
    """Camera rays see ``image`` cover-fitted to the frame; ``None`` shows the lighting background."""
    nodes = ensure(scene)
    nodes[GATE].inputs[1].default_value = 0.0 if image is None else 1.0
    if image is None:
        return
    if nodes[PHOTO].image != image:
        nodes[PHOTO].image = image
    scale, location = cover_fit(tuple(image.size), render_size(scene), zoom, offset)
    m = nodes[PHOTO_MAPPING].inputs
    m["Scale"].default_value = scale
    m["Location"].default_value = location


def sky_rotation(azimuth: float) -> float:
    """The sky node's ``sun_rotation`` for a sun at ``azimuth`` (from +x towards +y): Blender's sky puts
    rotation 0 towards +y and turns clockwise seen from above (checked by rendering towards the sun)."""
    return (math.pi / 2 - azimuth) % (2 * math.pi)
