"""Schema-driven drawing: every field of a recipe dataclass is drawn from ``field_specs``, so a field
added to the schema appears in the sidebar without touching the UI. Only reads; lists change through
the generic ``synthkiln.item_add``/``item_remove`` operators, which find their collection by a data path
relative to the scene (no Python reference to Blender data is kept anywhere).
"""

from ..core.params.names import summary, title  # noqa: F401  (title: the UI's one naming)
from ..core.randomizers import Selector
from ..core.params.schema import field_specs

SIMPLE = ("bool", "int", "float", "str", "enum", "int2", "float3")
# the numbers each kind shows in its one row (normal's min/max, when clipped, go on a second row)
DIST_FIELDS = {"constant": ("value",), "uniform": ("min", "max"), "log_uniform": ("min", "max"),
               "normal": ("mean", "std"), "choice": ()}
# string fields that name an object of the scene (by owner): a search field plus "use the active object"
OBJECT_FIELDS = {"LightSpec": {"name"}, "SceneSetup": {"camera"}, "CameraShell": {"camera", "target"},
                 "LightRandomizer": {"target"}, "ObjectPose": {"surface"}, "Distractors": {"surface"},
                 "PhysicsDrop": {"surface"}, "Occluder": {"target"}, "CameraMotion": {"camera", "target"},
                 "BackgroundPhoto": {"shadow_catcher"}}
LABEL_FACTOR = 0.4          # the share of a row its label takes, as Blender's own property split
CHAR_PX = 7.0               # a sidebar character's width at UI scale 1, rounded up (label and wrap estimates)
ANGLE_SUFFIX = "_angle"     # the angle-typed twin of a field the recipe keeps in degrees (see props)


def recipe_of(pg):
    """The scene recipe a nested property group belongs to (its ID is the Scene)."""
    return pg.id_data.synthkiln.recipe


def remove_button(layout, data_path: str, index: int) -> None:
    op = layout.operator("synthkiln.item_remove", text="", icon='X', emboss=False)
    op.data_path, op.index = data_path, index


def add_button(layout, data_path: str, text: str) -> None:
    layout.operator("synthkiln.item_add", text=text, icon='ADD').data_path = data_path


def shown(pg, name: str) -> str:
    """The property to draw for field ``name``: its angle twin where it has one (degrees shown as °)."""
    return name + ANGLE_SUFFIX if (name + ANGLE_SUFFIX) in pg.bl_rna.properties else name


def region_width(default: int = 292) -> int:
    """The drawing region's width in px (the sidebar's; 292, its default, where there is none)."""
    import bpy
    region = bpy.context.region
    return region.width if region is not None and region.type == 'UI' else default


def ui_scale() -> float:
    import bpy
    return (bpy.context.preferences.system.ui_scale if bpy.context.preferences else 0.0) or 1.0   # 0: background


def fitted_factor(text: str) -> float:
    """The label share of a distribution row that fits its label and leaves the numbers the rest."""
    px = (len(text) * CHAR_PX + 14) * ui_scale()
    return min(0.45, max(0.24, px / max(region_width() - 50, 100)))


def labelled_row(layout, text: str, factor: float = LABEL_FACTOR):
    """A row split like Blender's property split: the label right-aligned on the left, the rest returned."""
    split = layout.split(factor=factor, align=True)
    left = split.row()
    left.alignment = 'RIGHT'
    left.label(text=text)
    return split.row(align=True)


def draw_fields(layout, pg, cls, path: str, skip=()) -> None:
    """Every schema field of ``cls`` held by property group ``pg`` (at ``path`` from the scene)."""
    col = layout.column()
    col.use_property_split = True
    col.use_property_decorate = False
    for spec in field_specs(cls):
        if spec.name in skip or spec.kind == "stack":
            continue
        draw_field(col, pg, cls, spec, f"{path}.{spec.name}")


def draw_field(layout, pg, cls, spec, path: str) -> None:
    import bpy
    k, name = spec.kind, spec.name
    if k == "str" and name == "category":
        layout.prop_search(pg, name, recipe_of(pg), "categories", icon='TAG')
    elif k == "str" and cls is Selector and name == "collection":
        layout.prop_search(pg, name, bpy.data, "collections", icon='OUTLINER_COLLECTION')
    elif k == "str" and name in OBJECT_FIELDS.get(cls.__name__, ()):
        draw_object_field(layout, pg, name, path)
    elif k in SIMPLE:
        layout.prop(pg, shown(pg, name))
    elif k == "dist":
        draw_distribution(layout, getattr(pg, name), spec, path)
    elif k == "struct":
        box = layout.box()
        box.label(text=title(name))
        draw_fields(box, getattr(pg, name), spec.type, path)
    elif k in ("list_str", "dict"):
        draw_list(layout, getattr(pg, name), k, title(name), path)
    elif k == "list_struct":
        draw_entries(layout, getattr(pg, name), spec, path)


