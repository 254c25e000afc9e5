"""What both GUI test files share: the extension zip, built once per test session by Blender's own builder
(both Blenders of the tier install the same file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gui_dist")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_extension.py"), "--output-dir", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (zip_path,) = out.glob("synthkiln-*.zip")
    return zip_path
