"""Farm job descriptions, checked without a farm (fast, no Blender): the Slurm script run by bash with a
stand-in python, the Open Job Description template through ``openjd check``/``summary``, the Flamenco job
type loaded and compiled by Node, the Kubernetes Indexed Job's fields, and every generated command line
parsed by the real ``render`` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthkiln.headless import jobfiles as core
from synthkiln.addon.core.errors import UserError

FULL = core.FarmJob(source="/data/scene.blend", preset="/data/over.yaml", out="/data/out", frames=10, shards=3,
                    python="/opt/venv/bin/python", seed=7, resolution="64x48", samples=2, name="sk-test", retries=1)
PLAIN = core.FarmJob(source="/data/tiny.yaml", out="/data/out", frames=4, shards=2, python="/venv/bin/python")


def parse_render(args: list[str]):
    """The real ``render`` command's parser on a generated command line (after ``python -m synthkiln``)."""
    from synthkiln.headless.cli import render
    assert args[:3] == ["-m", "synthkiln", "render"], args
    return render.make_context("render", list(args[3:])).params


# -- the shard contract ------------------------------------------------------------------------------

@pytest.mark.parametrize("job", [FULL, PLAIN], ids=["all-options", "plain"])
def test_render_args_are_render_options(job):
    for token in (0, "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"):
        p = parse_render(job.render_args(token))
        assert p["shard"] == f"{token}/{job.shards}"
        assert (str(p["source"]), p["frames"], str(p["out"])) == (job.source, job.frames, job.out)
        assert p["seed"] == job.seed and p["samples"] == job.samples
        assert p["resolution"] == ((64, 48) if job.resolution else None)
        assert (str(p["preset"]) if p["preset"] else None) == job.preset


def test_job_checks():
    with pytest.raises(UserError, match=r"--shards 5: expected 1..4"):
        core.FarmJob(source="a.yaml", out="o", frames=4, shards=5).check()
    with pytest.raises(UserError, match="at least one frame"):
        core.FarmJob(source="a.yaml", out="o", frames=0, shards=1).check()
    with pytest.raises(UserError, match="--retries -1"):
        core.FarmJob(source="a.yaml", out="o", frames=4, shards=2, retries=-1).check()
    assert core.FarmJob.from_data(json.loads(json.dumps(FULL.to_data()))) == FULL


def test_index_ranges():
    assert core.index_ranges([5, 0, 1, 2, 8, 7]) == "0-2,5,7-8"
    assert core.index_ranges([3]) == "3"
    assert core.index_ranges(range(1000)) == "0-999"


# -- Slurm --------------------------------------------------------------------------------------------

def sbatch_directives(script: str) -> dict[str, str]:
    out = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH "):
            key, _, value = line[len("#SBATCH "):].partition("=")
            out[key] = value
    return out


def test_slurm_script_directives():
    script = core.slurm_script(FULL, "/logs", partition="render", time_limit="1:00:00", cpus_per_task=4,
                               mem="8G", extra=["--gres=gpu:1"])
    d = sbatch_directives(script)
    assert d["--array"] == "0-2"                    # 3 tasks: under the concurrency limit, so none given
    assert d["--output"] == "/logs/shard-%a-%A.log"  # one log per task (and array job)
    assert d["--open-mode"] == "append"
    assert (d["--job-name"], d["--partition"], d["--time"], d["--cpus-per-task"], d["--mem"]) == \
        ("sk-test", "render", "1:00:00", "4", "8G")
    assert d["--gres"] == "gpu:1"
    # every #SBATCH line comes before the first command, or sbatch ignores it
    first_cmd = next(i for i, ln in enumerate(script.splitlines()[1:], 1) if ln and not ln.startswith("#"))
    assert all(i < first_cmd for i, ln in enumerate(script.splitlines()) if ln.startswith("#SBATCH"))
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_slurm_array_limits():
    many = core.FarmJob(source="/a.yaml", out="/o", frames=5000, shards=500)
    assert sbatch_directives(core.slurm_script(many, "/l"))["--array"] == f"0-499%{core.SLURM_MAX_RUNNING}"
    assert sbatch_directives(core.slurm_script(many, "/l", max_running=8))["--array"] == "0-499%8"
    # resubmitting only some shards
    assert sbatch_directives(core.slurm_script(many, "/l", indices=[3, 4, 5, 9]))["--array"] == "3-5,9"
    with pytest.raises(UserError, match=r"expected indices in 0\.\.499"):
        core.slurm_script(many, "/l", indices=[500])
    # MaxArraySize: the last index must stay below it
    big = core.FarmJob(source="/a.yaml", out="/o", frames=5000, shards=1500)
    with pytest.raises(UserError, match=r"MaxArraySize is 1001.*at most 1001 shards"):
        core.slurm_script(big, "/l")
    assert sbatch_directives(core.slurm_script(big, "/l", max_array_size=100001))["--array"].startswith("0-1499%")


