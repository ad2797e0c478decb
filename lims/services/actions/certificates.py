"""Certificates of release, issued automatically with the action that calls for one
(decision 85), so none is ever forgotten:

- ``release`` and ``exceptional_release`` issue the unit's next certificate (1 on a first
  release; a returned unit released again gets the next number, replacing the last);
- ``record_qc`` (a new result or a correction) on a unit that holds a certificate, or on the
  unit an aliquot holding one was split from (the aliquot shares its QC), issues the next
  certificate of each such unit, naming the late result;
- ``split`` of a released unit that holds a certificate issues certificate 1 of each aliquot;
- QA closing a deviation that bears on a certified unit (``audit.deviations.close``) issues
  the next certificate, so how the deviation was closed travels too.

Each certificate's content is built here, from the records as they stand inside the action's
transaction, and frozen: its canonical JSON and that JSON's SHA-256 are stored
(``ReleaseCertificate``, insert-only), and one ``certificate_issued`` ledger entry on the unit
carries the number, the digest, the number it replaces and the reason. The ledger's lock is
already held by then (the action's own entries were appended first), so two transactions
cannot both take the same number.

The content names the patient by initials and birth date only (the travelling copy); the full
name and record number are added when the file copy is printed (``audit.certificate``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from ...domain import certificates as words
from ...domain import qc as qc_domain
from ...domain.catalogue import THAWED_STORAGE, unit_type
from ...domain.deviations import decision_label, kind_label
from ...domain.ledger_chain import canonical_json, utc_iso
from ...domain.lifecycle import Status
from ...domain.materials import EQUIPMENT_KINDS
from ...domain.processing import PROTOCOLS, protocol_for
from ...domain.roles import Role
from ...domain.signatures import manifestation
from ...extensions import db
from ...models import (
    Deviation,
    Equipment,
    LedgerEntry,
    QcResult,
    ReleaseCertificate,
    Signature,
    Unit,
    User,
)
from ...timefmt import local_time
from ..custody import ledger
from ..custody.signatures import signatures_of
from ..materials import uses
from . import processing, qc
from .transition import Outcome

ACTION = "certificate_issued"
FORMAT = 1  # the shape of the content; a new shape is a new number
RELEASES = {"release": "released", "exceptional_release": "exceptional release"}
RELEASE_ACTIONS = tuple(RELEASES)


# ---------------------------------------------------------------------------- which units


def latest(unit_id: int) -> ReleaseCertificate | None:
    return db.session.scalars(
        select(ReleaseCertificate)
        .where(ReleaseCertificate.unit_id == unit_id)
        .order_by(ReleaseCertificate.number.desc())
        .limit(1)
    ).first()


def holders(unit_ids: list[int]) -> set[int]:
    """Which of these units hold a certificate."""
    if not unit_ids:
        return set()
    return set(
        db.session.scalars(
            select(ReleaseCertificate.unit_id)
            .where(ReleaseCertificate.unit_id.in_(unit_ids))
            .distinct()
        )
    )


def after_action(name: str, unit: Unit, outcome: Outcome, actor: User, now: datetime) -> list:
    """The certificates an action calls for, issued in its transaction: their ledger entries."""
    if name in RELEASES:
        previous = latest(unit.id)
        reason = RELEASES[name]
        if previous is not None:
            reason = f"{reason} again (returned and re-released)"
        return [issue(unit, reason, actor, now)]
    if name == "record_qc":
        result = db.session.get(QcResult, outcome.recorded.get("qc_result_id"))
        if result is None:
            return []
        targets = [unit, *qc._descendants_of_product(unit)]
        held = holders([t.id for t in targets])
        if not held:
            return []
        reason = _result_reason(result)
        return [issue(t, reason, actor, now) for t in targets if t.id in held]
    if name == "split" and unit.status == Status.RELEASED:
        parent = latest(unit.id)
        if parent is None:
            return []
        reason = f"aliquot of {_unit_label(unit)}, released under its certificate {parent.number}"
        return [issue(p, reason, actor, now) for p in outcome.products]
    return []


def after_deviation_closed(deviation: Deviation, actor: User, now: datetime) -> list[LedgerEntry]:
    """QA closed ``deviation``: the next certificate of every certified unit it bears on
    (the deviation's unit and what was made from it)."""
    db.session.expire(deviation)  # its decision columns were written by an UPDATE
    unit = db.session.get(Unit, deviation.unit_id)
    if unit is None:
        return []
    collection = db.session.scalars(select(Unit).where(Unit.din == unit.din).order_by(Unit.id))
    bearing = [u for u in collection if deviation.unit_id in {a.id for a in u.lineage()}]
    held = holders([u.id for u in bearing])
    if not held:
        return []
    reason = words.reissue_reason_for_deviation(
        deviation.id, kind_label(deviation.kind), decision_label(deviation.decision)
    )
    return [issue(u, reason, actor, now) for u in bearing if u.id in held]


def _result_reason(result: QcResult) -> str:
    test = qc_domain.TESTS[result.test]
    value = qc_domain.value_text(test, result.value)
    if result.corrects_id is None:
        return words.reissue_reason_for_result(test.name, value, result.verdict)
    old = db.session.get(QcResult, result.corrects_id)
    before = qc_domain.value_text(test, old.value) if old is not None else "?"
    return words.reissue_reason_for_correction(
        test.name, before, value, result.verdict, result.reason or ""
    )


# ---------------------------------------------------------------------------- issuing


def digest(content_json: str) -> str:
    return hashlib.sha256(content_json.encode()).hexdigest()


def issue(unit: Unit, reason: str, actor: User, now: datetime) -> LedgerEntry:
    """The unit's next certificate, frozen, and the ledger entry that records it."""
    previous = latest(unit.id)
    number = previous.number + 1 if previous is not None else 1
    content = build(unit, number, previous, reason, actor, now)
    text = canonical_json(content)
    sha = digest(text)
    entry = ledger.append(
        unit=unit,
        action=ACTION,
        actor=actor,
        movement=ledger.standing(unit),
        data={
            "number": number,
            "sha256": sha,
            "replaces": previous.number if previous is not None else None,
            "reason": reason,
        },
        at=now,
    )
    db.session.add(
        ReleaseCertificate(
            unit_id=unit.id,
            number=number,
            replaces_id=previous.id if previous is not None else None,
            reason=reason,
            issued_at=now,
            issued_by_id=actor.id,
            ledger_entry_id=entry.id,
            content=text,
            sha256=sha,
        )
    )
    db.session.flush()
    return entry


# ---------------------------------------------------------------------------- content


def _utc(moment: datetime | None) -> str | None:
    return utc_iso(moment) if moment is not None else None


def _unit_label(unit: Unit) -> str:
    return f"{unit.unit_type} · {unit.product_code} {unit.division}"


def _name(user: User | None) -> str | None:
    return user.full_name if user is not None else None


def _role(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


def utc_words(moment: datetime) -> str:
    """A moment as the certificate prints it in UTC: ``2026-05-01 10:00:00 UTC``."""
    return utc_iso(moment)[:19].replace("T", " ") + " UTC"


def build(
    unit: Unit,
    number: int,
    previous: ReleaseCertificate | None,
    reason: str,
    actor: User,
    now: datetime,
) -> dict[str, Any]:
    """What certificate ``number`` of ``unit`` says, as of now (UTC times, ISO 8601)."""
    config = current_app.config
    lineage = unit.lineage()
    units_by_id = {u.id: u for u in lineage}
    results = qc.results_of(unit)
    current = {r.id for r in qc.current_results(results).values()}
    return {
        "format": FORMAT,
        "certificate": {
            "title": words.TITLE,
            "number": number,
            "issued_at": utc_iso(now),
            "issued_by": {"name": actor.full_name, "role": _role(actor.role)},
            "reason": reason,
            "replaces": (
                {
                    "number": previous.number,
                    "issued_at": utc_iso(previous.issued_at),
                    "sha256": previous.sha256,
                }
                if previous is not None
                else None
            ),
        },
        "facility": {
            "name": config["FACILITY_NAME"],
            "address": config.get("FACILITY_ADDRESS") or "",
            "code": config["FACILITY_CODE"],
        },
        "product": _product(unit),
        "patient": {
            "initials": words.initials(unit.patient.name),
            "birth_date": (
                unit.patient.birth_date.isoformat() if unit.patient.birth_date else None
            ),
        },
        "collection": _collection(lineage[-1]),
        "processing": _processing(lineage),
        **_materials(lineage, units_by_id),
        "qc": [_result(r, unit, units_by_id, current) for r in _ordered(results)],
        "qc_summary": _qc_summary(unit),
        "deviations": [_deviation(d, units_by_id) for d in qc.deviations_of(unit)],
        "release": _release(unit),
        "signatures": _signatures(lineage, units_by_id, unit),
        "status": {
            "status": unit.status,
            "label": Status(unit.status).label,
            "qc_alert": unit.qc_alert,
        },
        "expiry": _expiry(unit),
        "storage": _storage(unit),
        "statements": list(words.STATEMENTS),
        **_changes(results),
    }


def _product(unit: Unit) -> dict[str, Any]:
    kind = unit_type(unit.unit_type)
    maker = unit.parent
    return {
        "unit_id": unit.id,
        "din": unit.eye_readable,
        "barcode": unit.barcode_data,
        "product_code": unit.product_code,
        "division": unit.division,
        "chain_of_identity": unit.chain_of_identity,
        "type": unit.unit_type,
        "description": kind.name,
        "volume_ml": unit.volume_ml,
        "cell_count": unit.cell_count,
        "made_from": _unit_label(maker) if maker is not None else None,
        "processed_at": _utc(unit.processed_at),
        "thawed_at": _utc(unit.thawed_at),
    }


def _collection(source: Unit) -> dict[str, Any]:
    kind = unit_type(source.unit_type)
    return {
        "source": _unit_label(source),
        "description": kind.name,
        "site": source.collection_site,
        "collected_at": _utc(source.collected_at),
        "collected_by": _name(source.collected_by),
        "received_at": _utc(source.received_at),
    }


def _recorded_time(value: object) -> str | None:
    """A time the ledger recorded (ISO 8601 with its zone) in the certificate's UTC form."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return utc_iso(moment) if moment.tzinfo else value


def _step(entry: LedgerEntry) -> dict[str, Any]:
    data = processing.step_data(entry)
    return {
        "step": data.get("step"),
        "name": data.get("step_name") or data.get("step"),
        "operator": data.get("operator") or entry.actor_name,
        "started_at": _recorded_time(data.get("started_at")),
        "ended_at": _recorded_time(data.get("ended_at")),
        "equipment": data.get("equipment"),
        "equipment_name": data.get("equipment_name"),
        "reagent": data.get("reagent"),
        "lot": data.get("lot"),
        "lot_number": data.get("lot_number"),
        "quantity": data.get("quantity_used") or data.get("quantity"),
        "quantity_unit": data.get("quantity_unit"),
        "notes": data.get("notes"),
    }


def _processing(lineage: list[Unit]) -> list[dict[str, Any]]:
    """How each unit the product was made from was processed, the source first."""
    records = []
    for maker in reversed(lineage[1:]):
        steps = processing.recorded_steps(maker)
        if not steps and maker.processing_started_at is None:
            continue
        protocol = protocol_for(maker.unit_type)
        key = next(
            (processing.step_data(e).get("protocol") for e in steps),
            protocol.key if protocol else None,
        )
        records.append(
            {
                "unit": _unit_label(maker),
                "protocol": PROTOCOLS[key].name if key in PROTOCOLS else key,
                "started_at": _utc(maker.processing_started_at),
                "completed_at": _utc(maker.processed_at),
                "steps": [_step(e) for e in steps],
            }
        )
    return records


def _materials(lineage: list[Unit], units_by_id: dict[int, Unit]) -> dict[str, Any]:
    """Every item and lot that touched the product or what it was made from, as then."""
    equipment, lots = [], []
    for row in uses.uses_of_unit([u.id for u in lineage]):
        where = {
            "unit": _unit_label(units_by_id[row.unit_id]),
            "action": row.action,
            "step": row.step,
            "used_at": utc_iso(row.used_at),
        }
        if row.equipment is not None:
            item = row.equipment
            equipment.append(
                {
                    "code": item.code,
                    "name": item.name,
                    "kind": EQUIPMENT_KINDS.get(item.kind, item.kind),
                    "calibration_valid_until": (
                        row.calibration_valid_until.isoformat()
                        if row.calibration_valid_until
                        else None
                    ),
                    "permitted_by_deviation": row.deviation_id,
                    **where,
                }
            )
        if row.reagent_lot is not None:
            lot = row.reagent_lot
            lots.append(
                {
                    "code": lot.code,
                    "reagent": lot.reagent,
                    "product_name": lot.product_name,
                    "manufacturer": lot.manufacturer,
                    "lot_number": lot.lot_number,
                    "expires_on": lot.expires_on.isoformat(),
                    "quantity": row.quantity,
                    "quantity_unit": lot.quantity_unit,
                    **where,
                }
            )
    return {"equipment": equipment, "reagent_lots": lots}


def _ordered(results: list[QcResult]) -> list[QcResult]:
    """By the catalogue's test order, then as recorded."""
    order = {key: i for i, key in enumerate(qc_domain.TESTS)}
    return sorted(results, key=lambda r: (order.get(r.test, len(order)), r.id))


def _result(
    result: QcResult, unit: Unit, units_by_id: dict[int, Unit], current: set[int]
) -> dict[str, Any]:
    test = qc_domain.TESTS[result.test]
    instrument = None
    if result.equipment_id is not None:
        item = db.session.get(Equipment, result.equipment_id)
        instrument = f"{item.code} {item.name}" if item is not None else None
    snapshot = result.spec_snapshot
    return {
        "result_id": result.id,
        "test": result.test,
        "name": test.name,
        "value": qc_domain.value_text(test, result.value),
        "unit_of_measure": test.unit,
        "specification": snapshot.get("text"),
        "spec_version": result.spec_version,
        "verdict": result.verdict,
        "method": result.method,
        "kit_lot": result.lot,
        "instrument": instrument,
        "recorded_by": result.recorded_by.full_name,
        "recorded_at": utc_iso(result.recorded_at),
        "corrects": result.corrects_id,
        "reason": result.reason,
        "current": result.id in current,
        "on_unit": None if result.unit_id == unit.id else _unit_label(units_by_id[result.unit_id]),
    }


def _qc_summary(unit: Unit) -> dict[str, Any]:
    status = qc.qc_status(unit)
    names = {k: t.name for k, t in qc_domain.TESTS.items()}
    return {
        "complete": status.readiness.complete,
        "problems": status.readiness.problems(),
        "pending_at_release": [names[t] for t in status.readiness.released_pending],
    }


def _signature_words(signature: Signature) -> str:
    return manifestation(signature.printed_name, signature.meaning, utc_words(signature.signed_at))


def _deviation(deviation: Deviation, units_by_id: dict[int, Unit]) -> dict[str, Any]:
    signature = deviation.signature
    return {
        "id": deviation.id,
        "kind": kind_label(deviation.kind),
        "description": deviation.description,
        "unit": _unit_label(units_by_id[deviation.unit_id])
        if deviation.unit_id in units_by_id
        else None,
        "opened_by": _name(deviation.opened_by),
        "opened_at": utc_iso(deviation.opened_at),
        "state": "open" if deviation.is_open else "closed",
        "closed_by": _name(deviation.closed_by),
        "closed_at": _utc(deviation.closed_at),
        "decision": decision_label(deviation.decision) if deviation.decision else None,
        "decision_note": deviation.decision_note,
        "signature": _signature_words(signature) if signature is not None else None,
    }


def _release(unit: Unit) -> dict[str, Any] | None:
    """The latest release of the unit, or of the unit it was split from."""
    ids = [u.id for u in qc.qc_units(unit)]
    entry = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.unit_id.in_(ids), LedgerEntry.action.in_(RELEASE_ACTIONS))
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).first()
    if entry is None:
        return None
    data = json.loads(entry.data)
    record = data.get("signed_record") if isinstance(data.get("signed_record"), dict) else {}
    physician = None
    if record.get("physician_id"):
        physician = _name(db.session.get(User, record["physician_id"]))
    return {
        "action": entry.action,
        "exceptional": entry.action == "exceptional_release",
        "released_at": utc_iso(entry.recorded_at),
        "released_by": entry.actor_name,
        "unit": None
        if entry.unit_id == unit.id
        else f"{entry.din} {entry.product_code} {entry.division}",
        "flags": list(data.get("flags") or []),
        "justification": record.get("justification"),
        "problems": list(record.get("problems") or []),
        "physician": physician,
    }


