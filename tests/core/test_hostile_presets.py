"""Issue 13 items 3 and 8: presets that would exhaust memory or hang (an alias bomb, ``extends: /dev/zero``,
a pipe, a huge file, deep nesting) and presets that `validate` passed but `render` refused (an empty
preset, an HDRI name that is a number) fail at once with one message naming file, line and what was
expected. Every hostile file is made here."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from synthkiln.addon.core.errors import PresetError
from synthkiln.addon.core.recipe import preset
from synthkiln.addon.core.recipe.preset import MAX_EXTENDS, MAX_PRESET_BYTES, load_preset


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def refused(path: Path, *fragments: str, seconds: float = 10.0) -> str:
    """``load_preset`` raises a PresetError holding every fragment, within ``seconds`` (run in a thread,
    so a read that blocks fails the test instead of hanging it)."""
    outcome: list = []

    def run():
        try:
            load_preset(path)
            outcome.append(None)
        except BaseException as e:   # noqa: BLE001 - reported below
            outcome.append(e)

    t0 = time.perf_counter()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"load_preset({path}) still running after {seconds} s"
    err = outcome[0]
    assert isinstance(err, PresetError), f"expected a PresetError, got {err!r}"
    text = str(err)
    for f in fragments:
        assert f in text, f"{f!r} not in {text!r}"
    assert time.perf_counter() - t0 < seconds
    return text


def alias_bomb(levels: int = 9, fan: int = 9) -> str:
    """The issue's bomb: each level lists the previous one ``fan`` times (9^9 values once expanded)."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * fan) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast_naming_the_file(tmp_path):
    bomb = write(tmp_path, "bomb.yaml", alias_bomb())
    text = refused(bomb, f"{bomb}:", "more than 100000 values", "aliases")
    assert "MemoryError" not in text


def test_a_few_aliases_are_fine(tmp_path):
    path = write(tmp_path, "anchors.yaml", "categories: [{name: mug}]\nrender: &r {samples: 4}\n"
                                           "output: {frames: 3}\n")
    assert load_preset(path).render.samples == 4


def test_alias_used_inside_itself(tmp_path):
    path = write(tmp_path, "self.yaml", "render: &a [*a]\n")
    refused(path, f"{path}:1:", "nested more than")


def test_deep_nesting(tmp_path):
    path = write(tmp_path, "deep.yaml", "render: " + "[" * 3000 + "]" * 3000 + "\n")
    refused(path, str(path), "nested too deeply")


def test_huge_integer(tmp_path):
    path = write(tmp_path, "int.yaml", "render: {samples: " + "9" * 5000 + "}\n")
    text = refused(path, f"{path}:1:", "unsupported YAML value")
    assert "set_int_max_str_digits" not in text      # no advice to change Python's own limits


def test_oversized_preset_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:          # sparse: 50 MB on paper, nothing on disk; parsing it would take minutes
        f.write(b"render: {samples: 4}\n")
        f.truncate(50 << 20)
    refused(big, str(big), f"a preset may be at most {MAX_PRESET_BYTES} bytes", seconds=5)
    edge = write(tmp_path, "edge.yaml", "#" * MAX_PRESET_BYTES + "\n")
    refused(edge, str(edge), "at most")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_extends_dev_zero_names_the_extending_preset(tmp_path):
    top = write(tmp_path, "top.yaml", "render: {samples: 4}\nextends: /dev/zero\n")
    refused(top, f"{top}:2: extends: /dev/zero", "not a regular file", "expected a preset file", seconds=5)
    refused(Path("/dev/zero"), "/dev/zero", "not a regular file", seconds=5)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_extends_a_pipe_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    top = write(tmp_path, "top.yaml", "extends: pipe.yaml\n")
    refused(top, f"{top}:1: extends:", "pipe.yaml", "not a regular file", seconds=5)


def test_extends_a_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    top = write(tmp_path, "top.yaml", "extends: sub\n")
    refused(top, f"{top}:1: extends:", "is a folder: expected a preset file")


def test_missing_extends_names_the_preset_that_extends_it(tmp_path):
    top = write(tmp_path, "top.yaml", "# layered\nrender: {samples: 4}\nextends: gone.yaml\n")
    text = refused(top, f"{top}:3: extends: {tmp_path / 'gone.yaml'}: file not found",
                   "relative to the preset that extends it", "bundled preset (")
    assert "tabletop" in text


