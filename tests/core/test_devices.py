"""Render device choice and ``--workers auto`` plans, from fake device lists (no Blender, no GPU)."""

from __future__ import annotations

import json

import pytest

from synthkiln.addon.core import devices as dv
from synthkiln.addon.core.dataset.job import open_dataset, recipe_hash
from synthkiln.addon.core.errors import UserError
from synthkiln.addon.core.recipe.model import Recipe, recipe_from_data

H200 = [dv.Device("OPTIX", "NVIDIA H200", "CUDA_NVIDIA H200_0000:01:00_OptiX"),
        dv.Device("OPTIX", "NVIDIA H200", "CUDA_NVIDIA H200_0000:41:00_OptiX")]
CUDA = [dv.Device("CUDA", d.name, d.id.removesuffix("_OptiX")) for d in H200]
NVIDIA = {"OPTIX": H200, "CUDA": CUDA, "HIP": [], "ONEAPI": []}
AMD = {"OPTIX": [], "CUDA": [], "HIP": [dv.Device("HIP", "AMD Radeon PRO W7900", "HIP_AMD_0000:03:00")]}
NONE = {"OPTIX": [], "CUDA": [], "HIP": [], "ONEAPI": []}


def test_cpu_is_the_cpu_whatever_is_there():
    assert dv.choose("CPU", "auto", NVIDIA) == dv.Choice("CPU")
    assert dv.choose("CPU", "OPTIX", NONE).label() == "CPU"


@pytest.mark.parametrize("available, backend, picked", [
    (NVIDIA, "auto", "OPTIX"),          # OptiX before CUDA on the same cards
    (NVIDIA, "CUDA", "CUDA"),
    (AMD, "auto", "HIP"),
    ({"METAL": [dv.Device("METAL", "Apple M2 Max", "METAL_Apple M2 Max")], "ONEAPI": []}, "auto", "METAL"),
])
def test_gpu_and_auto_pick_the_backend_in_order(available, backend, picked):
    for device in ("GPU", "auto"):
        c = dv.choose(device, backend, available)
        assert (c.device, c.backend, c.devices, c.warning) == ("GPU", picked, tuple(available[picked]), None)
    assert dv.choose("GPU", "auto", NVIDIA).label() == "OPTIX: NVIDIA H200, NVIDIA H200"
    assert dv.choose("GPU", "auto", NVIDIA).to_data() == {"device": "GPU", "backend": "OPTIX",
                                                          "names": ["NVIDIA H200", "NVIDIA H200"]}


def test_gpu_where_none_is_usable_is_one_clear_error():
    with pytest.raises(UserError) as e:
        dv.choose("GPU", "auto", NONE)
    text = str(e.value)
    assert "render.device GPU: no usable GPU here" in text and "Blender sees no GPU" in text
    assert "render.device: auto" in text and "\n" not in text
    with pytest.raises(UserError, match=r"no usable OPTIX GPU here; Blender sees HIP \(AMD Radeon PRO W7900\)"):
        dv.choose("GPU", "OPTIX", AMD)


def test_auto_without_a_gpu_warns_once_and_takes_the_cpu():
    c = dv.choose("auto", "auto", NONE)
    assert c.device == "CPU" and c.devices == ()
    assert c.warning.startswith("render.device auto: no usable GPU;") and c.warning.endswith("rendering on the CPU")
    assert "\n" not in c.warning
    c = dv.choose("auto", "CUDA", AMD)        # a backend asked for that is not there: the CPU too
    assert c.device == "CPU" and "no usable CUDA GPU" in c.warning


def test_a_worker_renders_on_exactly_its_gpu():
    c = dv.choose("GPU", "auto", NVIDIA, wanted=[H200[1].id])
    assert c.devices == (H200[1],)
    # the farm hid the other cards (CUDA_VISIBLE_DEVICES): the one visible card is this worker's
    assert dv.choose("GPU", "auto", {"OPTIX": H200[:1]}, wanted=[H200[1].id]).devices == (H200[0],)
    with pytest.raises(UserError, match="is not among the OPTIX devices"):
        dv.choose("GPU", "auto", NVIDIA, wanted=["CUDA_gone_0000:99:00_OptiX"])


