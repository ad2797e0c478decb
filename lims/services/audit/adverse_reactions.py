"""Adverse reactions after a product was given (21 CFR 1271.350, decision 113): reported by a
clinician, raised to QA at once, investigated by QA and closed with QA's signed decision.

A clinician who may see the patient reports a reaction on a product given to that patient
(status ``administered``): onset, description, severity and relation to the product. One
transaction writes the row, a ``report_adverse_reaction`` ledger entry on the product's unit
and an urgent ``adverse_reaction`` outbox event (QA and the patient's clinician); the event's
message carries identifiers only (it may leave the LIMS by e-mail or webhook), never the
patient's name nor the free text, which may name them.

QA adds investigation notes while the reaction is open (each an
``investigate_adverse_reaction`` entry) and closes it with a signature (password again,
meaning ``reviewed``) bound to the hash of the record decided on, as deviations are closed.
Whoever reported it may not close it. A closed reaction is read-only. Of two concurrent
closings (or a double submit) one wins and the other is a 409.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import case, func, select, update

from ...db import lock, transaction
from ...domain import treatment as rules
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID
from ...domain.ledger_chain import utc_iso
from ...domain.lifecycle import Status
from ...domain.roles import Role
from ...domain.signatures import ACTION_MEANINGS
from ...extensions import db
from ...models import AdverseReaction, LedgerEntry, Signature, Unit, User
from ...models.types import utcnow
from ...notify.outbox import emit
from .. import access
from ..custody import ledger, signatures

REPORT = "report_adverse_reaction"
INVESTIGATE = "investigate_adverse_reaction"
CLOSE = "close_adverse_reaction"
READERS = frozenset({Role.QA.value, Role.ADMIN.value})  # the list of every reaction
VIEWERS = frozenset({Role.QA.value, Role.ADMIN.value, Role.CLINICIAN.value})  # one reaction
STATES = ("open", "closed", "all")
TEXT_MAX = 2000
# Most severe first: the QA list sorts by it within open and closed.
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(rules.SEVERITIES))}

_PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=TEXT_MAX, pattern=_PLAIN),
]


def label(value: str | None) -> str:
    """``life_threatening`` → ``life-threatening``; words as the pages and the report print them."""
    return (value or "—").replace("_", "-")


class ReactionReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    onset_at: datetime = Field(description="when the reaction began, with its zone")
    description: Text = Field(description="what was seen: signs, symptoms, treatment given")
    severity: Literal[rules.SEVERITIES] = Field(  # type: ignore[valid-type]
        description="mild, moderate, severe, life_threatening or fatal"
    )
    relation: Literal[rules.RELATIONS] = Field(  # type: ignore[valid-type]
        description="the reporter's judgement of its relation to the product"
    )
    patient_id: Annotated[int, Field(gt=0, le=MAX_ID, strict=True)] | None = Field(
        None,
        description="the patient the report is for (from the patient page): must be the "
        "product's patient",
    )


class ReactionNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: Text = Field(description="what was looked into and found")


class ReactionCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: Text = Field(description="QA's conclusion: cause, relation found, what follows")
    password: Annotated[
        str, StringConstraints(strip_whitespace=False, min_length=1, max_length=1024)
    ] = Field(description="the signer's password again")
    meaning: Literal[tuple(m.value for m in ACTION_MEANINGS[CLOSE])] = Field(  # type: ignore[valid-type]
        description="the meaning of the signature"
    )


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("the request must be an object of fields", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _bad(field: str, message: str, code: str = "invalid_fields") -> Invalid:
    return Invalid(f"invalid data — {field}: {message}", code=code, fields={field: message})


def _require(user: User, roles: frozenset[str], doing: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"only {' or '.join(sorted(roles))} may {doing}", code="role_not_allowed")


# ---------------------------------------------------------------------------- reporting


def _onset(fields: ReactionReportIn, unit: Unit, now: datetime) -> datetime:
    if fields.onset_at.tzinfo is None:
        raise _bad("onset_at", "give the time with its zone")
    try:
        onset = fields.onset_at.astimezone(UTC)
    except OverflowError:  # a year 1 east of UTC, a year 9999 west of it
        raise _bad("onset_at", "not a time the product could have been given before") from None
    if onset > now + timedelta(minutes=5):
        raise _bad("onset_at", "in the future")
    given = unit.administered_at or unit.collected_at  # an imported unit may lack the first
    if onset < given.astimezone(UTC) - timedelta(minutes=5):
        raise _bad("onset_at", "before the product was given")
    return onset


def _message(reaction: AdverseReaction, unit: Unit, reporter: User) -> str:
    """What QA reads in the inbox and the e-mail: identifiers, never the patient's name."""
    return (
        f"Adverse reaction #{reaction.id} ({label(reaction.severity)}, "
        f"{label(reaction.relation)} relation) after {unit.product_code} {unit.division}, "
        f"patient MRN {reaction.patient.mrn}; onset {utc_iso(reaction.onset_at)[:16]}Z, "
        f"reported by {reporter.full_name}. Investigate and close it in the LIMS."
    )


