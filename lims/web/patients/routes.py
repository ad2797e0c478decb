"""A patient's page: their units as a tree (source → products → aliquots) with history."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/patients")
