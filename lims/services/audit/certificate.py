"""Reading a unit's certificates of release (decision 85): the current one (the highest
number) or a given one, checked against the digest it was issued with, as the travelling copy
or as the file copy.

Every certificate is read exactly as it was issued (the stored canonical JSON). Its SHA-256 is
recomputed on every read and compared with the stored digest and with the digest the
``certificate_issued`` ledger entry carries; ``intact`` says whether all three agree. The file
copy adds the patient's full name and record number from the patient record as it is now:
they are not part of the frozen content, so the digest covers what travels with the product.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...domain import certificates as words
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound
from ...domain.identifiers import MAX_ID
from ...domain.lifecycle import Status
from ...domain.roles import Role
from ...extensions import db
from ...models import LedgerEntry, ReleaseCertificate, Unit, User
from .. import access
from ..actions.certificates import digest


@dataclass(frozen=True)
class FilePatient:
    """What the file copy adds: the patient as the record has them now."""

    name: str
    mrn: str
    wristband: str


@dataclass(frozen=True)
class Certificate:
    row: ReleaseCertificate
    content: dict[str, Any]
    intact: bool  # the content's SHA-256 matches the stored digest and the ledger entry's
    ledger_seq: int | None
    copy: str  # "travelling" or "file"
    patient: FilePatient | None  # the file copy's additions; None on the travelling copy

    @property
    def number(self) -> int:
        return self.row.number

    @property
    def replaces(self) -> dict[str, Any] | None:
        return self.content["certificate"]["replaces"]

    @property
    def filename(self) -> str:
        product = self.content["product"]
        din = product["din"].replace(" ", "")
        suffix = "-file-copy" if self.copy == words.FILE else ""
        return (
            f"certificate-{din}-{product['product_code']}-{product['division']}-"
            f"{self.number}{suffix}.pdf"
        )


def certificates_of(unit_id: int) -> list[ReleaseCertificate]:
    """Every certificate of the unit, the first first."""
    return list(
        db.session.scalars(
            select(ReleaseCertificate)
            .where(ReleaseCertificate.unit_id == unit_id)
            .order_by(ReleaseCertificate.number)
        )
    )


def _ledger_digest(row: ReleaseCertificate) -> tuple[str | None, int | None]:
    if row.ledger_entry_id is None:
        return None, None
    entry = db.session.get(LedgerEntry, row.ledger_entry_id)
    if entry is None:
        return None, None
    try:
        data = json.loads(entry.data)
    except ValueError:
        return None, entry.seq
    return (data.get("sha256") if isinstance(data, dict) else None), entry.seq


def check(row: ReleaseCertificate) -> tuple[bool, int | None]:
    """Is the stored content the one issued? (recomputed digest = stored = ledger's)"""
    recorded, seq = _ledger_digest(row)
    return digest(row.content) == row.sha256 == recorded, seq


def may_print_file_copy(user: User) -> bool:
    return user.role in {r.value for r in words.FILE_COPY_ROLES}


def _number(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise Invalid(
            "the certificate number is a whole number from 1",
            code="invalid_fields",
            fields={"number": "a whole number from 1"},
        )
    return value


def no_certificate(unit: Unit) -> Conflict:
    status = Status(unit.status).label
    return Conflict(
        f"no certificate of release has been issued for this unit ({status}): QA's release "
        "issues certificate 1",
        code="no_certificate",
    )


def read(
    user: User, unit_id: object, number: object = None, copy: str = words.TRAVELLING
) -> Certificate:
    """Certificate ``number`` of the unit (default: the current one), as ``copy``.

    Unknown unit (or one the user may not see): 404. No certificate yet: 409
    ``no_certificate``. No such number: 404 ``unknown_certificate``. The file copy for a role
    that may not print it: 403.
    """
    unit = access.require_unit(user, unit_id)
    if copy not in words.COPIES:
        raise Invalid(
            f"copy is {' or '.join(words.COPIES)}",
            code="invalid_fields",
            fields={"copy": " or ".join(words.COPIES)},
        )
    if copy == words.FILE and not may_print_file_copy(user):
        allowed = ", ".join(sorted(Role(r).label for r in words.FILE_COPY_ROLES))
        raise Forbidden(
            f"the file copy names the patient in full; it is printed by {allowed}",
            code="role_not_allowed",
        )
    wanted = _number(number)
    rows = certificates_of(unit.id)
    if not rows:
        raise no_certificate(unit)
    if wanted is None:
        row = rows[-1]
    else:
        row = next((r for r in rows if r.number == wanted), None)
        if row is None:
            raise NotFound(
                f"this unit has no certificate {wanted}; it has "
                f"{', '.join(str(r.number) for r in rows)}",
                code="unknown_certificate",
            )
    intact, seq = check(row)
    patient = None
    if copy == words.FILE:
        p = unit.patient
        patient = FilePatient(p.name, p.mrn, p.wristband)
    return Certificate(row, json.loads(row.content), intact, seq, copy, patient)


@dataclass(frozen=True)
class Listed:
    """One certificate in the unit's list: number, when, why, what it replaces, digest."""

    number: int
    issued_at: datetime
    issued_by: str
    reason: str
    replaces: int | None
    sha256: str
    intact: bool


def listing(user: User, unit_id: object) -> tuple[Unit, list[Listed]]:
    """The unit (if the user may see it) and every certificate it holds, the first first."""
    unit = access.require_unit(user, unit_id)
    rows = certificates_of(unit.id)
    numbers = {r.id: r.number for r in rows}
    return unit, [
        Listed(
            r.number,
            r.issued_at,
            r.issued_by.full_name,
            r.reason,
            numbers.get(r.replaces_id) if r.replaces_id else None,
            r.sha256,
            check(r)[0],
        )
        for r in rows
    ]


def latest_of(unit: Unit) -> Listed | None:
    """The unit's current certificate, for the unit page's panel (the unit already read)."""
    rows = certificates_of(unit.id)
    if not rows:
        return None
    row = rows[-1]
    replaced = next((r.number for r in rows if r.id == row.replaces_id), None)
    return Listed(
        row.number,
        row.issued_at,
        row.issued_by.full_name,
        row.reason,
        replaced,
        row.sha256,
        check(row)[0],
    )