def report(unit_id: object, data: Mapping[str, Any] | None, actor: User) -> AdverseReaction:
    """A clinician reports a reaction on a product given to their patient; QA is told at once.

    The same report sent twice (a double submit) is refused the second time (409).
    """
    if actor.role != Role.CLINICIAN.value:
        raise Forbidden("only a clinician reports an adverse reaction", code="role_not_allowed")
    unit = access.require_unit(actor, unit_id)  # 404 to whoever may not see the patient
    fields: ReactionReportIn = _validated(ReactionReportIn, data)
    if fields.patient_id is not None and fields.patient_id != unit.patient_id:
        raise _bad(
            "patient_id",
            f"{unit.eye_readable} {unit.product_code} was made for another patient",
            code="other_patients_product",
        )
    if unit.status != Status.ADMINISTERED.value:
        raise Conflict(
            f"{unit.eye_readable} {unit.product_code} {unit.division} was not given to the "
            f"patient (it is {unit.status}): a reaction is reported on a product administered",
            code="not_administered",
        )
    now = utcnow()
    onset = _onset(fields, unit, now)
    with transaction():
        lock(f"lims.adverse_reactions.{unit.id}")  # a double submit: one report, one 409
        twin = db.session.scalar(
            select(AdverseReaction.id).where(
                AdverseReaction.unit_id == unit.id,
                AdverseReaction.reported_by_id == actor.id,
                AdverseReaction.onset_at == onset,
                AdverseReaction.description == fields.description,
            )
        )
        if twin is not None:
            raise Conflict(
                f"this reaction is reported already (#{twin}); nothing was added",
                code="already_reported",
            )
        reaction = AdverseReaction(
            patient_id=unit.patient_id,
            unit_id=unit.id,
            onset_at=onset,
            description=fields.description,
            severity=fields.severity,
            relation=fields.relation,
            status="open",
            reported_by_id=actor.id,
            reported_at=now,
        )
        db.session.add(reaction)
        db.session.flush()
        ledger.append(
            unit=unit,
            action=REPORT,
            actor=actor,
            movement=ledger.standing(unit),
            data={
                "reaction_id": reaction.id,
                "patient_id": unit.patient_id,
                "onset_at": utc_iso(onset),
                "description": fields.description,
                "severity": fields.severity,
                "relation": fields.relation,
            },
            at=now,
        )
        emit(
            "adverse_reaction",
            unit,
            reaction_id=reaction.id,
            severity=fields.severity,
            relation=fields.relation,
            message=_message(reaction, unit, actor),
        )
    return reaction


# ---------------------------------------------------------------------------- reading


def get(reaction_id: object, viewer: User) -> AdverseReaction:
    """One reaction, for QA, admin and a clinician who may see the patient; else 404/403."""
    _require(viewer, VIEWERS, "see adverse reactions")
    number = access.record_id(reaction_id)
    found = db.session.get(AdverseReaction, number) if number is not None else None
    if found is None or not access.may_see_patient(viewer, found.patient_id):
        raise NotFound(f"no adverse reaction {str(reaction_id)[:40]!r}", code="unknown_reaction")
    return found


