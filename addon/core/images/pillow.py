"""Pillow, imported where needed: it is optional inside Blender."""

from ..errors import UserError


def import_pillow(purpose: str = "box previews"):
    """Pillow's modules, or one clear error naming what needed them (Pillow is optional inside Blender)."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise UserError(f"{purpose} need Pillow (pip install Pillow)") from None
    return Image, ImageDraw, ImageFont


def pillow_available() -> bool:
    try:
        import PIL  # noqa: F401  (only whether it imports)
    except ImportError:
        return False
    return True
