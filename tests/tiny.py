"""The bundled tabletop preset made tiny for the CLI, worker and farm tests: 64x48, 1 sample, and the key
light alone instead of the world HDRI (Cycles rebuilds its importance map every frame, about 2 s at any
size). It ends inside ``randomizers:``, so a test may append more stacks."""

from pathlib import Path

TABLETOP = Path(__file__).resolve().parents[1] / "presets" / "tabletop.yaml"

TINY_PRESET = f"""\
extends: {TABLETOP}
render: {{resolution: [64, 48], samples: 1}}
randomizers:
  lighting:
    - type: light
      name: key
      select: {{names: [Key]}}
      energy: {{log_uniform: [60, 250]}}
      temperature: {{uniform: [3500, 6500]}}
      distance: {{uniform: [1.5, 2.5]}}
      elevation: {{uniform: [40, 80]}}
"""

# TINY_PRESET with a category and a colour balance, followed by a count and a palette (and a top view).
BALANCED_PRESET = TINY_PRESET + """\
  objects:
    - {type: object_count, name: count, select: {collection: Targets}, count: 3}
    - {type: object_pose, name: scatter, select: {collection: Targets}, mode: surface, surface: Table, margin: 0.05}
  materials:
    - {type: material_color, name: colour, mode: palette, palette: {choice: [red, blue]}, attribute: colour}
  camera:
    - {type: camera_shell, name: top, look_at: [0, 0, 0], distance: 2.4, elevation: 89, focal_length: 35}
balance:
  - {attribute: category, shares: {mug: 0.5, can: 0.5}}
  - {attribute: colour, shares: {red: 0.75, blue: 0.25}}
"""

# Run as ``python -c MAKE_BLEND PRESET BLEND``: a .blend whose scene holds PRESET's recipe (a .blend SOURCE).
MAKE_BLEND = """\
import sys
import bpy
from synthkiln import addon

bpy.ops.wm.read_factory_settings(use_empty=True)
addon.register()
assert bpy.ops.synthkiln.import_preset(filepath=sys.argv[1]) == {"FINISHED"}
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[2])
"""
