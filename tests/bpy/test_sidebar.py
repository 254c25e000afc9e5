"""The sidebar's second pass (issue 17) on real scenes: every property explains itself (with its unit), names
read as people write them, distributions show units, the category swatch is the real colour, Check Scene stays
honest (fresh, named as the panels name things, click selects the culprit), Reset to Scene puts the artist's
scene back, randomized colours show in Solid shading, the presets menu lists the presets, and the Assets
panel's operators (issue 14) add sources, count the pool and fill an asset library."""

import json
import math
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from synthkiln.addon.core.params.names import WORDS, summary, title  # noqa: E402
from synthkiln.addon.core.randomizers import Randomizer  # noqa: E402
from synthkiln.addon.core.recipe.preset import PACKAGE_ROOT  # noqa: E402

pytestmark = pytest.mark.bpy
ops = bpy.ops.synthkiln


@pytest.fixture
def scene(addon_registered):
    """The factory scene (a selected, active cube, a camera, a light) with a new recipe and a category."""
    bpy.ops.wm.read_factory_settings(use_empty=False)
    assert ops.recipe_new() == {"FINISHED"}
    assert ops.category_add(name="box") == {"FINISHED"}
    return bpy.context.scene


def _synthkiln_groups():
    from synthkiln.addon.ui import props
    return props.classes()


def test_every_property_has_a_description(addon_registered):
    """Tooltips carry the help and units: none is empty (issue 17: 48 of 388 were)."""
    from synthkiln.addon.ui import operators, prefs, stack_ops
    missing, total = [], 0
    for cls in _synthkiln_groups():
        for p in cls.bl_rna.properties:
            if p.identifier in ("rna_type", "name") and p.identifier not in getattr(cls, "__annotations__", {}):
                continue
            total += 1
            if not p.description.strip():
                missing.append(f"{cls.__name__}.{p.identifier}")
    for cls in (*operators.classes, *stack_ops.classes, prefs.SYNTHKILN_AP_preferences):
        rna = cls.bl_rna
        if hasattr(cls, "bl_idname") and cls.bl_idname.startswith("synthkiln."):
            rna = getattr(bpy.ops.synthkiln, cls.bl_idname.partition(".")[2]).get_rna_type()
        for p in rna.properties:
            if p.identifier == "rna_type" or p.identifier not in getattr(cls, "__annotations__", {}):
                continue
            total += 1
            if not p.description.strip() and not p.is_hidden:
                missing.append(f"{cls.__name__}.{p.identifier}")
    assert total > 300 and not missing, missing


def test_add_menu_tooltips_are_whole_sentences(addon_registered):
    """The add menu's tooltip is the type's whole first paragraph, never its first line cut mid-sentence."""
    from synthkiln.addon.ui.stack_ops import SYNTHKILN_OT_randomizer_add
    for t, cls in Randomizer.REGISTRY.items():
        props = type("P", (), {"type": t})()
        text = SYNTHKILN_OT_randomizer_add.description(bpy.context, props)
        first_paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
        assert text == " ".join(first_paragraph.split()) and not text.endswith((" and", " and.", " the")), (t, text)


def test_names_read_as_people_write_them(addon_registered):
    """No "Limit Xy", "Png", "Rle", "Cpu", "Agx": every property and enum item of the recipe is titled."""
    bad = []
    lower = {w.capitalize(): w for w, v in WORDS.items() if v != w.capitalize() and len(w) > 1}
    for cls in _synthkiln_groups():
        for p in cls.bl_rna.properties:
            names = [p.name] + ([i.name for i in p.enum_items] if p.type == 'ENUM' else [])
            for n in names:
                bad += [f"{cls.__name__}.{p.identifier}: {n!r}" for w in n.split() if w in lower]
    assert not bad, bad
    assert (title("limit_xy"), title("PNG"), title("rle"), title("AgX"), title("yolo-seg")) == \
        ("Limit XY", "PNG", "RLE", "AgX", "YOLO-Seg")


