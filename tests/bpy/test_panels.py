"""Every panel, list and menu of the sidebar drawn without a window: a recording layout checks each call
against Blender's RNA (properties exist, operators are registered with the properties set, enum values
and icons are real), in the states an artist meets. Real Blender only prints such mistakes; here they fail."""

import pytest

bpy = pytest.importorskip("bpy")

from synthkiln.addon.core.params.distributions import KINDS  # noqa: E402
from synthkiln.addon.core.randomizers import GROUPS, Randomizer  # noqa: E402

pytestmark = pytest.mark.bpy

UI = bpy.types.UILayout.bl_rna.functions
ICONS = set(UI["prop"].parameters["icon"].enum_items.keys())


class Recorder:
    """Stands in for ``UILayout``: checks every call's arguments, records what was drawn."""

    def __init__(self, log):
        self.__dict__["log"] = log

    def __setattr__(self, name, value):
        assert name in bpy.types.UILayout.bl_rna.properties, f"UILayout has no attribute {name!r}"
        self.__dict__[name] = value

    def __getattr__(self, name):
        fn = UI.get(name)
        assert fn is not None, f"UILayout has no function {name!r}"
        params = [p.identifier for p in fn.parameters if not p.is_output]

        def call(*args, **kw):
            assert len(args) <= len(params), f"{name}: too many arguments {args}"
            for k in kw:
                assert k in params, f"{name}: no parameter {k!r}"
            kw.update(zip(params, args))
            for p in fn.parameters:
                if p.is_required and not p.is_output:
                    assert p.identifier in kw, f"{name}: {p.identifier} is required"
            if "icon" in kw:
                assert kw["icon"] in ICONS, f"{name}: no icon {kw['icon']!r}"
            self.log.append((name, kw))
            check = getattr(type(self), f"_{name}", None)
            return check(self, **kw) if check else Recorder(self.log)
        return call

    # -- the calls whose arguments name RNA ------------------------------------------------------------
    def _prop(self, data, property, **kw):
        rna = data.bl_rna.properties.get(property)
        assert rna is not None, f"{data.bl_rna.identifier} has no property {property!r}"

    def _prop_search(self, data, property, search_data, search_property, **kw):
        self._prop(data, property)
        coll = search_data.bl_rna.properties.get(search_property)
        assert coll is not None and coll.type == 'COLLECTION', f"no collection {search_property!r} to search"

    def _operator(self, operator, **kw):
        mod, _, fn = operator.partition(".")
        rna = getattr(getattr(bpy.ops, mod), fn).get_rna_type()   # raises for an unregistered idname
        return OperatorProps(operator, rna, self.log)

    def _menu(self, menu, **kw):
        cls = getattr(bpy.types, menu, None)
        assert cls is not None and issubclass(cls, bpy.types.Menu), f"no menu {menu!r}"

    def _template_list(self, listtype_name, list_id, dataptr, propname, active_dataptr, active_propname, **kw):
        cls = getattr(bpy.types, listtype_name, None)
        assert cls is not None and issubclass(cls, bpy.types.UIList), f"no UIList {listtype_name!r}"
        assert dataptr.bl_rna.properties[propname].type == 'COLLECTION'
        assert active_dataptr.bl_rna.properties[active_propname].type == 'INT'
        for i, item in enumerate(getattr(dataptr, propname)):    # draw its rows too
            cls.draw_item(cls, bpy.context, Recorder(self.log), dataptr, item, 0, active_dataptr, active_propname, i)

    def _progress(self, factor=0.0, **kw):
        assert 0.0 <= factor <= 1.0


class OperatorProps:
    """Stands in for the properties ``layout.operator`` returns: only real properties, valid values."""

    def __init__(self, idname, rna, log):
        self.__dict__.update(idname=idname, rna=rna, log=log)

    def __setattr__(self, name, value):
        p = self.rna.properties.get(name)
        assert p is not None, f"{self.idname} has no property {name!r}"
        if p.type == 'ENUM':
            assert value in p.enum_items.keys(), f"{self.idname}.{name}: {value!r} is not one of {p.enum_items.keys()}"
        elif p.type in ('INT', 'FLOAT'):
            assert p.hard_min <= value <= p.hard_max, f"{self.idname}.{name}: {value} out of range"
        elif p.type == 'STRING':
            assert isinstance(value, str)
        self.log.append(("set", (self.idname, name, value)))


def _stand_in(cls, log):
    s = type("StandIn", (), {k: getattr(cls, k) for k in ("group", "bl_label") if hasattr(cls, k)})()
    s.layout = Recorder(log)
    return s


def draw_everything(context=None, menus=True) -> list:
    """Draw every panel that polls true (header and body), and every add menu; returns the call log."""
    from synthkiln.addon.ui import panels
    context = context or bpy.context
    log = []
    for cls in panels.PANELS:
        if hasattr(cls, "poll") and not cls.poll(context):
            continue
        log.append(("panel", cls.__name__))
        if hasattr(cls, "draw_header"):
            cls.draw_header(_stand_in(cls, log), context)
        cls.draw(_stand_in(cls, log), context)
    for menu in panels.ADD_MENUS.values() if menus else ():
        menu.draw(_stand_in(menu, log), context)
    return log


