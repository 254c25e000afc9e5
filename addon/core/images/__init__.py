"""Image files without Blender: PNG and EXR in numpy, and Pillow where it is optional."""
