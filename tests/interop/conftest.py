"""The interop tier: every export, loaded unchanged by the readers people use (pycocotools, Datumaro,
supervision, OpenCV as Ultralytics calls it; torchvision and Ultralytics where installed).

It runs in its own virtual environment (``make test-interop`` makes ``.venv-interop`` from the ``interop``
extra in pyproject.toml): those readers want numpy 2, the ``bpy`` wheel numpy 1.26. So nothing here imports
SynthKiln: the datasets are rendered by the real CLI of the main environment (``SYNTHKILN_PYTHON``, default
``.venv/bin/python``) and compared with their own frame records and masks."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = "coco,yolo,yolo-seg,voc,kitti"
# (preset, frames): the tabletop's household objects and the street's vans, cones and bollards in fog and rain
JOBS = {"tabletop": 10, "street": 8}


def synthkiln(*args: str, cwd: Path) -> str:
    python = os.environ.get("SYNTHKILN_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        pytest.skip(f"no SynthKiln environment at {python} to render the datasets (run make venv)")
    env = {k: v for k, v in os.environ.items() if k not in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "SK_SHARD")}
    p = subprocess.run([python, "-m", "synthkiln", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0 and "Traceback" not in p.stderr, f"synthkiln {args}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


@dataclass
class Rendered:
    """A rendered dataset: its folder, frame records and instance masks."""
    root: Path
    records: dict[int, dict]

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    def mask(self, frame: int) -> np.ndarray:
        return np.asarray(Image.open(self.root / "masks" / f"{frame:06d}.png"))

    def visible(self, frame: int) -> list[dict]:
        return [o for o in self.records[frame]["objects"] if (o.get("area") or 0) > 0]

    def subset_of(self, frame: int) -> str:
        stem = f"{frame:06d}"
        for subset in ("train", "val"):
            if stem in (self.exports / "voc" / "ImageSets" / "Main" / f"{subset}.txt").read_text().split():
                return subset
        raise AssertionError(f"frame {frame} is in no subset")


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> dict[str, Rendered]:
    out = {}
    base = tmp_path_factory.mktemp("interop")
    for preset, frames in JOBS.items():
        root = base / preset
        synthkiln("render", str(ROOT / "presets" / f"{preset}.yaml"), "--frames", str(frames), "--out", str(root),
                  "--resolution", "160x120", "--samples", "2", cwd=base)
        synthkiln("export", str(root), "--format", EXPORTS, "--previews", "0", cwd=base)
        records = {int(p.stem): json.loads(p.read_text()) for p in sorted((root / "frames").glob("*.json"))}
        out[preset] = Rendered(root, records)
    return out


@pytest.fixture(scope="session")
def tabletop(datasets) -> Rendered:
    return datasets["tabletop"]