def _recorder(folder: Path) -> Path:
    """A stand-in python that records its arguments, one call per line."""
    rec = folder / "record-python"
    rec.write_text(f'#!/bin/sh\necho "$@" >> "{folder}/calls.txt"\n')
    rec.chmod(0o755)
    return rec


@pytest.mark.parametrize("retries, status", [(1, 0), (0, 3)])
def test_slurm_script_retries_a_failed_shard_in_place(tmp_path, kit, retries, status):
    """The array task itself, run by bash as slurmd would: shard 1's first attempt fails; with a retry
    the task succeeds on its second attempt, without one it fails with the render's exit status."""
    wrapper, mark = kit.fail_once_python(tmp_path)
    wrapper.write_text(wrapper.read_text().replace(os.path.abspath(sys.executable), str(_recorder(tmp_path))))
    job = core.FarmJob(source="/d/tiny.yaml", out="/d/out", frames=4, shards=2, python=str(wrapper), retries=retries)
    script = tmp_path / "render.sbatch"
    script.write_text(core.slurm_script(job, str(tmp_path)))
    p = subprocess.run(["bash", str(script)], env=kit.env(SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_JOB_ID="77"),
                       capture_output=True, text=True)
    assert p.returncode == status, p.stdout + p.stderr
    assert mark.exists()
    assert "shard 1/2, attempt 1/%d, job 77" % (retries + 1) in p.stdout
    assert "planned failure" in p.stderr and "attempt 1/%d failed with exit status 3" % (retries + 1) in p.stderr
    calls = (tmp_path / "calls.txt").read_text().splitlines() if retries else []
    assert calls == [" ".join(job.render_args("SLURM_ARRAY_TASK_ID"))] * retries


# -- Open Job Description ------------------------------------------------------------------------------

def test_openjd_template_structure():
    t = yaml.safe_load(core.to_yaml(core.openjd_template(FULL)))
    assert t["specificationVersion"] == "jobtemplate-2023-09"
    params = {p["name"]: p for p in t["parameterDefinitions"]}
    assert params["Python"] == {**params["Python"], "type": "STRING", "default": FULL.python}
    assert all(params[n]["type"] == "PATH" and "default" not in params[n] for n in ("Source", "Out", "Preset"))
    (step,) = t["steps"]
    (tp,) = step["parameterSpace"]["taskParameterDefinitions"]
    assert (tp["name"], tp["type"], tp["range"]) == ("Shard", "INT", "0-2")
    run = step["script"]["actions"]["onRun"]
    assert run["command"] == "{{Param.Python}}"
    # the template's args are the job's own command line, its paths and shard as OpenJD parameters
    expected = FULL.render_args("{{Task.Param.Shard}}")
    for value, param in ((FULL.source, "Source"), (FULL.out, "Out"), (FULL.preset, "Preset")):
        expected[expected.index(value)] = "{{Param.%s}}" % param
    assert run["args"] == expected
    assert core.openjd_parameters(FULL) == {"Source": FULL.source, "Out": FULL.out, "Preset": FULL.preset}
    assert json.loads(core.openjd_tasks([2, 0])) == [{"Shard": 0}, {"Shard": 2}]


