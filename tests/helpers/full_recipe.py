"""A recipe where every field of the schema (and every randomizer type) holds a value other than its
default: the round-trip and panel tests walk it so no field is left out. Pure (no Blender)."""

from synthkiln.addon.core.params.balance import BalanceTarget
from synthkiln.addon.core.params.distributions import Distribution
from synthkiln.addon.core.params.schema import field_specs, from_data, to_data
from synthkiln.addon.core.randomizers import Randomizer
from synthkiln.addon.core.recipe.model import Recipe


def _other(spec, depth=0):
    """A valid value different from the field's default, for every kind of field."""
    k, d = spec.kind, spec.default
    if k == "bool":
        return not d
    if k == "int":
        if spec.min == spec.max:
            return d      # a fixed value (the schema version) has nothing else to be
        return d + 1 if spec.max is None or d + 1 <= spec.max else d - 1
    if k == "float":
        lo = spec.min if spec.min is not None else d - 10
        hi = spec.max if spec.max is not None else d + 10
        v = round((d + hi) / 2 + 0.125, 3)
        if not lo <= v <= hi or v == d:
            v = (d + hi) / 2 if hi > d else (lo + d) / 2
        return v
    if k == "str":
        if spec.subtype == "FILE_PATH":
            return "/library/of/assets.blend"   # absolute: relative ones are resolved against the preset
        return "//renders/x" if spec.subtype == "DIR_PATH" else f"{spec.name}-value"
    if k == "enum":
        return spec.options[(spec.options.index(d) + 1) % len(spec.options)]
    if k == "int2":
        return (d[0] + 3, d[1] + 5)
    if k == "float3":
        return (0.25, 0.5, 0.75) if spec.min is not None and spec.min >= 0 else (0.25, -1.5, 2.0)
    if k == "list_str":
        return ["A*", "B.00?"]
    if k == "dict":
        return {"colour": "red", "size": 2.5, "count": 3, "flag": True}
    if k == "dist":
        if spec.subtype == "names":
            choices = list(d.choices[-2:])
            return Distribution(kind="choice", choices=choices, weights=[1.0, 3.0][:len(choices)])
        lo = spec.min if spec.min is not None else -2.0
        hi = spec.max if spec.max is not None else lo + 4.0
        return Distribution(kind="normal", mean=(lo + hi) / 2, std=0.5, clip=True, min=lo, max=hi,
                            rare_p=0.02, rare_min=lo, rare_max=(lo + hi) / 2)
    if k == "struct":
        return full(spec.type, depth + 1)
    if k == "list_struct":
        return [full(spec.type, depth + 1), full(spec.type, depth + 1)]
    if k == "stack":
        return None   # filled per group below
    raise AssertionError(k)


def full(cls, depth=0):
    values = {}
    for spec in field_specs(cls):
        v = _other(spec, depth)
        if v is not None:
            values[spec.name] = v
    return cls(**values)


def everything() -> Recipe:
    """A recipe where every field (and every randomizer type) holds a non-default value."""
    r = full(Recipe)
    r.categories[1].name = "second"
    for rule in r.labels:
        rule.category = r.categories[0].name
    r.output.exports = ["yolo", "kitti"]
    r.output.include_categories = [r.categories[0].name]
    r.balance = [BalanceTarget("category", {r.categories[0].name: 0.25, "second": 0.75}),
                 BalanceTarget("colour", {"red": 1.0, "blue": 2.5})]
    for i, src in enumerate(r.assets):     # asset sources: unique names, real formats, a pattern with a group
        src.name, src.formats, src.pattern = f"source{i}", ["glb", "ply"], "^([a-z]+)_"
    for group in ("objects", "materials", "camera", "lighting", "environment"):
        setattr(r.randomizers, group, [])
    for i, (t, cls) in enumerate(sorted(Randomizer.REGISTRY.items())):
        item = full(cls)
        item.name = f"{t}_{i}"
        if t == "material_color":
            item.mode, item.attribute = "palette", "colour"     # follows the colour balance below
        getattr(r.randomizers, cls.GROUP).append(item)
    return from_data(Recipe, to_data(r))     # normalised and checked like any preset
