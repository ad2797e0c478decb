"""Ledger search (by unit, patient, user, action, status and date range, paginated by seq) and a unit's chain-of-custody report on screen, as CSV and as PDF."""

from __future__ import annotations

from .routes import bp  # noqa: F401  (this module's routes join the audit blueprint)
