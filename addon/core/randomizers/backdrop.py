"""Real photos as backgrounds (environment group): seen by camera rays only, with a shadow-catcher ground."""

from __future__ import annotations