def drawn_panels(log):
    return [x for kind, x in log if kind == "panel"]


def operators_set(log):
    return [x for kind, x in log if kind == "set"]


@pytest.fixture(scope="module")
def ui_registered(addon_registered):
    """The panels, lists and menus too (the bpy module runs in background mode, where register skips them)."""
    from synthkiln.addon.ui import panels
    panels.register()
    yield
    panels.unregister()


@pytest.fixture
def cube_scene(ui_registered):
    """The factory scene (a selected, active cube, a camera and a light)."""
    bpy.ops.wm.read_factory_settings(use_empty=False)
    return bpy.context.scene


def _full(scene):
    from synthkiln.addon.bridge import recipe as stored
    from tests.helpers.full_recipe import everything
    stored.write_recipe(scene, everything())
    for g in GROUPS:
        for slot in getattr(scene.synthkiln.recipe.randomizers, g):
            slot.show_expanded = True
    return scene.synthkiln


def test_no_recipe_shows_only_run_with_new_and_import(ui_registered):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    log = draw_everything(menus=False)
    assert drawn_panels(log) == ["SYNTHKILN_PT_run"]
    ops = [kw["operator"] for name, kw in log if name == "operator"]
    assert ops == ["synthkiln.recipe_new", "synthkiln.import_preset"]


def test_empty_recipe_draws_every_sidebar_panel(ui_registered):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.synthkiln.recipe_new() == {"FINISHED"}
    log = draw_everything()
    from synthkiln.addon.ui import panels
    # no object: the Object properties panel stays out; no asset source: nor its normalisation settings
    assert drawn_panels(log) == [c.__name__ for c in panels.PANELS
                                 if c not in (panels.SYNTHKILN_PT_object_labels, panels.SYNTHKILN_PT_assets_more)]
    # every group's add menu offers exactly that group's types
    added = {}
    for idname, prop, value in operators_set(log):
        if idname == "synthkiln.randomizer_add":
            added.setdefault(prop, []).append(value)
    assert sorted(added["type"]) == sorted(Randomizer.REGISTRY)
    assert [(g, t) for g, t in zip(added["group"], added["type"])] == \
        [(Randomizer.REGISTRY[t].GROUP, t) for t in added["type"]]


def test_full_recipe_with_every_type_expanded(cube_scene):
    state = _full(cube_scene)
    log = draw_everything()
    # a field is drawn as itself, its angle twin (degrees shown as a Blender angle) or an object search field
    props_drawn = {(kw["data"].bl_rna.identifier, kw["property"].removesuffix("_angle")) for name, kw in log
                   if name in ("prop", "prop_search")}
    # every schema field of every randomizer type is on screen (so a new field appears by itself)
    from synthkiln.addon.core.params.schema import field_specs
    from synthkiln.addon.ui.props import _GENERATED
    for t, cls in Randomizer.REGISTRY.items():
        pg = _GENERATED[cls].__name__
        for spec in field_specs(cls):
            if spec.kind in ("bool", "int", "float", "str", "enum", "int2", "float3") and spec.name != "enabled":
                assert (pg, spec.name) in props_drawn, f"{t}.{spec.name} is not drawn"
    # rows of both lists were drawn
    assert any(name == "prop" and kw["property"] == "show_expanded" for name, kw in log)
    n_slots = sum(len(getattr(state.recipe.randomizers, g)) for g in GROUPS)
    assert sum(1 for name, kw in log if name == "prop" and kw["property"] == "show_expanded") == 2 * n_slots
    # the export toggles mirror output.exports
    toggles = {v for i, p, v in operators_set(log) if i == "synthkiln.export_toggle"}
    from synthkiln.addon.core.recipe.model import EXPORT_FORMATS
    assert toggles == set(EXPORT_FORMATS)


@pytest.mark.parametrize("kind", KINDS)
def test_distributions_show_only_their_kind_fields(cube_scene, kind):
    state = _full(cube_scene)
    dist = state.recipe.randomizers.objects[0]
    pg = getattr(dist, dist.type)
    from synthkiln.addon.core.params.schema import field_specs
    cls = Randomizer.REGISTRY[dist.type]
    spec = next(s for s in field_specs(cls) if s.kind == "dist" and s.subtype != "names")
    d = getattr(pg, spec.name)
    d.kind, d.clip, d.rare_p = kind, True, 0.0
    log = draw_everything()
    shown = [kw["property"].removesuffix("_angle") for name, kw in log if name == "prop" and kw["data"] == d]
    # one row: the kind, its numbers, the rare-draws toggle; a clipped normal's bounds on a second row
    expect = {"constant": ["kind", "value"], "uniform": ["kind", "min", "max"], "log_uniform": ["kind", "min", "max"],
              "normal": ["kind", "mean", "std", "clip", "show_rare", "min", "max"], "choice": ["kind"]}[kind]
    assert shown == (expect if kind == "normal" else expect + ["show_rare"])
    d.show_rare = True
    log = draw_everything()
    shown = [kw["property"].removesuffix("_angle") for name, kw in log if name == "prop" and kw["data"] == d]
    assert shown[-3:] == ["rare_p", "rare_min", "rare_max"]
    if kind == "choice":
        assert any(i == "synthkiln.dist_weights" for i, p, v in operators_set(log))


