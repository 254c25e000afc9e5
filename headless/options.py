"""What the runner's commands share below the CLI: the main group's error handling, ``--resolution``
parsing and the command-line overrides of a recipe. Its own module so that ``cli``, ``farm`` and the
Python API all import it downwards (internal: not part of the public API)."""

from __future__ import annotations

from pathlib import Path

import click

from ..addon.core.errors import UserError


class Group(click.Group):
    """Turns a ``UserError`` anywhere into one message and exit status 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise click.ClickException(str(e)) from None


def parse_resolution(value: str | tuple[int, int] | list[int] | None, where: str = "--resolution") -> tuple[int, int] | None:
    """``"WxH"`` (or a pair of ints) as (width, height), each 1..16384; a ``UserError`` names ``where``."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            w, h = (int(x) for x in value.lower().split("x"))
        else:
            w, h = (int(x) for x in value)
    except (ValueError, TypeError):
        raise UserError(f"{where} {value!r}: expected WxH, e.g. 640x480") from None
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise UserError(f"{where} {value!r}: expected width and height in 1..16384")
    return w, h


def resolution_option(ctx, param, value):
    """The ``--resolution`` option's click callback."""
    return parse_resolution(value)


# Where each override comes from, so an error in one names the flag, not the preset line it replaced.
OVERRIDE_FLAGS = {("output", "frames"): "--frames", ("output", "seed"): "--seed", ("output", "directory"): "--out",
                  ("render", "resolution"): "--resolution", ("render", "samples"): "--samples",
                  ("render", "device"): "--device", ("output", "clips"): "--clips",
                  ("output", "clip_length"): "--clip-length"}

DEVICE_CHOICES = ("CPU", "GPU", "auto")    # --device: render.device from the command line (farm GPU jobs)


def overrides(frames: int | None, seed: int | None, out: str | Path | None, resolution: tuple[int, int] | None,
              samples: int | None, device: str | None = None, clips: int | None = None,
              clip_length: int | None = None) -> dict:
    """Recipe-shaped overrides for the options given (None: not given); ``out`` becomes absolute."""
    o: dict = {}
    if clips is not None:          # a clip job: its frame count is clips × clip_length
        o.setdefault("output", {})["clips"] = clips
    if clip_length is not None:
        o.setdefault("output", {})["clip_length"] = clip_length
    if frames is not None:
        o.setdefault("output", {})["frames"] = frames
    if seed is not None:
        o.setdefault("output", {})["seed"] = seed
    if out is not None:
        o.setdefault("output", {})["directory"] = str(Path(out).resolve())
    if resolution is not None:
        o.setdefault("render", {})["resolution"] = list(resolution)
    if samples is not None:
        o.setdefault("render", {})["samples"] = samples
    if device is not None:
        o.setdefault("render", {})["device"] = device
    return o
