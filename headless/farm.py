"""``synthkiln farm ENGINE``: a render job for a farm engine, split into shards (DESIGN §5).

Each subcommand writes the engine's job files into ``--job-dir`` (default ``OUT/jobs/<engine>/``) and,
with ``--submit``, hands them to the engine: ``sbatch`` (Slurm), ``openjd run`` (Open Job Description,
locally), a Dask scheduler or local cluster, a Flamenco Manager, ``kubectl``. Every task is one
``python -m synthkiln render ... --shard K/N`` process, so the engine does the scheduling and retrying and
any shard can be rerun: finished frames are skipped. The job files are built by ``headless/jobfiles.py``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import click

from . import jobfiles as core
from .options import DEVICE_CHOICES, OVERRIDE_FLAGS, Group, overrides, resolution_option
from ..addon.core import VERSION
from ..addon.core.errors import UserError
from ..addon.core.fsio import atomic_write_bytes
from ..addon.core.recipe.preset import load_preset
from ..addon.core.dataset import layout
from ..addon.core.dataset.status import unfinished_shards

JOB_FILE = "synthkiln-job.json"     # what was written and submitted: for status and retry


@click.group()
def farm() -> None:
    """Render on a farm: write an engine's job files for a sharded job, and submit them with --submit."""


def _options(f):
    """The options every engine shares (applied bottom-up, so they list in this order in --help)."""
    opts = [
        click.argument("source", type=click.Path(dir_okay=False)),
        click.option("--preset", help="Preset YAML applied over a .blend SOURCE's own recipe."),
        click.option("--frames", type=click.IntRange(min=1), help="Frames in the job (a clip job: clips × "
                     "clip length, which --frames may leave out)."),
        click.option("--shards", type=click.IntRange(min=1), required=True,
                     help="Tasks the job is split into; each renders on the cores its engine gives it "
                          "(render --workers auto; Dask: one Blender each)."),
        click.option("--out", required=True, help="Dataset folder, shared by all shards."),
        click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Job seed."),
        click.option("--resolution", callback=resolution_option, help="WxH, e.g. 320x240."),
        click.option("--samples", type=click.IntRange(min=1), help="Cycles samples per pixel."),
        click.option("--device", type=click.Choice(DEVICE_CHOICES), help="render.device for every task."),
        click.option("--clips", type=click.IntRange(min=0), help="A clip job of C clips (output.clips); shards "
                     "render whole clips."),
        click.option("--clip-length", type=click.IntRange(min=1), help="Frames per clip (output.clip_length)."),
        click.option("--gpus", type=click.IntRange(min=0), help="GPUs each task asks the engine for [default: 1 "
                     "when render.device is GPU (--device or the preset), else 0]."),
        click.option("--job-dir", type=click.Path(file_okay=False), help="Where the job files go "
                     "[default: OUT/jobs/<engine>]."),
        click.option("--python", "python", help="Python with SynthKiln installed, as the farm's machines "
                     "run it [default: this one]."),
        click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
                     help="Extra attempts of a failed shard."),
        click.option("--name", help="Job name [default: synthkiln-<source name>]."),
        click.option("--submit", is_flag=True, help="Submit the job (otherwise only write its files)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _make_job(source, preset, frames, shards, out, seed, resolution, samples, python, retries, name, device, gpus,
              clips=None, clip_length=None, local: bool = True) -> core.FarmJob:
    """Check what can be checked here, so a mistake fails now and not on the farm an hour later. Local
    engines share this machine's file system: paths become absolute and the preset is validated. A clip
    job (--clips, or a preset that is one) passes its shape to every task and counts its frames from it."""
    device_asked = device
    if local:
        src = Path(source)
        for path in (src, Path(preset) if preset else None):
            if path is not None and not path.is_file():
                raise UserError(f"{path}: file not found")
        if preset and src.suffix.lower() != ".blend":
            raise UserError("--preset goes with a .blend SOURCE; with a preset SOURCE, use `extends:` to layer presets")
        if src.suffix.lower() != ".blend":
            recipe = load_preset(src, overrides(frames, seed, out, resolution, samples, device, clips, clip_length),
                                 OVERRIDE_FLAGS)
            device_asked = recipe.render.device
            if recipe.output.clips > 0:
                clips, clip_length = recipe.output.clips, recipe.output.clip_length
        source, out = str(src.resolve()), str(Path(out).resolve())
        preset = str(Path(preset).resolve()) if preset else None
    if clips and not clip_length:
        raise UserError(f"--clips {clips}: a .blend SOURCE (or a k8s job) needs --clip-length too: the job's "
                        "frames are clips × clip length")
    if clips:       # FarmJob.check refuses a --frames that is not clips × clip length
        frames = clips * clip_length if frames is None else frames
    if frames is None:
        raise UserError("--frames is needed (or --clips and --clip-length for a clip job)")
    job = core.FarmJob(
        source=source, out=out, frames=frames, shards=shards, clips=clips, clip_length=clip_length,
        python=python or (os.path.abspath(sys.executable) if local else "python"), preset=preset, seed=seed,
        resolution=f"{resolution[0]}x{resolution[1]}" if resolution else None, samples=samples,
        name=name or f"synthkiln-{Path(source).stem}", retries=retries, device=device,
        gpus=gpus if gpus is not None else int(device_asked == "GPU"))
    job.check()
    return job


