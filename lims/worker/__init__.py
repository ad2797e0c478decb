"""Celery entrypoints: the worker's tasks and beat's schedule (``config.celery_config``).

Like the web and the API, tasks are thin: each names a service or the notify relay and
calls it inside the app context. Nothing below imports from here: services queue work by
the task's name through ``lims.dispatch`` (decision 56).
"""

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
    from . import tasks  # noqa: F401  (registers the tasks)

    return celery_app
