"""Notifications (PRODUCT.md §7): an outbox written with each state change, a relay that
turns events into deliveries, channels (in-app, e-mail, webhook), and the Celery tasks and
beat schedule that run them. With no Redis configured, delivery runs in-process after commit."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    """Celery as Flask documents it: every task runs inside the app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    from . import (
        jobs_tasks,  # noqa: F401
        tasks,  # noqa: F401  (registers the tasks)
    )

    return celery_app
