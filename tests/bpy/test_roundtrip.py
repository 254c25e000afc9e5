"""YAML → scene properties → YAML is lossless for every field of the schema (DESIGN §1)."""


import pytest

from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, dump_preset, load_preset
from synthkiln.addon.core.recipe.model import Recipe
from synthkiln.addon.core.params.schema import to_data

from tests.helpers.full_recipe import everything

pytestmark = pytest.mark.bpy


FIXED = {("version",), ("render", "engine")}    # fields with a single allowed value today


def test_every_field_differs_from_its_default():
    r, d = to_data(everything()), to_data(Recipe())

    def walk(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in b:
                if k in a:
                    walk(a[k], b[k], path + (k,))
        elif path not in FIXED and not (isinstance(b, list) and not b):
            assert a != b, f"{path} still holds its default"
    walk(r, d, ())


def test_yaml_scene_yaml_is_lossless(empty_scene, tmp_path):
    from synthkiln.addon.bridge import recipe as stored
    recipe = everything()
    path = tmp_path / "everything.yaml"
    path.write_text(dump_preset(recipe))
    loaded = load_preset(path)
    assert loaded == recipe
    stored.write_recipe(empty_scene, loaded)
    back = stored.read_recipe(empty_scene)
    assert back == recipe
    assert dump_preset(back) == dump_preset(recipe)


@pytest.mark.parametrize("preset", sorted(BUILTIN_PRESETS.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_presets_survive_the_scene(empty_scene, preset):
    from synthkiln.addon.bridge import recipe as stored
    recipe = load_preset(preset)
    stored.write_recipe(empty_scene, recipe)
    assert stored.read_recipe(empty_scene) == recipe


def test_recipe_is_saved_in_the_blend(empty_scene, tmp_path):
    import bpy
    from synthkiln.addon.bridge import recipe as stored
    recipe = everything()
    stored.write_recipe(empty_scene, recipe)
    blend = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False, use_scripts=False)
    assert stored.read_recipe(bpy.context.scene) == recipe


def test_export_then_import_operators(empty_scene, tmp_path):
    import bpy
    from synthkiln.addon.bridge import recipe as stored
    src = BUILTIN_PRESETS / "tabletop.yaml"
    assert bpy.ops.synthkiln.import_preset(filepath=str(src)) == {"FINISHED"}
    out = tmp_path / "exported.yaml"
    assert bpy.ops.synthkiln.export_preset(filepath=str(out)) == {"FINISHED"}
    assert load_preset(out) == stored.read_recipe(empty_scene) == load_preset(src)


def test_scene_values_are_checked_like_a_preset(empty_scene):
    from synthkiln.addon.core.errors import PresetError
    from synthkiln.addon.bridge import recipe as stored
    stored.write_recipe(empty_scene, load_preset(BUILTIN_PRESETS / "tabletop.yaml"))
    dist = empty_scene.synthkiln.recipe.randomizers.objects[0].object_pose.scale
    dist.min, dist.max = 2.0, 1.0
    with pytest.raises(PresetError, match=r"randomizers\.objects\[0\]\.scale\.uniform: min 2\.0 is greater"):
        stored.read_recipe(empty_scene)
