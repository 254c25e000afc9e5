"""Track ids of a clip job, checked across its records (``synthkiln check``).

``read_record`` checks each record alone (``clip`` well formed, ``track_id`` an integer 1..65535); what
only the whole clip shows is here: within a clip a track id belongs to one object (by name) on every frame,
an object keeps one track id, no two objects of a frame share one, every object of a clip frame has one,
and every frame of the clip says the same clip length.
"""

from __future__ import annotations


def clip_length(manifest: dict) -> int | None:
    """The job's clip length from its manifest's recipe (None: a still job, or a manifest that does not say)."""
    out = ((manifest.get("recipe") or {}).get("output") or {}) if isinstance(manifest, dict) else {}
    clips, length = out.get("clips"), out.get("clip_length")
    if type(clips) is not int or type(length) is not int:
        return None
    return length if clips > 0 else 0


class TrackIds:
    """Fed the records one by one (``problems(rec)`` returns what is wrong with this one against the
    clip's frames seen so far): one pass, memory per clip's tracks, not per frame. ``length``: the job's
    clip length from its manifest (0: a still job, whose records have no ``clip``; None: not known)."""

    def __init__(self, length: int | None = None):
        self.job_length = length
        self.owner: dict[tuple[int, int], str] = {}     # (clip, track id) -> object name
        self.track: dict[tuple[int, str], int] = {}     # (clip, object name) -> track id
        self.length: dict[int, int] = {}                # clip -> its length as first seen

    def problems(self, rec: dict) -> list[str]:
        clip = rec.get("clip")
        if not isinstance(clip, dict):
            return ["has no 'clip', but the job is a clip job (output.clips in the manifest)"] if self.job_length else []
        c, out = clip["index"], []
        if self.job_length == 0:
            out.append("has a 'clip', but the job is a still job (output.clips 0 in the manifest)")
        elif self.job_length is not None and clip["length"] != self.job_length:
            out.append(f"clip.length is {clip['length']}, the manifest's clip_length {self.job_length}")
        if self.length.setdefault(c, clip["length"]) != clip["length"]:
            out.append(f"clip {c} has length {clip['length']} here, {self.length[c]} in its earlier frames")
        seen: dict[int, str] = {}
        for obj in rec.get("objects") or ():
            name, tid = obj.get("name"), obj.get("track_id")
            label = f"object {name!r}"
            if tid is None:
                out.append(f"{label} has no track_id (every object of a clip frame needs one)")
                continue
            if tid in seen:
                out.append(f"track_id {tid} is used by {seen[tid]!r} and {name!r} in the same frame")
            seen[tid] = name
            owner = self.owner.setdefault((c, tid), name)
            if owner != name:
                out.append(f"{label}: track_id {tid} belongs to {owner!r} in earlier frames of clip {c}")
            first = self.track.setdefault((c, name), tid)
            if first != tid:
                out.append(f"{label}: track_id {tid} here, {first} in earlier frames of clip {c}")
        return out
