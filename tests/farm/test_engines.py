"""Real farm engines render a tiny job (4 frames of the tabletop at 64x48, 1 sample) in 2 shards through
``synthkiln farm ENGINE --submit``: a local Slurm (daemons started by tests/farm/setup_slurm.sh), the Open
Job Description CLI (``openjd run``) and Dask (a local cluster, and a scheduler reached by address). In
each, the first attempt of shard 1 fails (a stand-in python exits 3) and the engine retries it; the
dataset the shards write together is byte-identical to a single-process run of the same recipe and seed.

Engines that can't run here skip with the reason (no root or apt for Slurm, openjd-cli or Dask not
installed: ``pip install -e '.[test]'``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = [pytest.mark.farm, pytest.mark.bpy, pytest.mark.render]

SETUP_SLURM = Path(__file__).with_name("setup_slurm.sh")
FRAMES, SHARDS = 4, 2


@pytest.fixture(scope="module")
def work(tmp_path_factory, kit):
    """The job's preset and the single-process reference run (started at once, in the background)."""
    root = tmp_path_factory.mktemp("farm")
    preset = root / "tiny.yaml"
    preset.write_text(kit.TINY_PRESET)

    def reference() -> Path:
        out = root / "reference"
        p = subprocess.run([sys.executable, "-m", "synthkiln", "render", preset, "--frames", str(FRAMES), "--out", out],
                           cwd=root, env=kit.env(), capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return out

    with ThreadPoolExecutor(1) as pool:
        ref = pool.submit(reference)
        yield SimpleNamespace(root=root, preset=preset, reference=ref)


def dataset_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for sub in ("frames", "masks") for p in sorted((root / sub).iterdir())}


def coco_without_date(root: Path) -> dict:
    coco = json.loads((root / "exports" / "coco" / "annotations.json").read_text())
    coco["info"].pop("date_created", None)      # the job's creation time: the one thing that may differ
    return coco


