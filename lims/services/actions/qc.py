"""QC: specifications in force, recording results, and what release reads of them.

A result is judged when it is recorded, against the specification version in force then,
and keeps that version and verdict; publishing a new version never touches old results.
An aliquot shares the QC of the unit it was split from (same product code, same material).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ...db import lock, transaction
from ...domain import codes, qc
from ...domain.catalogue import CATALOGUE
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound
from ...domain.lifecycle import QcFields, Status
from ...domain.roles import Role
from ...extensions import db
from ...models import Deviation, QcResult, QcSpec, Unit, User
from ...models.types import utcnow
from ..materials import uses
from .transition import Outcome

# ---------------------------------------------------------------------------- specifications


def spec_in_force(product_type: str, test: str) -> qc.Spec | None:
    """The newest published version, else the built-in version 1; None: not a test of it."""
    row = db.session.scalars(
        select(QcSpec)
        .where(QcSpec.product_type == product_type, QcSpec.test == test)
        .order_by(QcSpec.version.desc())
        .limit(1)
    ).first()
    return row.to_spec() if row is not None else qc.default_spec(product_type, test)


def specs_in_force(product_type: str) -> list[qc.Spec]:
    """Every test specified for a product type, in the catalogue's test order."""
    published = {
        (row.test): row
        for row in db.session.scalars(
            select(QcSpec).where(QcSpec.product_type == product_type).order_by(QcSpec.version)
        )
    }
    tests = {t for (p, t) in qc.DEFAULT_SPECS if p == product_type} | set(published)
    out = []
    for test in qc.TESTS:
        if test not in tests:
            continue
        row = published.get(test)
        out.append(row.to_spec() if row is not None else qc.DEFAULT_SPECS[(product_type, test)])
    return out


def spec_history(product_type: str, test: str) -> list[tuple[qc.Spec, QcSpec | None]]:
    """Every version, oldest first: the built-in one (no row), then each published row."""
    rows = list(
        db.session.scalars(
            select(QcSpec)
            .where(QcSpec.product_type == product_type, QcSpec.test == test)
            .order_by(QcSpec.version)
        )
    )
    default = qc.default_spec(product_type, test)
    history: list[tuple[qc.Spec, QcSpec | None]] = [(default, None)] if default else []
    return history + [(row.to_spec(), row) for row in rows]


def _spec_from(
    data: dict[str, Any], product_type: str, test: str, version: int, current: qc.Spec | None
) -> qc.Spec:
    """The next version: what ``data`` says; a setting it leaves out stays as it was."""
    if current is not None:
        kept = {
            "operator": current.operator,
            "limit": current.limit,
            "accept": list(current.accept),
            "required": current.required,
            "pending_at_release": current.pending_at_release,
        }
        data = {**kept, **data}
    words = data.get("accept") or ()
    if isinstance(words, str):
        words = [w.strip() for w in words.split(",") if w.strip()]
    limit = data.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)):
        raise Invalid("the limit is a number", code="invalid_fields", fields={"limit": "a number"})
    spec = qc.Spec(
        product_type=product_type,
        test=test,
        version=version,
        operator=data.get("operator") or None,
        limit=float(limit) if limit is not None else None,
        accept=tuple(" ".join(str(w).lower().split()) for w in words),
        required=bool(data.get("required", True)),
        pending_at_release=bool(data.get("pending_at_release", False)),
    )
    try:
        qc.check_spec(spec)
    except qc.QcError as exc:
        raise Invalid(exc.message, code="invalid_fields", fields={exc.field: exc.message}) from None
    return spec


def publish_spec(
    product_type: str, test: str, data: dict[str, Any], reason: str, actor: User
) -> qc.Spec:
    """Publish the next version of one specification (admins). Old results keep theirs."""
    if actor.role != Role.ADMIN:
        raise Forbidden(
            "only an administrator may change QC specifications", code="role_not_allowed"
        )
    if product_type not in CATALOGUE or CATALOGUE[product_type].is_source:
        raise NotFound(f"no product type {product_type!r}", code="unknown_product_type")
    if test not in qc.TESTS:
        raise NotFound(f"no QC test {test!r}; known: {', '.join(qc.TESTS)}", code="unknown_test")
    reason = " ".join(str(reason or "").split())
    if len(reason) < 3:
        raise Invalid(
            "say why the specification changes",
            code="invalid_fields",
            fields={"reason": "at least 3 characters"},
        )
    with transaction():
        lock(f"lims.qc_spec.{product_type}.{test}")
        current = spec_in_force(product_type, test)
        version = (current.version if current else 0) + 1
        spec = _spec_from(data, product_type, test, version, current)
        db.session.add(
            QcSpec(
                product_type=product_type,
                test=test,
                version=version,
                operator=spec.operator,
                limit=spec.limit,
                accept=json.dumps(list(spec.accept)),
                required=spec.required,
                pending_at_release=spec.pending_at_release,
                reason=reason,
                created_by_id=actor.id,
                created_at=utcnow(),
            )
        )
    return spec


