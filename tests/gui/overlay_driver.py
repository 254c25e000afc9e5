"""Runs inside a real GUI Blender for tests/gui/test_gui_overlay.py (copied into the run folder as driver.py, so
tests/gui/inside.sh starts it): previews a frame, looks through the camera with the label overlay on and off,
then runs Render Dataset in the background and checks, while the workers render, that the UI answers (a menu
opens, timers run, the progress moves). Results go to results.json, screenshots to the run folder."""

import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

import bpy

CFG = json.loads(Path(sys.argv[sys.argv.index("--") + 1]).read_text())
RUN = Path(CFG["run_dir"])
results = {"screenshots": {}, "failed": None, "progress": []}


def log(msg):
    print(f"SK-DRIVER: {msg}", flush=True)


def save():
    (RUN / "results.json").write_text(json.dumps(results, indent=1))


def view3d():
    win = bpy.context.window_manager.windows[0]
    area = max((a for a in win.screen.areas if a.type == 'VIEW_3D'), key=lambda a: a.width * a.height)
    regions = {r.type: r for r in area.regions}
    return win, area, regions['WINDOW']


def override():
    win, area, region = view3d()
    return bpy.context.temp_override(window=win, screen=win.screen, area=area, region=region)


def screenshot(name):
    win, area, region = view3d()
    with bpy.context.temp_override(window=win):
        bpy.ops.wm.redraw_timer(type='DRAW_WIN_SWAP', iterations=1)
    subprocess.run(["import", "-window", "root", str(RUN / f"{name}.png")], check=True, timeout=60)
    results["screenshots"][name] = {"window": [win.x, win.y, win.width, win.height],
                                    "region": [region.x, region.y, region.width, region.height]}
    save()


def overlay_module():
    return next(m for name, m in sys.modules.items() if name.endswith("synthkiln.addon.ui.overlay"))


def script():
    yield 2.0
    results["blender"] = bpy.app.version_string
    for ob in list(bpy.data.objects):                 # start empty, as the runner does
        bpy.data.objects.remove(ob, do_unlink=True)
    with override():
        assert bpy.ops.synthkiln.import_preset(filepath=CFG["preset"]) == {'FINISHED'}
        assert bpy.ops.synthkiln.randomize(frame=1) == {'FINISHED'}
        bpy.ops.view3d.view_camera()
        bpy.ops.view3d.view_center_camera()
    win, area, region = view3d()
    area.spaces.active.show_region_ui = False
    area.spaces.active.overlay.show_overlays = True
    yield 1.0
    screenshot("camera")

    # -- the label overlay --
    wm = bpy.context.window_manager
    wm.synthkiln_label_overlay = True
    t0 = time.monotonic()
    mod = overlay_module()
    while mod._State.record is None and not mod._State.error:
        yield 0.25
        assert time.monotonic() - t0 < 120, "the overlay's labels never came"
    results["overlay_s"] = round(time.monotonic() - t0, 2)
    results["overlay_error"] = mod._State.error
    yield 1.0
    screenshot("overlay")
    record = mod._State.record
    bridge = sys.modules[mod.__name__.replace(".ui.overlay", ".bridge.overlay")]
    frame = bridge.camera_frame(bpy.context.scene, region, area.spaces.active.region_3d,
                                record["width"], record["height"])
    results["overlay"] = {"objects": [{"name": o["name"], "category": o["category"], "bbox": o["bbox"],
                                       "region_box": frame.to_region([o["bbox"][:2], [o["bbox"][0] + o["bbox"][2],
                                                                      o["bbox"][1] + o["bbox"][3]]]).tolist()}
                                      for o in record["objects"] if o.get("bbox")],
                          "frame": [list(c) for c in frame.corners]}
    save()
    wm.synthkiln_label_overlay = False
    yield 1.0
    screenshot("no_overlay")
    before = {o.name: [list(r) for r in o.matrix_world] for o in bpy.context.scene.objects}

    # -- Render Dataset in the background: the UI answers while workers render --
    with override():
        ret = bpy.ops.synthkiln.render_dataset('INVOKE_DEFAULT')
    results["render_invoke"] = sorted(ret)
    state = bpy.context.scene.synthkiln
    t0 = time.monotonic()
    menu = False
    while state.render_running:
        results["progress"].append([round(time.monotonic() - t0, 2), state.render_done, state.render_status])
        if state.render_done >= 1 and not menu:
            with override():
                bpy.ops.wm.call_menu(name="VIEW3D_MT_view")      # the UI answers: a menu opens mid-render
            menu = True
            results["menu_at_done"] = state.render_done
            yield 0.5
            screenshot("bg_menu")
        save()
        yield 0.25
        assert time.monotonic() - t0 < CFG["render_timeout_s"], "Render Dataset still running"
    results["render_s"] = round(time.monotonic() - t0, 2)
    yield 0.5
    results["modal_after"] = [op.bl_idname for w in wm.windows for op in w.modal_operators]
    results["render_status"] = state.render_status
    results["render_done"] = [state.render_done, state.render_total]
    results["scene_unchanged"] = before == {o.name: [list(r) for r in o.matrix_world]
                                            for o in bpy.context.scene.objects}
    results["image_editors"] = [a.spaces.active.image.name for w in wm.windows for a in w.screen.areas
                                if a.type == 'IMAGE_EDITOR' and a.spaces.active.image]
    yield 1.0
    screenshot("bg_done")

    # -- Stop Render mid-way (what Esc does), then Render Dataset again resumes --
    state.recipe.output.directory = CFG["stop_dir"]
    with override():
        bpy.ops.synthkiln.render_dataset('INVOKE_DEFAULT')
    t0 = time.monotonic()
    while state.render_running and state.render_done < 2:
        yield 0.1
        assert time.monotonic() - t0 < CFG["render_timeout_s"], "no frame came"
    bpy.ops.synthkiln.render_stop()
    stop = {"done_at_stop": state.render_done}
    while state.render_running:
        yield 0.1
    stop["status"] = state.render_status
    stop["records"] = len(list(Path(CFG["stop_dir"], "frames").glob("*.json")))
    stop["temp_files"] = [p.name for p in Path(CFG["stop_dir"]).rglob("*.sk-tmp")]
    with override():
        bpy.ops.synthkiln.render_dataset('INVOKE_DEFAULT')
    while state.render_running:
        yield 0.25
    stop["resumed_status"] = state.render_status
    stop["resumed_done"] = [state.render_done, state.render_total]
    results["stop"] = stop
    save()

    # -- the toggle in the 3D view's Overlays popover (the render window closed: it may lie over it) --
    for w in list(wm.windows)[1:]:
        with bpy.context.temp_override(window=w):
            bpy.ops.wm.window_close()
    yield 0.5
    with override():
        bpy.ops.wm.call_panel(name="VIEW3D_PT_overlay", keep_open=False)
    yield 1.0
    screenshot("popover")


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
