"""Deviations for QA: the list (open, closed, by kind) and QA's signed decision that closes one.

Closing is an electronic signature (password again, meaning ``reviewed``) bound to the
hash of what was decided; one transaction writes the signed ledger entry on the unit
(``close_deviation``, a standing movement: the unit does not move), the ``Signature`` row
and the deviation's decision columns. A "product rejected" decision changes nothing on
the unit: QA rejects it through the ordinary signed ``reject`` action.

Two-person rule: whoever opened a deviation may not close it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from ...db import transaction
from ...domain.deviations import NOTE_MAX, STATES, Decision, kind_label
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound
from ...domain.identifiers import MAX_ID
from ...domain.ledger_chain import utc_iso
from ...domain.roles import Role
from ...domain.signatures import ACTION_MEANINGS
from ...extensions import db
from ...models import Deviation, Signature, Unit, User
from ...models.types import utcnow
from ..actions import certificates
from ..custody import ledger, signatures

ACTION = "close_deviation"
READERS = frozenset({Role.QA.value, Role.ADMIN.value})
MAX_PAGE = 100_000


def _require(user: User, roles: frozenset[str], doing: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"only {' or '.join(sorted(roles))} may {doing}", code="role_not_allowed")


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DeviationPage:
    rows: list[Deviation]
    page: int
    per_page: int
    total: int
    state: str
    kind: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filters(state: str, kind: str) -> list[Any]:
    if state not in STATES:
        raise Invalid(
            f"unknown state {state[:40]!r}: choose one of {', '.join(STATES)}",
            code="invalid_filter",
            fields={"state": "choose open, closed or all"},
        )
    found = []
    if state == "open":
        found.append(Deviation.closed_at.is_(None))
    elif state == "closed":
        found.append(Deviation.closed_at.is_not(None))
    if kind:
        known = kinds()
        if kind not in known:
            raise Invalid(
                f"unknown kind {kind[:40]!r}: known kinds are {', '.join(known) or 'none yet'}",
                code="invalid_filter",
                fields={"kind": "choose a kind from the list"},
            )
        found.append(Deviation.kind == kind)
    return found


def kinds() -> list[str]:
    """The kinds of deviation recorded here, for the filter."""
    return list(db.session.scalars(select(Deviation.kind).distinct().order_by(Deviation.kind)))


def list_deviations(
    viewer: User, *, state: str = "open", kind: str = "", page: int = 1, per_page: int = 25
) -> DeviationPage:
    """Deviations newest first; open ones by default."""
    _require(viewer, READERS, "see the deviations list")
    where = _filters(state, kind)
    page = min(max(1, page), MAX_PAGE)
    total = db.session.scalar(select(func.count()).select_from(Deviation).where(*where)) or 0
    rows = list(
        db.session.scalars(
            select(Deviation)
            .where(*where)
            .order_by(Deviation.opened_at.desc(), Deviation.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return DeviationPage(rows, page, per_page, total, state, kind)


def units_of(rows: list[Deviation]) -> dict[int, Unit]:
    """The units a page of deviations is about, by id, in one query."""
    ids = {d.unit_id for d in rows}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}


def open_count() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Deviation).where(Deviation.closed_at.is_(None))
        )
        or 0
    )


def get_deviation(deviation_id: int | str, viewer: User) -> Deviation:
    _require(viewer, READERS, "see deviations")
    if isinstance(deviation_id, str) and deviation_id.isascii() and deviation_id.isdigit():
        deviation_id = int(deviation_id)
    if isinstance(deviation_id, bool) or not isinstance(deviation_id, int):
        raise NotFound(f"no deviation {str(deviation_id)[:40]!r}", code="unknown_deviation")
    found = db.session.get(Deviation, deviation_id) if 0 < deviation_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no deviation {deviation_id}", code="unknown_deviation")
    return found


# ---------------------------------------------------------------------------- closing


@dataclass(frozen=True)
class CloseFields:
    decision: Decision
    note: str
    password: str
    meaning: str


def _field_error(field: str, message: str) -> Invalid:
    return Invalid(message, code="invalid_fields", fields={field: message})


def parse_close(data: Mapping[str, Any] | None) -> CloseFields:
    """The decision, its note and the signature, or ``Invalid`` naming each bad field."""
    if not isinstance(data, Mapping):
        raise Invalid("the decision must be an object of fields", code="invalid_body")
    problems: dict[str, str] = {}
    decision = data.get("decision")
    if not isinstance(decision, str) or decision not in {d.value for d in Decision}:
        problems["decision"] = "choose a decision: " + ", ".join(d.label for d in Decision)
    note = data.get("note")
    note = " ".join(note.split()) if isinstance(note, str) else ""
    if not note:
        problems["note"] = "write what was decided and why (the conditions, if any)"
    elif len(note) > NOTE_MAX:
        problems["note"] = f"at most {NOTE_MAX} characters"
    password = data.get("password")
    if not isinstance(password, str) or not password:
        problems["password"] = "enter your password again to sign"
    meaning = data.get("meaning")
    allowed = [m.value for m in ACTION_MEANINGS[ACTION]]
    if not isinstance(meaning, str) or meaning not in allowed:
        problems["meaning"] = f"the meaning of this signature is {' or '.join(allowed)}"
    if problems:
        summary = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise Invalid(f"invalid data — {summary}", code="invalid_fields", fields=problems)
    return CloseFields(Decision(decision), note, password, meaning)


def _signed_record(
    deviation: Deviation, unit: Unit, fields: CloseFields, signer: User
) -> dict[str, Any]:
    return {
        "action": ACTION,
        "meaning": fields.meaning,
        "unit": {
            "id": unit.id,
            "din": unit.din,
            "product_code": unit.product_code,
            "division": unit.division,
            "type": unit.unit_type,
        },
        "deviation": {
            "id": deviation.id,
            "kind": deviation.kind,
            "description": deviation.description,
            "opened_at": utc_iso(deviation.opened_at),
            "opened_by_id": deviation.opened_by_id,
        },
        "decision": fields.decision.value,
        "reason": fields.note,
    }


def close(deviation_id: int | str, data: Mapping[str, Any] | None, actor: User) -> Deviation:
    """QA's signed decision closes an open deviation, or nothing changes.

    Closed already (or by someone else meanwhile): ``Conflict``. Wrong password:
    ``Invalid`` with code ``wrong_password``, which entrypoints count as a failed sign-in.
    """
    _require(actor, frozenset({Role.QA.value}), "close a deviation")
    fields = parse_close(data)
    with transaction():
        deviation = get_deviation(deviation_id, actor)
        _still_open(deviation)
        if deviation.opened_by_id == actor.id:
            raise Conflict(
                f"{actor.full_name} opened this deviation and may not close it: "
                "a second person reviews it",
                code="two_person_rule",
            )
        signatures.check_password(actor, fields.password)
        now = utcnow()
        # The claim: of two concurrent closings only one finds the deviation still open.
        claimed = db.session.execute(
            update(Deviation)
            .where(Deviation.id == deviation.id, Deviation.closed_at.is_(None))
            .values(
                closed_at=now,
                closed_by_id=actor.id,
                decision=fields.decision.value,
                decision_note=fields.note,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise Conflict(
                f"deviation {deviation.id} was closed by someone else meanwhile; reload",
                code="already_closed",
            )
        unit = db.session.get(Unit, deviation.unit_id)
        record = _signed_record(deviation, unit, fields, actor)
        draft = signatures.sign(actor, record, fields.meaning, now)
        entry = ledger.append(
            unit=unit,
            action=ACTION,
            actor=actor,
            movement=ledger.standing(unit),
            data={
                "deviation": f"#{deviation.id} {kind_label(deviation.kind)}",
                "decision": fields.decision.label,
                "signed_record": record,
                "signatures": [draft.manifest()],
            },
            reason=fields.note,
            at=now,
        )
        signatures.persist([draft], unit, entry, ACTION)
        db.session.flush()
        signature_id = db.session.scalar(
            select(Signature.id).where(Signature.ledger_entry_id == entry.id)
        )
        db.session.execute(
            update(Deviation)
            .where(Deviation.id == deviation.id)
            .values(signature_id=signature_id)
            .execution_options(synchronize_session=False)
        )
        # How it was closed reaches the certificate of a unit already released (decision 85).
        certificates.after_deviation_closed(deviation, actor, now)
    db.session.expire(deviation)
    return deviation


def _still_open(deviation: Deviation) -> None:
    if deviation.closed_at is not None:
        who = deviation.closed_by.full_name if deviation.closed_by else "someone"
        raise Conflict(
            f"deviation {deviation.id} is already closed ({who}, "
            f"{utc_iso(deviation.closed_at)}): a decision is signed once",
            code="already_closed",
        )