# ---------------------------------------------------------------------------- results


def qc_units(unit: Unit) -> list[Unit]:
    """The unit and the units it was split from (same product code): one material's QC."""
    chain, node = [unit], unit.parent
    while node is not None and node.product_code == unit.product_code:
        chain.append(node)
        node = node.parent
    return chain


def results_of(unit: Unit) -> list[QcResult]:
    """Every result that applies to the unit, oldest first, corrections included."""
    ids = [u.id for u in qc_units(unit)]
    return list(
        db.session.scalars(select(QcResult).where(QcResult.unit_id.in_(ids)).order_by(QcResult.id))
    )


def current_results(results: Iterable[QcResult]) -> dict[str, QcResult]:
    """The latest result per test: a later result or a correction supersedes earlier ones."""
    current: dict[str, QcResult] = {}
    for result in results:
        current[result.test] = result
    return current


def superseded_ids(results: Iterable[QcResult]) -> set[int]:
    results = list(results)
    current = {r.id for r in current_results(results).values()}
    return {r.id for r in results} - current


@dataclass(frozen=True)
class QcStatus:
    """A product's QC against the specs in force: for the release queue and release itself."""

    specs: list[qc.Spec]
    current: dict[str, QcResult]
    readiness: qc.Readiness


def qc_status(unit: Unit) -> QcStatus:
    specs = specs_in_force(unit.unit_type)
    current = current_results(results_of(unit))
    judged = {
        test: qc.Judged(
            test, qc.Verdict(r.verdict), bool(r.spec_snapshot.get("pending_at_release"))
        )
        for test, r in current.items()
    }
    return QcStatus(specs, current, qc.readiness(specs, judged))


def deviations_of(unit: Unit) -> list[Deviation]:
    """Deviations of the unit and of everything it was made from (receipt included)."""
    ids = [u.id for u in unit.lineage()]
    return list(
        db.session.scalars(
            select(Deviation).where(Deviation.unit_id.in_(ids)).order_by(Deviation.id)
        )
    )


def _field_error(message: str, field: str) -> Invalid:
    return Invalid(message, code="invalid_fields", fields={field: message})


def record(unit: Unit, fields: QcFields, now: datetime, actor: User) -> Outcome:
    """The ``record_qc`` effect: judge, store the result, open a deviation when it fails."""
    spec = spec_in_force(unit.unit_type, fields.test)
    if spec is None:
        tests = ", ".join(s.test for s in specs_in_force(unit.unit_type)) or "none"
        raise _field_error(
            f"{fields.test} is not a QC test of {unit.unit_type}; tests: {tests}", "test"
        )
    try:
        value = qc.parse_value(spec.qc_test, fields.value)
    except qc.QcError as exc:
        raise _field_error(exc.message, exc.field) from None
    corrected = _corrected(unit, fields) if fields.corrects is not None else None
    materials = _materials(unit, fields, now)
    source = _source(fields.provenance)
    verdict = qc.judge(spec, value)
    result = QcResult(
        unit_id=unit.id,
        test=fields.test,
        value_number=value if isinstance(value, float) else None,
        value_text=value if isinstance(value, str) else None,
        method=fields.method,
        lot=fields.lot,
        spec_version=spec.version,
        spec=json.dumps(spec.snapshot(), sort_keys=True),
        verdict=verdict.value,
        recorded_by_id=actor.id,
        recorded_at=now,
        corrects_id=corrected.id if corrected else None,
        reason=fields.reason,
        equipment_id=materials[0].equipment.id if materials and materials[0].equipment else None,
        source=source,
    )
    db.session.add(result)
    db.session.flush()
    outcome = Outcome()
    recorded, events = outcome.recorded, outcome.events
    for checked in materials:
        recorded.update(checked.recorded())
        outcome.uses.append(uses.use(unit, checked, action="record_qc", step=fields.test, at=now))
    recorded.update(
        qc_result_id=result.id,
        value=value,
        verdict=verdict.value,
        spec_version=spec.version,
        spec=spec.text,
    )
    if verdict is qc.Verdict.FAIL:
        description = _open_deviation(unit, spec, value, result, now, actor, recorded)
        events.append(("qc_out_of_spec", {"description": description, "test": fields.test}))
        if "qc_alert" in recorded:
            events.append(("sterility_positive", {"description": description}))
    elif unit.status == Status.QUARANTINE and _complete_with(unit, result):
        events.append(("ready_for_review", {"dedupe_key": f"ready_for_review:{unit.id}"}))
    return outcome


