"""Model files into Blender: import with Blender's own importers, normalise (transforms applied, axes,
units or fit-to-size, origin at the base centre, one mesh per file, a material that shows vertex colours),
and keep a bounded cache of imported meshes for the asset pool.

An imported asset is one mesh datablock (no object): the pool's slot objects take it as their data, so the
targets, instance ids and later randomizers never change while the pool behind them can be any size.
Importing the same file gives the same mesh whatever was loaded before, so eviction never changes a frame.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ..core.errors import UserError
from ..core.params.schema import path_str
from ..core.randomizers.surface import box_corners
from ..core.recipe.assets import FORMATS, UNITS, Asset, AssetSource, is_library, library_assets, list_assets
from ..core.recipe.model import Recipe
from . import compat, labels
from .envvars import STRICT_ASSETS
from .files import user_path

log = logging.getLogger("synthkiln.assets")

SLOT_PROP = "sk_asset_slot"        # on a pool's slot objects: the pool's key
ASSET_PROP = "sk_asset"            # on an imported mesh: the asset id
PLACEHOLDER = "SK Asset Slot"      # the empty mesh of a slot that shows nothing
_KINDS = ("objects", "meshes", "materials", "images", "cameras", "lights", "curves", "armatures", "actions",
          "collections", "node_groups", "textures")


class AssetError(UserError):
    """A model file that cannot be used: names the file and why."""


@dataclass
class Loaded:
    mesh: str                      # the mesh datablock's name
    materials: list[str]
    images: list[str]
    corners: list                  # local box corners (8 x 3) after normalising
    mb: float
    faces: int
    warnings: list[str] = field(default_factory=list)


# -- sources ------------------------------------------------------------------------------------------

def resolve_sources(recipe: Recipe, base_dir=None) -> list[Asset]:
    """Every asset of the recipe's sources, sorted by id; a category not in the recipe is refused (with
    the list to add, so a folder of 50 categories is one paste)."""
    out: list[Asset] = []
    for i, src in enumerate(recipe.assets):
        where = ("assets", i)
        if not src.path:
            raise UserError(f"{path_str(where + ('path',))}: empty: expected a model file, a folder or a glob")
        found = source_assets(src, base_dir, where)
        if not found:
            raise UserError(f"{path_str(where + ('path',))}: {src.path!r} matches no model file "
                            f"({', '.join(src.extensions())})")
        out += found
    known = {c.name for c in recipe.categories}
    missing = sorted({a.category for a in out} - known)
    if missing:
        first = next(a for a in out if a.category in missing)
        raise UserError(f"assets: categories {', '.join(missing)} (e.g. {first.file} in source {first.source!r}) are "
                        "not in categories: add them, e.g. categories: ["
                        + ", ".join("{name: %s}" % m for m in missing) + "]")
    return sorted(out, key=lambda a: a.id)


def source_assets(src: AssetSource, base_dir=None, where: tuple = ("assets",)) -> list[Asset]:
    """One source's assets: its model files, or the marked assets of a library .blend."""
    path = user_path(src.path, base_dir)
    if is_library(path):
        return library_assets(src, path, read_library(path, where + ("path",)), where + ("path",))
    manifest = user_path(src.manifest, base_dir) if src.manifest else None
    return list_assets(src, path, where + ("path",), manifest)


_LIBRARIES: dict[tuple, list[dict]] = {}      # (path, mtime, size) -> the library's entries


def _plain(value):
    return value.to_dict() if hasattr(value, "to_dict") else value.to_list() if hasattr(value, "to_list") else value


