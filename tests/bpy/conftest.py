"""Blender-tier fixtures: the add-on registered once in the bpy module, a fresh empty scene per test."""

import pytest

bpy = pytest.importorskip("bpy")


@pytest.fixture(scope="session")
def addon_registered():
    from synthkiln import addon
    addon.register()
    yield
    addon.unregister()


@pytest.fixture
def empty_scene(addon_registered):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


# bpy 4.2 as a Python module crashes while the interpreter shuts down once a property with a Python update
# callback was registered and the full factory startup file loaded (SIGSEGV after every test has passed;
# seen with the sidebar's Preview Frame and category-rename callbacks, not in Blender 4.3/5.2 themselves
# (the GUI tier), nor in bpy 5.0). On 4.x, end the process with pytest's own status once it is done.
_status = {}


def pytest_sessionfinish(session, exitstatus):
    _status["exit"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if bpy.app.version < (5, 0, 0) and "exit" in _status:
        import os
        import sys
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status["exit"])
