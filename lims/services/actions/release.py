"""QA release, exceptional release and signed rejection, with electronic signatures
(``custody.signatures``).

The signature is bound to the SHA-256 of the record it signs, and both go into the ledger
entry of the action. Two-person rule: whoever processed or tested the unit (or the material
it was made from) may not release it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...domain.errors import Conflict, Invalid
from ...domain.ledger_chain import utc_iso
from ...domain.lifecycle import ExceptionalReleaseFields, RejectFields, SignFields
from ...domain.roles import Role
from ...domain.signatures import Meaning
from ...extensions import db
from ...models import Deviation, LedgerEntry, Unit, User
from ..custody.signatures import SignatureDraft, check_password, sign
from .qc import qc_status
from .transition import Outcome

# Actions that make someone a processor or tester of a unit (two-person rule).
HANDS_ON = ("start_processing", "record_step", "complete_processing", "record_qc", "split")


def hands_on(unit: Unit, user: User) -> list[str]:
    """What ``user`` did to this unit or its ancestors that bars them from releasing it."""
    ids = [u.id for u in unit.lineage()]
    return list(
        db.session.scalars(
            select(LedgerEntry.action)
            .where(
                LedgerEntry.unit_id.in_(ids),
                LedgerEntry.actor_id == user.id,
                LedgerEntry.action.in_(HANDS_ON),
            )
            .distinct()
        )
    )


def _two_person_rule(unit: Unit, signer: User) -> None:
    done = hands_on(unit, signer)
    if done:
        did = ", ".join(sorted(a.replace("_", " ") for a in done))
        raise Conflict(
            f"{signer.full_name} may not release this unit: they took part in it ({did}); "
            "a second person must release",
            code="two_person_rule",
        )


def open_deviations(unit: Unit) -> list[Deviation]:
    """The open deviations on the unit and on the units it was made from."""
    ids = [u.id for u in unit.lineage()]
    return list(
        db.session.scalars(
            select(Deviation)
            .where(Deviation.unit_id.in_(ids), Deviation.closed_at.is_(None))
            .order_by(Deviation.id)
        )
    )


def _named(deviations: list[Deviation]) -> str:
    return ", ".join(f"#{d.id} ({d.kind.replace('_', ' ')})" for d in deviations)


def _no_open_deviation(unit: Unit) -> None:
    """An open deviation blocks ordinary release until QA closes it with a signed decision on
    the product's impact; exceptional release signs over it instead (decision 88)."""
    open_ = open_deviations(unit)
    if open_:
        named = _named(open_)
        raise Conflict(
            f"cannot release: deviation {named} is still open. QA closes it with a signed "
            "decision first (Audit → Deviations), or use exceptional release",
            code="open_deviation",
        )


def signed_record(unit: Unit, action: str, meaning: str, **extra: Any) -> dict[str, Any]:
    """What a release signature signs: the unit's identity and its QC as it stands."""
    status = qc_status(unit)
    return {
        "action": action,
        "meaning": meaning,
        "unit": {
            "id": unit.id,
            "din": unit.din,
            "product_code": unit.product_code,
            "division": unit.division,
            "type": unit.unit_type,
            "patient_id": unit.patient_id,
            "expires_at": utc_iso(unit.expires_at) if unit.expires_at else None,
        },
        "qc": [
            {
                "result_id": r.id,
                "test": r.test,
                "value": r.value,
                "verdict": r.verdict,
                "spec_version": r.spec_version,
            }
            for r in status.current.values()
        ],
        **extra,
    }


def _signed(record: dict[str, Any], drafts: list[SignatureDraft]) -> Outcome:
    """The outcome of a signed action: the record and its signatures, in the entry and beside it."""
    recorded = {"signed_record": record, "signatures": [d.manifest() for d in drafts]}
    return Outcome(recorded=recorded, signatures=drafts)


def release(unit: Unit, fields: SignFields, now: datetime, actor: User) -> Outcome:
    check_password(actor, fields.password)
    _two_person_rule(unit, actor)
    status = qc_status(unit)
    if not status.readiness.complete:
        raise Conflict(
            "cannot release: "
            + "; ".join(status.readiness.problems())
            + ". Record the missing results, or use exceptional release",
            code="not_releasable",
        )
    _no_open_deviation(unit)
    flags = [f"{t.replace('_', ' ')} pending at release" for t in status.readiness.released_pending]
    record = signed_record(unit, "release", fields.meaning.value, flags=flags)
    outcome = _signed(record, [sign(actor, record, fields.meaning.value, now)])
    if flags:
        outcome.recorded["flags"] = flags
    unit.released_at = now
    return outcome


def exceptional_release(
    unit: Unit, fields: ExceptionalReleaseFields, now: datetime, actor: User
) -> Outcome:
    check_password(actor, fields.password)
    physician = db.session.scalar(
        select(User).where(User.username == fields.physician.strip().lower())
    )
    if physician is None or not physician.active or physician.role != Role.CLINICIAN:
        message = f"{fields.physician!r} is not an active clinician's username"
        raise Invalid(message, code="invalid_fields", fields={"physician": message})
    check_password(physician, fields.physician_password, "physician_password")
    _two_person_rule(unit, actor)
    status = qc_status(unit)
    open_ = open_deviations(unit)
    if status.readiness.complete and not status.readiness.released_pending and not open_:
        raise Conflict(
            "QC is complete and within specification and no deviation is open: use the "
            "ordinary release",
            code="not_exceptional",
        )
    problems = status.readiness.problems() + [
        f"{t.replace('_', ' ')} pending" for t in status.readiness.released_pending
    ]
    if open_:
        problems.append(f"deviation {_named(open_)} open")
    record = signed_record(
        unit,
        "exceptional_release",
        fields.meaning.value,
        justification=fields.justification,
        problems=problems,
        physician_id=physician.id,
    )
    meaning = Meaning.APPROVED_EXCEPTIONAL_RELEASE.value
    drafts = [sign(actor, record, fields.meaning.value, now), sign(physician, record, meaning, now)]
    outcome = _signed(record, drafts)
    outcome.recorded["flags"] = ["exceptional release", *problems]
    unit.released_at = now
    unit.exceptional_release = True
    return outcome


def reject(unit: Unit, fields: RejectFields, now: datetime, actor: User) -> Outcome:
    """A rejection is signed when a password is given (always, for QA: a guard asks for it)."""
    if fields.password is None:
        return Outcome()
    check_password(actor, fields.password)
    assert fields.meaning is not None
    record = {
        "action": "reject",
        "meaning": fields.meaning.value,
        "unit": {"id": unit.id, "din": unit.din, "product_code": unit.product_code},
        "reason": fields.reason,
    }
    return _signed(record, [sign(actor, record, fields.meaning.value, now)])
