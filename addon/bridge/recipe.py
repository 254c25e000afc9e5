"""The recipe stored on a scene (``Scene.synthkiln.recipe``, the PropertyGroups ``ui/props`` generates from
the schema): dataclasses in and out. Here, not in the UI, because the headless runner reads it too.

Reading goes back through the schema's checks, so a value an artist typed is validated exactly like a
preset's. ``read``/``write`` only walk attributes and collections, so any object shaped like the groups
will do.
"""

from __future__ import annotations

import json

from ..core.errors import PresetError, UserError
from ..core.params.distributions import Distribution, f32
from ..core.params.schema import SchemaError, field_specs, from_data, path_str
from ..core.randomizers import Randomizer
from ..core.recipe.model import Recipe, recipe_to_data
from ..core.recipe.preset import merge_data


# -- dataclass -> properties -------------------------------------------------------------------------

def _write_dist(pg, d: Distribution) -> None:
    for name in ("kind", "value", "min", "max", "mean", "std", "clip", "rare_p", "rare_min", "rare_max"):
        setattr(pg, name, getattr(d, name))
    pg.choices.clear()
    for c in d.choices:
        pg.choices.add().value = json.dumps(c)
    pg.weights.clear()
    for w in d.weights:
        pg.weights.add().value = w


def write(pg, obj) -> None:
    for spec in field_specs(type(obj)):
        v, k = getattr(obj, spec.name), spec.kind
        if k == "dist":
            _write_dist(getattr(pg, spec.name), v)
        elif k == "struct":
            write(getattr(pg, spec.name), v)
        elif k in ("list_struct", "stack", "list_str", "dict"):
            coll = getattr(pg, spec.name)
            coll.clear()
            items = v.items() if k == "dict" else v
            for item in items:
                entry = coll.add()
                if k == "list_struct":
                    write(entry, item)
                elif k == "stack":
                    entry.type = item.TYPE
                    write(getattr(entry, item.TYPE), item)
                elif k == "list_str":
                    entry.value = item
                else:
                    entry.key, entry.value = item[0], json.dumps(item[1])
        else:
            setattr(pg, spec.name, v)


def write_recipe(scene, recipe: Recipe) -> None:
    write(scene.synthkiln.recipe, recipe)
    scene.synthkiln.initialized = True


# -- properties -> YAML-form data -> checked dataclass -------------------------------------------------

def _read_dist(pg) -> object:
    d = Distribution(kind=pg.kind, value=f32(pg.value), min=f32(pg.min), max=f32(pg.max), mean=f32(pg.mean),
                     std=f32(pg.std), clip=pg.clip, choices=[json_value(c.value) for c in pg.choices],
                     weights=[f32(w.value) for w in pg.weights], rare_p=f32(pg.rare_p),
                     rare_min=f32(pg.rare_min), rare_max=f32(pg.rare_max))
    return d.to_data()


def read(pg, cls: type) -> dict:
    out = {}
    if hasattr(cls, "TYPE") and cls.TYPE:
        out["type"] = cls.TYPE
    for spec in field_specs(cls):
        v, k = getattr(pg, spec.name), spec.kind
        if k == "dist":
            out[spec.name] = _read_dist(v)
        elif k == "struct":
            out[spec.name] = read(v, spec.type)
        elif k == "list_struct":
            out[spec.name] = [read(e, spec.type) for e in v]
        elif k == "stack":
            out[spec.name] = [read(getattr(e, e.type), Randomizer.REGISTRY[e.type]) for e in v]
        elif k == "list_str":
            out[spec.name] = [e.value for e in v]
        elif k == "dict":
            out[spec.name] = {e.key: json_value(e.value) for e in v}
        elif k == "float":
            out[spec.name] = f32(v)
        elif k in ("int2", "float3"):
            out[spec.name] = [f32(x) if k == "float3" else int(x) for x in v]
        else:
            out[spec.name] = v
    return out


def json_value(text: str):
    """A value the scene stores as JSON text; a bare word an artist typed stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def read_recipe(scene) -> Recipe:
    """The scene's recipe, checked like a preset (errors name the field path)."""
    state = scene.synthkiln
    if not state.initialized:
        return Recipe()
    try:
        return from_data(Recipe, read(state.recipe, Recipe))
    except SchemaError as e:
        raise PresetError(str(e), file=f"scene {scene.name!r}", path=path_str(e.path), value=e.value,
                          expected=e.expected) from None


def scene_recipe(scene, overrides: str = "") -> Recipe:
    """The scene's recipe as a job runs it, with optional overrides (recipe-shaped JSON, e.g. from the
    command line); a scene without one is a user error, not an empty job."""
    if not scene.synthkiln.initialized:
        raise UserError(f"scene {scene.name!r} has no SynthKiln recipe yet: import a preset or add randomizers")
    recipe = read_recipe(scene)
    if overrides:
        data = merge_data(recipe_to_data(recipe), json.loads(overrides))
        try:
            recipe = from_data(Recipe, data)
        except SchemaError as e:
            raise UserError(f"{path_str(e.path)}: {e}") from None
    return recipe