def _materials(unit: Unit, fields: QcFields, now: datetime) -> list[uses.Checked]:
    """The instrument (a register code) and, when the kit lot is a register code, the lot."""
    checked = []
    if fields.equipment:
        checked.append(
            uses.check_equipment(unit, fields.equipment, now, deviation_id=fields.deviation)
        )
    if codes.is_register_code(fields.lot, codes.ReagentLotCode):
        checked.append(uses.check_lot(fields.lot, now, reagent=None))
    return checked


def _source(provenance: dict | None) -> str | None:
    """``<sha256>:<row>`` of an imported result; a row already imported is refused."""
    if not provenance:
        return None
    source = f"{provenance['sha256']}:{provenance['row']}"
    if db.session.scalar(select(QcResult.id).where(QcResult.source == source)) is not None:
        raise Conflict(
            f"row {provenance['row']} of this file was imported already", code="already_imported"
        )
    return source


def _complete_with(unit: Unit, result: QcResult) -> bool:
    """Is QC complete now that ``result`` is recorded (and was it not before)?"""
    status = qc_status(unit)
    if not (status.readiness.complete and status.current.get(result.test) is result):
        return False
    before = qc.readiness(
        status.specs,
        {
            t: qc.Judged(t, qc.Verdict(r.verdict), bool(r.spec_snapshot.get("pending_at_release")))
            for t, r in status.current.items()
            if t != result.test
        },
    )
    return not before.complete


def _corrected(unit: Unit, fields: QcFields) -> QcResult:
    old = db.session.get(QcResult, fields.corrects)
    if old is None or old.unit_id not in {u.id for u in qc_units(unit)}:
        raise _field_error(f"no QC result {fields.corrects} on this unit", "corrects")
    if old.test != fields.test:
        raise _field_error(
            f"result {old.id} is a {qc.TESTS[old.test].name.lower()} result; a correction "
            "keeps the test",
            "test",
        )
    return old


def _open_deviation(
    unit: Unit,
    spec: qc.Spec,
    value: float | str,
    result: QcResult,
    now: datetime,
    actor: User,
    recorded: dict,
) -> str:
    test = spec.qc_test
    description = (
        f"{test.name} {qc.value_text(test, value)} is outside specification "
        f"({spec.text}, version {spec.version})"
    )
    deviation = Deviation(
        unit_id=unit.id,
        kind="qc_out_of_specification",
        description=description,
        qc_result_id=result.id,
        opened_by_id=actor.id,
        opened_at=now,
    )
    db.session.add(deviation)
    db.session.flush()
    unit.deviation = True
    recorded["deviation_id"] = deviation.id
    if unit.status in (Status.RELEASED, Status.DISPENSED):
        alert = f"{description}, recorded after release"
        recorded["qc_alert"] = alert
        for affected in [unit, *_descendants_of_product(unit)]:
            if not Status(affected.status).is_final:
                affected.qc_alert = alert[:200]
    return description


def _descendants_of_product(unit: Unit) -> list[Unit]:
    out, todo = [], list(unit.children)
    while todo:
        child = todo.pop()
        if child.product_code == unit.product_code:
            out.append(child)
            todo.extend(child.children)
    return out


def deviation_count(unit: Unit, *, open_only: bool = False) -> int:
    """Deviations of the unit and of what it was made from; ``open_only``: not yet closed."""
    stmt = (
        select(func.count())
        .select_from(Deviation)
        .where(Deviation.unit_id.in_([u.id for u in unit.lineage()]))
    )
    if open_only:
        stmt = stmt.where(Deviation.closed_at.is_(None))
    return db.session.scalar(stmt) or 0


def release_queue() -> list[Unit]:
    """Products waiting for QA: in quarantine, or returned for re-release; soonest expiry first."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.status.in_([Status.QUARANTINE.value, Status.RETURNED.value]))
            .order_by(Unit.expires_at.is_(None), Unit.expires_at, Unit.id)
        )
    )


def receipt_deviation(unit: Unit, deviations: list[str], now: datetime, actor: User) -> None:
    """A unit accepted outside acceptance: the deviation QA will see with its products."""
    db.session.add(
        Deviation(
            unit_id=unit.id,
            kind="receipt_outside_acceptance",
            description="Accepted at receipt outside acceptance: " + "; ".join(deviations),
            opened_by_id=actor.id,
            opened_at=now,
        )
    )


def require_product(unit: Unit) -> None:
    if CATALOGUE[unit.unit_type].is_source:
        raise Conflict("a source unit has no QC; its products do", code="no_qc")
