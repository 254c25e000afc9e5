"""A video per clip, for watching a clip job and its tracks (format name ``video``).

::

    exports/video/clip-CCCC.mp4          with ffmpeg on PATH: H.264 (yuv420p), at the clip's frame rate
    exports/video/clip-CCCC/000000.png   without it: the clip's frames as a numbered image sequence
    exports/video/README.txt             which of the two this export is, and how it was made

Each frame is the clip's preview (``preview.render_preview``: masks, boxes and amodal boxes of the objects
the exports keep, tagged ``category #track_id``), so a track that changes id or loses its box shows at a
glance; the plain frames are the dataset's ``images/``. Without Pillow (a Blender's Python at the end of a
job) the frames are the plain images, linked, and the README says so. ffmpeg is looked up on PATH when the
export runs; a build whose encoder fails leaves the image sequence instead, and the export's log line and
README say so.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from pathlib import Path

from ..images.pillow import import_pillow, pillow_available
from .clips import ClipFrame, require_clip
from .common import Context, write_text
from .preview import category_colours, render_preview

FRAMES = "{:06d}"
ENCODE = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18",
          "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2")   # yuv420p needs even sizes: pad odd ones by a pixel


def ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


class VideoWriter:
    DIR = "video"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        self.clips: dict[int, tuple[ClipFrame, str]] = {}       # clip -> (clip, image extension)
        self.note: str | None = None
        self.labelled = pillow_available()
        self.colours = category_colours(ctx.manifest) if self.labelled else {}

    def add(self, rec: dict, objs: list[dict]) -> None:
        clip = require_clip(rec, "video")
        name, src = self.ctx.image(rec)
        ext = ".png" if self.labelled else posixpath.splitext(name)[1]
        if clip.index not in self.clips:
            self.clips[clip.index] = (clip, ext)
            (self.out / clip.name).mkdir(parents=True)
        dst = os.path.join(self.out, clip.name, FRAMES.format(clip.frame) + ext)
        if self.labelled:
            Image = import_pillow("the video export's labelled frames")[0]
            Image.fromarray(render_preview(self.ctx.root, rec, self.colours, objs)).save(dst, compress_level=1)
        else:
            self.ctx.link(src, dst)

    def _encode(self, exe: str, clip: ClipFrame, ext: str) -> str | None:
        """Encode one clip's sequence to MP4 and remove the sequence; ffmpeg's complaint when it fails."""
        folder = self.out / clip.name
        cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-framerate", f"{clip.fps:g}",
               "-start_number", "0", "-i", str(folder / ("%06d" + ext)), *ENCODE, str(self.out / f"{clip.name}.mp4")]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            (self.out / f"{clip.name}.mp4").unlink(missing_ok=True)
            return (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        shutil.rmtree(folder)
        return None

    def finish(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        exe = ffmpeg()
        encoded, failed = 0, None
        if exe:
            for clip, ext in (self.clips[i] for i in sorted(self.clips)):
                failed = self._encode(exe, clip, ext)
                if failed:      # the rest stay image sequences: the same encoder would fail again
                    break
                encoded += 1
        parts = [f"{encoded} clip(s) as MP4 (H.264) encoded by {exe}"] if encoded else []
        if len(self.clips) > encoded:
            why = f"ffmpeg ({exe}) failed: {failed}" if failed else "ffmpeg is not on PATH"
            clip, ext = self.clips[min(self.clips)]
            parts.append(f"{len(self.clips) - encoded} clip(s) as numbered image sequences, one folder each ({why}; "
                         f"encode one with e.g. ffmpeg -framerate {clip.fps:g} -i {clip.name}/%06d{ext} {clip.name}.mp4)")
        how = "; ".join(parts) or "no clips"
        how += ("; frames: the previews (masks, boxes, category #track_id)" if self.labelled else
                "; frames: the plain images (Pillow is not available to draw the labels)")
        self.note = f"videos: {how}"
        write_text(str(self.out / "README.txt"), f"SynthKiln clip videos: {how}.\n")
        return self.out
