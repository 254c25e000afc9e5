"""The sensor group's image half (issue 18): what a camera does to the light after the scene, applied to the
frame's one render in numpy, never in Blender. ``lens`` is geometric (it also moves every label), ``effects``
change only the RGB image, ``labels`` recomputes the geometric labels through the distortion, and ``plan``
/ ``process`` here tie one frame's recorded draws together."""

from .pipeline import LENS, SCENE_SIDE, SensorPlan, clean_thumbnail, encode_image, keeps_clean, plan, process

__all__ = ["LENS", "SCENE_SIDE", "SensorPlan", "clean_thumbnail", "encode_image", "keeps_clean", "plan", "process"]
