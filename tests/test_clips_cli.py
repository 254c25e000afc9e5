"""A clip job from the command line (issue 19): ``--clips``/``--clip-length`` on a preset, through the worker
pool (2 workers, recycled every 3 frames: chunks of whole clips), equal to one in-process run."""

import json

from tests.helpers.cli import TINY, ok, one_error, sk
from tests.tiny import TINY_PRESET

MOVING = TINY_PRESET + """\
  objects:
    - {type: object_motion, name: drift, select: {collection: Targets}, speed: 0.02}
"""


def records(root):
    return {int(p.stem): p.read_bytes() for p in sorted((root / "frames").glob("*.json"))}


def test_clip_job_from_the_cli_and_the_pool(tmp_path):
    (tmp_path / "moving.yaml").write_text(MOVING)
    one = ok(sk("render", "moving.yaml", *TINY, "--clips", 2, "--clip-length", 3, "--out", "one", "--workers", 1,
                cwd=tmp_path))
    assert "6 frames rendered" in one.stdout + one.stderr
    recs = records(tmp_path / "one")
    assert sorted(recs) == list(range(6))
    clip = [json.loads(recs[i])["clip"] for i in range(6)]
    assert clip == [{"index": i // 3, "frame": i % 3, "length": 3} for i in range(6)]
    manifest = json.loads((tmp_path / "one/synthkiln.json").read_text())
    assert manifest["frames"] == 6 and manifest["recipe"]["output"]["clips"] == 2
    ok(sk("render", "moving.yaml", *TINY, "--clips", 2, "--clip-length", 3, "--out", "pool", "--workers", 2,
          "--recycle", 3, cwd=tmp_path))
    assert records(tmp_path / "pool") == recs
    bad = sk("render", "moving.yaml", *TINY, "--clips", 2, "--clip-length", 0, "--out", "bad", cwd=tmp_path)
    assert bad.returncode != 0 and "--clip-length" in bad.stderr and not (tmp_path / "bad").exists()
    (tmp_path / "huge.yaml").write_text(MOVING + "output: {clips: 1000000, clip_length: 100000}\n")
    one_error(sk("render", "huge.yaml", "--out", "huge", cwd=tmp_path), "huge.yaml", "clips", "at most")
