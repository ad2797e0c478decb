"""Charts drawn from the lab's own data as server-side SVG: turnaround per stage per product type, QC results over time with the spec limits, units per week by type."""

from __future__ import annotations

from .routes import bp  # noqa: F401  (this module's routes join the audit blueprint)