def _openjd() -> str:
    exe = shutil.which("openjd") or str(Path(sys.executable).with_name("openjd"))
    if not Path(exe).exists():
        pytest.skip("openjd-cli is not installed (pip install -e '.[test]')")
    return exe


@pytest.mark.parametrize("job", [FULL, PLAIN], ids=["with-preset", "plain"])
def test_openjd_template_passes_openjd_check(tmp_path, job):
    exe = _openjd()
    (tmp_path / "template.yaml").write_text(core.to_yaml(core.openjd_template(job)))
    (tmp_path / "params.json").write_text(json.dumps(core.openjd_parameters(job)))
    p = subprocess.run([exe, "check", str(tmp_path / "template.yaml")], capture_output=True, text=True)
    assert p.returncode == 0 and "passes validation" in p.stdout, p.stdout + p.stderr
    p = subprocess.run([exe, "summary", str(tmp_path / "template.yaml"), "-p", f"file://{tmp_path / 'params.json'}",
                        "--output", "json"], capture_output=True, text=True)
    summary = json.loads(p.stdout)
    assert summary["status"] == "success", p.stdout
    assert summary["total_tasks"] == job.shards
    assert {d["name"]: d["value"] for d in summary["parameter_definitions"]}["Out"] == job.out


# -- Flamenco (the job type run by Node) ---------------------------------------------------------------

NODE_HARNESS = r"""
// What the Flamenco Manager gives a job compiler script: `author` and a job with settings (the job type's
// defaults under the submitted values). Prints the compiled tasks as JSON.
const fs = require("fs"), vm = require("vm");
const [script, submission] = process.argv.slice(2);
const author = {
  Task: (name, type) => ({name, type, commands: [], deps: [],
                          addCommand(c) { this.commands.push(c); }, addDependency(t) { this.deps.push(t.name); }}),
  Command: (name, parameters) => ({name, parameters}),
};
const ctx = vm.createContext({author, print: () => {}, console});
vm.runInContext(fs.readFileSync(script, "utf8") + "\nthis.JOB_TYPE = JOB_TYPE;", ctx, {filename: script});
const settings = {};
for (const s of ctx.JOB_TYPE.settings) settings[s.key] = s.default;
Object.assign(settings, JSON.parse(fs.readFileSync(submission, "utf8")).settings);
const tasks = [];
try {
  ctx.compileJob({settings, addTask: (t) => tasks.push(t)});
} catch (e) {
  console.log(JSON.stringify({error: String(e)}));
  process.exit(0);
}
console.log(JSON.stringify({jobType: ctx.JOB_TYPE, tasks: tasks.map(({name, type, commands, deps}) =>
  ({name, type, commands, deps}))}));
"""


