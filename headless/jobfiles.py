"""Job descriptions for the render farms people already run (DESIGN §5): a Slurm array script, an Open Job
Description template (what AWS Deadline Cloud runs), a Flamenco job type and a Kubernetes Indexed Job.

Every engine runs the same shard contract: task ``k`` of ``n`` is one ``synthkiln render ... --shard k/n``
process (``k`` may be the engine's own index variable, resolved by the runner), which renders its block of
frames and resumes whatever already exists. So SynthKiln never schedules anything itself; these builders
only return text or plain data, and ``headless/farm.py`` writes and submits them.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import yaml

from ..addon.core.errors import UserError

SLURM_MAX_ARRAY_SIZE = 1001       # Slurm's default MaxArraySize: array indices 0..1000
SLURM_MAX_RUNNING = 50            # default `%limit`: one Blender per task; keeps a big array from flooding
                                  # the queue and the shared output folder, and leaves room for others


@dataclass(frozen=True)
class FarmJob:
    """One render job split into shards: what every engine's description is built from. Paths are as the
    farm's machines see them (absolute for shared file systems, container paths for Kubernetes)."""

    source: str
    out: str
    frames: int
    shards: int
    python: str = "python3"
    preset: str | None = None
    seed: int | None = None
    resolution: str | None = None        # "WxH", passed through to `render --resolution`
    samples: int | None = None
    name: str = "synthkiln"
    retries: int = 2                     # extra attempts of a failed shard (the engine's, or the script's)
    device: str | None = None            # passed through to `render --device` (CPU, GPU, auto)
    gpus: int = 0                        # GPUs each task asks its engine for (Slurm gres, k8s limits, ...)
    clips: int | None = None             # passed through to `render --clips` (a clip job: frames = clips × length)
    clip_length: int | None = None       # passed through to `render --clip-length`

    def check(self) -> None:
        if self.frames < 1:
            raise UserError(f"--frames {self.frames}: a farm job needs at least one frame")
        if not 1 <= self.shards <= self.frames:
            raise UserError(f"--shards {self.shards}: expected 1..{self.frames} (at most one shard per frame; "
                            "a shard with no frames would only start Blender)")
        if self.retries < 0:
            raise UserError(f"--retries {self.retries}: expected 0 or more")
        if self.gpus < 0:
            raise UserError(f"--gpus {self.gpus}: expected 0 or more")
        if self.device is not None and self.device not in ("CPU", "GPU", "auto"):
            raise UserError(f"--device {self.device!r}: expected CPU, GPU or auto")
        if self.clips:      # a clip is rendered by one shard (physics and resume work per clip)
            if not self.clip_length or self.clip_length < 1:
                raise UserError(f"--clips {self.clips}: a farm clip job needs --clip-length (frames per clip)")
            if self.frames != self.clips * self.clip_length:
                raise UserError(f"--frames {self.frames}: a clip job of {self.clips} clips × {self.clip_length} "
                                f"frames has {self.clips * self.clip_length} frames (leave --frames out)")
            if self.shards > self.clips:
                raise UserError(f"--shards {self.shards}: expected 1..{self.clips} (a shard renders whole clips)")

    def render_args(self, shard: str | int) -> list[str]:
        """Arguments after the interpreter: ``-m synthkiln render ... --shard <shard>/<n>``; ``shard`` is an
        index or the name of the engine's index variable (``SLURM_ARRAY_TASK_ID``)."""
        args = ["-m", "synthkiln", "render", self.source]
        if self.preset:
            args += ["--preset", self.preset]
        args += ["--frames", str(self.frames), "--out", self.out]
        for flag, value in (("--seed", self.seed), ("--resolution", self.resolution), ("--samples", self.samples),
                            ("--device", self.device), ("--clips", self.clips),
                            ("--clip-length", self.clip_length)):
            if value is not None:
                args += [flag, str(value)]
        return args + ["--shard", f"{shard}/{self.shards}"]

    def command(self, shard: str | int) -> list[str]:
        return [self.python, *self.render_args(shard)]

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "FarmJob":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def index_ranges(indices: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2,5,7-8"``: Slurm's ``--array`` syntax (and OpenJD's range syntax)."""
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(set(indices)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(parts)


def _indices(job: FarmJob, indices: Iterable[int] | None) -> list[int]:
    chosen = sorted(set(range(job.shards) if indices is None else indices))
    bad = [i for i in chosen if not 0 <= i < job.shards]
    if bad or not chosen:
        raise UserError(f"shards {bad or chosen}: expected indices in 0..{job.shards - 1}")
    return chosen


# -- Slurm --------------------------------------------------------------------------------------------

def slurm_script(job: FarmJob, log_dir: str, *, indices: Iterable[int] | None = None,
                 max_running: int = SLURM_MAX_RUNNING, max_array_size: int = SLURM_MAX_ARRAY_SIZE,
                 partition: str | None = None, time_limit: str | None = None, cpus_per_task: int | None = None,
                 mem: str | None = None, extra: Iterable[str] = ()) -> str:
    """An ``sbatch`` array script, one array task per shard (``indices``: only those, e.g. to resubmit the
    unfinished ones). Each task logs to ``<log_dir>/shard-<k>-<jobid>.log`` and retries its shard
    ``job.retries`` times in place: Slurm requeues only after node failures, never after a non-zero exit."""
    job.check()
    chosen = _indices(job, indices)
    if chosen[-1] >= max_array_size:
        raise UserError(f"--shards {job.shards}: this Slurm's MaxArraySize is {max_array_size}, so array indices "
                        f"stop at {max_array_size - 1}; use at most {max_array_size} shards (each renders more "
                        "frames) or ask the cluster admin to raise MaxArraySize")
    if max_running < 1:
        raise UserError(f"--max-running {max_running}: expected 1 or more")
    array = index_ranges(chosen) + (f"%{max_running}" if max_running < len(chosen) else "")
    directives = [f"--job-name={job.name}", f"--array={array}",
                  f"--output={log_dir}/shard-%a-%A.log", "--open-mode=append"]
    for flag, value in (("--partition", partition), ("--time", time_limit), ("--cpus-per-task", cpus_per_task),
                        ("--mem", mem)):
        if value is not None:
            directives.append(f"{flag}={value}")
    if job.gpus:        # generic resource: every Slurm with GPUs configures gres (--gpus-per-task needs cons_tres)
        directives.append(f"--gres=gpu:{job.gpus}")
    directives += list(extra)
    attempts = job.retries + 1
    cmd = shlex.join(job.command("SLURM_ARRAY_TASK_ID"))
    return "\n".join([
        "#!/bin/bash",
        *(f"#SBATCH {d}" for d in directives),
        f"# SynthKiln: {job.frames} frames of {job.source} in {job.shards} shards, one array task per shard.",
        "# Generated by `synthkiln farm slurm`; submit with `sbatch` on this file. A task renders its",
        "# block of frames (`--shard SLURM_ARRAY_TASK_ID/N`) and skips frames already done, so rerunning",
        "# any task is safe.",
        "set -u",
        "export PYTHONUNBUFFERED=1",
        f"attempts={attempts}",
        'for attempt in $(seq 1 "$attempts"); do',
        f'    echo "synthkiln: shard $SLURM_ARRAY_TASK_ID/{job.shards}, attempt $attempt/$attempts, '
        'job $SLURM_ARRAY_JOB_ID on $(hostname -s) at $(date -u +%FT%TZ)"',
        f"    {cmd} && exit 0",
        "    status=$?",
        f'    echo "synthkiln: shard $SLURM_ARRAY_TASK_ID/{job.shards} attempt $attempt/$attempts failed '
        'with exit status $status" >&2',
        "done",
        "exit $status",
        "",
    ])


# -- Open Job Description (AWS Deadline Cloud, `openjd run`) ------------------------------------------

OPENJD_STEP = "Render"
OPENJD_TASK_PARAM = "Shard"


def openjd_template(job: FarmJob) -> dict[str, Any]:
    """A ``jobtemplate-2023-09`` job: one step, one task per shard (task parameter ``Shard``). Source and
    output are PATH parameters, so Deadline maps them between operating systems; their values go in
    :func:`openjd_parameters`. Deadline retries failed tasks itself (``maxRetriesPerTask``)."""
    job.check()
    args = job.render_args("{{Task.Param.%s}}" % OPENJD_TASK_PARAM)
    args[3] = "{{Param.Source}}"
    args[args.index("--out") + 1] = "{{Param.Out}}"
    if job.preset:
        args[args.index("--preset") + 1] = "{{Param.Preset}}"
    params: list[dict[str, Any]] = [
        {"name": "Python", "type": "STRING", "default": job.python,
         "description": "Python interpreter with SynthKiln installed (its venv's python)"},
        {"name": "Source", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
         "description": "The preset .yaml or .blend to render"},
        {"name": "Out", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "OUT",
         "description": "The dataset folder (shared by all shards)"},
    ]
    if job.preset:
        params.append({"name": "Preset", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
                       "description": "Preset applied over the .blend's recipe"})
    step: dict[str, Any] = {
        "name": OPENJD_STEP,
        "parameterSpace": {"taskParameterDefinitions": [
            {"name": OPENJD_TASK_PARAM, "type": "INT", "range": f"0-{job.shards - 1}"}]},
        "script": {"actions": {"onRun": {"command": "{{Param.Python}}", "args": args}}},
    }
    if job.gpus:        # Deadline Cloud schedules a task only on a worker with this many GPUs
        step["hostRequirements"] = {"amounts": [{"name": "amount.worker.gpu", "min": job.gpus}]}
    return {
        "specificationVersion": "jobtemplate-2023-09",
        "name": job.name[:128],
        "description": f"SynthKiln: {job.frames} frames in {job.shards} shards (one task per shard)",
        "parameterDefinitions": params,
        "jobEnvironments": [{"name": "SynthKiln", "variables": {"PYTHONUNBUFFERED": "1"}}],
        "steps": [step],
    }


def openjd_parameters(job: FarmJob) -> dict[str, str]:
    """Values of the template's PATH parameters (``openjd run -p file://params.json``)."""
    values = {"Source": job.source, "Out": job.out}
    if job.preset:
        values["Preset"] = job.preset
    return values


def openjd_tasks(indices: Iterable[int]) -> str:
    """``openjd run --tasks`` value that reruns only these shards."""
    return json.dumps([{OPENJD_TASK_PARAM: i} for i in sorted(indices)])


# -- Flamenco -----------------------------------------------------------------------------------------

FLAMENCO_JOB_TYPE = "synthkiln-render"        # the Manager names a job type after its file: scripts/synthkiln_render.js

_FLAMENCO_JS = """\
// SynthKiln job type for Flamenco 3: one task per shard, each one `python -m synthkiln render ... --shard k/n`.
// Install: copy this file to the `scripts/` folder next to flamenco-manager and restart the Manager.
// Generated by `synthkiln farm flamenco`; the defaults below are this job's values.

const JOB_TYPE = {
    label: "SynthKiln Render",
    description: "Render a SynthKiln dataset in shards",
    settings: %(settings)s,
};

function shardArgs(settings, shard) {
    const args = ["-m", "synthkiln", "render", settings.source];
    if (settings.preset) args.push("--preset", settings.preset);
    args.push("--frames", String(settings.frames), "--out", settings.out);
    if (settings.seed >= 0) args.push("--seed", String(settings.seed));
    if (settings.resolution) args.push("--resolution", settings.resolution);
    if (settings.samples > 0) args.push("--samples", String(settings.samples));
    if (settings.device) args.push("--device", settings.device);
    if (settings.clips >= 0) args.push("--clips", String(settings.clips));
    if (settings.clip_length > 0) args.push("--clip-length", String(settings.clip_length));
    args.push("--shard", `${shard}/${settings.shards}`);
    return args;
}

function compileJob(job) {
    const settings = job.settings;
    if (!(settings.shards >= 1 && settings.shards <= settings.frames)) {
        throw `shards must be 1..${settings.frames}, got ${settings.shards}`;
    }
    if (settings.clips > 0 && settings.shards > settings.clips) {
        throw `shards must be 1..${settings.clips} (whole clips), got ${settings.shards}`;
    }
    for (let shard = 0; shard < settings.shards; shard++) {
        const task = author.Task(`shard-${shard}`, "misc");
        task.addCommand(author.Command("exec", {exe: settings.python, args: shardArgs(settings, shard)}));
        job.addTask(task);
    }
}
"""


def flamenco_settings(job: FarmJob) -> dict[str, Any]:
    return {"python": job.python, "source": job.source, "preset": job.preset or "", "out": job.out,
            "frames": job.frames, "shards": job.shards, "seed": -1 if job.seed is None else job.seed,
            "resolution": job.resolution or "", "samples": job.samples or 0, "device": job.device or "",
            "gpus": job.gpus, "clips": -1 if job.clips is None else job.clips, "clip_length": job.clip_length or 0}


def flamenco_job_type(job: FarmJob) -> str:
    """The job compiler script (JavaScript) whose ``compileJob`` makes one task per shard."""
    job.check()
    kinds = {"python": ("string", "file_path"), "source": ("string", "file_path"), "preset": ("string", "file_path"),
             "out": ("string", "dir_path"), "frames": ("int32", None), "shards": ("int32", None),
             "seed": ("int32", None), "resolution": ("string", None), "samples": ("int32", None),
             "device": ("string", None), "gpus": ("int32", None), "clips": ("int32", None),
             "clip_length": ("int32", None)}
    required = {"python", "source", "out", "frames", "shards"}
    settings = []
    for key, default in flamenco_settings(job).items():
        kind, subtype = kinds[key]
        s: dict[str, Any] = {"key": key, "type": kind, "default": default}
        if subtype:
            s["subtype"] = subtype
        if key in required:
            s["required"] = True
        if key == "gpus":       # Flamenco has no GPU scheduling: run GPU jobs on GPU workers (worker tags)
            s["description"] = "GPUs each task needs: give the job a worker tag of GPU workers"
        settings.append(s)
    body = "[\n" + "".join(f"        {json.dumps(s)},\n" for s in settings) + "    ]"
    return _FLAMENCO_JS % {"settings": body}


def flamenco_submission(job: FarmJob, priority: int = 50) -> dict[str, Any]:
    """Body of ``POST /api/v3/jobs`` on the Flamenco Manager for this job."""
    return {"name": job.name, "type": FLAMENCO_JOB_TYPE, "priority": priority,
            "settings": flamenco_settings(job), "metadata": {"generator": "SynthKiln"},
            "submitter_platform": "linux"}


# -- Kubernetes ---------------------------------------------------------------------------------------

def k8s_job(job: FarmJob, *, image: str, parallelism: int | None = None, claim: str | None = None,
            mount_path: str = "/data", cpu: str | None = None, memory: str | None = None,
            namespace: str | None = None, gpu_resource: str = "nvidia.com/gpu",
            node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    """An Indexed Job: ``completions`` = shards, each pod renders ``--shard JOB_COMPLETION_INDEX/n`` (the
    index Kubernetes sets in every pod). ``backoffLimitPerIndex`` retries a failed shard on its own
    (Kubernetes >= 1.29); ``claim`` mounts a ReadWriteMany PersistentVolumeClaim shared by all pods.
    ``job.gpus`` become a limit of ``gpu_resource`` (the device plugin's name: ``nvidia.com/gpu``,
    ``amd.com/gpu``, ...); ``node_selector`` picks the nodes (e.g. a GPU model label)."""
    job.check()
    for path in (job.source, job.out):
        if not path.startswith("/"):
            raise UserError(f"{path}: Kubernetes pods need absolute paths inside the container "
                            f"(e.g. under --mount-path {mount_path})")
    name = "".join(c if c.isalnum() else "-" for c in job.name.lower()).strip("-")[:52] or "synthkiln"
    container: dict[str, Any] = {
        "name": "render", "image": image, "command": job.command("JOB_COMPLETION_INDEX"),
        "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}],
    }
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if requests:
        container["resources"] = {"requests": requests}
    limits: dict[str, Any] = {"cpu": cpu} if cpu else {}   # the CPU quota `render --workers auto` sizes its pool by
    if job.gpus:        # extended resources are set as limits (the request follows)
        limits[gpu_resource] = job.gpus
    if limits:
        container.setdefault("resources", {})["limits"] = limits
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if node_selector:
        pod["nodeSelector"] = dict(node_selector)
    if claim:
        container["volumeMounts"] = [{"name": "data", "mountPath": mount_path}]
        pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    labels = {"app.kubernetes.io/name": "synthkiln", "app.kubernetes.io/instance": name}
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
        "spec": {
            "completionMode": "Indexed", "completions": job.shards,
            "parallelism": min(parallelism or job.shards, job.shards),
            "backoffLimitPerIndex": job.retries,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100_000, allow_unicode=True)


# -- Dask ---------------------------------------------------------------------------------------------

def dask_resources(job: FarmJob) -> dict[str, int] | None:
    """Worker resources each task needs: a GPU task runs only on workers started with ``--resources GPU=N``
    (a local cluster gets them per worker)."""
    return {"GPU": job.gpus} if job.gpus else None