def assert_same_as_one_process(out: Path, work, kit, frames: int = FRAMES) -> None:
    """The shards' joint dataset, exported, equals the single-process run: records and masks byte for
    byte, and the COCO export; no temp files left."""
    ref = work.reference.result()
    got, want = dataset_files(out), dataset_files(ref)
    wanted = {f"{d}/{i:06d}.{e}" for i in range(frames) for d, e in (("frames", "json"), ("masks", "png"))}
    assert set(got) == wanted
    for name in sorted(wanted):
        assert got[name] == want[name], f"{out / name} differs from the single-process run"
    assert not list(out.rglob("*.sk-tmp"))
    if frames == FRAMES:
        p = subprocess.run([sys.executable, "-m", "synthkiln", "export", out, "--format", "coco", "--previews", "0"],
                           env=kit.env(), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert coco_without_date(out) == coco_without_date(ref)


def submitted(out: Path, engine: str) -> dict:
    """The job record, holding the one submission of every shard."""
    record = json.loads((out / "jobs" / engine / "synthkiln-job.json").read_text())
    assert len(record["submissions"]) == 1 and record["submissions"][0]["shards"] == list(range(SHARDS))
    return record


# -- Slurm --------------------------------------------------------------------------------------------

def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def slurm(tmp_path_factory, kit):
    """A one-node Slurm for this module (own ports and state folder), stopped by its pid files after."""
    state = tmp_path_factory.mktemp("slurm")
    ctl, d = _free_ports(2)
    p = subprocess.run(["bash", str(SETUP_SLURM), "start", str(state)], capture_output=True, text=True, timeout=600,
                       env=kit.env(SK_SLURMCTLD_PORT=str(ctl), SK_SLURMD_PORT=str(d)))
    if p.returncode == 77:
        pytest.skip(f"no Slurm here: {p.stderr.strip()}")
    assert p.returncode == 0, p.stdout + p.stderr
    conf = p.stdout.strip().splitlines()[-1]
    yield kit.env(SLURM_CONF=conf)
    subprocess.run(["bash", str(SETUP_SLURM), "stop", str(state)], capture_output=True, timeout=60)


def _wait_for_slurm_job(job_id: str, env: dict, timeout: float = 180) -> list[str]:
    """Poll until no task of the array is pending or running; the tasks' final states."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = subprocess.run(["squeue", "-h", "-j", job_id], env=env, capture_output=True, text=True)
        if q.returncode == 0 and not q.stdout.strip():
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"slurm job {job_id} still running after {timeout}s")
    show = subprocess.run(["scontrol", "-o", "show", "job", job_id], env=env, capture_output=True, text=True)
    return re.findall(r"JobState=(\S+)", show.stdout)


def test_slurm_array_renders_and_retries_a_failed_shard(work, kit, slurm):
    wrapper, mark = kit.fail_once_python(work.root, "python-slurm")
    out = work.root / "slurm"
    p = kit.run_farm("slurm", work.preset, "--frames", FRAMES, "--shards", SHARDS, "--out", out, "--python", wrapper,
                     "--retries", 1, "--submit", cwd=work.root, env_=slurm)
    assert p.returncode == 0, p.stderr
    job_id = re.search(r"^slurm job (\d+): 2 shards", p.stdout, re.M).group(1)
    assert _wait_for_slurm_job(job_id, slurm) == ["COMPLETED"] * SHARDS
    assert submitted(out, "slurm")["submissions"][0]["id"] == job_id
    # one log per array task; shard 1 failed its first attempt and the task retried it in place
    logs = out / "jobs" / "slurm" / "logs"
    assert sorted(f.name for f in logs.iterdir()) == [f"shard-{k}-{job_id}.log" for k in range(SHARDS)]
    log0, log1 = ((logs / f"shard-{k}-{job_id}.log").read_text() for k in range(SHARDS))
    assert mark.exists()
    assert "shard 1/2 attempt 1/2 failed with exit status 3" in log1 and "shard 1/2, attempt 2/2" in log1
    assert "failed" not in log0 and "frames 2/2" in log0 and "frames 2/2" in log1
    assert_same_as_one_process(out, work, kit)


def test_slurm_resubmits_only_unfinished_shards(work, kit, slurm, monkeypatch):
    """A frame of shard 1 lost after the job: resubmitting sends an array of that shard alone, which
    renders the missing frame again, byte for byte."""
    from synthkiln.headless.farm import resubmit

    out = work.root / "slurm"
    if not (out / "jobs" / "slurm" / "synthkiln-job.json").exists():
        pytest.skip("needs the Slurm job of test_slurm_array_renders_and_retries_a_failed_shard")
    monkeypatch.setenv("SLURM_CONF", slurm["SLURM_CONF"])
    assert resubmit(out / "jobs" / "slurm") == ("", [])          # everything done: nothing sent
    (out / "frames" / "000003.json").unlink()
    p = subprocess.run([sys.executable, "-m", "synthkiln", "farm", "retry", str(out / "jobs" / "slurm")],
                       capture_output=True, text=True, env={**os.environ, "SLURM_CONF": slurm["SLURM_CONF"]})
    assert p.returncode == 0 and "resubmitted shards 1" in p.stdout, p.stdout + p.stderr   # `synthkiln farm retry`
    job_id = p.stdout.split(":")[0].strip()
    (retry,) = (out / "jobs" / "slurm").glob("retry-*.sbatch")
    assert "#SBATCH --array=1\n" in retry.read_text()
    assert _wait_for_slurm_job(job_id, slurm) == ["COMPLETED"]
    log = (out / "jobs" / "slurm" / "logs" / f"shard-1-{job_id}.log").read_text()
    assert "(frame 3," in log and "1 frames rendered, 1 already done" in log
    assert not (out / "jobs" / "slurm" / "logs" / f"shard-0-{job_id}.log").exists()
    assert [s["shards"] for s in json.loads((out / "jobs" / "slurm" / "synthkiln-job.json").read_text())
            ["submissions"]] == [[0, 1], [1]]
    assert_same_as_one_process(out, work, kit)


# -- Open Job Description -----------------------------------------------------------------------------

def test_openjd_run_renders_and_reruns_the_failed_task(work, kit):
    if shutil.which("openjd") is None and not Path(sys.executable).with_name("openjd").exists():
        pytest.skip("openjd-cli is not installed (pip install -e '.[test]')")
    wrapper, mark = kit.fail_once_python(work.root, "python-openjd")
    out = work.root / "openjd"
    p = kit.run_farm("openjd", work.preset, "--frames", FRAMES, "--shards", SHARDS, "--out", out, "--python", wrapper,
                     "--retries", 1, "--submit", cwd=work.root)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^openjd job \S+: 2 shards done in 2 runs$", p.stdout, re.M), p.stdout
    submitted(out, "openjd")
    logs = out / "jobs" / "openjd" / "logs"
    first, second = (logs / "openjd-0.log").read_text(), (logs / "openjd-1.log").read_text()
    assert mark.exists()
    # the first session ran both tasks and failed on shard 1; the rerun ran shard 1 alone
    assert "Shard(INT) = 0" in first and "Shard(INT) = 1" in first and "exited with code: 3" in first
    assert "Shard(INT) = 1" in second and "Shard(INT) = 0" not in second
    assert "Session ended successfully" in second
    assert_same_as_one_process(out, work, kit)


def test_openjd_renders_a_clip_job_in_whole_clips(work, kit):
    """`farm openjd --clips 2 --clip-length 2` (no --frames): the tasks render the clip job, 2 × 2 frames whose
    records say their clip and frame."""
    if shutil.which("openjd") is None and not Path(sys.executable).with_name("openjd").exists():
        pytest.skip("openjd-cli is not installed (pip install -e '.[test]')")
    out = work.root / "openjd-clips"
    p = kit.run_farm("openjd", work.preset, "--clips", 2, "--clip-length", 2, "--shards", SHARDS, "--out", out,
                     "--submit", cwd=work.root)
    assert p.returncode == 0, p.stderr
    assert submitted(out, "openjd")["job"]["clips"] == 2
    records = [json.loads((out / "frames" / f"{i:06d}.json").read_text()) for i in range(4)]
    assert [r["clip"] for r in records] == [{"index": i // 2, "frame": i % 2, "length": 2} for i in range(4)]
    assert json.loads((out / "synthkiln.json").read_text())["frames"] == 4


# -- Dask ---------------------------------------------------------------------------------------------

def _dask():
    return pytest.importorskip("dask.distributed",
                               reason="Dask is not installed (pip install -e '.[test]')")


def test_dask_local_cluster_renders_and_retries_a_failed_shard(work, kit):
    _dask()
    wrapper, mark = kit.fail_once_python(work.root, "python-dask")
    out = work.root / "dask"
    p = kit.run_farm("dask", work.preset, "--frames", FRAMES, "--shards", SHARDS, "--out", out, "--python", wrapper,
                     "--retries", 1, "--workers", 2, "--submit", cwd=work.root)
    assert p.returncode == 0, p.stderr
    prefix = re.search(r"^dask job (\S+): 2 shards done", p.stdout, re.M).group(1)
    assert submitted(out, "dask")["submissions"][0]["id"] == prefix
    logs = out / "jobs" / "dask" / "logs"
    log0, log1 = (logs / "shard-0.log").read_text(), (logs / "shard-1.log").read_text()
    assert mark.exists()
    assert log0.count("attempt started") == 1 and log1.count("attempt started") == 2   # Dask retried shard 1
    assert "shard 1 exit status 3" in log1 and log1.rstrip().endswith("shard 1 exit status 0")
    assert_same_as_one_process(out, work, kit)


def test_dask_scheduler_address_and_failure_report(work, kit):
    """Tasks sent to a running scheduler (here one in this process, with two single-thread workers):
    without retries the failed shard is reported, one message and exit 1; submitting again finishes it."""
    dd = _dask()
    wrapper, mark = kit.fail_once_python(work.root, "python-dask-sched")
    out = work.root / "dask-sched"
    with dd.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                         protocol="tcp://", host="127.0.0.1", scheduler_port=0) as cluster:
        args = ["dask", work.preset, "--frames", 2, "--shards", 2, "--out", out, "--python", wrapper, "--retries", 0,
                "--scheduler", cluster.scheduler_address, "--submit"]
        p = kit.run_farm(*args, cwd=work.root)
        assert p.returncode == 1 and mark.exists()
        assert "Error: shards 1 failed after 1 attempts; shard 1 failed with exit status 3" in p.stderr, p.stderr
        assert "planned failure: first attempt of shard 1" in p.stderr
        assert sorted(int(f.stem) for f in (out / "frames").glob("*.json")) == [0]
        p = kit.run_farm(*args, cwd=work.root)
        assert p.returncode == 0, p.stderr
    assert (out / "jobs" / "dask" / "logs" / "shard-0.log").read_text().count("attempt started") == 2
    assert_same_as_one_process(out, work, kit, frames=2)
