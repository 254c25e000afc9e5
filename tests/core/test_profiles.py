

def test_light_tree_pays_with_many_lights_or_emissive_meshes():
    from synthkiln.addon.core.recipe.profiles import LIGHT_TREE_MIN_LIGHTS, light_tree_pays
    assert not light_tree_pays(0, 0) and not light_tree_pays(LIGHT_TREE_MIN_LIGHTS - 1, 0)
    assert light_tree_pays(LIGHT_TREE_MIN_LIGHTS, 0) and light_tree_pays(1, 1)