def _signatures(
    lineage: list[Unit], units_by_id: dict[int, Unit], unit: Unit
) -> list[dict[str, Any]]:
    return [
        {
            "printed_name": s.printed_name,
            "role": _role(s.role),
            "meaning": s.meaning,
            "signed_at": utc_iso(s.signed_at),
            "action": s.action,
            "manifestation": _signature_words(s),
            "record_hash": s.record_hash,
            "unit": None if s.unit_id == unit.id else _unit_label(units_by_id[s.unit_id]),
        }
        for s in signatures_of([u.id for u in lineage])
    ]


def _expiry(unit: Unit) -> dict[str, Any] | None:
    if unit.expires_at is None:
        return None
    return {
        "utc": utc_iso(unit.expires_at),
        "local": local_time(unit.expires_at),
        "zone": current_app.config["TIMEZONE"],
        "shelf_life": unit_type(unit.unit_type).shelf_life_note,
    }


def _storage(unit: Unit) -> dict[str, Any]:
    storage = THAWED_STORAGE if unit.thawed_at else unit_type(unit.unit_type).storage
    return {
        "range": str(storage),
        "storage": words.storage_words(storage),
        "transport": words.transport_conditions(storage),
    }


def _changes(results: list[QcResult]) -> dict[str, Any]:
    """EU GMP Annex 11 §8.2: every value on the certificate changed after its first entry."""
    by_id = {r.id: r for r in results}
    changes = []
    for result in results:
        if result.corrects_id is None:
            continue
        test = qc_domain.TESTS[result.test]
        old = by_id.get(result.corrects_id) or db.session.get(QcResult, result.corrects_id)
        changes.append(
            {
                "what": f"{test.name} (QC result #{result.corrects_id})",
                "original": qc_domain.value_text(test, old.value) if old is not None else None,
                "original_verdict": old.verdict if old is not None else None,
                "original_by": old.recorded_by.full_name if old is not None else None,
                "original_at": _utc(old.recorded_at) if old is not None else None,
                "corrected": qc_domain.value_text(test, result.value),
                "corrected_verdict": result.verdict,
                "corrected_by": result.recorded_by.full_name,
                "corrected_at": utc_iso(result.recorded_at),
                "reason": result.reason,
                "result_id": result.id,
                "corrects": result.corrects_id,
            }
        )
    return {
        "changes_after_first_entry": changes,
        "changes_statement": words.changes_statement(len(changes)),
    }
