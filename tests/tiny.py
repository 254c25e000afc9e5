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