def _ordered(query):
    severity = case(SEVERITY_RANK, value=AdverseReaction.severity, else_=len(SEVERITY_RANK))
    opened = case((AdverseReaction.status == "open", 0), else_=1)
    return query.order_by(
        opened, severity, AdverseReaction.reported_at.desc(), AdverseReaction.id.desc()
    )


@dataclass(frozen=True)
class ReactionList:
    rows: list[AdverseReaction]
    status: str
    severity: str
    open_count: int


def list_reactions(viewer: User, *, status: str = "all", severity: str = "") -> ReactionList:
    """QA's list: open first, then the most severe, then the newest."""
    _require(viewer, READERS, "see the adverse reactions list")
    where = []
    if status not in STATES:
        raise _bad("status", "choose open, closed or all", code="invalid_filter")
    if status != "all":
        where.append(AdverseReaction.status == status)
    if severity:
        if severity not in rules.SEVERITIES:
            raise _bad("severity", "choose " + ", ".join(rules.SEVERITIES), code="invalid_filter")
        where.append(AdverseReaction.severity == severity)
    rows = list(db.session.scalars(_ordered(select(AdverseReaction).where(*where)).limit(500)))
    return ReactionList(rows, status, severity, open_count())


def open_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AdverseReaction)
            .where(AdverseReaction.status == "open")
        )
        or 0
    )


def of_lot(unit: Unit, viewer: User) -> list[AdverseReaction]:
    """Every reaction on this product and on the other units of its collection (same DIN),
    for whoever may see the unit."""
    access.check_unit(viewer, unit)
    lot = select(Unit.id).where(Unit.din == unit.din)
    return list(
        db.session.scalars(
            _ordered(select(AdverseReaction).where(AdverseReaction.unit_id.in_(lot)))
        )
    )


def of_patient(patient_id: int) -> list[AdverseReaction]:
    """The patient's reactions (the caller has checked the patient may be seen)."""
    return list(
        db.session.scalars(
            _ordered(select(AdverseReaction).where(AdverseReaction.patient_id == patient_id))
        )
    )


@dataclass(frozen=True)
class Note:
    at: datetime
    by: str
    role: str
    text: str


def notes_of(reaction: AdverseReaction) -> list[Note]:
    """The investigation notes as the ledger recorded them, oldest first."""
    entries = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.unit_id == reaction.unit_id, LedgerEntry.action == INVESTIGATE)
        .order_by(LedgerEntry.seq)
    )
    found = []
    for entry in entries:
        data = json.loads(entry.data)
        if data.get("reaction_id") == reaction.id:
            found.append(Note(entry.recorded_at, entry.actor_name, entry.actor_role, data["note"]))
    return found


# ---------------------------------------------------------------------------- investigating


def _open_for_change(reaction_id: object, actor: User) -> AdverseReaction:
    reaction = get(reaction_id, actor)
    lock(f"lims.adverse_reaction.{reaction.id}")
    db.session.refresh(reaction)
    if reaction.status != "open":
        who = reaction.closed_by.full_name if reaction.closed_by else "QA"
        raise Conflict(
            f"adverse reaction #{reaction.id} is closed ({who}, "
            f"{utc_iso(reaction.closed_at)[:16]}Z): a closed reaction is read-only",
            code="already_closed",
        )
    return reaction


def add_note(reaction_id: object, data: Mapping[str, Any] | None, actor: User) -> AdverseReaction:
    """QA records what the investigation found so far; each note a ledger entry."""
    _require(actor, frozenset({Role.QA.value}), "investigate an adverse reaction")
    fields: ReactionNoteIn = _validated(ReactionNoteIn, data)
    now = utcnow()
    with transaction():
        reaction = _open_for_change(reaction_id, actor)
        stamp = f"[{utc_iso(now)[:16]}Z {actor.full_name}] {fields.note}"
        reaction.investigation = (
            f"{reaction.investigation}\n\n{stamp}" if reaction.investigation else stamp
        )
        unit = db.session.get(Unit, reaction.unit_id)
        ledger.append(
            unit=unit,
            action=INVESTIGATE,
            actor=actor,
            movement=ledger.standing(unit),
            data={"reaction_id": reaction.id, "note": fields.note},
            at=now,
        )
    return reaction