def _job_dir(job_dir, job: core.FarmJob, engine: str) -> Path:
    d = Path(job_dir) if job_dir else Path(job.out) / layout.JOBS / engine
    try:
        (d / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--job-dir {d}: cannot create it: {e.strerror or e}") from None
    return d.resolve()


def _write(d: Path, engine: str, job: core.FarmJob, files: dict[str, str], **extra) -> dict:
    """Write the job's files (atomically: a half-written script is never submitted) and the job record."""
    for name, text in files.items():
        atomic_write_bytes(d / name, text.encode())
        if name.endswith(".sh") or name.endswith(".sbatch"):
            (d / name).chmod(0o755)
        click.echo(d / name)
    record = {"engine": engine, "job": job.to_data(), "job_dir": str(d), "logs": str(d / "logs"),
              "files": sorted(files), "submissions": [], **extra}
    try:        # the same job written again (e.g. to resubmit): keep its history
        old = json.loads((d / JOB_FILE).read_text())
        if (old.get("engine"), old.get("job")) == (engine, record["job"]):
            record["submissions"] = old.get("submissions", [])
    except (OSError, ValueError):
        pass
    _save_record(d, record)
    return record


def _save_record(d: Path, record: dict) -> None:
    atomic_write_bytes(d / JOB_FILE, (json.dumps(record, indent=1) + "\n").encode())


def _submitted(d: Path, record: dict, job_id: str, shards: list[int]) -> None:
    record["submissions"].append({"id": job_id, "shards": shards,
                                  "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})
    _save_record(d, record)


def _run_tool(args: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise UserError(f"{args[0]} not found: {what} needs it on PATH")
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode:
        msg = (p.stderr or p.stdout).strip().splitlines()
        raise UserError(f"{shlex.join(args)} failed (exit {p.returncode}): {msg[-1] if msg else 'no output'}")
    return p


# -- Slurm --------------------------------------------------------------------------------------------

def slurm_max_array_size() -> int | None:
    """This cluster's MaxArraySize (``scontrol show config``), or None where Slurm can't be asked."""
    if shutil.which("scontrol") is None:
        return None
    p = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MaxArraySize" and value.strip().isdigit():
            return int(value.strip())
    return None


def submit_slurm(script: Path) -> str:
    """``sbatch --parsable``: the array job's id."""
    out = _run_tool(["sbatch", "--parsable", str(script)], "--submit").stdout.strip()
    return out.split(";")[0]


@farm.command()
@_options
@click.option("--max-running", type=click.IntRange(min=1), default=core.SLURM_MAX_RUNNING, show_default=True,
              help="Array tasks running at once (the %limit of --array).")
@click.option("--max-array-size", type=click.IntRange(min=1),
              help="The cluster's MaxArraySize [default: asked from scontrol, else Slurm's default 1001].")
@click.option("--partition", help="sbatch --partition.")
@click.option("--time", "time_limit", help="sbatch --time per task, e.g. 2:00:00.")
@click.option("--cpus-per-task", type=click.IntRange(min=1),
              help="sbatch --cpus-per-task: the cores each task renders on (processes x threads, --workers auto).")
@click.option("--mem", help="sbatch --mem per task, e.g. 8G.")
@click.option("--sbatch-arg", "sbatch_args", multiple=True, help="Any other sbatch option, e.g. --gres=gpu:1 "
              "(repeatable).")
def slurm(source, preset, frames, shards, out, seed, resolution, samples, device, gpus, job_dir, python,
          retries, name, submit, clips, clip_length,
          max_running, max_array_size, partition, time_limit, cpus_per_task, mem, sbatch_args):
    """Slurm: an sbatch array script, one array task per shard (SLURM_ARRAY_TASK_ID)."""
    job = _make_job(source, preset, frames, shards, out, seed, resolution, samples, python, retries, name, device,
                    gpus, clips=clips, clip_length=clip_length)
    d = _job_dir(job_dir, job, "slurm")
    limit = max_array_size or slurm_max_array_size() or core.SLURM_MAX_ARRAY_SIZE
    script = core.slurm_script(job, str(d / "logs"), max_running=max_running, max_array_size=limit,
                               partition=partition, time_limit=time_limit, cpus_per_task=cpus_per_task, mem=mem,
                               extra=sbatch_args)
    options = dict(max_running=max_running, partition=partition, time_limit=time_limit, cpus_per_task=cpus_per_task,
                   mem=mem, extra=list(sbatch_args))
    record = _write(d, "slurm", job, {"render.sbatch": script}, options=options)
    if submit:
        job_id = submit_slurm(d / "render.sbatch")
        _submitted(d, record, job_id, list(range(job.shards)))
        click.echo(f"slurm job {job_id}: {job.shards} shards, logs in {d / 'logs'}")


# -- Open Job Description ------------------------------------------------------------------------------

def run_openjd(d: Path, job: core.FarmJob, shards: list[int] | None = None) -> list[list[int]]:
    """Run the template here with ``openjd run``; after a failed run, rerun only the shards still
    unfinished (``--tasks``), up to ``job.retries`` times, as Deadline would retry its failed tasks.
    Returns the shards each run was given; each run's log is ``logs/openjd-<n>.log``."""
    exe = shutil.which("openjd") or str(Path(sys.executable).with_name("openjd"))
    if not Path(exe).exists():
        raise UserError("openjd not found: `pip install openjd-cli` to run Open Job Description templates locally")
    todo = sorted(shards) if shards is not None else list(range(job.shards))
    runs: list[list[int]] = []
    for attempt in range(job.retries + 1):
        args = [exe, "run", str(d / "template.yaml"), "--step", core.OPENJD_STEP, "-p", f"file://{d / 'params.json'}"]
        if todo != list(range(job.shards)):
            args += ["--tasks", core.openjd_tasks(todo)]
        log = d / "logs" / f"openjd-{len(list((d / 'logs').glob('openjd-*.log')))}.log"
        with open(log, "wb") as f:
            rc = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT).returncode
        runs.append(todo)
        todo = [k for k in unfinished_shards(job.out, job.shards, frames=job.frames) if k in todo]
        click.echo(f"openjd run {attempt + 1}: exit {rc}, {len(runs[-1]) - len(todo)}/{len(runs[-1])} shards done "
                   f"(log {log})", err=True)
        if not todo:
            return runs
    raise UserError(f"shards {core.index_ranges(todo)} still unfinished after {job.retries + 1} runs; "
                    f"see {d / 'logs'}")


@farm.command()
@_options
def openjd(source, preset, frames, shards, out, seed, resolution, samples, device, gpus, job_dir, python,
           retries, name, submit, clips, clip_length):
    """Open Job Description (AWS Deadline Cloud): a job bundle, one task per shard; --submit runs it here
    with `openjd run`."""
    job = _make_job(source, preset, frames, shards, out, seed, resolution, samples, python, retries, name, device,
                    gpus, clips=clips, clip_length=clip_length)
    d = _job_dir(job_dir, job, "openjd")
    params = core.openjd_parameters(job)
    bundle_values = {"parameterValues": [{"name": k, "value": v} for k, v in params.items()]}
    record = _write(d, "openjd", job, {"template.yaml": core.to_yaml(core.openjd_template(job)),
                                       "params.json": json.dumps(params, indent=1) + "\n",
                                       "parameter_values.yaml": core.to_yaml(bundle_values)})
    if submit:
        runs = run_openjd(d, job)
        _submitted(d, record, f"openjd-local-{uuid.uuid4().hex[:8]}", list(range(job.shards)))
        click.echo(f"openjd job {record['submissions'][-1]['id']}: {job.shards} shards done in {len(runs)} "
                   f"run{'s' if len(runs) > 1 else ''}")


# -- Dask ---------------------------------------------------------------------------------------------

def run_shard(command: list[str], log: str, shard: int) -> dict:
    """One shard as one Blender process (a subprocess: Blender's state never lives in the Dask worker,
    and a crash takes down only this attempt). A non-zero exit raises, so Dask retries the task."""
    t0 = time.perf_counter()
    with open(log, "ab") as f:
        f.write(f"synthkiln: shard {shard}, attempt started at "
                f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}\n".encode())
        f.flush()
        rc = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
        f.write(f"synthkiln: shard {shard} exit status {rc}\n".encode())
    if rc:
        tail = Path(log).read_text(errors="replace").splitlines()[-5:]
        raise RuntimeError(f"shard {shard} failed with exit status {rc}; last lines of {log}:\n" + "\n".join(tail))
    return {"shard": shard, "seconds": round(time.perf_counter() - t0, 2)}


def _no_compute_failed(record: logging.LogRecord) -> bool:
    """A local worker logs each failed attempt with its traceback; the failure is reported once, by us."""
    return not str(record.msg).startswith("Compute Failed")


def _no_closed_comm(record: logging.LogRecord) -> bool:
    """At shutdown an in-process cluster may log "Batched Comm Closed" at INFO with a traceback (a stream
    still sending while the client closes): shutdown chatter, not a failure, and no traceback for users."""
    return not str(record.msg).startswith("Batched Comm Closed")


def run_dask(d: Path, job: core.FarmJob, scheduler: str | None = None, workers: int | None = None,
             shards: list[int] | None = None) -> str:
    """Submit one task per shard (``retries`` = job.retries) to a Dask scheduler, or to a local cluster of
    single-thread workers (one Blender each), and wait for them. Returns the tasks' key prefix."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("Dask is not installed: pip install 'dask[distributed]'") from None
    todo = sorted(shards) if shards is not None else list(range(job.shards))
    fn = importlib.import_module("synthkiln.headless.farm").run_shard    # by its module name, even under `-m synthkiln.headless.farm`
    prefix = f"{job.name}-{uuid.uuid4().hex[:8]}"
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=workers or min(len(todo), os.cpu_count() or 1), threads_per_worker=1,
                                   processes=False, dashboard_address=None, resources=core.dask_resources(job))
            client = Client(cluster)
    except OSError as e:
        raise UserError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
    failed: dict[int, str] = {}
    worker_log, batched_log = logging.getLogger("distributed.worker"), logging.getLogger("distributed.batched")
    worker_log.addFilter(_no_compute_failed)
    batched_log.addFilter(_no_closed_comm)
    try:
        # a Dask worker slot runs one Blender (--nthreads 1), not a pool sized for the whole node
        futures = {client.submit(fn, [*job.command(k), "--workers", "1"], str(d / "logs" / f"shard-{k}.log"), k,
                                 key=f"{prefix}-shard-{k}",
                                 retries=job.retries, pure=False, resources=core.dask_resources(job)): k for k in todo}
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                result = fut.result()
                click.echo(f"shard {k} done in {result['seconds']:.1f}s", err=True)
            except Exception as e:      # the task's own failure after its retries
                failed[k] = str(e)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        worker_log.removeFilter(_no_compute_failed)
        batched_log.removeFilter(_no_closed_comm)
    if failed:
        first = failed[min(failed)]
        raise UserError(f"shards {core.index_ranges(failed)} failed after {job.retries + 1} attempts; {first}")
    return prefix


_DASK_RUNNER = '''\
"""Runs this SynthKiln job on Dask: python run_dask.py [SCHEDULER_ADDRESS] (none: a local cluster).
Written by `synthkiln farm dask`."""
import json
import sys
from pathlib import Path

from synthkiln.headless.jobfiles import FarmJob
from synthkiln.headless.farm import JOB_FILE, run_dask

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    job = FarmJob.from_data(json.loads((here / JOB_FILE).read_text())["job"])
    print(run_dask(here, job, sys.argv[1] if len(sys.argv) > 1 else None))
'''


@farm.command()
@_options
@click.option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (start its workers with "
              "--nthreads 1: one Blender each) [default: a local cluster].")
@click.option("--workers", type=click.IntRange(min=1), help="Local cluster workers [default: min(shards, CPUs)].")
def dask(source, preset, frames, shards, out, seed, resolution, samples, device, gpus, job_dir, python,
         retries, name, submit, clips, clip_length,
         scheduler, workers):
    """Dask: one task per shard on a scheduler or a local cluster, retried by Dask; --submit waits for it."""
    job = _make_job(source, preset, frames, shards, out, seed, resolution, samples, python, retries, name, device,
                    gpus, clips=clips, clip_length=clip_length)
    d = _job_dir(job_dir, job, "dask")
    record = _write(d, "dask", job, {"run_dask.py": _DASK_RUNNER}, options=dict(scheduler=scheduler, workers=workers))
    if submit:
        t0 = time.perf_counter()
        prefix = run_dask(d, job, scheduler, workers)
        _submitted(d, record, prefix, list(range(job.shards)))
        click.echo(f"dask job {prefix}: {job.shards} shards done in {time.perf_counter() - t0:.1f}s")


# -- resubmitting ----------------------------------------------------------------------------------

def resubmit(job_dir: str | Path, shards: list[int] | None = None) -> tuple[str, list[int]]:
    """Submit again, to the job's own engine and with its options, only ``shards`` (default: the ones with
    frames still missing). Returns (the engine's job id, the shards); ("", []) when nothing is left.
    Slurm and Dask return once submitted/finished; openjd runs here. Kubernetes and Flamenco retry
    failed tasks themselves, so they are refused."""
    d = Path(job_dir).resolve()
    try:
        record = json.loads((d / JOB_FILE).read_text())
        job = core.FarmJob.from_data(record["job"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{d}: not a job folder written by `synthkiln farm` ({JOB_FILE}: {e})") from None
    engine, options = record["engine"], record.get("options") or {}
    todo = sorted(shards) if shards is not None else unfinished_shards(job.out, job.shards, frames=job.frames)
    if not todo:
        return "", []
    if engine == "slurm":
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        script = d / f"retry-{stamp}.sbatch"
        limit = slurm_max_array_size() or core.SLURM_MAX_ARRAY_SIZE
        atomic_write_bytes(script, core.slurm_script(job, str(d / "logs"), indices=todo, max_array_size=limit,
                                                     **options).encode())
        job_id = submit_slurm(script)
    elif engine == "openjd":
        run_openjd(d, job, todo)
        job_id = f"openjd-local-{uuid.uuid4().hex[:8]}"
    elif engine == "dask":
        job_id = run_dask(d, job, options.get("scheduler"), options.get("workers"), todo)
    else:
        raise UserError(f"{engine} retries failed tasks itself; to rerun the job, submit it again there "
                        "(finished frames are skipped)")
    _submitted(d, record, job_id, todo)
    return job_id, todo


@farm.command()
@click.argument("job_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--shards", help="Comma-separated shard indices to resubmit (default: every unfinished one).")
def retry(job_dir: Path, shards: str | None):
    """Resubmit only the unfinished shards of a job that `synthkiln farm ENGINE` wrote into JOB_DIR."""
    try:
        wanted = sorted({int(k) for k in shards.split(",") if k.strip()}) if shards else None
    except ValueError:
        raise UserError(f"--shards {shards!r}: expected shard indices like 0,3,7") from None
    job_id, todo = resubmit(job_dir, wanted)
    click.echo(f"{job_id}: resubmitted shards {', '.join(map(str, todo))}" if todo else "nothing to retry: every frame is done")


# -- Flamenco -----------------------------------------------------------------------------------------

def submit_flamenco(manager: str, body: dict) -> str:
    """``POST /api/v3/jobs`` on the Manager (the job type must be installed there): the new job's id."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(manager.rstrip("/") + "/api/v3/jobs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return str(json.loads(r.read()).get("id", "?"))
    except urllib.error.HTTPError as e:
        raise UserError(f"Flamenco Manager {manager} refused the job: {e.code} {e.read().decode(errors='replace')[:300]}") from None
    except (urllib.error.URLError, OSError) as e:
        raise UserError(f"cannot reach the Flamenco Manager {manager}: {getattr(e, 'reason', e)}") from None


@farm.command()
@_options
@click.option("--manager", help="Flamenco Manager URL for --submit, e.g. http://manager:8080.")
@click.option("--priority", type=click.IntRange(0, 100), default=50, show_default=True)
def flamenco(source, preset, frames, shards, out, seed, resolution, samples, device, gpus, job_dir, python,
             retries, name, submit, clips, clip_length,
             manager, priority):
    """Flamenco 3: a job type script (scripts/synthkiln_render.js on the Manager) and this job's
    submission; --submit posts it to --manager."""
    if submit and not manager:
        raise UserError("--submit needs --manager URL (the Flamenco Manager)")
    job = _make_job(source, preset, frames, shards, out, seed, resolution, samples, python, retries, name, device,
                    gpus, clips=clips, clip_length=clip_length)
    d = _job_dir(job_dir, job, "flamenco")
    body = core.flamenco_submission(job, priority)
    record = _write(d, "flamenco", job, {"synthkiln_render.js": core.flamenco_job_type(job),
                                         "submit.json": json.dumps(body, indent=1) + "\n"})
    if submit:
        job_id = submit_flamenco(manager, body)
        _submitted(d, record, job_id, list(range(job.shards)))
        click.echo(f"flamenco job {job_id}: {job.shards} tasks")


# -- Kubernetes ---------------------------------------------------------------------------------------

def _labels(pairs) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--node-selector {pair!r}: expected KEY=VALUE, e.g. nvidia.com/gpu.present=true")
        out[key.strip()] = value.strip()
    return out


@farm.command()
@_options
@click.option("--image", default=f"synthkiln:{VERSION}", show_default=True, help="Container image with SynthKiln.")
@click.option("--parallelism", type=click.IntRange(min=1), help="Pods at once [default: all shards].")
@click.option("--claim", help="PersistentVolumeClaim (ReadWriteMany) mounted at --mount-path in every pod.")
@click.option("--mount-path", default="/data", show_default=True)
@click.option("--cpu", help="CPU request and limit per pod, e.g. 4: the cores each pod renders on (--workers auto).")
@click.option("--memory", help="Memory request per pod, e.g. 8Gi.")
@click.option("--namespace")
@click.option("--gpu-resource", default="nvidia.com/gpu", show_default=True,
              help="The GPU device plugin's resource name (amd.com/gpu, gpu.intel.com/i915, ...).")
@click.option("--node-selector", "node_selector", multiple=True, metavar="KEY=VALUE",
              help="Run only on nodes with this label, e.g. nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3 "
                   "(repeatable).")
def k8s(source, preset, frames, shards, out, seed, resolution, samples, device, gpus, job_dir, python,
        retries, name, submit, clips, clip_length,
        image, parallelism, claim, mount_path, cpu, memory, namespace, gpu_resource, node_selector):
    """Kubernetes: an Indexed Job, one pod per shard (JOB_COMPLETION_INDEX); paths are container paths.
    --submit runs `kubectl create -f`."""
    job = _make_job(source, preset, frames, shards, out, seed, resolution, samples, python, retries, name, device,
                    gpus, clips=clips, clip_length=clip_length, local=False)
    d = _job_dir(job_dir or Path("jobs") / "k8s", job, "k8s")
    manifest = core.k8s_job(job, image=image, parallelism=parallelism, claim=claim, mount_path=mount_path,
                            cpu=cpu, memory=memory, namespace=namespace, gpu_resource=gpu_resource,
                            node_selector=_labels(node_selector))
    record = _write(d, "k8s", job, {"job.yaml": core.to_yaml(manifest)})
    if submit:
        created = _run_tool(["kubectl", "create", "-f", str(d / "job.yaml"), "-o", "name"], "--submit").stdout.strip()
        _submitted(d, record, created, list(range(job.shards)))
        click.echo(f"k8s job {created}: {job.shards} indexed pods")


if __name__ == "__main__":      # `python -m synthkiln.headless.farm ...`: the same as `synthkiln farm ...`
    Group(commands={"farm": farm})(["farm", *sys.argv[1:]], prog_name="synthkiln")
