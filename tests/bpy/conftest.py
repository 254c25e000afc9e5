"""Blender-tier fixtures: the add-on registered once in the bpy module, a fresh empty scene per test."""

import pytest

bpy = pytest.importorskip("bpy")


@pytest.fixture(scope="session")
def addon_registered():
    import addon
    addon.register()
    yield
    addon.unregister()


@pytest.fixture
def empty_scene(addon_registered):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene
