"""The sidebar's operators through ``bpy.ops`` on real scenes: each changes the recipe as read back by
``bridge.recipe.read_recipe`` (so through the schema's checks), the result survives export/import, and
registration leaves nothing behind."""

import os
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from synthkiln.addon.core.recipe.preset import load_preset  # noqa: E402
from synthkiln.addon.core.randomizers import GROUPS, Randomizer  # noqa: E402
from synthkiln.addon.core.recipe.model import OutputSettings, Recipe  # noqa: E402

pytestmark = pytest.mark.bpy
ops = bpy.ops.synthkiln


def recipe():
    from synthkiln.addon.bridge import recipe as stored
    return stored.read_recipe(bpy.context.scene)


def round_trips(tmp_path):
    """The scene's recipe survives export → import unchanged."""
    before = recipe()
    path = tmp_path / "rt.yaml"
    assert ops.export_preset(filepath=str(path)) == {"FINISHED"}
    assert ops.import_preset(filepath=str(path)) == {"FINISHED"}
    assert recipe() == before == load_preset(path)
    return True


@pytest.fixture
def scene(addon_registered):
    """The factory scene (a selected, active cube, a camera, a light) with a new recipe."""
    bpy.ops.wm.read_factory_settings(use_empty=False)
    assert not bpy.context.scene.synthkiln.initialized
    assert ops.recipe_new() == {"FINISHED"}
    return bpy.context.scene


def test_recipe_new_is_an_empty_valid_recipe(scene):
    assert scene.synthkiln.initialized
    assert recipe() == Recipe(output=OutputSettings(directory=OutputSettings().directory))


def test_every_randomizer_type_is_added_with_its_defaults(scene, tmp_path):
    for t, cls in sorted(Randomizer.REGISTRY.items()):
        assert ops.randomizer_add(group=cls.GROUP, type=t) == {"FINISHED"}
    ops.randomizer_add(group="objects", type="object_pose")      # a second one gets a unique name
    r = recipe()
    for g in GROUPS:
        stack = getattr(r.randomizers, g)
        assert [x.GROUP for x in stack] == [g] * len(stack)
        assert scene.synthkiln.recipe.randomizers.__getattribute__(g)[-1].show_expanded
    for x in r.randomizers.all():
        default = type(x)(name=x.name)
        default._path = x._path
        assert x == default, x.TYPE
    assert [x.name for x in r.randomizers.objects].count("object_pose_2") == 1
    assert len({x.name for x in r.randomizers.all()}) == len(r.randomizers.all())
    assert round_trips(tmp_path)
    with pytest.raises(RuntimeError, match="belongs in the lighting stack"):
        ops.randomizer_add(group="objects", type="light")


def test_move_mute_and_remove(scene):
    for t in ("object_pose", "object_count", "distractors"):
        ops.randomizer_add(group="objects", type=t)
    state = scene.synthkiln
    assert state.active_objects == 2
    assert ops.randomizer_move(group="objects", index=2, direction="UP") == {"FINISHED"}
    assert [x.TYPE for x in recipe().randomizers.objects] == ["object_pose", "distractors", "object_count"]
    assert state.active_objects == 1
    assert ops.randomizer_move(group="objects", index=0, direction="UP") == {"CANCELLED"}   # already on top
    slot = state.recipe.randomizers.objects[0]
    getattr(slot, slot.type).enabled = False              # mute, as the list's eye button does
    assert not recipe().randomizers.objects[0].enabled
    assert ops.randomizer_remove(group="objects") == {"FINISHED"}       # the active one (distractors)
    assert [x.TYPE for x in recipe().randomizers.objects] == ["object_pose", "object_count"]
    with pytest.raises(RuntimeError, match="no objects randomizer at index 5"):
        ops.randomizer_remove(group="objects", index=5)


def test_categories_add_rename_remove_follow_through(scene, tmp_path):
    assert ops.category_add(name="mug") == {"FINISHED"}
    assert ops.category_add() == {"FINISHED"}
    assert [c.name for c in recipe().categories] == ["mug", "category"]
    with pytest.raises(RuntimeError, match="already exists"):
        ops.category_add(name="mug")
    ops.label_assign(category="mug", scope="ACTIVE")
    rec = scene.synthkiln.recipe
    rec.output.include_categories.add().value = "mug"
    ops.randomizer_add(group="materials", type="material_color")
    ops.randomizer_add(group="objects", type="object_count")     # follows a category balance
    getattr(rec.randomizers.materials[0], "material_color").select.category = "mug"
    rec.balance.add().attribute = "category"
    kv = rec.balance[0].shares.add()
    kv.key, kv.value = "mug", "1.0"

    rec.categories[0].name = "cup"              # a rename in the list (double-click) follows through
    r = recipe()
    assert [rule.category for rule in r.labels] == ["cup"]
    assert r.output.include_categories == ["cup"]
    assert r.randomizers.materials[0].select.category == "cup"
    assert r.balance[0].shares == {"cup": 1.0}
    assert round_trips(tmp_path)

    scene.synthkiln.active_category = 0
    assert ops.category_remove() == {"FINISHED"}
    r = recipe()
    assert [c.name for c in r.categories] == ["category"]
    assert r.labels == [] and r.output.include_categories == [] and r.balance[0].shares == {}


def test_label_assign_and_clear(scene, tmp_path):
    ops.category_add(name="box")
    ops.category_add(name="ball")
    bpy.ops.mesh.primitive_uv_sphere_add()
    sphere = bpy.context.object
    cube = bpy.data.objects["Cube"]
    cube.select_set(True)
    assert {o.name for o in bpy.context.selected_objects} == {"Cube", "Sphere"}
    with pytest.raises(RuntimeError, match="not in the category list"):
        ops.label_assign(category="nope")
    assert ops.label_assign(category="box", scope="SELECTED") == {"FINISHED"}
    r = recipe()
    assert sorted((rule.select.names[0], rule.category) for rule in r.labels) == [("Cube", "box"), ("Sphere", "box")]

    # attributes stay when the category changes; the changed rule moves last (later rules win)
    i = [rule.select.names[0] for rule in r.labels].index("Sphere")
    path = f"synthkiln.recipe.labels[{i}].attributes"
    ops.item_add(data_path=path)
    kv = scene.synthkiln.recipe.labels[i].attributes[0]
    kv.key, kv.value = "size", "2.5"
    assert ops.label_assign(category="ball", scope="ACTIVE") == {"FINISHED"}
    r = recipe()
    assert (r.labels[-1].select.names, r.labels[-1].category, r.labels[-1].attributes) == (["Sphere"], "ball",
                                                                                          {"size": 2.5})
    assert len(r.labels) == 2

    coll = bpy.data.collections.new("Props")
    scene.collection.children.link(coll)
    scene.synthkiln.label_collection = "Props"
    assert ops.label_assign(category="ball", scope="COLLECTION") == {"FINISHED"}
    assert recipe().labels[-1].select.collection == "Props"
    assert round_trips(tmp_path)

    assert ops.label_clear(scope="SELECTED") == {"FINISHED"}
    assert [rule.select.collection for rule in recipe().labels] == ["Props"]
    assert ops.label_clear(scope="COLLECTION") == {"FINISHED"}
    assert recipe().labels == []
    sphere.select_set(False)
    cube.select_set(False)
    with pytest.raises(RuntimeError, match="no renderable object selected"):
        ops.label_assign(category="box", scope="SELECTED")


def test_list_and_distribution_editing(scene, tmp_path):
    ops.randomizer_add(group="materials", type="material_color")
    base = "synthkiln.recipe.randomizers.materials[0].material_color"
    pg = scene.synthkiln.recipe.randomizers.materials[0].material_color
    pg.mode = "palette"
    n = len(pg.palette.choices)
    assert ops.dist_weights(data_path=f"{base}.palette") == {"FINISHED"}
    assert list(recipe().randomizers.materials[0].palette.weights) == [1.0] * n
    assert ops.item_add(data_path=f"{base}.palette.choices") == {"FINISHED"}
    pg.palette.choices[-1].value = "cyan"                      # a bare word: no JSON quoting needed
    pg.palette.weights[-1].value = 3.0
    d = recipe().randomizers.materials[0].palette
    assert d.choices[-1] == "cyan" and d.weights == [1.0] * n + [3.0]
    assert ops.item_remove(data_path=f"{base}.palette.choices", index=0) == {"FINISHED"}
    d = recipe().randomizers.materials[0].palette
    assert len(d.choices) == len(d.weights) == n
    ops.dist_weights(data_path=f"{base}.palette")
    assert recipe().randomizers.materials[0].palette.weights == []

    ops.item_add(data_path=f"{base}.select.names")
    pg.select.names[0].value = "Cu*"
    assert recipe().randomizers.materials[0].select.names == ["Cu*"]
    ops.item_add(data_path="synthkiln.recipe.scene.lights")         # a struct list entry gets schema defaults
    assert recipe().scene.lights[0].name == "Light"
    assert round_trips(tmp_path)
    with pytest.raises(RuntimeError, match="not a SynthKiln property"):
        ops.item_add(data_path="render.resolution_x")
    with pytest.raises(RuntimeError, match="not a list"):
        ops.item_add(data_path="synthkiln.recipe.output.frames")


def test_export_toggles(scene):
    assert ops.export_toggle(format="yolo") == {"FINISHED"}
    assert recipe().output.exports == ["coco", "yolo"]
    ops.export_toggle(format="coco")
    assert recipe().output.exports == ["yolo"]


def test_the_rule_a_panel_shows_is_the_rule_a_render_applies(scene):
    """``label_rule`` (the sidebar, Clear's warning) and ``resolve_targets`` (a render) decide alike: the
    last matching rule wins; a category selector matches nothing in label rules; only renderable types."""
    from synthkiln.addon.bridge.scene import label_rule, resolve_targets
    from synthkiln.addon.ui.stack_ops import effective_rule
    coll = bpy.data.collections.new("Props")
    scene.collection.children.link(coll)
    coll.objects.link(bpy.data.objects["Cube"])
    for name in ("box", "ball"):
        ops.category_add(name=name)
    state = scene.synthkiln
    for sel, cat in (({"collection": "Props"}, "box"), ({"names": ["Cu*"]}, "ball"), ({"category": "box"}, "ball"),
                     ({"collection": "Props", "names": ["Light"]}, "box"), ({"names": ["Camera", "Light"]}, "box")):
        rule = state.recipe.labels.add()
        rule.category, rule.select.collection, rule.select.category = cat, sel.get("collection", ""), sel.get("category", "")
        for n in sel.get("names", []):
            rule.select.names.add().value = n
    r = recipe()
    targets = {t.name: t.category for t in resolve_targets(scene, r)}
    assert targets == {"Cube": "ball"}
    selectors = [rule.select for rule in r.labels]
    assert {o.name: label_rule(scene, selectors, o) for o in scene.objects} == {"Cube": 1, "Camera": -1, "Light": -1}
    assert [effective_rule(scene, state.recipe, o) for o in scene.objects] == [label_rule(scene, selectors, o)
                                                                             for o in scene.objects]
    state.recipe.labels[0].select.collection = "Gone"          # a render stops on it; drawing never raises
    assert label_rule(scene, [rule.select for rule in recipe().labels], bpy.data.objects["Cube"]) == 1


def test_check_scene_lists_problems_then_none(addon_registered, tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=False)
    scene = bpy.context.scene
    ops.check_scene()
    assert [p.text for p in scene.synthkiln.check_problems] == ["No recipe yet: make a new one or import a preset"]
    ops.recipe_new()
    ops.category_add(name="box")
    bpy.data.objects.remove(bpy.data.objects["Camera"])
    img = bpy.data.images.new("Gone", 4, 4)
    img.source, img.filepath = "FILE", str(tmp_path / "gone.png")
    ops.randomizer_add(group="objects", type="distractors")
    pg = scene.synthkiln.recipe.randomizers.objects[0].distractors
    pg.select.names.add().value = "NoSuchThing*"
    assert ops.check_scene() == {"FINISHED"}
    problems = "\n".join(p.text for p in scene.synthkiln.check_problems)
    for expected in ("No targets", "No camera", "Missing image files: Gone", "without a label (background?): Cube",
                     "Objects › distractors (Distractors): its selection matches no object"):
        assert expected in problems

    bpy.data.images.remove(img)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    pg.select.names[0].value = "Cube"
    bpy.context.view_layer.objects.active = bpy.data.objects["Cube"]
    ops.label_assign(category="box", scope="ACTIVE")
    ops.check_scene()
    assert [p.text for p in scene.synthkiln.check_problems] == []


