"""The ``synthkiln`` CLI as a user or a farm job meets it: a real subprocess (``python -m synthkiln``), never
a traceback, one clear message on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Render settings that keep a CLI render tiny: 64x48, 1 sample.
TINY = ["--resolution", "64x48", "--samples", "1"]
# Shard variables of farm engines: a test that inherits one from its own environment would render a shard.
SHARD_ENV = ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "SK_SHARD")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without shard variables, plus ``extra``."""
    e = {k: v for k, v in os.environ.items() if k not in SHARD_ENV}
    e.update(extra)
    return e


def sk(*args, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI; whatever happens, no traceback may reach the user."""
    p = subprocess.run([sys.executable, "-m", "synthkiln", *map(str, args)], cwd=cwd, env=env or clean_env(),
                       capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stdout + p.stderr, f"traceback from synthkiln {args}:\n{p.stdout}\n{p.stderr}"
    return p


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def one_error(p: subprocess.CompletedProcess, *fragments: str) -> str:
    """Non-zero exit and exactly one message on stderr, holding every fragment."""
    assert p.returncode not in (0, None), f"expected a failure\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one message on stderr, got:\n{p.stderr}"
    for f in fragments:
        assert f in lines[0], f"{f!r} not in the message: {lines[0]}"
    return lines[0]