def draw_object_field(layout, pg, name: str, path: str) -> None:
    """An object name as a search field over the scene's objects, with an eyedropper that takes the active one."""
    import bpy
    row = layout.row(align=True)
    row.prop_search(pg, name, bpy.context.scene, "objects", icon='OBJECT_DATA')
    row.operator("synthkiln.pick_active", text="", icon='EYEDROPPER').data_path = path


def entry_name(item, heading: str, i: int) -> str:
    """A list entry's heading: "Label Rule 2 · mug", "Light 1 · Key"."""
    what = getattr(item, "category", "") or getattr(item, "name", "")
    return f"{heading} {i + 1}" + (f" · {what}" if what else "")


def draw_entries(layout, coll, spec, path: str) -> None:
    """A list of sub-records, each in its own box headed by what it is."""
    heading = title(spec.name)
    one = heading[:-1] if heading.endswith("s") else heading
    col = layout.column()
    for i, item in enumerate(coll):
        box = col.box()
        row = box.row()
        row.label(text=entry_name(item, one, i))
        remove_button(row, path, i)
        draw_fields(box, item, spec.type, f"{path}[{i}]")
    add_button(col, path, f"Add {one}")


def draw_list(layout, coll, kind: str, label: str, path: str) -> None:
    """A list of strings or a name: value mapping, one row per entry."""
    col = layout.column(align=True)
    row = labelled_row(col, label)
    row.label(text=f"{len(coll)}" if len(coll) else "none")
    add_button(row, path, "")
    for i, entry in enumerate(coll):
        row = col.row(align=True)
        if kind == "dict":
            row.prop(entry, "key", text="")
        row.prop(entry, "value", text="")
        remove_button(row, path, i)


def draw_distribution(layout, pg, spec, path: str) -> None:
    """One row: the field's name, its kind (an icon menu) and that kind's numbers; rare draws behind a
    toggle; a choice lists its values below."""
    col = layout.column(align=True)
    names = spec.subtype == "names"
    factor = fitted_factor(title(spec.name))
    row = labelled_row(col, title(spec.name), factor)
    if not names:
        row.prop(pg, "kind", text="", icon_only=True)
        for f in DIST_FIELDS.get(pg.kind, ()):
            row.prop(pg, shown(pg, f), text="")
        if pg.kind == "normal":
            row.prop(pg, "clip", text="", icon='ARROW_LEFTRIGHT')
        if pg.kind == "choice":
            row.label(text=f"{len(pg.choices)} values")
        rare = row.row(align=True)
        rare.alert = pg.rare_p > 0 and not pg.show_rare        # rare draws on, settings tucked away: red
        rare.prop(pg, "show_rare", text="", icon='RNDCURVE')
        if pg.kind == "normal" and pg.clip:
            sub = labelled_row(col, "Clip", factor)
            sub.prop(pg, shown(pg, "min"), text="")
            sub.prop(pg, shown(pg, "max"), text="")
        if pg.show_rare:
            sub = labelled_row(col, "Rare", factor)
            sub.prop(pg, "rare_p", text="p")
            sub.prop(pg, shown(pg, "rare_min"), text="")
            sub.prop(pg, shown(pg, "rare_max"), text="")
    else:
        row.label(text=f"{len(pg.choices)} names")
    if names or pg.kind == "choice":
        draw_choices(col, pg, path, names)


def draw_choices(col, pg, path: str, names: bool = False) -> None:
    weighted = len(pg.weights) > 0
    box = col.box().column(align=True)
    row = box.row(align=True)
    add_button(row, f"{path}.choices", "Add Name" if names else "Add Value")
    row.operator("synthkiln.dist_weights", text="Weights", depress=weighted).data_path = path
    for i, choice in enumerate(pg.choices):
        row = box.row(align=True)
        row.prop(choice, "text" if names else "value", text="")
        if weighted and i < len(pg.weights):
            row.prop(pg.weights[i], "value", text="")
        remove_button(row, f"{path}.choices", i)