def test_units_angles_lengths_counts(scene):
    """Degrees stay degrees in the recipe but show as Blender angles; metres are lengths; counts are whole."""
    from synthkiln.addon.bridge.recipe import read_recipe
    assert ops.randomizer_add(group="camera", type="camera_shell") == {"FINISHED"}
    assert ops.randomizer_add(group="lighting", type="light") == {"FINISHED"}
    shell = scene.synthkiln.recipe.randomizers.camera[0].camera_shell
    el = shell.elevation
    assert el.bl_rna.properties["min_angle"].subtype == 'ANGLE'
    assert el.min_angle == pytest.approx(math.radians(el.min))
    el.max_angle = math.radians(45.0)
    assert el.max == pytest.approx(45.0, abs=1e-4)
    assert read_recipe(scene).randomizers.camera[0].elevation.max == pytest.approx(45.0, abs=1e-4)
    assert shell.distance.bl_rna.properties["min"].subtype == 'DISTANCE'
    count = scene.synthkiln.recipe.randomizers.lighting[0].light.count
    assert count.bl_rna.properties["value"].precision == 0 and count.value == -1


def test_name_choices_have_no_json_quotes(scene):
    assert ops.randomizer_add(group="materials", type="material_swap") == {"FINISHED"}
    pg = scene.synthkiln.recipe.randomizers.materials[0].material_swap
    spec = next(s for s in type(pg).bl_rna.properties if s.type == 'POINTER'
                and getattr(pg, s.identifier).bl_rna.identifier.startswith("SYNTHKILN_PG_distribution")
                and hasattr(getattr(pg, s.identifier), "choices"))
    dist = getattr(pg, spec.identifier)
    entry = dist.choices.add()
    entry.text = "red"
    assert entry.value == '"red"' and entry.text == "red"


def test_category_swatch_is_the_real_colour(scene):
    from synthkiln.addon.core.exports.preview import category_colour
    ops.category_add(name="mug")
    cats = scene.synthkiln.recipe.categories
    for i, c in enumerate(cats):        # black: the automatic colour of its id (i + 1), as the previews draw it
        assert tuple(c.swatch) == pytest.approx(tuple(x / 255 for x in category_colour(i + 1)))
    assert len({tuple(c.swatch) for c in cats}) == 2
    cats[1].swatch = (0.2, 0.4, 0.6)
    assert tuple(cats[1].color) == pytest.approx((0.2, 0.4, 0.6)) and tuple(cats[1].swatch) == pytest.approx(
        (0.2, 0.4, 0.6))


def test_check_scene_goes_stale_and_click_selects_the_culprit(scene):
    ops.randomizer_add(group="objects", type="distractors")
    pg = scene.synthkiln.recipe.randomizers.objects[0].distractors
    pg.select.names.add().value = "NoSuchThing*"
    assert ops.check_scene() == {"FINISHED"}
    state = scene.synthkiln
    texts = [p.text for p in state.check_problems]
    assert not any("randomizers." in t or "[0]" in t for t in texts), texts     # named as the panels name things
    unlabelled = next(i for i, p in enumerate(state.check_problems) if "without a label" in p.text)
    stack = next(i for i, p in enumerate(state.check_problems) if "matches no object" in p.text)
    assert "Objects › distractors (Distractors)" in state.check_problems[stack].text
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    scene.synthkiln.recipe.randomizers.objects[0].show_expanded = False
    assert ops.check_select(index=unlabelled) == {"FINISHED"}
    assert [o.name for o in bpy.context.selected_objects] == ["Cube"] and bpy.context.object.name == "Cube"
    assert ops.check_select(index=stack) == {"FINISHED"}
    assert state.active_objects == 0 and scene.synthkiln.recipe.randomizers.objects[0].show_expanded
    # a move changes nothing Check Scene looks at; a label does
    from synthkiln.addon.ui.stack_ops import check_outdated
    bpy.data.objects["Cube"].location.x += 1.0
    check_outdated(scene)
    assert not state.check_stale
    bpy.context.view_layer.objects.active = bpy.data.objects["Cube"]
    ops.label_assign(category="box", scope="ACTIVE")
    check_outdated(scene)
    assert state.check_stale
    ops.check_scene()
    assert not state.check_stale and not any("without a label" in p.text for p in state.check_problems)