def test_open_output_polls_on_the_folder(scene, tmp_path):
    scene.synthkiln.recipe.output.directory = str(tmp_path / "missing")
    assert not ops.open_output.poll()
    scene.synthkiln.recipe.output.directory = str(tmp_path)
    assert ops.open_output.poll()


def test_preview_frame_applies_live_and_reports_errors(scene):
    ops.category_add(name="box")
    ops.label_assign(category="box", scope="ACTIVE")
    ops.randomizer_add(group="objects", type="object_pose")
    cube = bpy.data.objects["Cube"]
    state = scene.synthkiln
    seen = set()
    for frame in (1, 2, 1):
        state.preview_frame = frame                    # as the field in the panel does
        assert state.preview_status == f"Frame {frame}: 1 targets" and not state.preview_failed
        seen.add(tuple(round(x, 6) for x in cube.matrix_world.translation))
    assert len(seen) == 2                               # frame 1 twice: the same pose
    assert ops.randomize(frame=2) == {"FINISHED"}
    assert state.preview_frame == 2

    pose = state.recipe.randomizers.objects[0].object_pose
    pose.scale.kind, pose.scale.min, pose.scale.max = "uniform", 2.0, 1.0     # invalid: min > max
    state.preview_frame = 3                             # must not raise out of the callback
    assert "min 2.0 is greater" in state.preview_status and state.preview_failed
    with pytest.raises(RuntimeError, match="min 2.0 is greater"):
        ops.randomize(frame=3)


@pytest.mark.render
def test_render_dataset_fills_the_progress(scene, tmp_path):
    r = scene.synthkiln.recipe
    ops.category_add(name="box")
    ops.label_assign(category="box", scope="ACTIVE")
    r.output.directory, r.output.frames = str(tmp_path / "ds"), 2
    r.render.resolution, r.render.samples, r.render.denoise = (32, 24), 1, False
    assert ops.render_dataset() == {"FINISHED"}
    state = scene.synthkiln
    assert (state.render_running, state.render_done, state.render_total) == (False, 2, 2)
    assert sorted(p.name for p in (tmp_path / "ds" / "frames").iterdir()) == ["000000.json", "000001.json"]
    assert ops.open_output.poll()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A stand-in web browser (``$BROWSER``) that writes down what it was asked to open. Module-wide:
    Python's ``webbrowser`` reads ``$BROWSER`` once per process."""
    folder = tmp_path_factory.mktemp("browser")
    script, log = folder / "browser", folder / "opened.txt"
    script.write_text(f'#!/bin/sh\necho "$1" >> {log}\n')
    script.chmod(0o755)
    old = os.environ.get("BROWSER")
    os.environ["BROWSER"] = str(script)
    yield log
    if old is None:
        os.environ.pop("BROWSER", None)
    else:
        os.environ["BROWSER"] = old


def rendered_scene(scene, root: Path, frames: int = 3):
    r = scene.synthkiln.recipe
    ops.category_add(name="box")
    ops.label_assign(category="box", scope="ACTIVE")
    r.output.directory, r.output.frames = str(root), frames
    r.render.resolution, r.render.samples, r.render.denoise = (32, 24), 1, False
    assert not ops.open_report.poll()                   # no dataset yet
    assert ops.render_dataset() == {"FINISHED"}
    assert ops.open_report.poll()


@pytest.mark.render
def test_open_report_builds_the_report_and_opens_it(scene, tmp_path, browser):
    rendered_scene(scene, tmp_path / "ds")
    assert ops.open_report() == {"FINISHED"}
    index = tmp_path / "ds" / "report" / "index.html"
    assert "box" in index.read_text() and len(list(index.parent.glob("*.png"))) >= 5
    assert browser.read_text().splitlines()[-1] == index.as_uri()


