"""Runs inside a real GUI Blender (``blender --python driver.py -- config.json``) and drives the SynthKiln
sidebar as a user would: open the sidebar on the SynthKiln tab, build a recipe through the operators, take
screenshots, run Render Dataset as the modal operator, then quit.

Everything happens in ``bpy.app.timers`` callbacks once the window is up (at ``--python`` time there is no
drawn UI yet). A generator holds the script; each ``yield`` hands control back to Blender's event loop for
that many seconds, so regions redraw and modal operators get their timer events. Results go to
``results.json`` in the run folder; the host-side test (tests/gui/test_gui.py) asserts on them, on Blender's
output (``rna_uiItem`` errors, Tracebacks) and on the screenshots.

Operators other than import_preset, export_preset, randomize and render_dataset are optional: a step whose
operator is not registered is logged as skipped, so this driver works before and after the full sidebar.
"""

import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

import bpy

CFG = json.loads(Path(sys.argv[sys.argv.index("--") + 1]).read_text())
RUN = Path(CFG["run_dir"])
results = {"steps": [], "skipped": [], "optional_errors": [], "screenshots": {}, "regions": {}, "failed": None}


def log(msg):
    print(f"SK-DRIVER: {msg}", flush=True)


def save():
    (RUN / "results.json").write_text(json.dumps(results, indent=1))


def registered(name):
    """Is ``synthkiln.<name>`` a registered operator?"""
    try:
        getattr(bpy.ops.synthkiln, name).get_rna_type()
        return True
    except (KeyError, AttributeError):
        return False


def view3d():
    """(window, area, ui region, window region) of the largest 3D view."""
    win = bpy.context.window_manager.windows[0]
    areas = [a for a in win.screen.areas if a.type == 'VIEW_3D']
    area = max(areas, key=lambda a: a.width * a.height)
    regions = {r.type: r for r in area.regions}
    return win, area, regions['UI'], regions['WINDOW']


def enum_item(op, prop, prefer=()):
    """A valid value of an operator's enum property (the first preferred one it has, else its first)."""
    try:
        items = [i.identifier for i in getattr(bpy.ops.synthkiln, op).get_rna_type().properties[prop].enum_items]
    except (KeyError, AttributeError):         # not an enum (yet): the call records the mismatch
        return prefer[0] if prefer else None
    return next((p for p in prefer if p in items), items[0] if items else None)


def call(op, /, optional=False, invoke=False, **props):
    """Run ``bpy.ops.synthkiln.<op>`` in the 3D view's sidebar context; record the outcome.

    Optional operators (the sidebar's editing operators) are skipped when not registered, and their errors
    are recorded rather than raised, so one mismatch does not hide the rest of the session."""
    if not registered(op):
        if optional:
            if op not in results["skipped"]:
                results["skipped"].append(op)
            log(f"skip {op}: operator not registered")
            return None
        raise RuntimeError(f"operator synthkiln.{op} is not registered")
    win, area, ui, _ = view3d()
    try:
        with bpy.context.temp_override(window=win, screen=win.screen, area=area, region=ui):
            ret = getattr(bpy.ops.synthkiln, op)('INVOKE_DEFAULT' if invoke else 'EXEC_DEFAULT', **props)
    except Exception as e:                      # noqa: BLE001 -- RuntimeError (reports), TypeError (props)
        if not optional:
            raise
        results["optional_errors"].append(f"{op}({props}): {type(e).__name__}: {e}".strip())
        log(f"optional {op} failed: {e}")
        save()
        return None
    results["steps"].append({"op": op, "props": props, "result": sorted(ret)})
    log(f"{op}({props}) -> {sorted(ret)}")
    save()
    return ret


def redraw():
    win, *_ = view3d()
    with bpy.context.temp_override(window=win):
        bpy.ops.wm.redraw_timer(type='DRAW_WIN_SWAP', iterations=1)


