"""Environment group, Blender half."""

from __future__ import annotations

import math

import bpy
from mathutils import Euler, Vector

from ...core import randomizers as R
from ...core.errors import UserError
from .base import Applier, aim, find_object, footprint, on_shell, principled, target_point
