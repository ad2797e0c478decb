"""QA's home in the audit workspace (the last verification, open deviations), the signed head receipts listed and checkable, and the deviations list with QA's signed decisions."""

from __future__ import annotations

from .routes import bp  # noqa: F401  (this module's routes join the audit blueprint)
