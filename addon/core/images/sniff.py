"""Is a file the image its name says? A header check (a few bytes, no decoding), so a recipe naming a
file that is not an image fails with its name instead of rendering Blender's magenta "missing" colour,
without loading every candidate image's pixels up front."""

from __future__ import annotations

from pathlib import Path

# Extension -> accepted leading bytes. Formats without a signature pass by their extension alone.
SIGNATURES = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".exr": (b"\x76\x2f\x31\x01",),
    ".hdr": (b"#?RADIANCE", b"#?RGBE"),
    ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"),
    ".bmp": (b"BM",),
    ".webp": (b"RIFF",),
    ".psd": (b"8BPS",),
    ".jp2": (b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51"),
}
NO_SIGNATURE = {".tga", ".dpx", ".cin", ".sgi", ".rgb", ".rgba", ".bw"}


def image_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the image its extension names (None: it looks right)."""
    path = Path(path)
    if not path.is_file():
        return "no such file" if not path.exists() else "not a regular file"
    ext = path.suffix.lower()
    if ext in NO_SIGNATURE:
        return None
    wanted = SIGNATURES.get(ext) or tuple(sig for sigs in SIGNATURES.values() for sig in sigs)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        return f"cannot read it ({e.strerror or e})"
    if not any(head.startswith(sig) for sig in wanted):
        kind = f"a {ext[1:].upper()} image" if ext in SIGNATURES else "an image Blender reads"
        return f"not {kind} (its first bytes are {head[:8]!r})"
    if head.startswith(b"RIFF") and head[8:12] != b"WEBP":
        return "not a WEBP image"
    return None
