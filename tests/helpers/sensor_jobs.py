"""Tiny render jobs of the known scene with a sensor stack (the Blender tier's sensor tests)."""

import json

from tests.helpers.known_scene import build_known_scene

LENS = {"type": "lens_distortion", "k1": -0.3, "k2": 0.08, "p1": 0.002, "p2": -0.001}
EFFECTS = [{"type": t} for t in ("chromatic_aberration", "blur", "vignetting", "exposure", "sensor_noise",
                                 "white_balance", "tone", "resize", "jpeg")]     # every after-render effect


def render_job(tmp_path_factory, name, recipe_data, setup=None):
    """Render ``recipe_data`` on a fresh known scene (``setup(scene)`` first, if given) through the sidebar's
    Render Dataset; returns (scene, recipe, output folder)."""
    import bpy
    from synthkiln.addon.bridge import recipe as stored
    from synthkiln.addon.core.recipe.model import recipe_from_data
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    build_known_scene(scene)
    if setup is not None:
        setup(scene)
    recipe = recipe_from_data(recipe_data)
    out = tmp_path_factory.mktemp(name)
    recipe.output.directory = str(out)
    stored.write_recipe(scene, recipe)
    assert bpy.ops.synthkiln.render_dataset() == {"FINISHED"}
    return scene, recipe, out


def record(out, i=0):
    return json.loads((out / f"frames/{i:06d}.json").read_text())