def test_import_preset_builds_the_scene_so_check_is_not_misleading(addon_registered, tmp_path):
    """Check Scene right after Import Preset finds what it finds after the first preview (the scene is built)."""
    import yaml
    data = yaml.safe_load((PACKAGE_ROOT / "presets" / "tabletop.yaml").read_text())
    data["output"] = {**data.get("output", {}), "directory": str(tmp_path / "out")}
    preset = tmp_path / "p.yaml"
    preset.write_text(yaml.safe_dump(data))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert ops.import_preset(filepath=str(preset)) == {"FINISHED"}
    ops.check_scene()
    after_import = [p.text for p in bpy.context.scene.synthkiln.check_problems]
    assert ops.randomize(frame=1) == {"FINISHED"}
    ops.check_scene()
    assert [p.text for p in bpy.context.scene.synthkiln.check_problems] == after_import
    assert not any(t.startswith(("No targets", "No camera")) for t in after_import), after_import


def _material(obj, rgb):
    mat = bpy.data.materials.new("Paint")
    if mat.node_tree is None:           # Blender 4.x: nodes on request (5.x always has them)
        mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*rgb, 1.0)
    obj.data.materials.clear()
    obj.data.materials.append(mat)
    return mat


def test_reset_to_scene_restores_what_the_preview_changed(scene):
    from synthkiln.addon.bridge import snapshot
    cube = bpy.data.objects["Cube"]
    _material(cube, (0.1, 0.2, 0.3))
    cube.location, cube.scale = (0.5, -0.25, 0.75), (0.3, 0.3, 0.3)
    bpy.context.view_layer.update()
    before = [x for r in cube.matrix_world for x in r]
    ops.label_assign(category="box", scope="ACTIVE")
    for group, type_ in (("objects", "object_pose"), ("materials", "material_color"), ("lighting", "light"),
                         ("objects", "distractors")):
        assert ops.randomizer_add(group=group, type=type_) == {"FINISHED"}
    world_before = scene.world.name if scene.world else ""
    objects_before = set(bpy.data.objects.keys())
    assert not snapshot.has(scene)
    assert ops.randomize(frame=3) == {"FINISHED"}
    assert snapshot.has(scene)
    moved = [x for r in cube.matrix_world for x in r] != before
    mat = cube.material_slots[0].material
    painted = tuple(cube["sk_drive_base_color"])          # what the colour socket's Attribute node reads
    assert mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].links[0].from_node.name == "SK base_color"
    assert moved and painted != pytest.approx((0.1, 0.2, 0.3))
    # Solid shading shows the randomized colour too (the viewport display colour)
    assert tuple(mat.diffuse_color)[:3] == pytest.approx(painted)
    assert set(bpy.data.objects.keys()) > objects_before          # the distractors' helper objects
    shown = [o for o in bpy.data.objects if o.name.startswith("SK Distractor") and not o.hide_render]
    assert shown and all(tuple(o.material_slots[0].material.diffuse_color)[:3] == pytest.approx(
        tuple(o["sk_drive_base_color"])) for o in shown)

    assert ops.reset_scene() == {"FINISHED"}
    assert not snapshot.has(scene)
    bpy.context.view_layer.update()
    assert [x for r in cube.matrix_world for x in r] == pytest.approx(before)
    mat = cube.material_slots[0].material
    assert mat.name == "Paint"
    assert tuple(mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value)[:3] == \
        pytest.approx((0.1, 0.2, 0.3))
    assert not any(k.startswith("sk_drive_") for k in cube.keys())     # the driven sockets' properties
    assert set(bpy.data.objects.keys()) == objects_before
    assert (scene.world.name if scene.world else "") == world_before
    assert not any(m.name.endswith(snapshot.COPY_TAG) for m in bpy.data.materials)
    # a second preview records the scene again, from the restored state
    assert ops.randomize(frame=4) == {"FINISHED"} and snapshot.has(scene)
    assert ops.reset_scene() == {"FINISHED"}
    bpy.context.view_layer.update()
    assert [x for r in cube.matrix_world for x in r] == pytest.approx(before)