# ---------------------------------------------------------------------------- closing


def signed_record(reaction: AdverseReaction, outcome: str, meaning: str) -> dict[str, Any]:
    """What QA's signature is bound to: the product, the patient's identifiers, the report,
    the investigation and the conclusion."""
    unit = reaction.unit
    return {
        "action": CLOSE,
        "meaning": meaning,
        "unit": {
            "id": unit.id,
            "din": unit.din,
            "product_code": unit.product_code,
            "division": unit.division,
            "type": unit.unit_type,
            "chain_of_identity": unit.chain_of_identity,
        },
        "patient": {"id": reaction.patient_id, "mrn": reaction.patient.mrn},
        "reaction": {
            "id": reaction.id,
            "onset_at": utc_iso(reaction.onset_at),
            "description": reaction.description,
            "severity": reaction.severity,
            "relation": reaction.relation,
            "reported_by_id": reaction.reported_by_id,
            "reported_at": utc_iso(reaction.reported_at),
        },
        "investigation": reaction.investigation,
        "outcome": outcome,
    }


def close(reaction_id: object, data: Mapping[str, Any] | None, actor: User) -> AdverseReaction:
    """QA's signed decision closes an open reaction, or nothing changes.

    Closed already (or meanwhile): ``Conflict``. The reporter: ``Conflict`` (two people).
    Wrong password: ``Invalid`` with code ``wrong_password``, counted as a failed signing.
    """
    _require(actor, frozenset({Role.QA.value}), "close an adverse reaction")
    fields: ReactionCloseIn = _validated(ReactionCloseIn, data)
    with transaction():
        reaction = _open_for_change(reaction_id, actor)
        if reaction.reported_by_id == actor.id:
            raise Conflict(
                f"{actor.full_name} reported this reaction and may not close it: "
                "a second person decides",
                code="two_person_rule",
            )
        signatures.check_password(actor, fields.password)
        now = utcnow()
        # The claim: of two concurrent closings only one finds the reaction still open.
        claimed = db.session.execute(
            update(AdverseReaction)
            .where(AdverseReaction.id == reaction.id, AdverseReaction.status == "open")
            .values(status="closed", outcome=fields.outcome, closed_by_id=actor.id, closed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise Conflict(
                f"adverse reaction #{reaction.id} was closed by someone else meanwhile; reload",
                code="already_closed",
            )
        unit = reaction.unit
        record = signed_record(reaction, fields.outcome, fields.meaning)
        draft = signatures.sign(actor, record, fields.meaning, now)
        entry = ledger.append(
            unit=unit,
            action=CLOSE,
            actor=actor,
            movement=ledger.standing(unit),
            data={
                "reaction_id": reaction.id,
                "signed_record": record,
                "signatures": [draft.manifest()],
            },
            reason=fields.outcome,
            at=now,
        )
        signatures.persist([draft], unit, entry, CLOSE)
        db.session.flush()
        signature_id = db.session.scalar(
            select(Signature.id).where(Signature.ledger_entry_id == entry.id)
        )
        db.session.execute(
            update(AdverseReaction)
            .where(AdverseReaction.id == reaction.id)
            .values(signature_id=signature_id)
            .execution_options(synchronize_session=False)
        )
    db.session.expire(reaction)
    return reaction


def signature_matches(reaction: AdverseReaction) -> bool:
    """The stored decision still hashes to what QA signed (a changed row no longer does)."""
    sig = reaction.signature
    if sig is None or reaction.outcome is None:
        return False
    record = signed_record(reaction, reaction.outcome, sig.meaning)
    return signatures.sign(sig.signer, record, sig.meaning, sig.signed_at).record_hash == (
        sig.record_hash
    )