def test_bad_settings_are_named():
    with pytest.raises(UserError, match="render.device: 'gpu'"):
        dv.choose("gpu", "auto", NONE)
    with pytest.raises(UserError, match="render.gpu_backend: 'VULKAN'"):
        dv.choose("GPU", "VULKAN", NONE)


def test_recipe_fields_and_their_checks():
    r = recipe_from_data({"render": {"device": "auto", "gpu_backend": "HIP"}})
    assert (r.render.device, r.render.gpu_backend) == ("auto", "HIP")
    assert Recipe().render.device == "CPU" and Recipe().render.gpu_backend == "auto"
    from synthkiln.addon.core.params.schema import SchemaError
    with pytest.raises(SchemaError, match="'OPTX' is not allowed.*did you mean 'OPTIX'"):
        recipe_from_data({"render": {"gpu_backend": "OPTX"}})
    # the schema's choices are core's
    from synthkiln.addon.core.params.schema import field_specs
    specs = {s.name: s for s in field_specs(type(Recipe().render))}
    assert set(specs["device"].options) == set(dv.DEVICE_SETTINGS)
    assert set(specs["gpu_backend"].options) == set(dv.BACKEND_SETTINGS)


def test_the_device_does_not_change_the_job():
    """Labels do not depend on the device (pixels only by noise): a GPU farm may finish a CPU job."""
    a = Recipe()
    b = recipe_from_data({"render": {"device": "GPU", "gpu_backend": "CUDA", "threads": 4}})
    assert recipe_hash(a) == recipe_hash(b)
    assert recipe_hash(a) != recipe_hash(recipe_from_data({"render": {"samples": 17}}))


def test_manifest_lists_every_device_the_job_rendered_on(tmp_path):
    r = Recipe()
    cpu = dv.Choice("CPU", devices=(dv.Device("CPU", "AMD EPYC", "CPU"),)).to_data()
    gpu = dv.choose("GPU", "auto", NVIDIA, wanted=[H200[0].id]).to_data()
    assert open_dataset(tmp_path, r, "5.0.1", cpu)["devices"] == [cpu]
    open_dataset(tmp_path, r, "5.0.1", gpu)
    open_dataset(tmp_path, r, "5.0.1", gpu)          # the second GPU worker: listed once
    m = json.loads((tmp_path / "synthkiln.json").read_text())
    assert sorted(m["devices"], key=json.dumps) == sorted([cpu, gpu], key=json.dumps)
    from synthkiln.addon.core.dataset import jobreport
    text = jobreport.format_summary(jobreport.summarize(tmp_path))
    assert "rendered on OPTIX: NVIDIA H200" in text and "rendered on CPU: AMD EPYC" in text


# -- --workers auto ----------------------------------------------------------------------------------------

def test_one_worker_per_gpu_each_pinned():
    choice = dv.choose("auto", "auto", NVIDIA)
    slots = dv.plan_workers(32, (1920, 1080), 100, choice)
    assert [s.gpu for s in slots] == H200 and all(s.threads == dv.MAX_THREADS_PER_GPU for s in slots)
    assert [s.label() for s in slots] == ["OPTIX: NVIDIA H200"] * 2
    assert [s.threads for s in dv.plan_workers(6, (640, 480), 100, choice)] == [3, 3]   # cores split between cards
    assert len(dv.plan_workers(32, (640, 480), 1, choice)) == 1                          # never more than frames
    eight = {"CUDA": [dv.Device("CUDA", "NVIDIA L4", f"CUDA_NVIDIA L4_0000:{i:02x}:00") for i in range(8)]}
    assert [s.gpu.id for s in dv.plan_workers(4, (640, 480), 100, dv.choose("GPU", "CUDA", eight))] == \
        [d.id for d in eight["CUDA"]] and \
        {s.threads for s in dv.plan_workers(4, (640, 480), 100, dv.choose("GPU", "CUDA", eight))} == {1}


