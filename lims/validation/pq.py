"""The performance qualification: one unit from collection to administration, through the
real HTTP JSON API of a real server, on a scratch database.

A fresh application (the development configuration: real password hashing, no Redis, no
e-mail, no webhook — nothing leaves this machine) is migrated on a scratch database (a
temporary SQLite file unless a URL is given), stocked through the services with the few
people, equipment and accepted reagent lots a run needs, and served by werkzeug on
127.0.0.1 at a free port in a thread. Then, with ``requests`` as a client would: tokens,
registration of an adipose collection, receipt, start of processing, each protocol step,
completion, every required QC result (values read from the specifications the API serves),
QA's signed release, dispensing and administration with the wristband; then the product's
ledger excerpt and the ledger's verification.

Each step is recorded (method, path, status, milliseconds). An unexpected status stops the
run: the qualification is ``failed`` with that step and the server's message — never an
exception, so the report still says what happened.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from ..domain.processing import batch_record, protocol_for
from ..services.admin import accounts
from ..services.materials import equipment, reagents
from ..services.materials.equipment import local_today

KIND = "ADIPOSE"
PRODUCT = "SVF"
FULL_NAMES = {"clinician": "Clinician", "technician": "Technician", "qa": "QA"}
TIMEOUT = 30  # seconds a request may take before the step fails
CALIBRATED = {
    "biosafety_cabinet": "qualification",
    "incubator": "qualification",
    "centrifuge": "calibration",
    "cell_counter": "calibration",
}


class StepFailed(Exception):
    """An answer the run did not expect (its step is the last one recorded)."""


@dataclass
class Outcome:
    status: str = "running"  # passed, failed
    started_at: str = ""
    finished_at: str = ""
    database: str = ""
    setup: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    unit: dict[str, Any] | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "database": self.database,
            "setup": self.setup,
            "steps": self.steps,
            "failure": self.failure,
            "unit": self.unit,
            "ledger": self.ledger,
            "verification": self.verification,
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------- the client


class Client:
    """``requests`` against the served app, recording every step."""

    def __init__(self, base: str, outcome: Outcome) -> None:
        self.base = base
        self.outcome = outcome
        self.http = requests.Session()
        self.tokens: dict[str, str] = {}

    def call(
        self,
        step: str,
        method: str,
        path: str,
        *,
        as_: str | None,
        body: Any = None,
        expect: int = 200,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[as_]}"} if as_ else {}
        began = time.perf_counter()
        try:
            response = self.http.request(
                method, self.base + path, json=body, headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            ms = round((time.perf_counter() - began) * 1000, 1)
            self.outcome.steps.append(
                {"step": step, "method": method, "path": path, "status": None, "ms": ms}
            )
            raise StepFailed(f"{method} {path}: no answer ({exc})") from None
        ms = round((time.perf_counter() - began) * 1000, 1)
        self.outcome.steps.append(
            {"step": step, "method": method, "path": path, "status": response.status_code, "ms": ms}
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != expect:
            error = (answer or {}).get("error") if isinstance(answer, dict) else None
            said = (
                f"{error.get('code')}: {error.get('message')}"
                if isinstance(error, dict)
                else response.text[:300]
            )
            raise StepFailed(f"{method} {path} answered {response.status_code}: {said}")
        return answer

    def sign_in(self, username: str, password: str) -> None:
        answer = self.call(
            f"token for {username}",
            "POST",
            "/api/v1/tokens",
            as_=None,
            body={"username": username, "password": password},
            expect=201,
        )
        self.tokens[username] = answer["token"]


# ---------------------------------------------------------------------------- the stage


@dataclass(frozen=True)
class Cast:
    password: str
    names: dict[str, str]  # role -> username
    equipment: dict[str, str]  # kind -> register code
    lots: dict[str, str]  # reagent -> register code


def _stock(outcome: Outcome) -> Cast:
    """People, equipment and lots through the services (a lab's set-up, not under test)."""
    password = "pq-" + secrets.token_urlsafe(18)
    names = {"clinician": "pq-doctor", "technician": "pq-tech", "qa": "pq-qa"}
    people = {
        role: accounts.create_user(username, role, password, full_name=f"PQ {FULL_NAMES[role]}")
        for role, username in names.items()
    }
    today = local_today()
    kinds = {"biosafety_cabinet"} | {s.equipment for s in protocol_for(KIND).steps if s.equipment}
    codes: dict[str, str] = {}
    for kind in sorted(kinds):
        item = equipment.register_equipment(
            {
                "name": f"PQ {kind.replace('_', ' ')}",
                "kind": kind,
                "calibration_interval_days": 365,
                "maintenance_interval_days": 90,
            },
            people["qa"],
        )
        equipment.record(
            item.id,
            {
                "kind": CALIBRATED.get(kind, "calibration"),
                "performed_on": today.isoformat(),
                "performed_by": "PQ service",
                "certificate_ref": f"PQ-{item.code}",
                "valid_until": (today + timedelta(days=365)).isoformat(),
            },
            people["technician"],
        )
        codes[kind] = item.code
    lots: dict[str, str] = {}
    reagents_needed = sorted({s.reagent for s in protocol_for(KIND).steps if s.reagent})
    for index, reagent in enumerate(reagents_needed):
        lot = reagents.receive_lot(
            people["technician"],
            reagent=reagent,
            product_name=f"PQ {reagent}",
            manufacturer="PQ Supplies",
            lot_number=f"PQ-{index + 1}-{secrets.token_hex(3)}",
            expires_on=today + timedelta(days=180),
            storage="2–8 °C",
            quantity=1000.0,
            quantity_unit="mL",
            coa_ref=f"PQ-CoA-{index + 1}",
        )
        reagents.accept_lot(lot.id, people["qa"], password)
        lots[reagent] = lot.code
    outcome.setup = [
        f"people: {', '.join(f'{u} ({r})' for r, u in names.items())}",
        f"equipment registered and calibrated: {', '.join(f'{k} {c}' for k, c in codes.items())}",
        f"reagent lots received and accepted by QA: "
        f"{', '.join(f'{r} {c}' for r, c in lots.items())}",
    ]
    return Cast(password, names, codes, lots)


def _passing_value(spec: dict[str, Any]) -> Any:
    """A value inside the specification the API serves (what a good product measures)."""
    if spec["accept"]:
        return spec["accept"][0]
    limit, operator = float(spec["limit"]), spec["operator"]
    if operator in (">=", ">"):
        return round(limit * 1.2 + 1, 3)
    return round(limit / 2, 6)


def _drive(client: Client, cast: Cast, outcome: Outcome) -> None:
    names = cast.names
    doctor, tech, qa = names["clinician"], names["technician"], names["qa"]
    for username in (doctor, tech, qa):
        client.sign_in(username, cast.password)
    now = datetime.now(UTC)
    source = client.call(
        "register collection",
        "POST",
        "/api/v1/units",
        as_=doctor,
        expect=201,
        body={
            "patient": {"mrn": "PQ-0001", "name": "Pat Qualification", "birth_date": "1970-01-01"},
            "type": KIND,
            "collection_site": "abdomen",
            "volume_ml": 250,
            "collected_at": (now - timedelta(hours=3)).isoformat(),
        },
    )
    unit_path = f"/api/v1/units/{source['id']}/actions"

    def act(path: str, step: str, as_: str, body: dict[str, Any]) -> dict[str, Any]:
        return client.call(step, "POST", path, as_=as_, body=body)

    act(
        unit_path,
        "receive",
        tech,
        {
            "action": "receive",
            "temperature_c": 4.0,
            "container_intact": True,
            "label_matches": True,
            "volume_ml": 250,
        },
    )
    act(
        unit_path,
        "start processing",
        tech,
        {
            "action": "start_processing",
            "protocol": "standard",
            "equipment": cast.equipment["biosafety_cabinet"],
        },
    )
    steps = batch_record(
        KIND,
        now - timedelta(hours=2),
        now - timedelta(minutes=10),
        equipment=cast.equipment,
        lots=cast.lots,
        quantity=2.0,
    )
    for step in steps:
        act(unit_path, f"step {step['step']}", tech, {"action": "record_step", **step})
    done = act(
        unit_path,
        "complete processing",
        tech,
        {
            "action": "complete_processing",
            "products": [{"type": PRODUCT, "volume_ml": 8, "cell_count": 30_000_000}],
        },
    )
    product = done["products"][0]
    outcome.unit = {
        "source_id": source["id"],
        "product_id": product["id"],
        "identifier": product.get("eye_readable") or product.get("identifier"),
        "product_code": product.get("product_code"),
        "patient_wristband": source["patient"]["wristband"],
    }
    product_path = f"/api/v1/units/{product['id']}/actions"
    specs = client.call("read specifications", "GET", f"/api/v1/qc/specs?type={PRODUCT}", as_=tech)
    for spec in specs["product_types"][0]["specs"]:
        if not spec["required"]:
            continue
        act(
            product_path,
            f"QC {spec['test']}",
            tech,
            {
                "action": "record_qc",
                "test": spec["test"],
                "value": _passing_value(spec),
                "method": "validated method",
                "lot": "PQ-QC-KIT",
            },
        )
    seen = client.call("read product", "GET", f"/api/v1/units/{product['id']}", as_=qa)
    act(
        product_path,
        "release (QA signs)",
        qa,
        {
            "action": "release",
            "password": cast.password,
            "meaning": "approved for release",
            "version": seen["version"],
        },
    )
    act(product_path, "dispense", tech, {"action": "dispense", "clinician": doctor})
    given = act(
        product_path,
        "administer (wristband checked)",
        doctor,
        {
            "action": "administer",
            "wristband": source["patient"]["wristband"],
            "site": "vertex",
            "method": "micro-injection",
            "volume_ml": 8,
        },
    )
    status = given["unit"]["status"]
    if status != "administered":
        raise StepFailed(f"the product ended {status}, not administered")
    history = client.call(
        "product's ledger", "GET", f"/api/v1/units/{product['id']}/history", as_=qa
    )
    outcome.ledger = [
        {
            "seq": e["seq"],
            "unit_id": e["unit_id"],
            "action": e["action"],
            "to_status": e["to_status"],
            "actor": e["actor"]["name"],
            "recorded_at": e["recorded_at"],
            "entry_hash": e["entry_hash"],
        }
        for e in history["entries"]
    ]
    verdict = client.call("verify the ledger", "GET", "/api/v1/ledger/verify", as_=qa)
    outcome.verification = verdict
    if not verdict.get("intact"):
        raise StepFailed(f"the ledger does not verify: {verdict}")


# ---------------------------------------------------------------------------- the run


class _QuietHandler(WSGIRequestHandler):
    """The steps are recorded by the client; the server's access log would only repeat them."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def _served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="lims-pq", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _scratch_app(
    factory: Callable[..., Flask], database_url: str, config_name: str, overrides: dict[str, Any]
) -> Flask:
    from flask_migrate import upgrade

    from config import celery_config

    app = factory(
        config_name,
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=secrets.token_hex(32),
        LEDGER_KEY=secrets.token_hex(32),
        REDIS_URL=None,
        CELERY=celery_config(None),
        RATELIMIT_STORAGE_URI="memory://",
        MAIL_SERVER=None,
        WEBHOOK_URL=None,
        WEBHOOK_SECRET=None,
        # no scheduled checks on a clock thread (decision 119): it would outlive this app
        # and its database, which the qualification removes when it ends
        EMBEDDED_BEAT=False,
        **overrides,
    )
    logging.disable(logging.INFO)  # the migrations' own log: the report says what matters
    try:
        with app.app_context():
            upgrade()
    finally:
        logging.disable(logging.NOTSET)
    return app


def run(
    factory: Callable[..., Flask],
    database_url: str | None = None,
    *,
    config_name: str = "development",
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the qualification; its outcome as the report keeps it. ``factory``: the
    application factory (``lims.create_app``, which hands it to the command). ``database_url``: an
    empty database to work in (it is migrated, and left as the run leaves it); default a
    temporary SQLite file, removed afterwards."""
    from ..extensions import db
    from ..services.admin.site_settings import safe_url

    outcome = Outcome(started_at=_now())
    with tempfile.TemporaryDirectory(prefix="lims-pq-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'pq.sqlite3'}"
        outcome.database = (
            "a temporary SQLite file" if database_url is None else safe_url(database_url)
        )
        app = None
        try:
            app = _scratch_app(factory, url, config_name, overrides or {})
            with app.app_context():
                cast = _stock(outcome)
                db.session.remove()
            with _served(app) as base:
                _drive(Client(base, outcome), cast, outcome)
            outcome.status = "passed"
        except StepFailed as exc:
            outcome.status = "failed"
            last = outcome.steps[-1] if outcome.steps else None
            outcome.failure = {"step": last, "message": str(exc)}
        except Exception as exc:  # a set-up that broke: said, not raised
            outcome.status = "failed"
            outcome.failure = {"step": None, "message": f"{type(exc).__name__}: {exc}"}
        finally:
            if app is not None:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
    outcome.finished_at = _now()
    return outcome.as_dict()
