"""The clinician's readiness board: their patients by next appointment, each unit's status in
plain words, an estimated ready time, the time left before expiry, and appointments."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("readiness", __name__, url_prefix="/readiness")
