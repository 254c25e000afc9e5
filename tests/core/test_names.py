"""Display names (core/params/names.py): the sidebar and Check Scene call things the same, as people write them."""

from synthkiln.addon.core.params.names import summary, title
from synthkiln.addon.core.randomizers import Randomizer


def test_titles_keep_acronyms_units_and_brand_spellings():
    cases = {"limit_xy": "Limit XY", "PNG": "PNG", "rle": "RLE", "CPU": "CPU", "AgX": "AgX", "Filmic": "Filmic",
             "-Y": "-Y", "CONVEX_HULL": "Convex Hull", "brown_conrady": "Brown-Conrady", "hdri_world": "HDRI World",
             "yolo-seg": "YOLO-Seg", "kitti_tracking": "KITTI Tracking", "mm": "mm", "object_pose": "Object Pose",
             "directory": "Folder", "labels": "Label Rules"}
    assert {k: title(k) for k in cases} == cases


def test_summary_is_the_whole_first_paragraph():
    doc = """Draws one of several values:
    picks follow weights and
    the balance targets.

    More detail that a tooltip leaves out."""
    assert summary(doc) == "Draws one of several values: picks follow weights and the balance targets."
    assert summary(None, "fallback") == "fallback"
    for t, cls in Randomizer.REGISTRY.items():      # every add-menu tooltip ends where its sentence ends
        text = summary(cls.__doc__, t)
        assert text and not text.endswith((" and", " or", " the", ",")), (t, text)
