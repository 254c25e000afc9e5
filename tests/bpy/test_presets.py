"""Every bundled preset previews and renders (tiny) through the operators, and its dataset checks out:
pycocotools loads the COCO file, masks hold exactly the recorded instances, records keep their draws."""

import json

import numpy as np
import pytest
from PIL import Image

from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS

pytestmark = [pytest.mark.bpy, pytest.mark.render]

PRESETS = sorted(BUILTIN_PRESETS.glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_preset_previews_and_renders(empty_scene, preset, tmp_path):
    import bpy
    from pycocotools.coco import COCO
    from synthkiln.addon.core.recipe.preset import load_preset
    assert bpy.ops.synthkiln.import_preset(filepath=str(preset)) == {"FINISHED"}
    for frame in (0, 1, 2):     # the artist's Preview: each frame's sample applied to the scene
        assert bpy.ops.synthkiln.randomize(frame=frame) == {"FINISHED"}
    overrides = {"render": {"resolution": [48, 36], "samples": 1, "denoise": False},
                 "output": {"frames": 2, "directory": str(tmp_path), "previews": 0}}
    if load_preset(preset).output.clips:       # a clip job's frames are clips x clip_length: one clip of 2
        overrides["output"].update(clips=1, clip_length=2)
    assert bpy.ops.synthkiln.render_dataset(overrides=json.dumps(overrides)) == {"FINISHED"}
    coco = COCO(str(tmp_path / "exports" / "coco" / "annotations.json"))
    assert len(coco.getImgIds()) == 2
    for i in range(2):
        rec = json.loads((tmp_path / "frames" / f"{i:06d}.json").read_text())
        assert rec["values"], "a preset without randomizers"
        mask = np.array(Image.open(tmp_path / rec["files"]["mask"]))
        assert mask.shape == (36, 48)
        shown = {o["instance_id"] for o in rec["objects"] if o["area"]}
        assert set(np.unique(mask)) - {0} == shown
        for o in rec["objects"]:
            assert int((mask == o["instance_id"]).sum()) == o["area"]


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_a_frame_does_not_depend_on_the_frames_before(empty_scene, preset, tmp_path):
    """Frame 3 applied in a fresh scene, and after frames 0-2 in the same scene, leaves the same scene
    state and draws: no randomizer may carry anything over (rotations, caches, settled physics...)."""
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.recipe.preset import load_preset

    def state(values, applied):
        objs = {o.name: [round(x, 6) for row in o.matrix_world for x in row] if not o.hide_render else "hidden"
                for o in bpy.context.scene.objects}
        return json.dumps([values, applied, objs], sort_keys=True, default=str)

    recipe = load_preset(preset)
    job = FrameJob(bpy.context.scene, recipe, preset.parent).prepare()
    for i in range(3):
        job.apply_frame(i)
    after = state(*job.apply_frame(3))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    job = FrameJob(bpy.context.scene, load_preset(preset), preset.parent).prepare()
    assert state(*job.apply_frame(3)) == after
