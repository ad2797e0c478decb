"""Handing work to a Celery worker by the task's name, or doing it in this process.

The one place that asks "is a broker configured?". Services and the outbox sit below the
Celery entrypoints (``lims.worker``) and never import a task object: they name the task, and
say what to do here instead when there is no broker (the embedded mode) or, for work that
must not wait, when the broker cannot be reached (decision 56).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dispatched:
    """What became of the work: ``queued`` (a worker will do it), ``deferred`` (the broker
    could not be reached: beat's sweep will), ``here`` (done in this process, ``result``
    is what it returned) or ``dropped`` (no broker and nothing to do here)."""

    how: str
    result: Any = None


def broker_configured(config: Mapping[str, Any] | None = None) -> bool:
    """Is a Celery broker (Redis) configured for this app, or for ``config``?"""
    config = current_app.config if config is None else config
    return bool((config.get("CELERY") or {}).get("broker_url"))


def enqueue(
    task: str,
    *args: Any,
    here: Callable[[], Any] | None = None,
    here_if_unreachable: bool = False,
    countdown: float | None = None,
) -> Dispatched:
    """Queue the task called ``task`` with ``args``; without a broker, run ``here`` instead.

    ``here_if_unreachable``: also run ``here`` when the broker is configured but cannot take
    the task (Redis down); otherwise such work is left to the sweep. Never raises for an
    unreachable broker: the caller's state change has committed already.
    """
    if broker_configured():
        try:
            current_app.extensions["celery"].send_task(
                task, args=args, countdown=countdown, retry=False
            )
            return Dispatched("queued")
        except Exception:  # Redis down: the sweep, or this process, does it
            log.warning("task %s%r could not be queued", task, args, exc_info=True)
            if here is None or not here_if_unreachable:
                return Dispatched("deferred")
    if here is None:
        return Dispatched("dropped")
    return Dispatched("here", here())
