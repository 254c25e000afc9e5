"""The add-on shows its bundled asset library (and the user's folder from its preferences) in Blender's
Asset Browser, adds it once however often it registers, and takes away only what it added."""

import pytest

pytestmark = pytest.mark.bpy


def names():
    import bpy
    return {lib.name: lib.path for lib in bpy.context.preferences.filepaths.asset_libraries}


def test_bundled_library_is_registered_once_and_removed_with_the_add_on(addon_registered, tmp_path):
    from synthkiln.addon.bridge import asset_libraries
    from synthkiln.addon.core.recipe.preset import PACKAGE_ROOT
    assert names()[asset_libraries.BUNDLED] == str(PACKAGE_ROOT / "asset_library")
    asset_libraries.register()
    assert list(names()).count(asset_libraries.BUNDLED) == 1
    asset_libraries.register(str(tmp_path))                      # the user's folder, from the preferences
    assert names()[asset_libraries.USER] == str(tmp_path)
    asset_libraries.register("")                                  # cleared in the preferences: gone again
    assert asset_libraries.USER not in names()
    before = set(names())
    asset_libraries.unregister()
    assert set(names()) == before - {asset_libraries.BUNDLED}     # Blender's own "User Library" stays
    asset_libraries.register()
    assert asset_libraries.BUNDLED in names()


def test_load_factory_settings_brings_the_bundled_library_back(addon_registered):
    import bpy
    from synthkiln.addon.bridge import asset_libraries
    asset_libraries.register()
    bpy.ops.wm.read_factory_settings(use_empty=True)          # resets the preferences' asset libraries
    assert list(names()).count(asset_libraries.BUNDLED) == 1