def test_extends_loops_and_depth(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nrender: {samples: 2}\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\nrender: {samples: 3}\n")
    refused(tmp_path / "a.yaml", f"{b}:1: extends: loops back to a.yaml (a.yaml -> b.yaml -> a.yaml)")

    write(tmp_path, f"c{MAX_EXTENDS + 1}.yaml", "render: {samples: 2}\n")
    for i in range(MAX_EXTENDS + 1):
        write(tmp_path, f"c{i}.yaml", f"extends: c{i + 1}.yaml\n")
    refused(tmp_path / "c0.yaml", "extends: goes more than", "presets deep")
    assert load_preset(tmp_path / "c1.yaml").render.samples == 2        # MAX_EXTENDS layers are fine


@pytest.mark.parametrize("text", ["", "\n# only a comment\n", "{}\n", "---\n"])
def test_empty_preset_is_refused(tmp_path, text):
    path = write(tmp_path, "empty.yaml", text)
    refused(path, f"{path}: the preset is empty: expected a mapping of sections (categories,")


def test_empty_base_is_refused_naming_it(tmp_path):
    base = write(tmp_path, "base.yaml", "# todo\n")
    top = write(tmp_path, "top.yaml", "extends: base.yaml\nrender: {samples: 4}\n")
    refused(top, f"{base}: the preset is empty")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("render: {samples: 4}\n# caf\xe9\n".encode("latin-1"))
    refused(path, str(path), "not UTF-8")


def hdri_preset(folder: Path, choices: str) -> Path:
    return write(folder, "hdri.yaml", "extends: tabletop\nrandomizers:\n  lighting:\n"
                                      f"    - {{type: world_hdri, name: sky, hdri: {{choice: {choices}}}}}\n")


def test_hdri_number_is_refused_by_validate(tmp_path):
    path = hdri_preset(tmp_path, "[forest, 12345]")
    refused(path, f"{path}:4: randomizers.lighting[0].hdri.choice[1]: 12345 is not a name: expected a string")


def test_hdri_unknown_name_is_refused_by_validate(tmp_path):
    """What the render's applier refuses (a name that is neither bundled nor a file path), validate refuses."""
    path = hdri_preset(tmp_path, "[forest, nope]")
    refused(path, f"{path}:4: randomizers.lighting[0].hdri.choice[1]: HDRI 'nope' not found: expected a bundled "
                  "HDRI (city, courtyard, forest")


def test_hdri_names_and_paths_pass(tmp_path):
    r = load_preset(hdri_preset(tmp_path, "[forest, night, /data/hdri/dusk.exr, skies/noon.HDR, '12345.exr']"))
    assert r.randomizers.lighting[-1].hdri.choices[-1] == "12345.exr"


def test_names_are_strings_in_every_names_field(tmp_path):
    path = write(tmp_path, "cams.yaml", "extends: tabletop\nrandomizers:\n  camera:\n"
                                        "    - {type: camera_select, cameras: {choice: [Camera, 2]}}\n")
    refused(path, f"{path}:4:", "cameras.choice[1]: 2 is not a name", "quote it, '2'")


def test_limits_are_documented():
    doc = preset.__doc__
    assert "MAX_PRESET_BYTES" in doc and "1 MiB" in doc and "alias" in doc and "regular file" in doc


def test_an_override_error_names_its_flag_not_the_preset_line(tmp_path):
    """Issue 13 item 8: --frames out of range was blamed on the preset's own `frames:` line."""
    p = tmp_path / "p.yaml"
    p.write_text("extends: tabletop\noutput: {frames: 5}\n")
    with pytest.raises(PresetError) as e:
        load_preset(p, {"output": {"frames": 10**11}}, {("output", "frames"): "--frames"})
    assert str(e.value).startswith("--frames: output.frames: 100000000000 is out of range")
    with pytest.raises(PresetError) as e:
        load_preset(p, {"output": {"frames": -1}})
    assert str(e.value).startswith("overrides: output.frames")
    with pytest.raises(PresetError) as e:                # the preset's own mistakes keep their line
        p.write_text("extends: tabletop\noutput: {frames: -3}\n")
        load_preset(p, {"render": {"samples": 4}})
    assert str(e.value).startswith(f"{p}:2: output.frames")
