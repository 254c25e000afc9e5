"""``synthkiln status`` and ``synthkiln merge``, and the heartbeat a rendering shard writes for them.

No Blender here: both commands read and write dataset folders only, in milliseconds."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import click

from ..addon.core.exports import build as exports
from ..addon.core.dataset import layout
from ..addon.core.dataset import status as core
from ..addon.core.dataset.job import Shard, read_manifest

NO_HEARTBEAT = "SYNTHKILN_HEARTBEAT"   # "0": a worker pool child; its parent writes the heartbeat


class _ProgressBeat(logging.Handler):
    """Turns the pipeline's per-frame progress events into heartbeat updates, keeping the last lines."""

    def __init__(self, beat: core.Heartbeat):
        super().__init__()
        self.beat = beat

    def emit(self, record):
        self.beat.log(record.getMessage())
        device = getattr(record, "sk_device", None)
        if device:
            self.beat.data["device"] = device
            self.beat.write()
        frame = getattr(record, "sk_frame", None)
        if frame is not None:
            self.beat.frame(frame, getattr(record, "sk_done", None))


@contextlib.contextmanager
def heartbeat(root: Path, shard: Shard, total: int):
    """Wrap a shard's render: ``shards/K-of-N.json`` says running, each frame, then finished or failed
    with the error's first line (what ``status`` shows). Off in worker-pool children."""
    if os.environ.get(NO_HEARTBEAT) == "0":
        yield None
        return
    beat = core.Heartbeat(root, shard, total)
    beat.write()
    handler = _ProgressBeat(beat)
    log = logging.getLogger("synthkiln.progress")
    log.addHandler(handler)
    try:
        yield beat
    except KeyboardInterrupt:
        beat.end(core.INTERRUPTED, "interrupted")
        raise
    except BaseException as e:
        text = str(e).strip().removeprefix("Error:").strip()
        beat.end(core.FAILED, text.splitlines()[0] if text else type(e).__name__)
        raise
    else:
        beat.end(core.FINISHED)
    finally:
        log.removeHandler(handler)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--shards", type=click.IntRange(min=1), default=None,
              help="Report as this many even shards (default: the shards that wrote heartbeats, else 1).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(directory: Path, shards: int | None, as_json: bool):
    """Progress of a render job: frames done per shard, failed shards with their last log lines,
    throughput and ETA. Reads the folder only; exits 0 whatever the job's state."""
    st = core.job_status(directory, shards)
    if as_json:
        click.echo(json.dumps(st.as_json(), indent=1))
    else:
        for line in core.format_status(st):
            click.echo(line)


@click.command()
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset folder to merge into (created, or added to).")
def merge(sources: tuple[Path, ...], out: Path):
    """Join shard folders rendered apart into one dataset (stable ids: frames keep their index), then
    write its exports once every planned frame is there."""
    core.merge_datasets(list(sources), out, report=lambda line: click.echo(line, err=True))
    planned = int(read_manifest(out).get("frames") or 0)
    missing = core.unfinished_shards(out, 1, planned)
    if missing:
        have = len(layout.record_indices(out))
        click.echo(f"{have}/{planned} frames: exports are written once every frame is merged", err=True)
        return
    for path in exports.write_exports(out, report=lambda line: click.echo(line, err=True)):
        click.echo(path)