def compile_flamenco(tmp_path: Path, job: core.FarmJob, settings: dict | None = None) -> dict:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    (tmp_path / "synthkiln_render.js").write_text(core.flamenco_job_type(job))
    body = core.flamenco_submission(job)
    body["settings"].update(settings or {})
    (tmp_path / "submit.json").write_text(json.dumps(body))
    p = subprocess.run(["node", str(tmp_path / "harness.js"), str(tmp_path / "synthkiln_render.js"),
                        str(tmp_path / "submit.json")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("job", [FULL, PLAIN], ids=["all-options", "plain"])
def test_flamenco_compiles_one_task_per_shard(tmp_path, job):
    out = compile_flamenco(tmp_path, job)
    assert out["jobType"]["label"] == "SynthKiln Render"
    assert {s["key"] for s in out["jobType"]["settings"] if s.get("required")} == \
        {"python", "source", "out", "frames", "shards"}
    tasks = out["tasks"]
    assert [t["name"] for t in tasks] == [f"shard-{k}" for k in range(job.shards)]
    for k, t in enumerate(tasks):
        assert t["type"] == "misc" and t["deps"] == []
        (cmd,) = t["commands"]
        assert cmd["name"] == "exec" and cmd["parameters"]["exe"] == job.python
        # the JavaScript builds exactly the command line Python builds for that shard
        assert cmd["parameters"]["args"] == job.render_args(k)
        assert parse_render(cmd["parameters"]["args"])["shard"] == f"{k}/{job.shards}"
    assert core.FLAMENCO_JOB_TYPE == "synthkiln-render"


def test_flamenco_settings_edited_at_submission(tmp_path):
    """A Manager user changes the shard count: the tasks follow; an impossible count is refused."""
    out = compile_flamenco(tmp_path, PLAIN, {"shards": 4, "seed": 3})
    assert [t["commands"][0]["parameters"]["args"][-1] for t in out["tasks"]] == ["0/4", "1/4", "2/4", "3/4"]
    assert all("--seed" in t["commands"][0]["parameters"]["args"] for t in out["tasks"])
    assert "shards must be 1..4" in compile_flamenco(tmp_path, PLAIN, {"shards": 9})["error"]


# -- Kubernetes ---------------------------------------------------------------------------------------

def test_k8s_indexed_job():
    m = yaml.safe_load(core.to_yaml(core.k8s_job(FULL, image="reg.example/synthkiln:1", parallelism=2,
                                                 claim="datasets", cpu="4", memory="8Gi", namespace="render")))
    assert (m["apiVersion"], m["kind"]) == ("batch/v1", "Job")
    assert m["metadata"]["name"] == "sk-test" and m["metadata"]["namespace"] == "render"
    spec = m["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 2)
    assert spec["backoffLimitPerIndex"] == 1
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"       # required by backoffLimitPerIndex
    (c,) = pod["containers"]
    assert c["image"] == "reg.example/synthkiln:1"
    assert c["command"] == [FULL.python, *FULL.render_args("JOB_COMPLETION_INDEX")]
    assert parse_render(c["command"][1:])["shard"] == "JOB_COMPLETION_INDEX/3"
    assert c["resources"] == {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"cpu": "4"}}   # the pod's cores
    assert c["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert pod["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "datasets"}}]
    assert spec["template"]["metadata"]["labels"] == m["metadata"]["labels"]
    # DNS-1123 name, parallelism never above the shard count
    odd = core.FarmJob(source="/a.yaml", out="/o", frames=4, shards=2, name="SynthKiln_Tiny Job")
    m2 = core.k8s_job(odd, image="x", parallelism=9)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", m2["metadata"]["name"]) and m2["spec"]["parallelism"] == 2


def test_k8s_needs_container_paths():
    with pytest.raises(UserError, match="absolute paths inside the container"):
        core.k8s_job(core.FarmJob(source="tiny.yaml", out="/o", frames=2, shards=2), image="x")


# -- the `synthkiln farm` command (writing only) -------------------------------------------------------

