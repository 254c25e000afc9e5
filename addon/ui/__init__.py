"""Blender-facing classes: properties and operators (always), panels (only with a UI)."""
