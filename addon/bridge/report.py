"""The dataset report from inside Blender, whose Python may lack matplotlib (official builds do): then the
headless runner's ``synthkiln report`` draws it, since the runner's install has matplotlib."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..core.errors import UserError
from ..core.report import build, plots


def build_report(root: Path) -> Path:
    """Build the report of the dataset at ``root``, here or by the runner; returns its index.html."""
    if plots.matplotlib_available():
        return build.build_report(root)
    cli = shutil.which("synthkiln")
    if cli is None:
        raise UserError("The report's plots need matplotlib, which this Blender's Python lacks, and no "
                        f"`synthkiln` command is on PATH: install the headless runner, or run "
                        f"`synthkiln report {root}` where it is installed")
    p = subprocess.run([cli, "report", str(root)], capture_output=True, text=True)
    if p.returncode:
        lines = (p.stderr or p.stdout).strip().splitlines()
        raise UserError(f"synthkiln report failed: {lines[-1] if lines else f'exit status {p.returncode}'}")
    return Path(p.stdout.strip().splitlines()[-1])
