"""What a writer killed with SIGKILL leaves (a staging folder of an export, a heartbeat's temp file, a
render's scratch folder) is removed by the next run at once, not after hours; a live writer's is kept.
The leftovers are made by real processes that are then killed, so their names are the real ones."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from synthkiln.addon.core import fsio

from tests.helpers.cli import clean_env, ok, sk
from tests.helpers.known_dataset import make_dataset

LEAVE = """
import os, signal, sys
from pathlib import Path
from synthkiln.addon.core import fsio
root = Path(sys.argv[1])
stage = fsio.staging_dir(root / "exports" / "coco")      # an export half-built
stage.mkdir(parents=True)
(stage / "annotations.json").write_text("{half")
hb = fsio.temp_path(root / "shards" / "0-of-1.json")       # a heartbeat half-written
hb.parent.mkdir(exist_ok=True)
hb.write_text("{half")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writers_leftovers_go_with_the_next_export(tmp_path):
    root = tmp_path / "ds"
    make_dataset(root)
    p = subprocess.run([sys.executable, "-c", LEAVE, str(root)], env=clean_env())
    assert p.returncode == -signal.SIGKILL
    left = [p.name for p in (root / "exports").iterdir()] + [p.name for p in (root / "shards").iterdir()]
    assert any(fsio.STAGING in n for n in left) and any(n.endswith(fsio.TEMP_MARK) for n in left)
    ok(sk("export", root, "--format", "coco", "--previews", "0", cwd=tmp_path))
    assert [p.name for p in (root / "exports").iterdir()] == ["coco"]
    assert fsio.clean_temp_files(root) == 1          # the heartbeat's: a render's resume removes it like this
    assert not list(root.rglob(f"*{fsio.TEMP_MARK}"))


def test_a_live_writers_staging_is_kept(tmp_path):
    root = tmp_path / "ds"
    make_dataset(root)
    live = root / "exports" / f".coco{fsio.STAGING}{os.getppid()}-{fsio.HOST}"
    live.mkdir(parents=True)
    ok(sk("export", root, "--format", "yolo", "--previews", "0", cwd=tmp_path))
    assert live.is_dir()
