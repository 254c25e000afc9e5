"""Muting or removing a randomizer takes back what it left in the scene: its helper objects hide, the
world stops showing a photo, coats dry, night ends. Nothing is deleted (the artist may unmute)."""

import pytest

from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset

pytestmark = pytest.mark.bpy


def lit_state(scene):
    """What shows and how it is lit: visible objects (helpers aside), light energies, world strengths."""
    shown = sorted(o.name for o in scene.objects if not o.hide_render and not o.get("sk_helper_of"))
    energy = sorted((o.name, round(o.data.energy, 4)) for o in scene.objects if o.type == "LIGHT" and not o.hide_render)
    strength = sorted(round(n.inputs["Strength"].default_value, 4) for n in scene.world.node_tree.nodes
                      if n.type == "BACKGROUND")
    return shown, energy, strength


def test_muted_and_removed_randomizers_leave_nothing_behind(empty_scene):
    import bpy
    from synthkiln.addon.bridge import world
    from synthkiln.addon.bridge.pipeline import FrameJob

    street = load_preset(BUILTIN_PRESETS / "street.yaml")
    for r in street.randomizers.environment:
        r.probability = 1.0                      # every effect on
    job = FrameJob(empty_scene, street, BUILTIN_PRESETS).prepare()
    job.apply_frame(0)
    helpers = {o.name: o["sk_helper_of"] for o in empty_scene.objects if o.get("sk_helper_of")}
    assert {"environment/fog", "environment/rain"} <= set(helpers.values())
    assert any(not bpy.data.objects[n].hide_render for n, owner in helpers.items() if owner == "environment/fog")
    lamps = [o for o in empty_scene.objects if o.type == "LIGHT" and o.name.startswith("Lamp")]
    assert lamps and all(not o.hide_render for o in lamps)         # night switched the street lamps on

    for r in street.randomizers.environment:
        r.enabled = False                        # the artist mutes the whole environment stack
    FrameJob(empty_scene, street, BUILTIN_PRESETS).prepare().apply_frame(0)
    assert all(bpy.data.objects[n].hide_render for n, owner in helpers.items() if owner.startswith("environment/"))
    floor = bpy.data.objects["Floor"]
    coat = next(n for n in floor.material_slots[0].material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    assert coat.inputs["Coat Weight"].default_value == 0.0         # wet released: dry
    muted = lit_state(empty_scene)

    street.randomizers.environment.clear()       # muted must look exactly like absent
    bpy.ops.wm.read_factory_settings(use_empty=True)
    FrameJob(bpy.context.scene, street, BUILTIN_PRESETS).prepare().apply_frame(0)
    assert lit_state(bpy.context.scene) == muted

    photo = load_preset(BUILTIN_PRESETS / "photo_backdrop.yaml")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    FrameJob(scene, photo, BUILTIN_PRESETS).prepare().apply_frame(0)
    ground = bpy.data.objects[photo.randomizers.environment[0].shadow_catcher]
    assert ground.is_shadow_catcher
    photo.randomizers.environment[0].enabled = False
    FrameJob(scene, photo, BUILTIN_PRESETS).prepare().apply_frame(0)
    assert not ground.is_shadow_catcher
    assert world.has_graph(scene)


def test_removed_randomizers_helpers_hide(empty_scene):
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob

    street = load_preset(BUILTIN_PRESETS / "street.yaml")
    fog = next(r for r in street.randomizers.environment if r.TYPE == "fog")
    fog.probability = 1.0
    FrameJob(empty_scene, street, BUILTIN_PRESETS).prepare().apply_frame(0)
    box = [o for o in empty_scene.objects if o.get("sk_helper_of") == fog.key()]
    assert box and not box[0].hide_render
    street.randomizers.environment.remove(fog)
    FrameJob(empty_scene, street, BUILTIN_PRESETS).prepare().apply_frame(0)
    assert box[0].hide_render and box[0].name in bpy.data.objects      # hidden, never deleted
