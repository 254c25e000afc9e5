"""The CLI's progress display, and the adapter that feeds it the pipeline's per-frame log events.

A render in this process reports each frame on the ``synthkiln.progress`` logger (the bridge's pipeline);
a worker pool reports frames as their records appear. Both end in a ``(frame, done, total)`` callback, so
the display is the same for either (internal: not part of the public API)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Callable

import click

from ..addon.core.dataset.progress import eta_seconds

LOGGER = "synthkiln.progress"

FrameCallback = Callable[[int, int, int], None]   # (frame index, frames done in scope, frames in scope)


class Display:
    """A progress bar with ETA on a terminal, or one line per frame (``frames 3/20 ...``) when stderr is a
    file or a pipe (a farm log), where click's bar would print only its label."""

    def __init__(self):
        self.bar = None
        self.tty = sys.stderr.isatty()
        self.pace = Pace()

    def update(self, frame: int, done: int, total: int) -> None:
        if not self.tty:
            click.echo(f"frames {done}/{total}  (frame {frame}, ETA {self.pace.eta(done, total):.0f}s)", err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="frames", show_eta=True, show_pos=True,
                                         file=sys.stderr)
            self.bar.__enter__()
            self.bar.update(done - 1)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class LogFeed(logging.Handler):
    """Calls ``callback(frame, done, total)`` for each per-frame event on the ``synthkiln.progress`` logger."""

    def __init__(self, callback: FrameCallback):
        super().__init__()
        self.callback = callback

    def emit(self, record):
        done, total = getattr(record, "sk_done", None), getattr(record, "sk_total", None)
        if done is not None:
            self.callback(getattr(record, "sk_frame", "?"), done, total)
        elif getattr(record, "sk_device", None) or record.levelno >= logging.WARNING:
            click.echo(record.getMessage(), err=True)   # the render device, once; auto's fallback warning

    def __enter__(self) -> "LogFeed":
        log = logging.getLogger(LOGGER)
        log.addHandler(self)
        log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger(LOGGER).removeHandler(self)
        self.close()


class Pace:
    """Elapsed time and ETA of one run, which may resume a job: its pace counts only the frames this run
    rendered (the first report's ``done - 1`` were done before it)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.first_done: int | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def eta(self, done: int, total: int) -> float:
        if self.first_done is None:
            self.first_done = done - 1
        return eta_seconds(self.elapsed(), done - self.first_done, total - done)
