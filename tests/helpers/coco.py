"""COCO files read back with pycocotools, the independent reader the tests check ours against."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from pycocotools.coco import COCO


def load_coco(path: Path) -> COCO:
    """``COCO(path)`` without the progress lines it prints."""
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))
