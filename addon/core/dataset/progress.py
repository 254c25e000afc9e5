"""Progress of a render: the one ETA rule, shared by the sidebar's status line, the CLI's progress lines and
the Python API's progress callback, so the three never disagree."""

from __future__ import annotations


def eta_seconds(elapsed: float, rendered: int, remaining: int) -> float:
    """Seconds left at this run's average pace: ``elapsed`` seconds for the ``rendered`` frames this run has
    finished, times the ``remaining`` frames. Frames done by an earlier run (resume) are not in the pace;
    0.0 before the first frame, when there is no pace yet."""
    if rendered <= 0 or remaining <= 0:
        return 0.0
    return elapsed / rendered * remaining