def read_library(path: Path, where: tuple = ("assets", "path")) -> list[dict]:
    """The marked mesh objects of a library .blend with the labels ``build_library`` stored on them (name,
    category, attributes). The objects are linked for a moment and the link removed: the open file is unchanged."""
    path = Path(path).resolve()
    try:
        st = path.stat()
    except OSError:
        raise UserError(f"{path_str(where)}: {path} does not exist: expected a library .blend") from None
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key in _LIBRARIES:
        return _LIBRARIES[key]
    before = _ids("libraries")
    entries = []
    try:
        with bpy.data.libraries.load(str(path), link=True, assets_only=True) as (src, dst):
            dst.objects = list(src.objects)
        for obj in dst.objects:
            if obj is None or obj.type != "MESH":
                continue
            entries.append({"name": obj.name, "category": str(obj.get(LIB_CATEGORY, "")),
                            "attributes": {k[len(LIB_ATTR):]: _plain(v) for k, v in obj.items()
                                           if k.startswith(LIB_ATTR)}})
    except (OSError, RuntimeError) as e:
        raise UserError(f"{path_str(where)}: cannot read {path} ({str(e).strip() or 'not a .blend'}): expected a "
                        "library .blend made by `synthkiln assets import`") from None
    finally:
        for lib in _new("libraries", before):
            bpy.data.libraries.remove(lib)
    if not entries:
        raise UserError(f"{path_str(where)}: {path} holds no marked mesh asset: expected a library made by "
                        "`synthkiln assets import` (or objects marked as assets)")
    _LIBRARIES[key] = entries
    return entries


def _appender(name: str):
    """An importer-like call that appends asset object ``name`` from a library .blend into the active
    collection (the same normalising then follows)."""
    def op(filepath: str):
        before = _ids("libraries")
        with bpy.data.libraries.load(filepath, link=False) as (src, dst):
            dst.objects = [name] if name in src.objects else []
        for lib in _new("libraries", before):      # appending leaves the file's entry behind: what came is local
            if not any(d.library == lib for kind in _KINDS for d in getattr(bpy.data, kind)):
                bpy.data.libraries.remove(lib)
        if not dst.objects or dst.objects[0] is None:
            raise AssetError(f"{filepath}: no asset {name!r} in this library: run `synthkiln assets list` on it")
        for obj in dst.objects:
            bpy.context.view_layer.active_layer_collection.collection.objects.link(obj)
            if obj.data is not None and ASSET_PROP in obj.data:
                del obj.data[ASSET_PROP]     # the library's own mark: only the kept mesh carries one
        return {"FINISHED"}
    return op


def source_of(recipe: Recipe, asset: Asset) -> AssetSource:
    return next(s for s in recipe.assets if s.name == asset.source)


# -- importing ----------------------------------------------------------------------------------------

def file_problem(path: Path) -> str:
    """Why a file cannot be imported before trying (missing, empty, not a model format), or ''."""
    if path.suffix.lower() not in FORMATS:
        return f"unsupported file type {path.suffix or '(none)'!r}: expected one of {', '.join(FORMATS)}"
    try:
        st = path.stat()
    except OSError:
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    if st.st_size == 0:
        return "is empty (0 bytes)"
    return ""


def _ids(kind: str) -> set[int]:
    return {d.as_pointer() for d in getattr(bpy.data, kind)}


def _new(kind: str, before: set[int]) -> list:
    return [d for d in getattr(bpy.data, kind) if d.as_pointer() not in before]


def _layer_collection(root, coll):
    if root.collection == coll:
        return root
    for child in root.children:
        found = _layer_collection(child, coll)
        if found is not None:
            return found
    return None


def _rotation_to_z(axis: str) -> Matrix:
    sign = -1.0 if axis.startswith("-") else 1.0
    v = Vector({"X": (1, 0, 0), "Y": (0, 1, 0), "Z": (0, 0, 1)}[axis[-1]]) * sign
    return v.rotation_difference(Vector((0, 0, 1))).to_matrix().to_4x4()


def vertex_colour_material(attribute: str):
    """One shared material per colour attribute name: base colour from the mesh's vertex colours."""
    name = f"SK Vertex Colour {attribute}"
    mat = bpy.data.materials.get(name)
    if mat is None:
        mat = bpy.data.materials.new(name)
        compat.enable_nodes(mat)
        nodes = mat.node_tree.nodes
        bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
        attr = nodes.new("ShaderNodeAttribute")
        attr.attribute_type, attr.attribute_name = "GEOMETRY", attribute
        mat.node_tree.links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
        bsdf.inputs["Roughness"].default_value = 0.6
    return mat


