"""Load, with faults: 32 scan stations for 60 s against gunicorn on PostgreSQL, with Redis, a
Celery worker and beat, as production runs (``make bench-load``).

    python -m bench.load [--database-url URL] [--stations 32] [--seconds 60]
                         [--fault none|postgres-restart|redis-down|worker-kill]

The stations (``bench/locustfile.py``, run by locust) do the bench's real mix: register,
scan, receive, processing steps, complete, QC, label print, scan again, and the clinician's
readiness poll. A fault, if asked for, strikes a third of the way in:

- ``postgres-restart``: the machine's PostgreSQL cluster is stopped for ``--outage`` seconds
  and started again (``pg_ctlcluster``), so run it on a machine of its own;
- ``redis-down``: this run's own Redis (started here, on its own port) is killed and started
  again ``--outage`` seconds later;
- ``worker-kill``: the Celery worker is killed (SIGKILL) and a new one started.

Afterwards it waits for the worker to deliver every notification, then checks: the ledger
grew by exactly the entries of the accepted answers (and every entry an answer listed is
there), ``ledger verify`` is intact, every outbox event was relayed, every delivery sent,
none twice. Prints a table (throughput, p50/p95/p99 per kind, 5xx count) and writes
``bench/results/load-<fault>.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from config import database_url as normalised

from . import wait_for_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lims_load"
PASSWORD = "load-bench-pass-2026"
FAULTS = ("none", "postgres-restart", "redis-down", "worker-kill")


def _run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def fresh_database(url: str) -> None:
    """Drop and create the benchmark's database, then migrate it."""
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


def prepare(url: str, stations: int, env: dict[str, str]) -> int:
    """Migrate and make the stations' people (a technician each, four clinicians, QA) and the
    register they work on: an item of each kind and an accepted lot of each reagent, whose
    codes go to the stations in ``env`` (``LOAD_EQUIPMENT``, ``LOAD_LOTS``). Returns the
    ledger's length then (the register's own entries), which the final check leaves out."""
    from flask_migrate import upgrade

    from lims import create_app
    from lims.models import LedgerEntry
    from lims.services.admin import accounts

    from . import materials

    app = create_app("production", SQLALCHEMY_DATABASE_URI=url, **_secrets(env))
    with app.app_context():
        upgrade()
        techs = [
            accounts.create_user(
                f"load-tech-{number:02d}",
                "technician",
                PASSWORD,
                full_name=f"Load Technician {number}",
            )
            for number in range(1, stations + 1)
        ]
        for number in range(1, 5):
            accounts.create_user(
                f"load-doctor-{number}", "clinician", PASSWORD, full_name=f"Load Clinician {number}"
            )
        qa = accounts.create_user("load-qa", "qa", PASSWORD, full_name="Load QA")
        register = materials.usable_now(techs[0], qa, PASSWORD, enough=100_000)
        env["LOAD_EQUIPMENT"] = json.dumps(register.equipment)
        env["LOAD_LOTS"] = json.dumps(register.lots)
        from lims.extensions import db

        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        db.engine.dispose()
    return entries


def _secrets(env: dict[str, str]) -> dict[str, str]:
    return {"SECRET_KEY": env["SECRET_KEY"], "LEDGER_KEY": env["LEDGER_KEY"]}


class Services:
    """This run's Redis, gunicorn, Celery worker and beat, as child processes."""

    def __init__(self, env: dict[str, str], port: int, redis_port: int, workdir: Path) -> None:
        self.env, self.port, self.redis_port, self.workdir = env, port, redis_port, workdir
        self.procs: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, *args: str) -> None:
        log = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115  (closed with the process)
        self.procs[name] = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def start_redis(self) -> None:
        self._start(
            "redis",
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        )

    def start_worker(self) -> None:
        self._start(
            "worker",
            str(BIN / "celery"),
            "-A",
            "celery_worker",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "-n",
            f"load-{time.time_ns()}@%h",
        )

    def start(self) -> None:
        self.start_redis()
        self._start(
            "gunicorn",
            str(BIN / "gunicorn"),
            "--workers",
            "3",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--access-logfile",
            "/dev/null",
            "wsgi:app",
        )
        self.start_worker()
        self._start(
            "beat",
            str(BIN / "celery"),
            "-A",
            "celery_worker",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(self.workdir / "beat-schedule"),
        )
        wait_for_port(self.port, self.procs["gunicorn"], self.workdir / "gunicorn.log")

    def kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        for name in ("beat", "worker", "gunicorn", "redis"):
            self.kill(name)