def test_presets_menu_lists_bundled_presets_and_loads_without_a_browser(scene):
    from synthkiln.addon.ui import panels
    log = []

    class Layout:
        operator_context = 'INVOKE_DEFAULT'

        def operator(self, idname, text="", **kw):
            props = type("Props", (), {})()
            log.append((idname, text, self.operator_context, props))
            return props

        def column(self, **_kw):
            return self

        row = column

        def __getattr__(self, name):
            return lambda *a, **k: None

    menu = type("M", (), {"layout": Layout(), "path_menu": bpy.types.Menu.path_menu})()
    panels.SYNTHKILN_MT_presets.draw(menu, bpy.context)
    loads = [(text, ctx, getattr(p, "filepath", "")) for idname, text, ctx, p in log
             if idname == "synthkiln.import_preset" and getattr(p, "filepath", "")]
    bundled = sorted(p.stem for p in (PACKAGE_ROOT / "presets").glob("*.yaml"))
    assert sorted(Path(f).stem for _t, _c, f in loads) == bundled
    assert {c for _t, c, _f in loads} == {'EXEC_DEFAULT'}
    assert "Tabletop" in [t for t, _c, _f in loads]
    assert any(idname == "synthkiln.preset_save" for idname, *_ in log)


def test_save_preset_goes_to_the_users_presets_folder(scene, tmp_path, monkeypatch):
    from synthkiln.addon.ui import stack_ops
    monkeypatch.setattr(stack_ops, "user_presets", lambda: tmp_path)
    assert ops.preset_save(name="My Shelf") == {"FINISHED"}
    assert (tmp_path / "my_shelf.yaml").is_file()
    with pytest.raises(RuntimeError, match="give the preset a name"):
        ops.preset_save(name="  ")


def test_preferences_are_read(addon_registered):
    from synthkiln.addon.ui import prefs
    assert prefs.local_workers() == 1 and prefs.asset_library() == ""


def test_eyedropper_takes_the_active_object(scene):
    ops.randomizer_add(group="objects", type="object_pose")
    bpy.context.view_layer.objects.active = bpy.data.objects["Cube"]
    path = "synthkiln.recipe.randomizers.objects[0].object_pose.surface"
    assert ops.pick_active(data_path=path) == {"FINISHED"}
    assert scene.synthkiln.recipe.randomizers.objects[0].object_pose.surface == "Cube"
    with pytest.raises(RuntimeError, match="no property"):
        ops.pick_active(data_path="synthkiln.recipe.nothing_here")


def test_assets_panel_sources_pool_and_library(scene, tmp_path):
    """Add a folder as a source (categories from sub-folders), see the pool, add its categories, import it into
    an asset library .blend (in a background process) that lists its assets."""
    from synthkiln.addon.ui import panels
    scans = PACKAGE_ROOT / "asset_library" / "scans"
    assert ops.asset_source_add(directory=str(scans) + "/", filepath=str(scans) + "/") == {"FINISHED"}
    state = scene.synthkiln
    src = state.recipe.assets[0]
    assert src.category_from == "folder" and Path(src.path) == scans
    n, cats, err = panels.source_pool(src)
    assert not err and n >= 6 and {"mug", "box", "can"} <= set(cats)
    assert ops.asset_categories_add() == {"FINISHED"}
    assert {"mug", "box", "can"} <= {c.name for c in state.recipe.categories}
    src.path = str(scans / "mug")
    src.category_from, src.category = "fixed", "mug"
    library = tmp_path / "lib" / "mugs.blend"
    assert ops.assets_to_library(filepath=str(library), wait=True) == {"FINISHED"}
    assert library.is_file(), state.library_status
    assert state.library_status.startswith("mugs.blend: ") and " 0 failed" in state.library_status, \
        state.library_status
    assert int(state.library_status.split(": ")[1].split()[0]) >= 1
