"""Environment: fog, rain, wet surfaces, night, real photos as backgrounds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..distributions import Distribution
from ..schema import SchemaError, fld
from .base import Randomizer, const, deg, names, uni
