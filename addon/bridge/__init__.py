"""The thin Blender layer: every non-UI ``bpy`` call (apply values, passes, decode renders, camera
maths). Version differences live only in ``compat``."""
