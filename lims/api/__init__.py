"""The JSON API under /api/v1: same services, same rules, one error shape."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import (
        audit,  # noqa: F401  (ledger search and unit reports join the blueprint)
        jobs,  # noqa: F401  (long jobs: ledger verification with progress)
        labels,  # noqa: F401  (adds the label routes to the blueprint)
        notifications,  # noqa: F401  (the caller's inbox joins the blueprint)
        qc,  # noqa: F401  (its routes join the blueprint)
        readiness,  # noqa: F401  (the readiness board and appointments)
        scan,  # noqa: F401  (its routes join the blueprint)
    )
    from .routes import bp

    app.register_blueprint(bp)
