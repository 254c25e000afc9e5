"""Schema-driven drawing: every field of a recipe dataclass is drawn from ``field_specs``, so a field
added to the schema appears in the sidebar without touching the UI. Only reads; lists change through
the generic ``synthkiln.item_add``/``item_remove`` operators, which find their collection by a data path
relative to the scene (no Python reference to Blender data is kept anywhere).
"""

from ..core.randomizers import Selector
from ..core.params.schema import field_specs

SIMPLE = ("bool", "int", "float", "str", "enum", "int2", "float3")
# the distribution fields each kind uses (normal also shows min/max when clipped)
DIST_FIELDS = {"constant": ("value",), "uniform": ("min", "max"), "log_uniform": ("min", "max"),
               "normal": ("mean", "std", "clip"), "choice": ()}


def title(name: str) -> str:
    return name.replace("_", " ").title()


def recipe_of(pg):
    """The scene recipe a nested property group belongs to (its ID is the Scene)."""
    return pg.id_data.synthkiln.recipe


def remove_button(layout, data_path: str, index: int) -> None:
    op = layout.operator("synthkiln.item_remove", text="", icon='X', emboss=False)
    op.data_path, op.index = data_path, index


def add_button(layout, data_path: str, text: str) -> None:
    layout.operator("synthkiln.item_add", text=text, icon='ADD').data_path = data_path


def draw_fields(layout, pg, cls, path: str, skip=()) -> None:
    """Every schema field of ``cls`` held by property group ``pg`` (at ``path`` from the scene)."""
    for spec in field_specs(cls):
        if spec.name in skip or spec.kind == "stack":
            continue
        draw_field(layout, pg, cls, spec, f"{path}.{spec.name}")


def draw_field(layout, pg, cls, spec, path: str) -> None:
    k, name = spec.kind, spec.name
    if k == "str" and name == "category":
        layout.prop_search(pg, name, recipe_of(pg), "categories", icon='TAG')
    elif k == "str" and cls is Selector and name == "collection":
        import bpy
        layout.prop_search(pg, name, bpy.data, "collections", icon='OUTLINER_COLLECTION')
    elif k in SIMPLE:
        layout.prop(pg, name)
    elif k == "dist":
        draw_distribution(layout, getattr(pg, name), spec, path)
    elif k == "struct":
        box = layout.box()
        box.label(text=title(name))
        draw_fields(box.column(), getattr(pg, name), spec.type, path)
    elif k in ("list_str", "dict"):
        draw_list(layout, getattr(pg, name), k, title(name), path)
    elif k == "list_struct":
        col = layout.column()
        col.label(text=title(name))
        for i, item in enumerate(getattr(pg, name)):
            box = col.box()
            row = box.row()
            row.label(text=f"{title(name)} {i + 1}")
            remove_button(row, path, i)
            draw_fields(box.column(), item, spec.type, f"{path}[{i}]")
        add_button(col, path, f"Add {title(name)}")


def draw_list(layout, coll, kind: str, label: str, path: str) -> None:
    """A list of strings or a name: value mapping, one row per entry."""
    col = layout.column(align=True)
    row = col.row(align=True)
    row.label(text=label)
    add_button(row, path, "")
    for i, entry in enumerate(coll):
        row = col.row(align=True)
        if kind == "dict":
            row.prop(entry, "key", text="")
        row.prop(entry, "value", text="")
        remove_button(row, path, i)


def draw_distribution(layout, pg, spec, path: str) -> None:
    """Its kind and only the fields that kind uses; a choice of names is just its weighted list."""
    col = layout.column(align=True)
    row = col.row(align=True)
    row.label(text=title(spec.name))
    names = spec.subtype == "names"
    if not names:
        row.prop(pg, "kind", text="")
        for f in DIST_FIELDS.get(pg.kind, ()):
            col.prop(pg, f)
        if pg.kind == "normal" and pg.clip:
            col.prop(pg, "min")
            col.prop(pg, "max")
    if names or pg.kind == "choice":
        draw_choices(col, pg, path)
    if not names:
        col.prop(pg, "rare_p", text="Rare p")
        if pg.rare_p > 0.0:
            row = col.row(align=True)
            row.prop(pg, "rare_min", text="Min")
            row.prop(pg, "rare_max", text="Max")


def draw_choices(col, pg, path: str) -> None:
    weighted = len(pg.weights) > 0
    row = col.row(align=True)
    add_button(row, f"{path}.choices", "Add Choice")
    row.operator("synthkiln.dist_weights", text="Weights", depress=weighted).data_path = path
    for i, choice in enumerate(pg.choices):
        row = col.row(align=True)
        row.prop(choice, "value", text="")
        if weighted and i < len(pg.weights):
            row.prop(pg.weights[i], "value", text="")
        remove_button(row, f"{path}.choices", i)
