"""Notification costs: what the outbox adds to a state change, and how fast deliveries go.

    python -m bench.notify [--database-url URL] [--redis-url URL] [--actions N] [--events N]

On a fresh database of its own (a SQLite file in the temp directory unless told), with the
bench users (2 clinicians, 3 technicians) and one QA user, it measures ``receive`` — which
writes a "unit received" event for every technician — three ways: embedded (in-process
delivery after commit), with a Celery broker (publish only: no worker runs), and with the
broker down (publishing fails at once). Then the relay and in-app delivery of a backlog of
events, in-process. Prints a table and writes ``bench/results/notify-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from config import celery_config
from lims.extensions import db
from lims.models import Delivery, OutboxEvent, User
from lims.notify import relay
from lims.notify.deliver import deliver
from lims.services.actions import units
from lims.services.admin import accounts

from . import backend_of, make_app
from .run import registration_data, summary, timed_each
from .seed import BENCH_USERS

RESULTS = Path(__file__).resolve().parent / "results"
RECEIPT = {"temperature_c": 5.0, "container_intact": True, "volume_ml": 248}


def _users() -> tuple[User, User]:
    for username, role, name in (*BENCH_USERS, ("bench-qa", "qa", "Quinn Bench")):
        if db.session.scalar(select(User).where(User.username == username)) is None:
            accounts.create_user(username, role, secrets.token_hex(8), full_name=name)
    clinician = db.session.scalar(select(User).where(User.username == "bench-doctor1"))
    technician = db.session.scalar(select(User).where(User.username == "bench-tech1"))
    return clinician, technician


def _receive_each(count: int, clinician_id: int, technician_id: int) -> dict[str, Any]:
    ids = [
        units.register(
            registration_data(f"BN{secrets.token_hex(6).upper()}"),
            db.session.get(User, clinician_id),
        ).unit.id
        for _ in range(count)
    ]

    def receive(unit_id: int) -> None:
        units.perform_action(unit_id, "receive", RECEIPT, db.session.get(User, technician_id))

    samples, _ = timed_each(ids, receive)
    return summary(samples)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def run(url: str, redis_url: str | None, actions: int, events: int) -> dict[str, Any]:
    results: dict[str, Any] = {"backend": backend_of(url), "actions": actions, "events": events}
    modes = {"embedded": None, "broker_down": "redis://127.0.0.1:1/0"}
    if redis_url:
        modes["broker"] = redis_url
    for mode, broker in modes.items():
        app = make_app(url)
        app.config["CELERY"] = celery_config(broker)
        app.extensions["celery"].conf.broker_url = broker
        with app.app_context():
            clinician, technician = _users()
            results[f"receive_{mode}"] = _receive_each(actions, clinician.id, technician.id)
            db.session.remove()
    app = make_app(url)
    app.config["CELERY"] = celery_config("redis://127.0.0.1:1/0")  # events stay in the outbox
    app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:1/0"
    with app.app_context():
        clinician, technician = _users()
        _receive_each(events, clinician.id, technician.id)
        pending = _count(OutboxEvent, OutboxEvent.relayed_at.is_(None))
        started = time.perf_counter()
        while relay.relay_pending():
            pass
        relayed_s = time.perf_counter() - started
        due = relay.due_deliveries(limit=1_000_000)
        started = time.perf_counter()
        for delivery_id in due:
            deliver(delivery_id)
        delivered_s = time.perf_counter() - started
        results["backlog"] = {
            "events": pending,
            "relay_s": round(relayed_s, 3),
            "events_per_s": round(pending / relayed_s, 1) if relayed_s else None,
            "deliveries": len(due),
            "deliver_s": round(delivered_s, 3),
            "deliveries_per_s": round(len(due) / delivered_s, 1) if delivered_s else None,
            "sent": _count(Delivery, Delivery.status == "sent"),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    url = (
        args.database_url
        or f"sqlite:///{Path('/tmp') / f'lims-notify-bench-{os.getpid()}.sqlite3'}"
    )
    if url.startswith("sqlite"):
        from flask_migrate import upgrade

        with make_app(url).app_context():
            upgrade()
    results = run(url, args.redis_url, args.actions, args.events)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"notify-{results['backend']}.json").write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