def test_selected_object_with_and_without_label(cube_scene):
    from synthkiln.addon.ui import panels
    bpy.ops.synthkiln.recipe_new()
    bpy.ops.synthkiln.category_add(name="box")
    ctx = bpy.context
    assert ctx.object.name == "Cube"

    def labels_log():
        log = []
        panels.SYNTHKILN_PT_labels.draw(_stand_in(panels.SYNTHKILN_PT_labels, log), ctx)
        panels.SYNTHKILN_PT_object_labels.draw(_stand_in(panels.SYNTHKILN_PT_object_labels, log), ctx)
        return log

    log = labels_log()
    targets = [kw for name, kw in log if name == "operator" and kw.get("text") == "Target"]
    assert [t["operator"] for t in targets] == ["synthkiln.label_assign"] * 2
    assert not any(name == "prop_search" and kw["property"] == "category" for name, kw in log)

    assert bpy.ops.synthkiln.label_assign(scope="ACTIVE") == {"FINISHED"}
    bpy.ops.synthkiln.item_add(data_path="synthkiln.recipe.labels[0].attributes")
    log = labels_log()
    targets = [kw for name, kw in log if name == "operator" and kw.get("text") == "Target"]
    assert [(t["operator"], t["depress"]) for t in targets] == [("synthkiln.label_clear", True)] * 2
    assert sum(1 for name, kw in log if name == "prop_search" and kw["property"] == "category") == 2
    assert sum(1 for name, kw in log if name == "prop" and kw["property"] == "key") == 2

    bpy.context.view_layer.objects.active = bpy.data.objects["Camera"]
    log = labels_log()
    assert any(name == "label" and "cannot be a target" in kw.get("text", "") for name, kw in log)


def test_progress_and_check_results_are_drawn(cube_scene):
    from synthkiln.addon.ui import panels
    state = _full(cube_scene)
    state.render_running, state.render_done, state.render_total, state.render_eta = True, 3, 8, 12.0
    state.check_done = True
    state.check_problems.add().text = "no camera"
    log = []
    panels.SYNTHKILN_PT_run.draw(_stand_in(panels.SYNTHKILN_PT_run, log), bpy.context)
    panels.SYNTHKILN_PT_check.draw(_stand_in(panels.SYNTHKILN_PT_check, log), bpy.context)
    prog = [kw for name, kw in log if name == "progress"]
    assert prog and prog[0]["factor"] == pytest.approx(3 / 8) and "3/8" in prog[0]["text"]
    assert not any(name == "operator" and kw["operator"] == "synthkiln.render_dataset" for name, kw in log)
    assert any(name == "label" and kw.get("text") == "no camera" for name, kw in log)


def test_preferences_draw_and_fall_back_to_defaults(ui_registered):
    from synthkiln.addon.ui import prefs
    log = []
    stand_in = type("Prefs", (), {"bl_rna": prefs.SYNTHKILN_AP_preferences.bl_rna})()
    stand_in.layout = Recorder(log)
    prefs.SYNTHKILN_AP_preferences.draw(stand_in, bpy.context)
    assert [kw["property"] for name, kw in log if name == "prop"] == ["asset_library", "output_directory", "workers"]
    assert prefs.get() == prefs.Defaults()       # the bpy module never enables the add-on in preferences
    assert prefs.addon_name("synthkiln.addon.ui") == "synthkiln"
    assert prefs.addon_name("bl_ext.user_default.synthkiln.addon.ui") == "bl_ext.user_default.synthkiln"


def test_the_recorder_catches_mistakes(ui_registered):
    """The checks above would fail on the typos real Blender only prints."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.synthkiln.recipe_new()
    state = bpy.context.scene.synthkiln
    rec = Recorder([])
    with pytest.raises(AssertionError, match="no property"):
        rec.prop(state, "preview_frames")
    with pytest.raises(AssertionError, match="no icon"):
        rec.label(text="x", icon="NOT_AN_ICON")
    with pytest.raises((AssertionError, KeyError, AttributeError, RuntimeError)):
        rec.operator("synthkiln.no_such_operator")
    op = rec.operator("synthkiln.randomizer_move")
    with pytest.raises(AssertionError, match="is not one of"):
        op.direction = "SIDEWAYS"
    with pytest.raises(AssertionError, match="has no property"):
        op.groups = "objects"
