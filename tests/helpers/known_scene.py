"""A known scene for the Blender tier: a cube and a sphere in front of a camera, whose labels the render
tests check against projected geometry, and its recipe."""

import math

W, H = 160, 120
CAM_Y = -3.0


def build_known_scene(scene):
    """A cube and a sphere in front of a camera on the -y axis, looking along +y, on a ground plane."""
    import bpy
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(-0.35, 0.0, 0.25))
    bpy.context.object.name = "Cube"
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.3, location=(0.45, 0.5, 0.3), segments=64, ring_count=32)
    bpy.context.object.name = "Sphere"
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    bpy.context.object.name = "Ground"
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, CAM_Y, 0.25)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)          # looks along +y, up is +z
    cam.data.lens = 30.0
    light = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    scene.collection.objects.link(light)
    scene.camera = cam


RECIPE = {
    "categories": [{"name": "cube", "supercategory": "shape"}, {"name": "sphere", "supercategory": "shape"}],
    "labels": [{"select": {"names": ["Cube"]}, "category": "cube", "attributes": {"faces": 6}},
               {"select": {"names": ["Sphere"]}, "category": "sphere"}],
    "render": {"resolution": [W, H], "samples": 1, "view_transform": "Standard"},
    "output": {"frames": 2, "seed": 3, "previews": 2},
}
