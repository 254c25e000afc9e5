"""Shared by the farm tests (through the ``kit`` fixture: pytest's importlib mode can't import a conftest):
the tiny job, the ``synthkiln farm`` command line, a python that fails once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.tiny import TINY_PRESET

ROOT = Path(__file__).resolve().parents[2]
SHARD_ENV = ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")


# Stands in for python in a farm job: the first attempt of shard 1 fails (as on a lost node); every
# other call is the real interpreter. The shard may be an index or an engine's variable (K/N).
FAIL_ONCE = """\
#!/bin/sh
shard=; prev=
for a in "$@"; do [ "$prev" = --shard ] && shard=$a; prev=$a; done
k=${{shard%%/*}}
case $k in ''|*[!0-9]*) eval "k=\\${{$k:-}}";; esac
if [ "$k" = 1 ] && mkdir "{mark}" 2>/dev/null; then echo "planned failure: first attempt of shard 1" >&2; exit 3; fi
exec "{python}" "$@"
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "farm: runs jobs on real farm engines (local Slurm, openjd, Dask)")


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in SHARD_ENV}
    e.update(extra)
    return e


def farm_cmd() -> list[str]:
    """``synthkiln farm`` through the main CLI once it is registered there, else the group's own module."""
    from synthkiln.headless.cli import main
    return [sys.executable, "-m", "synthkiln", "farm"] if "farm" in main.commands else \
        [sys.executable, "-m", "synthkiln.headless.farm"]


def run_farm(*args, cwd: Path, env_: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    p = subprocess.run([*farm_cmd(), *map(str, args)], cwd=cwd, env=env_ or env(), capture_output=True, text=True,
                       timeout=timeout)
    assert "Traceback" not in p.stdout + p.stderr, f"traceback from farm {args}:\n{p.stdout}\n{p.stderr}"
    return p


def fail_once_python(folder: Path, name: str = "python-fail-once") -> tuple[Path, Path]:
    """(wrapper, marker): the wrapper's first run of shard 1 exits 3 and leaves the marker."""
    wrapper, mark = folder / name, folder / f"{name}.failed"
    wrapper.write_text(FAIL_ONCE.format(mark=mark, python=os.path.abspath(sys.executable)))
    wrapper.chmod(0o755)
    return wrapper, mark


@pytest.fixture(scope="session")
def kit():
    return SimpleNamespace(ROOT=ROOT, TINY_PRESET=TINY_PRESET, env=env, run_farm=run_farm,
                           fail_once_python=fail_once_python)


@pytest.fixture
def tiny_preset(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_PRESET)
    return path
