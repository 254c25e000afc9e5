"""Typed errors. A user mistake is a ``UserError``: front ends print its message and exit non-zero,
never a traceback."""

from __future__ import annotations


class SynthKilnError(Exception):
    """Base of every error SynthKiln raises on purpose."""


class UserError(SynthKilnError):
    """Bad input from the user (preset, CLI argument, scene, output folder): one clear message."""


class PresetError(UserError):
    """A preset value that does not fit the schema; names file, line, field path, value and expectation."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str = "", value: object = None, expected: str = ""):
        self.file, self.line, self.path, self.value, self.expected = file, line, path, value, expected
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        field = f"{path}: " if path else ""
        super().__init__(f"{where}{field}{message}")


class DatasetError(UserError):
    """An output folder that is unusable or inconsistent (other recipe, unwritable, missing files)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a render between frames: finished frames stay and a rerun resumes. A
    ``KeyboardInterrupt``, so a script that stops on Ctrl-C stops on this; ``signum`` gives the exit status
    (128 + signum: 130 for SIGINT, 143 for SIGTERM), its message how far the job got."""

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.signum = signum