@pytest.mark.render
def test_open_report_in_a_blender_without_matplotlib(scene, tmp_path, browser, monkeypatch):
    """Official Blender builds lack matplotlib: the report is drawn by the headless runner's command."""
    from synthkiln.addon.core.report import plots
    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    rendered_scene(scene, tmp_path / "ds")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(RuntimeError, match="no `synthkiln` command is on PATH"):
        ops.open_report()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")      # the venv's synthkiln
    assert ops.open_report() == {"FINISHED"}
    index = tmp_path / "ds" / "report" / "index.html"
    assert browser.read_text().splitlines()[-1] == index.as_uri() and index.is_file()


def test_register_unregister_register_leaves_nothing(addon_registered):
    from synthkiln import addon
    from synthkiln.addon.ui import operators

    def ours():
        return sorted(n for n in dir(bpy.types) if n.startswith("SYNTHKILN"))

    def op_ids():
        return sorted(n for n in dir(bpy.ops.synthkiln))

    with_ui = None
    try:
        addon.unregister()
        assert ours() == [] and not hasattr(bpy.types.Scene, "synthkiln")
        assert operators.reset_after_load not in bpy.app.handlers.load_post
        addon.register(ui=True)
        with_ui = ours()
        assert "SYNTHKILN_PT_run" in with_ui and "SYNTHKILN_UL_randomizers" in with_ui
        assert "SYNTHKILN_MT_add_objects" in with_ui
        assert bpy.app.handlers.load_post.count(operators.reset_after_load) == 1
        ids = op_ids()
        for needed in ("recipe_new", "randomizer_add", "randomizer_remove", "randomizer_move", "category_add",
                       "category_remove", "label_assign", "label_clear", "check_scene", "open_output",
                       "open_report", "randomize", "render_dataset", "import_preset", "export_preset"):
            assert needed in ids
        addon.unregister()
        assert ours() == [] and not hasattr(bpy.types.Scene, "synthkiln")
        assert operators.reset_after_load not in bpy.app.handlers.load_post
    finally:
        addon.register()                  # back to what the session fixture expects (no UI in background)
    assert hasattr(bpy.types.Scene, "synthkiln")
    assert not any(n.startswith("SYNTHKILN_PT") for n in ours())
    assert Path(addon.__file__).parent.name == "addon"


def test_import_preset_points_the_bulk_label_category_at_an_existing_category(empty_scene):
    import bpy
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS
    empty_scene.synthkiln.label_category = "widget"
    assert bpy.ops.synthkiln.import_preset(filepath=str(BUILTIN_PRESETS / "tabletop.yaml")) == {"FINISHED"}
    assert empty_scene.synthkiln.label_category == "mug"


def test_check_scene_covers_asset_sources(addon_registered, tmp_path):
    """Issue 14: a source that matches no file, and files that cannot be imported, are listed by Check Scene
    (without importing anything)."""
    lib = tmp_path / "lib" / "mug"
    lib.mkdir(parents=True)
    (lib / "empty.stl").write_bytes(b"")
    preset = tmp_path / "p.yaml"
    preset.write_text(f"""\
categories: [{{name: mug}}]
assets:
  - {{name: mine, path: '{tmp_path / "lib"}', category_from: folder}}
""")
    bpy.ops.wm.read_factory_settings(use_empty=False)
    ops.import_preset(filepath=str(preset))
    ops.check_scene()
    problems = [p.text for p in bpy.context.scene.synthkiln.check_problems]
    assert any("empty.stl" in p and "is empty" in p for p in problems), problems
    preset.write_text(preset.read_text().replace(str(tmp_path / "lib"), str(tmp_path / "nothing")))
    ops.import_preset(filepath=str(preset))
    ops.check_scene()
    problems = [p.text for p in bpy.context.scene.synthkiln.check_problems]
    assert any("matches no model file" in p or "does not exist" in p for p in problems), problems
