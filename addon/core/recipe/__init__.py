"""The recipe: its dataclasses (``model``) and its YAML presets with layering and checked errors (``preset``)."""
