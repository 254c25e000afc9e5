"""Render device selection in real Blender on a machine without a GPU (issue 20): GPU is one clear error,
auto is the CPU with a warning, CPU touches nothing. The GPU side runs in benchmarks/gpu_check.sh."""

from __future__ import annotations

import pytest

from synthkiln.addon.core.errors import UserError
from synthkiln.addon.core.recipe.model import RenderSettings

pytestmark = pytest.mark.bpy


def _has_gpu() -> bool:
    from synthkiln.addon.bridge import compat
    from synthkiln.addon.core import devices
    return any(compat.gpu_devices(devices.BACKENDS).values())


def test_cpu_machine_lists_no_gpu_and_every_backend_is_asked(empty_scene, capfd):
    from synthkiln.addon.bridge import compat
    from synthkiln.addon.core import devices
    found = compat.gpu_devices(devices.BACKENDS)
    assert set(found) <= set(devices.BACKENDS) and {"CUDA", "OPTIX"} <= set(found)    # the Linux wheel's backends
    if _has_gpu():
        pytest.skip("this machine has a GPU")
    assert not any(found.values())
    out, err = capfd.readouterr()
    assert "CUEW" not in out + err and "HIPEW" not in out + err     # Cycles' missing-library lines kept quiet
    assert compat.cpu_name()


def test_device_cpu_is_unchanged(empty_scene):
    from synthkiln.addon.bridge import compat, render
    prefs = compat.cycles_preferences()
    before = (prefs.compute_device_type, [(d.id, d.use) for d in prefs.devices if d.type != "CPU"])
    choice = render.select_device(empty_scene, RenderSettings(device="CPU", gpu_backend="OPTIX"))
    assert choice.device == "CPU" and choice.warning is None and choice.label().startswith("CPU: ")
    assert empty_scene.cycles.device == "CPU"
    assert (prefs.compute_device_type, [(d.id, d.use) for d in prefs.devices if d.type != "CPU"]) == before


def test_gpu_without_one_is_a_clear_error_and_auto_falls_back(empty_scene):
    from synthkiln.addon.bridge import render
    if _has_gpu():
        pytest.skip("this machine has a GPU")
    for backend in ("auto", "OPTIX", "CUDA", "HIP", "METAL", "ONEAPI"):
        with pytest.raises(UserError) as e:
            render.select_device(empty_scene, RenderSettings(device="GPU", gpu_backend=backend))
        assert "render.device GPU: no usable" in str(e.value) and "\n" not in str(e.value)
        choice = render.select_device(empty_scene, RenderSettings(device="auto", gpu_backend=backend))
        assert choice.device == "CPU" and "rendering on the CPU" in choice.warning
        assert empty_scene.cycles.device == "CPU"


def test_a_gpu_is_enabled_exactly(empty_scene):
    """On a GPU machine: auto enables exactly the chosen backend's cards, and the CPU device is off."""
    from synthkiln.addon.bridge import compat, render
    if not _has_gpu():
        pytest.skip("no GPU here: benchmarks/gpu_check.sh covers it")
    choice = render.select_device(empty_scene, RenderSettings(device="auto"))
    prefs = compat.cycles_preferences()
    assert choice.device == "GPU" and prefs.compute_device_type == choice.backend
    used = {d.id for d in prefs.devices if d.use}
    assert used == {d.id for d in choice.devices} and empty_scene.cycles.device == "GPU"