def screenshot(name):
    """Capture the X screen (Blender's own screenshot is black under Xvfb) and note where the sidebar is."""
    redraw()
    path = RUN / f"{name}.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=60)
    win, area, ui, _ = view3d()
    results["screenshots"][name] = path.name
    results["regions"][name] = {
        "window": [win.x, win.y, win.width, win.height],
        "area": [area.x, area.y, area.width, area.height],
        "ui": [ui.x, ui.y, ui.width, ui.height],
        "sidebar_open": area.spaces.active.show_region_ui,
        "category": getattr(ui, "active_panel_category", None),
    }
    log(f"screenshot {name}: {results['regions'][name]}")
    save()


def clear_scene():
    """Empty the startup scene, as the headless runner starts from ``read_factory_settings(use_empty=True)``:
    the default Cube, Camera and Light would otherwise take part in the dataset (the preset's ``camera:
    Camera`` would even reuse the startup camera)."""
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob, do_unlink=True)
    for coll in list(bpy.context.scene.collection.children):
        bpy.data.collections.remove(coll)
    bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)
    results["cleared"] = {"objects": len(bpy.data.objects), "collections": len(bpy.data.collections)}


def sidebar(open_it):
    win, area, ui, _ = view3d()
    area.spaces.active.show_region_ui = open_it
    area.tag_redraw()


def scroll(pages, down=True):
    """Scroll the sidebar by whole pages (down, or back up)."""
    win, area, ui, _ = view3d()
    with bpy.context.temp_override(window=win, screen=win.screen, area=area, region=ui):
        for _ in range(pages):
            (bpy.ops.view2d.scroll_down if down else bpy.ops.view2d.scroll_up)(page=True)


def own_tab(panel_id, tab):
    """Show a panel, open, alone in a tab of its own: a copy of its class under a new id (Blender remembers
    the original closed, and has no API to open or scroll to a registered panel), drawn by the same code."""
    cls = getattr(bpy.types, panel_id)
    shot = type(f"{panel_id}_shot", (cls,), {"bl_idname": f"{panel_id}_shot", "bl_category": tab,
                                              "bl_options": set()})
    bpy.utils.register_class(shot)
    sidebar(True)                               # the tab exists once the sidebar drew it: pick it after a yield


