"""Electronic signatures (product §6): the password asked again, a signature bound to
the hash of what it signs, and its row beside the ledger entry of the signed action.

Release, exceptional release and signed rejection sign through the lifecycle; QA's decision
on a deviation signs outside it. Both use these few functions, so a signature means the same
wherever it is given. A wrong password is refused as ``wrong_password``, which the
entrypoints count like a failed sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from ...domain.errors import Invalid
from ...domain.ledger_chain import utc_iso
from ...domain.signatures import record_hash
from ...extensions import db
from ...models import LedgerEntry, Signature, Unit, User


@dataclass(frozen=True)
class SignatureDraft:
    """A verified signature waiting for its ledger entry (``persist`` writes it)."""

    signer: User
    meaning: str
    signed_at: datetime
    record_hash: str

    def manifest(self) -> dict[str, Any]:
        return {
            "signer_id": self.signer.id,
            "name": self.signer.full_name,
            "role": self.signer.role,
            "meaning": self.meaning,
            "signed_at": utc_iso(self.signed_at),
            "record_hash": self.record_hash,
        }


def check_password(user: User, password: str, field: str = "password") -> None:
    """The signer's credential again: their own password, or for a person who signs in at
    the single sign-on provider the signing password they set (decision 106)."""
    local = bool(current_app.config.get("LOCAL_PASSWORDS", True))
    unset = user.sso_linked and not user.signing_password_hash
    if unset and (not user.has_password or not user.may_use_password(local)):
        who = "you have" if field == "password" else f"{user.full_name} has"
        message = (
            f"{who} no signing password yet: set one under Account, signing password "
            "(after signing in again at the provider); nothing was changed"
        )
        # The API's one code for a signature's password refused (its contract unchanged),
        # counted against the signing budget like any password that could not sign.
        raise Invalid(message, code="wrong_password", fields={field: "no signing password yet"})
    if not user.active or not user.check_signature_password(password, local_passwords=local):
        who = "your" if field == "password" else f"{user.full_name}'s"
        message = f"wrong password: {who} signature was not accepted; nothing was changed"
        raise Invalid(message, code="wrong_password", fields={field: "wrong password"})


def sign(signer: User, record: dict[str, Any], meaning: str, now: datetime) -> SignatureDraft:
    return SignatureDraft(signer, meaning, now, record_hash({**record, "signer_id": signer.id}))


def persist(drafts: list[SignatureDraft], unit: Unit, entry: LedgerEntry, action: str) -> None:
    for draft in drafts:
        db.session.add(
            Signature(
                unit_id=unit.id,
                ledger_entry_id=entry.id,
                action=action,
                signer_id=draft.signer.id,
                printed_name=draft.signer.full_name,
                role=draft.signer.role,
                meaning=draft.meaning,
                signed_at=draft.signed_at,
                record_hash=draft.record_hash,
            )
        )


def signatures_of(unit_ids: list[int]) -> list[Signature]:
    return list(
        db.session.scalars(
            select(Signature).where(Signature.unit_id.in_(unit_ids)).order_by(Signature.id)
        )
    )