def _postgres_cluster() -> tuple[str, str]:
    out = _run("pg_lsclusters", "--no-header").stdout.split()
    return out[0], out[1]


def strike(fault: str, services: Services, outage: float, events: list[dict]) -> None:
    """The fault, with when each part of it happened (seconds from the start)."""
    began = time.monotonic()

    def note(what: str) -> None:
        events.append({"at": round(time.monotonic() - began, 1), "what": what})

    if fault == "postgres-restart":
        version, cluster = _postgres_cluster()
        note("postgresql stopping")
        _run("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "stop", "-m", "fast")
        note("postgresql stopped")
        time.sleep(outage)
        _run("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start")
        note("postgresql started")
    elif fault == "redis-down":
        services.kill("redis", signal.SIGKILL)
        note("redis killed")
        time.sleep(outage)
        services.start_redis()
        note("redis started")
    elif fault == "worker-kill":
        services.kill("worker", signal.SIGKILL)
        note("worker killed")
        time.sleep(2)
        services.start_worker()
        note("a new worker started")


def run_locust(env: dict[str, str], port: int, stations: int, seconds: int, csv_prefix: Path):
    return subprocess.Popen(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(stations),
            "-r",
            str(stations),
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(csv_prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "ERROR",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_stats(csv_prefix: Path) -> list[dict[str, Any]]:
    rows = []
    with open(f"{csv_prefix}_stats.csv") as stats:
        for row in csv.DictReader(stats):
            rows.append(
                {
                    "kind": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "per_second": round(float(row["Requests/s"]), 1),
                    "p50_ms": _ms(row["50%"]),
                    "p95_ms": _ms(row["95%"]),
                    "p99_ms": _ms(row["99%"]),
                }
            )
    return rows


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def server_errors(csv_prefix: Path) -> dict[str, int]:
    """5xx answers by status (503 with Retry-After is the outage's answer; a 500 is a bug)."""
    found: dict[str, int] = {}
    path = Path(f"{csv_prefix}_failures.csv")
    if not path.exists():
        return found
    with open(path) as failures:
        for row in csv.DictReader(failures):
            status = re.search(r"\b(\d{3}) ", row["Error"])  # the station writes "503 …"
            if status and status.group(1).startswith("5"):
                code = status.group(1)
                found[code] = found.get(code, 0) + int(row["Occurrences"])
    return found


def drain_and_check(url: str, env: dict[str, str], before: int, counts: dict, timeout: float):
    """Wait for every notification to go out, then compare ledger and answers."""
    from lims import create_app
    from lims.extensions import db
    from lims.models import Delivery, LedgerEntry, OutboxEvent
    from lims.services.custody import ledger

    app = create_app("production", SQLALCHEMY_DATABASE_URI=url, **_secrets(env))
    with app.app_context():
        began = time.monotonic()
        deadline = began + timeout
        while True:
            unrelayed = db.session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.relayed_at.is_(None))
            )
            unsent = db.session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
            )
            db.session.rollback()
            if (unrelayed == 0 and unsent == 0) or time.monotonic() > deadline:
                break
            time.sleep(2)
        drained_in = round(time.monotonic() - began, 1)
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry)) - before
        listed = set(counts["seqs"])
        present = (
            set(db.session.scalars(select(LedgerEntry.seq).where(LedgerEntry.seq.in_(listed))))
            if listed
            else set()
        )
        doubled = db.session.scalar(
            select(func.count()).select_from(
                select(Delivery.event_id, Delivery.user_id, Delivery.channel)
                .group_by(Delivery.event_id, Delivery.user_id, Delivery.channel)
                .having(func.count() > 1)
                .subquery()
            )
        )
        verified = ledger.verify()
        result = {
            "ledger_entries_written": entries,
            "entries_of_accepted_answers": sum(counts["entries"].values()),
            "listed_entries_missing": len(listed - present),
            "ledger_intact": verified.intact,
            "ledger_checked": verified.checked,
            "events": db.session.scalar(select(func.count()).select_from(OutboxEvent)),
            "events_unrelayed": unrelayed,
            "deliveries": db.session.scalar(select(func.count()).select_from(Delivery)),
            "deliveries_not_sent": unsent,
            "deliveries_doubled": doubled,
            "seconds_to_deliver_the_rest": drained_in,
        }
        db.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_LOAD_DATABASE_URL"))
    parser.add_argument("--stations", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--fault", choices=FAULTS, default="none")
    parser.add_argument("--outage", type=float, default=8.0, help="seconds a fault lasts")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--redis-port", type=int, default=6391)
    args = parser.parse_args(argv)
    url = normalised(args.database_url or DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        parser.error("the load benchmark runs on PostgreSQL")

    workdir = Path(tempfile.mkdtemp(prefix="lims-load-"))
    env = {
        **os.environ,
        "LIMS_ENV": "production",
        "DATABASE_URL": url,
        "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0",
        "SECRET_KEY": "load-bench-secret",
        "LEDGER_KEY": "load-bench-ledger-key",
        "PUBLIC_URL": f"http://127.0.0.1:{args.port}",
        "LOAD_STATIONS": str(args.stations),
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_RESULT_FILE": str(workdir / "counts.json"),
        "PYTHONPATH": str(ROOT),
    }
    fresh_database(url)
    before = prepare(url, args.stations, env)
    services = Services(env, args.port, args.redis_port, workdir)
    fault_events: list[dict] = []
    try:
        services.start()
        locust = run_locust(env, args.port, args.stations, args.seconds, workdir / "load")
        if args.fault != "none":
            timer = threading.Timer(
                args.seconds / 3, strike, (args.fault, services, args.outage, fault_events)
            )
            timer.start()
        _, errors = locust.communicate(timeout=args.seconds + 120)
        if args.fault != "none":
            timer.join()
        counts = json.loads((workdir / "counts.json").read_text())
        checks = drain_and_check(url, env, before, counts, timeout=900)
    finally:
        services.stop()
    stats = read_stats(workdir / "load")
    result = {
        "stations": args.stations,
        "seconds": args.seconds,
        "fault": args.fault,
        "fault_events": fault_events,
        "kinds": stats,
        "server_errors": server_errors(workdir / "load"),
        "accepted": counts["accepted"],
        "unavailable_503": counts["unavailable"],
        "refused_other": counts["refused"],
        **checks,
        "logs": str(workdir),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"load-{args.fault}.json").write_text(json.dumps(result, indent=2))
    _print(result, errors)
    return result


def _print(result: dict[str, Any], errors: str) -> None:
    print(f"\n{result['stations']} stations, {result['seconds']} s, fault: {result['fault']}")
    for event in result["fault_events"]:
        print(f"  +{event['at']:>5} s after the fault began: {event['what']}")
    print(
        f"{'kind':<20}{'requests':>9}{'failed':>8}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for row in result["kinds"]:
        print(
            f"{row['kind']:<20}{row['requests']:>9}{row['failures']:>8}{row['per_second']:>8}"
            f"{row['p50_ms'] or '':>9}{row['p95_ms'] or '':>9}{row['p99_ms'] or '':>9}"
        )
    print(
        f"5xx answers: {result['server_errors'] or 'none'}; 503 by kind: {result['unavailable_503']}"
    )
    print(f"other refusals: {result['refused_other'] or 'none'}")
    print(
        f"ledger: {result['ledger_entries_written']} entries written, "
        f"{result['entries_of_accepted_answers']} stood for by accepted answers, "
        f"{result['listed_entries_missing']} listed but missing; "
        f"verify {'intact' if result['ledger_intact'] else 'BROKEN'} ({result['ledger_checked']})"
    )
    print(
        f"notifications: {result['events']} events ({result['events_unrelayed']} unrelayed), "
        f"{result['deliveries']} deliveries ({result['deliveries_not_sent']} not sent, "
        f"{result['deliveries_doubled']} doubled); the rest delivered "
        f"{result['seconds_to_deliver_the_rest']} s after the load ended"
    )
    if errors.strip():
        print("locust said:", errors.strip()[-2000:])


if __name__ == "__main__":
    main()
