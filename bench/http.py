"""The request at the HTTP edge, against a bare baseline (``make bench-http``).

    python -m bench.http [--database-url URL] [--units 100000] [--seconds 10]
                         [--connections 16] [--workers 2] [--threads 1] [--rounds 2]
                         [--write docs/performance.md]

Starts this application under gunicorn (``gunicorn.conf.py``; the production configuration
on PostgreSQL, the embedded one on SQLite; no Redis) and ``bench/bare.py`` under the same gunicorn settings, both on
the same database, and drives each with ``wrk`` in turn, alternating the two sides round by
round so that a machine that gets busier part-way through weighs on both alike:

- ``GET /api/v1/units/<id>`` (a random seeded unit each request; a quarter of them stored in a
  freezer box, so the answer carries the place and the places above) against ``GET /units/<id>``;
- ``POST /api/v1/scan`` against ``POST /scan``;
- ``POST /api/v1/units`` (register, ``--write-connections``, then one connection alone) against an
  INSERT and COMMIT;
- this application alone (no bare counterpart), ``--read-connections``: the readiness board
  (``GET /api/v1/readiness?clinician=<id>`` of a seeded clinician, read by QA: 200 patients,
  the cap)
  and the units list searched by a patient's name (``GET /api/v1/units?q=<name>``; the bench
  seed draws from 16,000 full names, so each is shared by a few dozen patients at a million
  units) and by a record number (``q=<record number>``: one patient).

The database is seeded first when it has no units (``bench.seed``). Each figure is the median
over the rounds of wrk's requests per second and latency percentiles; the ratio is this
application's throughput over the bare one's. ``--write`` replaces the section between the
``bench-http`` markers of that file with the table; the JSON goes to
``bench/results/http.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from . import backend_of, database_url, make_app, safe_url, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
START, END = "<!-- bench-http:start -->", "<!-- bench-http:end -->"
ENV_SECRETS = {"SECRET_KEY": "bench-http-secret", "LEDGER_KEY": "bench-http-ledger-key"}


@dataclass
class Side:
    name: str
    port: int
    module: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None

    def start(self, workers: int, threads: int) -> None:
        args = [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py")]
        args += ["--workers", str(workers), "--threads", str(threads)]
        args += ["--bind", f"127.0.0.1:{self.port}"]
        # Both sides log nothing per request: the figure is the request, not the log line.
        args += ["--access-logfile", "/dev/null", self.module]
        out = open(self.log, "a")  # noqa: SIM115  (closed with the process)
        self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        wait_for_port(self.port, self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rss_mb(self) -> list[float]:
        """Resident memory of each worker (children of the gunicorn master), in MB."""
        if self.proc is None:
            return []
        import psutil

        master = psutil.Process(self.proc.pid)
        return [round(c.memory_info().rss / 2**20, 1) for c in master.children()]


@dataclass
class Measure:
    name: str
    ours: dict[str, Any]  # path, method, body
    bare: dict[str, Any] | None  # None: this application alone
    connections: int
    runs: dict[str, list[dict[str, float]]] = field(
        default_factory=lambda: {"ours": [], "bare": []}
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, units: int) -> dict[str, Any]:
    """Seed when empty; a QA and a clinician token; the ids and codes to ask for."""
    from flask_migrate import upgrade

    from lims.domain import identifiers
    from lims.models import Patient, Unit, User
    from lims.services.admin import accounts

    from . import seed

    app = make_app(url)
    with app.app_context():
        from lims.extensions import db

        upgrade()
        empty = not db.session.scalar(select(func.count()).select_from(Unit))
        db.session.remove()
        db.engine.dispose()
    if empty:
        seed.main(["--units", str(units), "--database-url", url])
    with app.app_context():
        tokens = {}
        for username, role in (("bench-http-qa", "qa"), ("bench-http-doctor", "clinician")):
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                password = "bench-http-" + os.urandom(9).hex()
                user = accounts.create_user(username, role, password, full_name=username)
                user.must_change_password = False
                if role == "clinician":
                    user.all_patients = True
                db.session.commit()
            tokens[role], _ = accounts.issue_token(user)
            db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(Unit))
        rows = db.session.execute(
            select(Unit.id, Unit.din).order_by(func.random()).limit(2000)
        ).all()
        _store_some([r.id for r in rows])
        stored = db.session.execute(
            select(Unit.id, Unit.din)
            .where(Unit.location_id.is_not(None))
            .order_by(func.random())
            .limit(int(len(rows) * STORED_SHARE))
        ).all()
        taken = {r.id for r in stored}
        rows = [*stored, *(r for r in rows if r.id not in taken)][: len(rows)]
        sample = [(r.id, identifiers.barcode_data(r.din)) for r in rows]
        people = db.session.execute(
            select(Patient.name, Patient.mrn).order_by(func.random()).limit(500)
        ).all()
        names = [p.name for p in people]
        mrns = [p.mrn for p in people]
        # a seeded clinician's board (they treat a share of every patient: the board is full)
        doctor = db.session.scalar(select(User.id).where(User.username == "bench-doctor1"))
        db.session.remove()
        db.engine.dispose()
    return {
        "tokens": tokens,
        "sample": sample,
        "names": names,
        "mrns": mrns,
        "doctor": doctor,
        "units": total,
    }


STORED_SHARE = 0.25  # of the units looked up and scanned: in a freezer box
BOX = 10  # rows and columns of a bench box


def _store_some(ids: list[int]) -> None:
    """Store a share of the sampled live units in freezer boxes, once per database, through
    the store action (each with its ledger entry), so that the look-up and the scan also
    meet units whose answer carries their place: the bench seed stores none."""
    from lims.domain.catalogue import unit_type
    from lims.domain.lifecycle import LIVE
    from lims.extensions import db
    from lims.models import Location, Unit, User
    from lims.services.actions import units
    from lims.services.admin import accounts, locations

    if db.session.scalar(select(func.count(Unit.id)).where(Unit.location_id.is_not(None))):
        return  # stored on an earlier run
    live = [s.value for s in LIVE]
    chosen = db.session.scalars(
        select(Unit).where(Unit.id.in_(ids), Unit.status.in_(live)).order_by(Unit.id)
    ).all()[: int(len(ids) * STORED_SHARE)]
    admin = accounts.create_user(
        "bench-http-admin", "admin", "bench-http-" + os.urandom(9).hex(), full_name="Bench"
    )
    admin.must_change_password = False
    technician = db.session.scalar(select(User.id).where(User.role == "technician").limit(1))
    db.session.commit()
    room = locations.create_location("Bench cryo room", "room", None, admin)
    freezer = locations.create_location("LN2 freezer 1", "freezer", room, admin)
    rack = locations.create_location("Rack 1", "rack", freezer, admin)
    places: list[str] = []
    for number in range(-(-len(chosen) // (BOX * BOX))):
        box = locations.create_location(
            f"Box {number + 1}", "box", rack, admin, rows=BOX, columns=BOX
        )
        places += db.session.scalars(
            select(Location.code).where(Location.parent_id == box.id).order_by(Location.id)
        ).all()
    chosen_ids = [(u.id, unit_type(u.unit_type).storage) for u in chosen]
    db.session.remove()
    for (unit_id, storage), place in zip(chosen_ids, places, strict=False):
        low, high = storage.low_c, storage.high_c
        temperature = low if high is None else high if low is None else (low + high) / 2
        fields = {"location": place, "storage_temperature_c": temperature}
        units.perform_action(unit_id, "store", fields, db.session.get(User, technician))
        db.session.remove()
    print(f"stored {len(chosen_ids)} of the sampled units in box positions", flush=True)


def _lua(
    measure: Measure,
    side: str,
    token: str | None,
    sample: list[tuple[int, str]],
    names: list[str],
    mrns: list[str],
) -> str:
    spec = measure.ours if side == "ours" else measure.bare
    assert spec is not None
    ids = ",".join(str(i) for i, _ in sample)
    codes = ",".join(json.dumps(c) for _, c in sample)
    queries = ",".join(json.dumps(quote(n)) for n in names) or '""'
    records = ",".join(json.dumps(quote(m)) for m in mrns) or '""'
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    body = json.dumps(spec.get("body", ""))
    return f"""