@pytest.mark.parametrize("cpus, resolution, frames, expected", [
    (2, (160, 120), 100, [1, 1]),               # this machine: tiny frames, two processes of one thread
    (2, (320, 240), 100, [1, 1]),               # up to ~390x390 too (measured faster, pinned)
    (2, (640, 480), 100, [2]),                  # larger frames: one process, both threads
    (16, (160, 120), 100, [1] * 16),            # small frames: many small processes
    (16, (320, 240), 100, [1] * 16),
    (16, (640, 480), 100, [4] * 4),
    (16, (1920, 1080), 100, [8] * 2),
    (16, (3840, 2160), 100, [16]),              # large frames keep every thread busy in one process
    (16, (320, 240), 3, [5] * 3),               # never more processes than frames; spare cores become threads
    (2, (320, 240), 1, [2]),
    (16, (800, 600), 100, [8] * 2),
    (1, (320, 240), 100, [1]),
])
def test_cpu_plan_by_core_count_and_frame_size(cpus, resolution, frames, expected):
    slots = dv.plan_workers(cpus, resolution, frames, dv.Choice("CPU"))
    assert [s.threads for s in slots] == expected and all(s.gpu is None for s in slots)
    assert sum(s.threads for s in slots) <= cpus


def test_cpu_plan_fits_the_memory():
    """Many cores and little memory: no more processes than the memory holds (one at least)."""
    assert len(dv.plan_workers(64, (160, 120), 1000, dv.Choice("CPU"), memory=4 * dv.PROCESS_MEMORY)) == 4
    assert [s.threads for s in dv.plan_workers(64, (160, 120), 1000, dv.Choice("CPU"), memory=0)] == [64]
    assert len(dv.plan_workers(2, (160, 120), 1000, dv.Choice("CPU"), memory=2**40)) == 2


def test_parse_workers():
    assert dv.parse_workers("3") == 3 and dv.parse_workers(2) == 2 and dv.parse_workers("AUTO") == "auto"
    for bad in ("0", "-1", "many", ""):
        with pytest.raises(UserError, match="expected a number of processes"):
            dv.parse_workers(bad)


def test_cpu_sets_pin_each_cpu_worker_to_cores_of_its_own():
    one, two = dv.WorkerSlot(1), dv.WorkerSlot(2)
    assert dv.cpu_sets([0, 1], [one, one]) == [(0,), (1,)]
    assert dv.cpu_sets([2, 3, 6, 7], [two, two]) == [(2, 3), (6, 7)]      # the cores this process may use
    assert dv.cpu_sets([0, 1, 2, 3], [two]) == [(0, 1)]
    assert dv.cpu_sets([0, 1], [two, two]) is None                        # oversubscribed: the OS balances
    gpu = dv.WorkerSlot(4, dv.Device("CUDA", "card", "CUDA_0"))
    assert dv.cpu_sets(list(range(8)), [gpu, gpu]) is None                  # GPU workers stay unpinned
    for cpus, res in ((2, (160, 120)), (16, (320, 240)), (64, (1920, 1080))):
        slots = dv.plan_workers(cpus, res, 1000, dv.Choice("CPU"))
        sets = dv.cpu_sets(list(range(cpus)), slots)
        assert [len(s) for s in sets] == [s.threads for s in slots]
        assert len({c for s in sets for c in s}) == sum(s.threads for s in slots)     # disjoint


def test_pinned_command_runs_on_the_given_cores(tmp_path):
    """The launcher pins and lowers the priority, then becomes the command (same pid: stop signals still reach
    it)."""
    import os
    import subprocess
    import sys
    assert dv.pinned(["blender", "-b"], None, sys.executable) == ["blender", "-b"]
    assert dv.pinned(["blender", "-b"], (0,), "", nice=10) == ["blender", "-b"]       # no Python to launch it
    if not hasattr(os, "sched_getaffinity"):
        return
    core = min(os.sched_getaffinity(0))
    probe = "import os; print(sorted(os.sched_getaffinity(0)), os.nice(0), os.getpid())"
    for cores, nice in (((core,), 0), ((core,), 7), (None, 7)):
        p = subprocess.Popen(dv.pinned([sys.executable, "-c", probe], cores, sys.executable, nice=nice),
                             stdout=subprocess.PIPE, text=True)
        out, _ = p.communicate(timeout=60)
        expect = f"[{core}]" if cores else str(sorted(os.sched_getaffinity(0)))
        assert out.split("]")[0] + "]" == expect, out
        assert int(out.split()[-2]) == os.nice(0) + nice and int(out.split()[-1]) == p.pid, out
