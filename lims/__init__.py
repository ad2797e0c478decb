"""Cell-therapy sample LIMS: every unit from collection to injection, on a custody ledger."""

from __future__ import annotations

from flask import Flask

from config import config_for


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="static",
    )
    config_class = config_for(config_name)
    app.config.from_object(config_class)
    app.config.update(overrides)
    config_class.finalise(app.config)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from .models.search_index import in_models

    migrate.init_app(
        app, db, directory=str(app.root_path + "/../migrations"), include_name=in_models
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        from . import pool, sqlite

        sqlite.configure(db.engine)
        pool.configure(db.engine)

    from . import api, errors, notify, web
    from .cli import register_cli
    from .converters import IdConverter
    from .validation.cli import register_cli as register_validation_cli
    from .web import headers
    from .worker import celery_init_app, clock

    celery_init_app(app)
    clock.init_app(app)  # beat's schedule in this process when there is no broker
    notify.init_app(app)
    app.url_map.converters["id"] = IdConverter  # <id:...>: a record id, 0..MAX_ID
    web.init_app(app)
    api.init_app(app)
    headers.init_app(app)  # security headers on pages and API answers alike
    errors.init_app(app)
    register_cli(app)
    register_validation_cli(app, create_app)  # the PQ serves an app of its own
    return app