def test_cli_writes_every_engines_files(tmp_path, kit, tiny_preset):
    out = tmp_path / "out"
    expected = {"slurm": ["render.sbatch"], "openjd": ["template.yaml", "params.json", "parameter_values.yaml"],
                "dask": ["run_dask.py"], "flamenco": ["synthkiln_render.js", "submit.json"]}
    for engine, files in expected.items():
        p = kit.run_farm(engine, tiny_preset.name, "--frames", 4, "--shards", 2, "--out", "out", "--seed", 3,
                         cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        d = out / "jobs" / engine
        assert p.stdout.split() == [str(d / f) for f in files]      # nothing submitted
        record = json.loads((d / "synthkiln-job.json").read_text())
        assert record["engine"] == engine and record["submissions"] == [] and record["logs"] == str(d / "logs")
        job = core.FarmJob.from_data(record["job"])
        assert (job.source, job.out, job.frames, job.shards, job.seed) == (str(tiny_preset), str(out), 4, 2, 3)
        assert job.python == os.path.abspath(sys.executable)
    assert not (out / "frames").exists()
    k = kit.run_farm("k8s", "/data/tiny.yaml", "--frames", 4, "--shards", 2, "--out", "/data/out",
                     "--job-dir", "k8sjob", "--image", "me/sk:1", "--claim", "data", cwd=tmp_path)
    assert k.returncode == 0, k.stderr
    m = yaml.safe_load((tmp_path / "k8sjob" / "job.yaml").read_text())
    assert m["spec"]["template"]["spec"]["containers"][0]["command"][:2] == ["python", "-m"]


@pytest.mark.parametrize("args, fragments", [
    (["--frames", 2, "--shards", 3], ["--shards 3: expected 1..2"]),
    (["--frames", 2, "--shards", 1, "--resolution", "big"], ["--resolution 'big'"]),
    (["--frames", 2, "--shards", 2, "--max-array-size", 1], ["MaxArraySize is 1"]),
])
def test_cli_mistakes_one_message_nothing_written(tmp_path, kit, tiny_preset, args, fragments):
    p = kit.run_farm("slurm", tiny_preset, "--out", tmp_path / "out", *args, cwd=tmp_path)
    assert p.returncode != 0
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and all(f in lines[0] for f in fragments), p.stderr
    assert not (tmp_path / "out" / "jobs" / "slurm" / "render.sbatch").exists()


def test_cli_checks_the_preset_before_writing(tmp_path, kit):
    bad = tmp_path / "bad.yaml"
    bad.write_text(kit.TINY_PRESET.replace("samples: 1", "samples: many"))
    p = kit.run_farm("openjd", bad, "--frames", 2, "--shards", 2, "--out", tmp_path / "out", cwd=tmp_path)
    assert p.returncode == 1 and "render.samples" in p.stderr and "expected an integer" in p.stderr
    assert not (tmp_path / "out").exists()
    p = kit.run_farm("dask", tmp_path / "nope.yaml", "--frames", 2, "--shards", 2, "--out", tmp_path / "out",
                     cwd=tmp_path)
    assert p.returncode == 1 and "nope.yaml: file not found" in p.stderr
    p = kit.run_farm("flamenco", kit.ROOT / "presets" / "tabletop.yaml", "--frames", 2, "--shards", 2,
                     "--out", tmp_path / "out", "--submit", cwd=tmp_path)
    assert p.returncode == 1 and "--submit needs --manager" in p.stderr


# -- GPU jobs: every engine asks for the GPUs from one setting ---------------------------------------------

GPU = core.FarmJob(source="/data/tiny.yaml", out="/data/out", frames=4, shards=2, python="/venv/bin/python",
                   device="GPU", gpus=2)


def test_gpu_job_passes_the_device_to_every_task():
    p = parse_render(GPU.render_args(0))
    assert p["device"] == "GPU"
    assert "--device" not in PLAIN.render_args(0)
    with pytest.raises(UserError, match="--gpus -1"):
        core.FarmJob(source="a.yaml", out="o", frames=4, shards=2, gpus=-1).check()


def test_slurm_requests_gpus():
    assert sbatch_directives(core.slurm_script(GPU, "/l"))["--gres"] == "gpu:2"
    assert "--gres" not in sbatch_directives(core.slurm_script(PLAIN, "/l"))


def test_openjd_host_requirements(tmp_path):
    (step,) = core.openjd_template(GPU)["steps"]
    assert step["hostRequirements"] == {"amounts": [{"name": "amount.worker.gpu", "min": 2}]}
    assert "hostRequirements" not in core.openjd_template(PLAIN)["steps"][0]
    exe = _openjd()
    (tmp_path / "t.yaml").write_text(core.to_yaml(core.openjd_template(GPU)))
    p = subprocess.run([exe, "check", str(tmp_path / "t.yaml")], capture_output=True, text=True)
    assert p.returncode == 0 and "passes validation" in p.stdout, p.stdout + p.stderr


def test_k8s_gpu_limits_and_node_selector():
    m = core.k8s_job(GPU, image="x", node_selector={"nvidia.com/gpu.product": "NVIDIA-H200"})
    pod = m["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"] == {"limits": {"nvidia.com/gpu": 2}}
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H200"}
    amd = core.k8s_job(GPU, image="x", cpu="4", gpu_resource="amd.com/gpu")["spec"]["template"]["spec"]
    assert amd["containers"][0]["resources"] == {"requests": {"cpu": "4"}, "limits": {"cpu": "4", "amd.com/gpu": 2}}
    assert "nodeSelector" not in amd
    assert "resources" not in core.k8s_job(PLAIN, image="x")["spec"]["template"]["spec"]["containers"][0]


def test_dask_worker_resources():
    assert core.dask_resources(GPU) == {"GPU": 2} and core.dask_resources(PLAIN) is None


def test_flamenco_gpu_settings(tmp_path):
    out = compile_flamenco(tmp_path, GPU)
    settings = {s["key"]: s for s in out["jobType"]["settings"]}
    assert settings["gpus"]["default"] == 2 and settings["device"]["default"] == "GPU"
    assert [t["commands"][0]["parameters"]["args"] for t in out["tasks"]] == [GPU.render_args(k) for k in range(2)]
    assert core.flamenco_submission(GPU)["settings"]["gpus"] == 2


def test_cli_gpus_follow_the_recipe_or_the_flags(tmp_path, kit, tiny_preset):
    """One setting: render.device GPU (preset or --device) asks each task for one GPU; --gpus overrides."""
    gpu_preset = tmp_path / "gpu.yaml"
    gpu_preset.write_text(kit.TINY_PRESET.replace("samples: 1}", "samples: 1, device: GPU}"))
    assert "device: GPU" in gpu_preset.read_text()
    cases = [((tiny_preset,), 0), ((tiny_preset, "--device", "GPU"), 1), ((gpu_preset,), 1),
             ((gpu_preset, "--gpus", 4), 4), ((tiny_preset, "--device", "auto"), 0)]
    for i, (args, gpus) in enumerate(cases):
        p = kit.run_farm("slurm", *args, "--frames", 2, "--shards", 2, "--out", "out", "--job-dir", f"j{i}",
                         cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        job = core.FarmJob.from_data(json.loads((tmp_path / f"j{i}" / "synthkiln-job.json").read_text())["job"])
        assert job.gpus == gpus, args
        assert sbatch_directives((tmp_path / f"j{i}" / "render.sbatch").read_text()).get("--gres") == \
            (f"gpu:{gpus}" if gpus else None)
    k = kit.run_farm("k8s", "/data/tiny.yaml", "--frames", 2, "--shards", 2, "--out", "/data/out", "--job-dir", "k",
                     "--device", "GPU", "--node-selector", "gpu=h200", cwd=tmp_path)
    assert k.returncode == 0, k.stderr
    pod = yaml.safe_load((tmp_path / "k" / "job.yaml").read_text())["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1} and pod["nodeSelector"] == {"gpu": "h200"}
    bad = kit.run_farm("k8s", "/data/tiny.yaml", "--frames", 2, "--shards", 2, "--out", "/data/out", "--job-dir", "k",
                       "--node-selector", "nolabel", cwd=tmp_path)
    assert bad.returncode == 1 and "--node-selector 'nolabel': expected KEY=VALUE" in bad.stderr


# -- clip jobs: every engine passes --clips / --clip-length to its tasks --------------------------------------

CLIP = core.FarmJob(source="/data/tiny.yaml", out="/data/out", frames=12, shards=3, python="/venv/bin/python",
                    clips=3, clip_length=4)


def test_clip_job_passes_its_shape_to_every_task(tmp_path):
    p = parse_render(CLIP.render_args(1))
    assert (p["clips"], p["clip_length"], p["frames"], p["shard"]) == (3, 4, 12, "1/3")
    assert "--clips" not in PLAIN.render_args(0) and "--clip-length" not in PLAIN.render_args(0)
    assert "--clips 3 --clip-length 4" in core.slurm_script(CLIP, "/l")
    run = core.openjd_template(CLIP)["steps"][0]["script"]["actions"]["onRun"]
    assert run["args"][run["args"].index("--clips"):][:4] == ["--clips", "3", "--clip-length", "4"]
    assert core.k8s_job(CLIP, image="x")["spec"]["template"]["spec"]["containers"][0]["command"] == \
        CLIP.command("JOB_COMPLETION_INDEX")
    out = compile_flamenco(tmp_path, CLIP)
    assert [t["commands"][0]["parameters"]["args"] for t in out["tasks"]] == [CLIP.render_args(k) for k in range(3)]
    assert "whole clips" in compile_flamenco(tmp_path, CLIP, {"shards": 4, "frames": 12})["error"]


def test_clip_job_checks():
    with pytest.raises(UserError, match=r"--shards 4: expected 1..3 \(a shard renders whole clips\)"):
        core.FarmJob(source="a.yaml", out="o", frames=12, shards=4, clips=3, clip_length=4).check()
    with pytest.raises(UserError, match=r"--frames 10: a clip job of 3 clips × 4 frames has 12"):
        core.FarmJob(source="a.yaml", out="o", frames=10, shards=2, clips=3, clip_length=4).check()
    with pytest.raises(UserError, match="needs --clip-length"):
        core.FarmJob(source="a.blend", out="o", frames=10, shards=2, clips=3).check()
    assert core.FarmJob.from_data(json.loads(json.dumps(CLIP.to_data()))) == CLIP


def test_cli_clip_flags_reach_the_job_files(tmp_path, kit, tiny_preset):
    """`farm ... --clips C --clip-length L` needs no --frames (C × L); a preset that is a clip job passes its
    own shape; the shards are whole clips."""
    p = kit.run_farm("slurm", tiny_preset.name, "--clips", 3, "--clip-length", 2, "--shards", 3, "--out", "out",
                     cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = tmp_path / "out/jobs/slurm"
    job = core.FarmJob.from_data(json.loads((d / "synthkiln-job.json").read_text())["job"])
    assert (job.frames, job.clips, job.clip_length) == (6, 3, 2)
    assert "--frames 6 --out" in (d / "render.sbatch").read_text()
    assert "--clips 3 --clip-length 2 --shard" in (d / "render.sbatch").read_text()
    clip_preset = tmp_path / "clip.yaml"
    clip_preset.write_text(kit.TINY_PRESET.replace("render:", "output: {clips: 2, clip_length: 5}\nrender:", 1))
    p = kit.run_farm("openjd", clip_preset, "--shards", 2, "--out", "out2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    args = yaml.safe_load((tmp_path / "out2/jobs/openjd/template.yaml").read_text())["steps"][0]["script"][
        "actions"]["onRun"]["args"]
    assert args[args.index("--frames") + 1] == "10" and args[args.index("--clips"):][:4] == \
        ["--clips", "2", "--clip-length", "5"]
    for bad, message in ((["--clips", 2, "--clip-length", 3, "--shards", 3], "--shards 3: expected 1..2"),
                         (["--clips", 2, "--clip-length", 3, "--frames", 5, "--shards", 1], "--frames 5"),
                         (["--shards", 1], "--frames is needed")):
        p = kit.run_farm("dask", tiny_preset, "--out", tmp_path / "out3", *bad, cwd=tmp_path)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert p.returncode != 0 and len(lines) == 1 and message in lines[0], p.stderr
