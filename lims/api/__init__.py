"""The JSON API under /api/v1: same services, same rules, one error shape."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .routes import bp

    app.register_blueprint(bp)