def script():
    """The user's session, step by step."""
    yield 2.0                                   # let the first frames draw
    results["blender"] = bpy.app.version_string
    results["python"] = sys.version.split()[0]
    results["addons"] = sorted(a.module for a in bpy.context.preferences.addons)
    results["ext_module"] = next((m for m in results["addons"] if m.endswith(".synthkiln")), None)
    save()

    sidebar(False)
    yield 1.0
    screenshot("closed")

    # -- build a recipe through the sidebar's operators (A5's are optional until they land) --
    sidebar(True)
    yield 0.5
    _, _, ui, _ = view3d()
    ui.active_panel_category = "SynthKiln"
    yield 1.0
    screenshot("empty")
    call("recipe_new", optional=True)
    for group, type_ in CFG["randomizers"]:
        call("randomizer_add", optional=True, group=group, type=type_)
    if registered("randomizer_move"):
        call("randomizer_move", optional=True, group=CFG["randomizers"][0][0], index=0,
             direction=enum_item("randomizer_move", "direction", ("DOWN",)))
    call("category_add", optional=True, name="widget")
    call("category_add", optional=True, name="gadget")
    call("category_remove", optional=True, index=1)
    if registered("label_assign") and "Cube" in bpy.data.objects:
        for ob in bpy.context.view_layer.objects:
            ob.select_set(ob.name == "Cube")
        bpy.context.view_layer.objects.active = bpy.data.objects["Cube"]
        call("label_assign", optional=True, category="widget",
             scope=enum_item("label_assign", "scope", ("SELECTED", "SELECTION")))
    call("check_scene", optional=True)
    yield 1.0
    screenshot("built")
    for page in range(CFG.get("pages", 6)):      # the whole sidebar at its default width, page by page
        scroll(1)
        yield 0.5
        screenshot(f"built_p{page + 1}")
    scroll(CFG.get("pages", 6) + 2, down=False)
    yield 0.5
    if registered("recipe_new"):                 # what the operators built, for the host to check
        call("export_preset", optional=True, filepath=str(RUN / "built.yaml"))
    call("randomizer_remove", optional=True, group=CFG["randomizers"][0][0], index=0)

    # -- the dataset recipe: import, preview a frame, export, render modally --
    clear_scene()
    call("import_preset", filepath=CFG["preset"])
    call("randomize", frame=1)
    yield 1.0
    screenshot("open")
    call("export_preset", filepath=str(RUN / "exported.yaml"))

    t0 = time.monotonic()
    ret = call("render_dataset", invoke=True)
    if 'RUNNING_MODAL' not in ret:
        raise RuntimeError(f"render_dataset did not start modally: {sorted(ret)}")
    win, *_ = view3d()
    stuck = None
    while True:
        yield 0.25
        running = [op.bl_idname for op in win.modal_operators]
        if not any(i in ("SYNTHKILN_OT_render_dataset", "synthkiln.render_dataset") for i in running):
            break
        if time.monotonic() - t0 > CFG["render_timeout_s"]:
            # the session still takes its later screenshots; it fails at its end
            stuck = f"Render Dataset still running after {CFG['render_timeout_s']} s: {running}"
            break
    if stuck is None:
        results["render_s"] = round(time.monotonic() - t0, 2)
        log(f"render_dataset finished in {results['render_s']} s")
        yield 0.5
        screenshot("rendered")
        call("open_output", optional=True) if CFG.get("open_output") else None
        call("open_report", optional=True)       # builds gui_out/report and hands it to $BROWSER (a recorder)
    scroll(12, down=False)                       # the Run panel is the first: at the top, whatever was open
    yield 0.5
    screenshot("run")

    # -- the Assets panel: a folder of model files as a source, its pool and categories --
    ext = sys.modules.get(results["ext_module"] or "")
    if ext is not None and registered("asset_source_add"):
        scans = Path(ext.__file__).parent / "asset_library" / "scans"
        call("asset_source_add", optional=True, directory=str(scans) + "/", filepath=str(scans) + "/")
        call("asset_categories_add", optional=True)
        own_tab("SYNTHKILN_PT_assets", "SynthKiln Assets")
        yield 1.0
        _, _, ui, _ = view3d()
        ui.active_panel_category = "SynthKiln Assets"
        yield 1.0
        screenshot("assets")

    # -- the presets menu of the Run panel's header (last: a menu stays open until the session ends) --
    if hasattr(bpy.types, "SYNTHKILN_MT_presets"):
        for other in list(bpy.context.window_manager.windows)[1:]:     # e.g. the render's image window
            with bpy.context.temp_override(window=other):
                bpy.ops.wm.window_close()
        yield 0.5
        win, area, ui, _ = view3d()
        ui.active_panel_category = "SynthKiln"
        with bpy.context.temp_override(window=win, screen=win.screen, area=area, region=ui):
            bpy.ops.wm.call_menu(name="SYNTHKILN_MT_presets")
        yield 1.0
        screenshot("presets")
    if stuck is not None:
        raise RuntimeError(stuck)


def tick(gen=script()):
    try:
        return next(gen)
    except StopIteration:
        results["done"] = True
    except Exception:                            # noqa: BLE001 -- any failure ends the session, recorded
        results["failed"] = traceback.format_exc()
        log("FAILED\n" + results["failed"])
    save()
    bpy.app.timers.register(quit_blender, first_interval=0.2)
    return None


def quit_blender():
    win = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=win):
        bpy.ops.wm.quit_blender()


save()
bpy.app.timers.register(tick, first_interval=1.0)