local ids = {{{ids}}}
local codes = {{{codes}}}
local names = {{{queries}}}
local mrns = {{{records}}}
wrk.headers["Content-Type"] = "application/json"
{auth}
request = function()
  local i = math.random(#ids)
  local path = string.gsub("{spec["path"]}", "{{id}}", tostring(ids[i]))
  path = string.gsub(path, "{{name}}", function() return names[math.random(#names)] end)
  path = string.gsub(path, "{{mrn}}", function() return mrns[math.random(#mrns)] end)
  local body = string.gsub({body}, "{{code}}", codes[i])
  if "{spec["method"]}" == "GET" then return wrk.format("GET", path) end
  return wrk.format("{spec["method"]}", path, nil, body)
end
statuses = {{}}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write("JSON ")
  io.write(string.format('{{"rps": %.2f, "p50": %.3f, "p90": %.3f, "p99": %.3f, "errors": %d',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
  io.write("}}\\n")
end
"""


def run_wrk(port: int, script: Path, connections: int, seconds: int) -> dict[str, float]:
    threads = min(2, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True
    ).stdout
    found = re.search(r"^JSON (\{.*\})$", out, re.M)
    if found is None:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    return json.loads(found.group(1))


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs) if runs else float("nan")


def table(measures: list[Measure], meta: dict[str, Any]) -> str:
    lines = [
        START,
        f"Measured by `make bench-http` on {meta['when']} ({meta['backend']}, {meta['units']:,} units, "
        f"gunicorn {meta['workers']} worker(s) × {meta['threads']} thread(s) on both sides, "
        f"{meta['rounds']} alternating rounds of {meta['seconds']} s, medians; "
        f"{meta['cpus']} CPUs). Worker memory after the load: {meta['rss']}.",
        "",
        "| measure | connections | this app req/s | p50 ms | p99 ms | bare req/s | bare p50 ms | ratio "
        "| errors (ours/bare) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measures:
        ours, bare = m.runs["ours"], m.runs["bare"]
        rps = _median(ours, "rps")
        errors = sum(r["errors"] for r in ours)
        if m.bare is None:
            bare_cells = f"— | — | — | {errors}/— |"
        else:
            bare_rps = _median(bare, "rps")
            bare_cells = (
                f"{bare_rps:,.0f} | {_median(bare, 'p50'):.1f} | {rps / bare_rps:.2f} | "
                f"{errors}/{sum(r['errors'] for r in bare)} |"
            )
        lines.append(
            f"| {m.name} | {m.connections} | {rps:,.0f} | {_median(ours, 'p50'):.1f} | "
            f"{_median(ours, 'p99'):.1f} | {bare_cells}"
        )
    lines += ["", END]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text()
    if START in text and END in text:
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
        text = before + section + after
    else:
        text = (
            text.rstrip("\n")
            + "\n\n## At the HTTP edge, against a bare Flask request\n\n"
            + section
            + "\n"
        )
    path.write_text(text)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL or a temp SQLite file")
    parser.add_argument("--units", type=int, default=100_000, help="seed this many when empty")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write-connections", type=int, default=8)
    parser.add_argument("--read-connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write", type=Path, help="put the table into this Markdown file")
    parser.add_argument(
        "--only", help="measure only the rows whose name contains this (e.g. readiness)"
    )
    args = parser.parse_args(argv)
    if args.only and args.write:
        parser.error("--only measures a part of the table: it is not written (no --write)")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt install wrk)")
    url = database_url(args.database_url)
    # The seed and both servers sign with the same ledger key: the chain stays verifiable.
    for name, value in ENV_SECRETS.items():
        os.environ.setdefault(name, value)
    prepared = prepare(url, args.units)
    workdir = Path(tempfile.mkdtemp(prefix="lims-http-"))
    base_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base_env.pop("REDIS_URL", None)
    ours = Side(
        "ours",
        _free_port(),
        "wsgi:app",
        # production settings on PostgreSQL; on SQLite (which production refuses) the
        # embedded mode `make run` serves
        {
            **base_env,
            "LIMS_ENV": "production" if backend_of(url) == "postgresql" else "development",
            "DATABASE_URL": url,
            # the request alone, as on the bare side: no in-process beat (decision 119)
            "EMBEDDED_BEAT": "0",
        },
        workdir / "ours.log",
    )
    bare = Side(
        "bare",
        _free_port(),
        "bench.bare:app",
        {**base_env, "BARE_DATABASE_URL": url},
        workdir / "bare.log",
    )
    register = {
        "patient": {"mrn": "BENCH-HTTP-1", "name": "Bench Http", "birth_date": "1980-01-01"},
        "type": "ADIPOSE",
        "collection_site": "abdomen",
        "volume_ml": 200,
        "collected_at": "{collected}",
    }
    measures = [
        Measure(
            "`GET /api/v1/units/<id>`",
            {"method": "GET", "path": "/api/v1/units/{id}", "token": "qa"},
            {"method": "GET", "path": "/units/{id}"},
            args.connections,
        ),
        Measure(
            "`POST /api/v1/scan`",
            {"method": "POST", "path": "/api/v1/scan", "body": '{"code": "{code}"}', "token": "qa"},
            {"method": "POST", "path": "/scan", "body": '{"code": "{code}"}'},
            args.connections,
        ),
        Measure(
            "`POST /api/v1/units` (register)",
            {"method": "POST", "path": "/api/v1/units", "body": "", "token": "clinician"},
            {"method": "POST", "path": "/units", "body": "{}"},
            args.write_connections,
        ),
        # one at a time: the time a registration takes (issue 15's register p50 < 8 ms)
        Measure(
            "`POST /api/v1/units` (register)",
            {"method": "POST", "path": "/api/v1/units", "body": "", "token": "clinician"},
            {"method": "POST", "path": "/units", "body": "{}"},
            1,
        ),
        Measure(
            "`GET /api/v1/readiness?clinician=<id>` (200 patients)",
            {"method": "GET", "path": "/api/v1/readiness?clinician={doctor}", "token": "qa"},
            None,
            args.read_connections,
        ),
        Measure(
            "`GET /api/v1/units?q=<name>`",
            {"method": "GET", "path": "/api/v1/units?q={name}", "token": "qa"},
            None,
            args.read_connections,
        ),
        Measure(
            "`GET /api/v1/units?q=<record number>`",
            {"method": "GET", "path": "/api/v1/units?q={mrn}", "token": "qa"},
            None,
            args.read_connections,
        ),
    ]
    collected = datetime.now(UTC).replace(microsecond=0).isoformat()
    for m in measures[2:4]:  # the registrations
        m.ours["body"] = json.dumps(register).replace("{collected}", collected)
    if args.only:
        measures = [m for m in measures if args.only in m.name]
    scripts: dict[tuple[str, str], Path] = {}
    for index, m in enumerate(measures):
        m.ours["path"] = m.ours["path"].replace("{doctor}", str(prepared["doctor"]))
        for side in ("ours", "bare") if m.bare is not None else ("ours",):
            spec = m.ours if side == "ours" else m.bare
            assert spec is not None
            token = prepared["tokens"][spec["token"]] if "token" in spec else None
            path = workdir / f"{index}-{side}.lua"
            path.write_text(
                _lua(m, side, token, prepared["sample"], prepared["names"], prepared["mrns"])
            )
            scripts[(m.name, side)] = path
    rss: dict[str, list[float]] = {}
    try:
        ours.start(args.workers, args.threads)
        bare.start(args.workers, args.threads)
        for m in measures:  # warm both sides up: imports, compiled statements, connections
            for side in (ours, bare) if m.bare is not None else (ours,):
                run_wrk(side.port, scripts[(m.name, side.name)], m.connections, 2)
        for _ in range(args.rounds):
            for m in measures:
                for side in (ours, bare) if m.bare is not None else (ours,):
                    result = run_wrk(
                        side.port, scripts[(m.name, side.name)], m.connections, args.seconds
                    )
                    m.runs[side.name].append(result)
                    print(f"{m.name:36} {side.name:5} {result}", flush=True)
        rss = {"ours": ours.rss_mb(), "bare": bare.rss_mb()}
    finally:
        ours.stop()
        bare.stop()
    meta = {
        "when": datetime.now(UTC).strftime("%d %b %Y"),
        "backend": "PostgreSQL" if backend_of(url) == "postgresql" else "SQLite",
        "units": prepared["units"],
        "workers": args.workers,
        "threads": args.threads,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "rss": f"this app {rss.get('ours')} MB, bare {rss.get('bare')} MB",
    }
    section = table(measures, meta)
    print(section)
    RESULTS.mkdir(exist_ok=True)
    result = {
        "database": safe_url(url),
        **meta,
        "measures": [{"name": m.name, "connections": m.connections, **m.runs} for m in measures],
        "logs": str(workdir),
    }
    (RESULTS / "http.json").write_text(json.dumps(result, indent=2))
    if args.write:
        write_section(args.write, section)
    return result


if __name__ == "__main__":
    main()
