"""Photo backgrounds, Blender half: the photo goes into the shared world graph (``bridge/world.py``),
seen by camera rays only; a shadow-catcher ground puts the objects' shadows onto it."""

from __future__ import annotations

from ...core import randomizers as R
from ...core.randomizers.backdrop import PHOTO_SUFFIXES
from ...core.params.schema import path_str
from ...core.errors import UserError
from .. import world
from ..files import folder_files, load_image, user_path
from .base import Applier, find_object


class BackgroundPhoto(Applier):
    TYPE = "background_photo"

    def setup(self, scene, r, objs, where=()):
        world.ensure(scene)
        folder, names = folder_files(r.folder, PHOTO_SUFFIXES, where + ("folder",), "photos")
        for name in names:                  # every photo loaded once: frames never add images
            load_image(folder / name)
        if r.shadow_catcher:
            ground = find_object(r.shadow_catcher, path_str(where + ("shadow_catcher",)))
            if not hasattr(ground, "is_shadow_catcher") or ground.type not in ("MESH", "CURVE", "SURFACE", "META"):
                raise UserError(f"{path_str(where + ('shadow_catcher',))}: {r.shadow_catcher!r} is not geometry: "
                                "expected a ground object (mesh)")
            ground.is_shadow_catcher = True

    def release(self, scene, r, objs):
        if world.has_graph(scene):
            world.show_photo(scene, None)
        ground = scene.objects.get(r.shadow_catcher) if r.shadow_catcher else None
        if ground is not None and getattr(ground, "is_shadow_catcher", False):
            ground.is_shadow_catcher = False

    def context(self, scene, r, objs):
        return R.Context(data={"photos": folder_files(r.folder, PHOTO_SUFFIXES, (), "photos")[1]})

    def apply(self, scene, r, v):
        if not v["photo"]:
            world.show_photo(scene, None)
            return
        image = load_image(user_path(r.folder) / v["photo"])
        world.show_photo(scene, image, v["zoom"], v["offset"])