def default_material():
    mat = bpy.data.materials.get("SK Asset Default")
    if mat is None:
        mat = bpy.data.materials.new("SK Asset Default")
        compat.enable_nodes(mat)
        bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
        bsdf.inputs["Base Color"].default_value = (0.6, 0.6, 0.6, 1.0)
    return mat


def import_asset(scene, asset: Asset, src: AssetSource) -> Loaded:
    """Import one file and normalise it into one mesh datablock; raises AssetError naming the file."""
    path = Path(asset.path)
    problem = ("" if path.is_file() else "does not exist") if asset.object else file_problem(path)
    if problem:
        raise AssetError(f"{path}: {problem}")
    ext = path.suffix.lower()
    up = None if src.up_axis == "auto" else src.up_axis
    op, kwargs, handled = (_appender(asset.object), {}, True) if asset.object else compat.importer(ext, up)
    before = {k: _ids(k) for k in _KINDS}
    view_layer = bpy.context.view_layer
    temp = bpy.data.collections.new("SK Import")
    scene.collection.children.link(temp)
    active = view_layer.active_layer_collection
    frames = (scene.frame_start, scene.frame_end, scene.frame_current, scene.render.fps)
    try:
        layer = _layer_collection(view_layer.layer_collection, temp)
        if layer is not None:
            view_layer.active_layer_collection = layer
        try:
            result = op(filepath=str(path), **kwargs)
        except (RuntimeError, TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
            text = str(e).strip().splitlines()
            reason = next((ln.split(":", 1)[-1].strip() for ln in text if ln.strip()), "") or "unknown error"
            raise AssetError(f"{path}: Blender's importer failed ({reason[:200]})") from None
        if "FINISHED" not in result:
            raise AssetError(f"{path}: Blender's importer cancelled: is it a valid {ext[1:].upper()} file?")
        new = {k: _new(k, before[k]) for k in _KINDS}
        return _normalise(scene, asset, src, new, handled, up, ext)
    finally:
        if scene.frame_start != frames[0] or scene.frame_end != frames[1]:
            scene.frame_start, scene.frame_end = frames[0], frames[1]
        if scene.frame_current != frames[2]:
            scene.frame_current = frames[2]
        scene.render.fps = frames[3]
        view_layer.active_layer_collection = active
        _cleanup(before, keep_mesh=None)
        bpy.data.collections.remove(temp)


def _cleanup(before: dict, keep_mesh) -> None:
    """Remove what an import made, except the kept mesh and the materials and images it uses."""
    for obj in _new("objects", before["objects"]):
        bpy.data.objects.remove(obj)
    keep = {m.as_pointer() for m in bpy.data.meshes if m.get(ASSET_PROP)}
    for kind in ("meshes", "cameras", "lights", "curves", "armatures", "actions"):
        for d in _new(kind, before[kind]):
            if d.as_pointer() not in keep:
                getattr(bpy.data, kind).remove(d)
    for kind in ("collections", "node_groups", "materials", "textures", "images"):
        for d in _new(kind, before[kind]):
            if d.users == 0 and d.name != "SK Import":
                getattr(bpy.data, kind).remove(d)


def _normalise(scene, asset: Asset, src: AssetSource, new: dict, handled: bool, up, ext) -> Loaded:
    path = Path(asset.path)
    meshes = [o for o in new["objects"] if o.type == "MESH" and len(o.data.polygons)]
    if not meshes:
        kinds = sorted({o.type.lower() for o in new["objects"]})
        raise AssetError(f"{path}: holds no mesh with faces" + (f" (only {', '.join(kinds)})" if kinds else "")
                         + ": expected a model with geometry")
    faces = sum(len(o.data.polygons) for o in meshes)
    if faces > src.max_faces:
        raise AssetError(f"{path}: {faces:,} faces, more than max_faces {src.max_faces:,}: decimate it or raise "
                         "the source's max_faces")
    dg = bpy.context.evaluated_depsgraph_get()
    mats: list = []
    for o in meshes:
        for m in o.data.materials:
            if m is not None and m not in mats:
                mats.append(m)
    if len(meshes) > 1:
        with bpy.context.temp_override(active_object=meshes[0], object=meshes[0], selected_objects=meshes,
                                       selected_editable_objects=meshes):
            bpy.ops.object.join()
    obj = meshes[0]
    dg.update()
    world = obj.matrix_world.copy()
    mesh = obj.data if obj.data.users == 1 else obj.data.copy()
    if not handled and up is not None and ext in (".glb", ".gltf"):
        # glTF is Y up by its spec and the importer turns file Y into Blender Z: a file written Z up is corrected
        file_up = {"Y": "Z", "-Y": "-Z", "Z": "-Y", "-Z": "Y", "X": "X", "-X": "-X"}[up]
        world = _rotation_to_z(file_up) @ world
    mesh.transform(world)
    co = np.empty(len(mesh.vertices) * 3, np.float64)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    lo, hi = co.min(axis=0), co.max(axis=0)
    if not np.all(np.isfinite(co)):
        raise AssetError(f"{path}: vertex positions are not finite numbers: expected a valid model")
    factor = UNITS[src.units]
    if asset.size > 0 or src.fit_size > 0:
        longest = float(np.max(hi - lo))
        if longest <= 0:
            raise AssetError(f"{path}: the geometry is flat or a point: cannot fit it to a size")
        factor = (asset.size or src.fit_size) / longest
    lo, hi = lo * factor, hi * factor
    if src.origin == "base":
        shift = -np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    elif src.origin == "center":
        shift = -(lo + hi) / 2
    else:
        shift = np.zeros(3)
    mesh.transform(Matrix.Translation(Vector(shift.tolist())) @ Matrix.Scale(factor, 4))
    mesh.update()
    lo, hi = lo + shift, hi + shift
    warnings = _materials(mesh, path)
    mesh.name = _mesh_name(asset.id)
    mesh[ASSET_PROP] = asset.id
    obj.data = bpy.data.meshes.get(PLACEHOLDER) or _placeholder()   # the object goes; the mesh stays
    images = sorted({img.name for m in mesh.materials if m and m.node_tree
                     for n in m.node_tree.nodes if n.type == "TEX_IMAGE" and n.image for img in [n.image]})
    mb = (len(mesh.vertices) * 48 + len(mesh.loops) * 40 + len(mesh.polygons) * 16) / 1e6
    for name in images:
        img = bpy.data.images[name]
        mb += img.size[0] * img.size[1] * 4 * (4 if img.is_float else 1) / 1e6
    return Loaded(mesh.name, [m.name for m in mesh.materials if m], images,
                  box_corners(lo, hi).tolist(), mb, len(mesh.polygons), warnings)


def _mesh_name(asset_id: str) -> str:
    short = hashlib.sha1(asset_id.encode()).hexdigest()[:8]
    return f"SK Asset {short} {Path(asset_id).name}"[:63]


def _placeholder():
    """A slot's mesh while it shows nothing: one vertex at the origin (no faces: never rendered), so its
    box and pose in the record are the same zeros in every process."""
    mesh = bpy.data.meshes.new(PLACEHOLDER)
    mesh.from_pydata([(0.0, 0.0, 0.0)], [], [])
    return mesh


def _materials(mesh, path: Path) -> list[str]:
    """Give a mesh without materials one that shows its vertex colours (or a neutral grey), and name
    the textures that are missing."""
    warnings = []
    if not any(m is not None for m in mesh.materials):
        colours = mesh.color_attributes
        attr = colours.active_color if colours.active_color is not None else (colours[0] if len(colours) else None)
        mat = vertex_colour_material(attr.name) if attr is not None else default_material()
        mesh.materials.clear()
        mesh.materials.append(mat)
    seen = set()
    for m in mesh.materials:
        if m is None or m.node_tree is None:
            continue
        for n in m.node_tree.nodes:
            img = n.image if n.type == "TEX_IMAGE" else None
            if img is None or img.name in seen or img.packed_file is not None or img.source != "FILE":
                continue
            seen.add(img.name)
            file = Path(bpy.path.abspath(img.filepath, library=img.library))
            if not file.is_file():
                warnings.append(f"{path}: texture {img.filepath!r} not found (material {m.name!r}): it renders "
                                "pink; put the image next to the model or fix the path")
    return warnings


def remove_loaded(loaded: Loaded) -> None:
    """Take an asset's mesh, and the materials and images only it used, out of the file (eviction)."""
    mesh = bpy.data.meshes.get(loaded.mesh)
    if mesh is not None:
        placeholder = bpy.data.meshes.get(PLACEHOLDER) or _placeholder()
        for obj in bpy.data.objects:
            if obj.type == "MESH" and obj.data == mesh:
                obj.data = placeholder
        bpy.data.meshes.remove(mesh)
    gone = set(loaded.materials)
    for m in [m for m in bpy.data.materials if m.get("sk_source") in gone and m.get("sk_owner")]:
        bpy.data.materials.remove(m)      # slots' own copies (material randomizers): they hold the images too
    for name in loaded.materials:
        m = bpy.data.materials.get(name)
        if m is not None and m.users == 0:
            bpy.data.materials.remove(m)
    for name in loaded.images:
        img = bpy.data.images.get(name)
        if img is not None and img.users == 0:
            bpy.data.images.remove(img)


# -- the cache ----------------------------------------------------------------------------------------

def strict() -> bool:
    return os.environ.get(STRICT_ASSETS) == "1"


class AssetCache:
    """Imported assets by id, least recently used first; at most ``max_count`` and about ``max_mb`` kept
    (never evicting the frame's own). Shapes (box corners) and failures are kept for the whole job:
    they are facts of the files, so every process draws the same."""

    def __init__(self, scene, recipe: Recipe, assets: list[Asset], max_count: int, max_mb: float):
        self.scene, self.recipe = scene, recipe
        self.assets = {a.id: a for a in assets}
        self.max_count, self.max_mb = max_count, max_mb
        self.loaded: OrderedDict[str, Loaded] = OrderedDict()
        self.shapes: dict[str, list] = {}
        self.broken: dict[str, str] = {}
        self.warnings: dict[str, list[str]] = {}
        self.frame_broken: dict[str, str] = {}     # broken assets the sampler hit in the current frame
        self.imports = 0

    def _load(self, asset_id: str) -> Loaded | None:
        if asset_id in self.broken:
            return None
        got = self.loaded.get(asset_id)
        if got is not None and bpy.data.meshes.get(got.mesh) is not None:
            self.loaded.move_to_end(asset_id)
            return got
        asset = self.assets[asset_id]
        try:
            got = import_asset(self.scene, asset, source_of(self.recipe, asset))
        except AssetError as e:
            if strict():
                raise
            self.broken[asset_id] = str(e)
            log.warning("skipping asset %s: %s", asset_id, e)
            return None
        self.imports += 1
        labels.warm(bpy.data.meshes[got.mesh])      # its triangles for the labels: part of the load
        self.loaded[asset_id] = got
        self.shapes[asset_id] = got.corners
        if got.warnings and asset_id not in self.warnings:
            self.warnings[asset_id] = got.warnings
            for w in got.warnings:
                log.warning("%s", w)
        return got

    def measure(self, asset_id: str):
        """Box corners of an asset (imported on first use), or None for a broken file."""
        if asset_id in self.broken:
            self.frame_broken[asset_id] = self.broken[asset_id]
            return None
        if asset_id not in self.shapes and self._load(asset_id) is None:
            self.frame_broken[asset_id] = self.broken[asset_id]
            return None
        return self.shapes[asset_id]

    def preload(self) -> None:
        """Import the whole pool up front when it fits the cache (count and MB), so frames only swap meshes:
        the first load happens once, in setup, not spread over the first hundred frames. A broken file is
        noted (or stops the job under --strict) without touching any frame's record."""
        if len(self.assets) > self.max_count:
            return
        for asset_id in sorted(self.assets):
            if sum(x.mb for x in self.loaded.values()) > self.max_mb:
                break
            self._load(asset_id)

    def mesh(self, asset_id: str):
        got = self._load(asset_id)
        return bpy.data.meshes[got.mesh] if got else None

    def trim(self, keep: set[str]) -> None:
        """Evict least recently used assets over the limits, never one in ``keep``."""
        def over():
            return len(self.loaded) > self.max_count or sum(x.mb for x in self.loaded.values()) > self.max_mb
        for asset_id in list(self.loaded):
            if not over():
                break
            if asset_id in keep:
                continue
            remove_loaded(self.loaded.pop(asset_id))

    def clear(self) -> None:
        for got in self.loaded.values():
            remove_loaded(got)
        self.loaded.clear()


# -- slots --------------------------------------------------------------------------------------------

def ensure_slots(scene, r) -> list:
    """The pool's slot objects (made once, in its collection, showing nothing until a frame fills them)."""
    coll = bpy.data.collections.get(r.collection)
    if coll is None:
        coll = bpy.data.collections.new(r.collection)
    if coll.name not in scene.collection.children and coll not in scene.collection.children_recursive:
        scene.collection.children.link(coll)
    placeholder = bpy.data.meshes.get(PLACEHOLDER) or _placeholder()
    out = []
    for name in r.slot_names():
        obj = bpy.data.objects.get(name)
        if obj is None:
            obj = bpy.data.objects.new(name, placeholder)
        if obj.type != "MESH":
            raise UserError(f"{r.where()}: object {name!r} exists and is a {obj.type.lower()}: expected the pool's "
                            "mesh slot (rename that object or set the pool's collection)")
        if obj.name not in coll.objects:
            coll.objects.link(obj)
        obj[SLOT_PROP] = r.key()
        out.append(obj)
    for obj in coll.objects:            # slots of a larger pool before: keep them out of sight
        if obj.get(SLOT_PROP) == r.key() and obj not in out:
            obj.hide_render = obj.hide_viewport = True
    return out


def pools(recipe: Recipe) -> list:
    return [r for r in recipe.randomizers.all() if r.TYPE == "asset_pool"]


CURRENT: tuple = (Recipe(), {})    # the recipe and pool assets the last prepare_pools found (the appliers read it)


def prepare_pools(scene, recipe: Recipe, base_dir=None) -> dict[str, list[Asset]]:
    """Slots for every pool (before targets are resolved: they are targets) and each pool's assets."""
    global CURRENT
    out: dict[str, list[Asset]] = {}
    CURRENT = (recipe, out)
    if not pools(recipe):
        return out
    assets = resolve_sources(recipe, base_dir)
    for r in pools(recipe):
        ensure_slots(scene, r)
        mine = [a for a in assets if r.uses(a.source)]
        if r.enabled and not mine:
            raise UserError(f"{r.where()}.sources: {r.sources or '(all)'} names no asset source of the recipe "
                            f"(have: {', '.join(s.name for s in recipe.assets) or 'none'})")
        out[r.key()] = mine
    return out


def slot_targets(scene, recipe: Recipe, targets: list, pool_assets: dict[str, list[Asset]]) -> list:
    """``targets`` plus every enabled pool's slots not labelled by a rule; ids continue after the last. A
    slot's category is its asset's, per frame (the record's); the one here is a stand-in for hidden slots."""
    from .scene import Target
    have = {t.name for t in targets}
    out = list(targets)
    next_id = max((t.instance_id for t in targets), default=0) + 1
    for r in pools(recipe):
        if not r.enabled or not pool_assets.get(r.key()):
            continue
        for name in r.slot_names():
            if name not in have:
                out.append(Target(name, next_id, pool_assets[r.key()][0].category, {}))
                next_id += 1
    if next_id > 65536:
        raise UserError(f"{next_id - 1} targets: instance masks are 16-bit, at most 65535 targets")
    return out


# -- Blender asset library (synthkiln assets import / list) --------------------------------------------

CATALOGS = "blender_assets.cats.txt"
LIB_CATEGORY, LIB_FILE, LIB_ATTR = "sk_category", "sk_file", "sk_attr_"     # labels stored on each asset object


def catalog_id(category: str) -> str:
    import uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthkiln-catalog:{category}"))


def build_library(paths: list[Path], library: Path, src: AssetSource) -> dict:
    """Import model files into a library .blend as marked assets (one per file, catalog per category,
    labels on the asset); a file that fails is named in the report and the others go in."""
    from ..core.fsio import temp_path
    library = Path(library).resolve()
    if library.exists():
        bpy.ops.wm.open_mainfile(filepath=str(library), load_ui=False)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    coll = bpy.data.collections.get("Assets") or bpy.data.collections.new("Assets")
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    report: dict = {"imported": [], "failed": [], "warnings": []}
    assets: list[Asset] = []
    for p in paths:
        try:
            assets += list_assets(src, Path(p).resolve(), ("SOURCE",))
        except UserError as e:
            report["failed"].append(str(e))
    for asset in assets:
        try:
            got = import_asset(scene, asset, src)
        except AssetError as e:
            report["failed"].append(str(e))
            continue
        mesh = bpy.data.meshes[got.mesh]
        name = Path(asset.file).stem
        obj = next((o for o in bpy.data.objects if o.get(LIB_FILE) == asset.path), None)
        if obj is None:
            obj = bpy.data.objects.new(name, mesh)
            coll.objects.link(obj)
        else:
            old, obj.data = obj.data, mesh
            if old.users == 0:
                bpy.data.meshes.remove(old)
        obj[LIB_CATEGORY], obj[LIB_FILE] = asset.category, asset.path
        for k, v in asset.attributes.items():
            obj[f"{LIB_ATTR}{k}"] = v
        if obj.asset_data is None:
            obj.asset_mark()
        obj.asset_data.catalog_id = catalog_id(asset.category)
        obj.asset_data.description = f"{asset.category} from {Path(asset.path).name} (SynthKiln)"
        if asset.category not in [t.name for t in obj.asset_data.tags]:
            obj.asset_data.tags.new(asset.category)
        try:
            obj.asset_generate_preview()
        except (RuntimeError, AttributeError):
            pass        # no preview renderer in this build: the Asset Browser shows a placeholder
        report["imported"].append({"name": obj.name, "category": asset.category, "file": asset.path})
        report["warnings"] += got.warnings
    cats = sorted({o[LIB_CATEGORY] for o in bpy.data.objects if o.get(LIB_CATEGORY)})
    text = "VERSION 1\n" + "".join(f"{catalog_id(c)}:SynthKiln/{c}:SynthKiln-{c}\n" for c in cats)
    library.parent.mkdir(parents=True, exist_ok=True)
    cats_path = library.parent / CATALOGS
    tmp = temp_path(cats_path)
    tmp.write_text(text)
    os.replace(tmp, cats_path)
    tmp = library.with_name(library.stem + ".tmp-synthkiln.blend")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True)
    os.replace(tmp, library)
    return report


def list_library(library: Path) -> list[dict]:
    """The marked assets of a library .blend with their SynthKiln labels."""
    library = Path(library)
    if not library.is_file():
        raise UserError(f"{library} does not exist: expected a library .blend")
    bpy.ops.wm.open_mainfile(filepath=str(library), load_ui=False)
    out = []
    for o in sorted(bpy.data.objects, key=lambda o: o.name):
        if o.asset_data is None:
            continue
        out.append({"name": o.name, "category": o.get(LIB_CATEGORY, ""), "file": o.get(LIB_FILE, ""),
                    "tags": [t.name for t in o.asset_data.tags],
                    "faces": len(o.data.polygons) if o.type == "MESH" else 0})
    return out
