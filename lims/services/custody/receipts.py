"""Signed head receipts for QA (product §5): issued, listed, and checked.

A receipt signs "the ledger's head was entry #seq with this hash, at this time" with the
ledger key. The hash chain alone cannot see entries cut from its end; a receipt can, as
long as one copy of it is kept where the database's owner cannot reach (printed, e-mailed,
downloaded). So a receipt is checkable two ways: one stored here, and one pasted back in.

A check is quick and reads no more than it must: the signature, the entry the receipt
names (still there, still with the signed hash) and that no entry up to it is missing.
Whether every entry still matches its hash is the full verification's job
(``lims.services.jobs``).

Receipts come from beat (``HEAD_RECEIPT_MINUTES``; only when the head moved), from the end of
an intact verification in the embedded mode without a broker, from QA's or an admin's
button, and from ``flask ledger receipt``.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from ... import dispatch
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound
from ...domain.identifiers import MAX_ID
from ...domain.roles import Role
from ...extensions import db
from ...models import LedgerEntry, LedgerReceipt, User
from . import ledger

log = logging.getLogger(__name__)

AUDITORS = frozenset({Role.QA.value, Role.ADMIN.value})
MAX_TEXT = 4000  # a receipt is about 250 characters of JSON
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_PAGE = 100_000


def _require_auditor(user: User, doing: str) -> None:
    if user.role not in AUDITORS:
        raise Forbidden(f"only QA or an administrator may {doing}", code="role_not_allowed")


# ---------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class ReceiptCheck:
    """What one check of a receipt found, in the words QA reads."""

    seq: int
    entry_hash: str
    issued_at: str
    signature_valid: bool
    head_seq: int  # the ledger's last entry now
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        if self.ok:
            return (
                f"Receipt holds: entry #{self.seq} is still in the ledger with the hash it "
                f"signed, and no entry up to it is missing (the ledger ends at #{self.head_seq})."
            )
        return "RECEIPT DOES NOT HOLD: " + "; ".join(self.problems) + "."


def _entries(first: int, last: int) -> str:
    return f"entry #{first}" if first == last else f"entries #{first}–#{last}"


def _missing_before(seq: int) -> tuple[int, int]:
    """How many entries #1..#seq are missing, and the first missing one (0 when none)."""
    present = (
        db.session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.seq <= seq)
        )
        or 0
    )
    if present >= seq:
        return 0, 0
    if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.seq == 1)) is None:
        return seq - present, 1
    after = aliased(LedgerEntry)
    first = db.session.scalar(
        select(func.min(LedgerEntry.seq + 1)).where(
            LedgerEntry.seq < seq, ~exists().where(after.seq == LedgerEntry.seq + 1)
        )
    )
    return seq - present, int(first or 0)


def check(payload: Mapping[str, Any]) -> ReceiptCheck:
    """Does this receipt still hold against the ledger as it is now?"""
    seq, head_hash = int(payload["seq"]), str(payload["entry_hash"])
    issued_at, signature = str(payload["issued_at"]), str(payload["signature"])
    head = db.session.scalar(select(func.max(LedgerEntry.seq))) or 0
    genuine = hmac.compare_digest(ledger.receipt_signature(seq, head_hash, issued_at), signature)
    if not genuine:
        problem = (
            "the receipt's signature is not valid for this ledger's key: it was altered "
            "or forged, or belongs to another ledger; nothing else in it can be trusted"
        )
        return ReceiptCheck(seq, head_hash, issued_at, False, head, [problem])
    problems: list[str] = []
    if seq > head:
        problems.append(
            f"{_entries(head + 1, seq)} signed on {issued_at} "
            f"{'is' if head + 1 == seq else 'are'} missing: the ledger now ends at "
            f"#{head}, so entries were removed from its end"
        )
    elif seq > 0:
        stored = db.session.scalar(select(LedgerEntry.entry_hash).where(LedgerEntry.seq == seq))
        if stored is None:
            problems.append(f"entry #{seq}, which the receipt signed, is missing")
        elif not hmac.compare_digest(stored, head_hash):
            problems.append(
                f"entry #{seq} no longer has the hash the receipt signed: it was replaced"
            )
    count, first = _missing_before(min(seq, head))
    if count:
        problems.append(
            f"{count} {'entry' if count == 1 else 'entries'} before it "
            f"{'is' if count == 1 else 'are'} missing, the first #{first}"
        )
    return ReceiptCheck(seq, head_hash, issued_at, True, head, problems)


def parse(text: object) -> dict[str, Any]:
    """A receipt pasted back in (the JSON ``flask ledger receipt`` prints or the list
    downloads), or ``Invalid`` saying what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise _bad("paste the receipt's JSON")
    if len(text) > MAX_TEXT:
        raise _bad(f"that is not a receipt: a receipt is under {MAX_TEXT} characters")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad("that is not JSON: paste the receipt exactly as it was kept") from None
    if not isinstance(value, dict):
        raise _bad("a receipt is a JSON object with seq, entry_hash, issued_at and signature")
    missing = [k for k in ("seq", "entry_hash", "issued_at", "signature") if k not in value]
    if missing:
        raise _bad(f"the receipt lacks {', '.join(missing)}")
    seq = value["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_ID:
        raise _bad("the receipt's seq is not an entry number")
    for name in ("entry_hash", "signature"):
        if not isinstance(value[name], str) or not HEX64.fullmatch(value[name]):
            raise _bad(f"the receipt's {name} is not 64 hexadecimal characters")
    if not isinstance(value["issued_at"], str) or len(value["issued_at"]) > 40:
        raise _bad("the receipt's issued_at is not a time")
    return {k: value[k] for k in ("seq", "entry_hash", "issued_at", "signature")}


def _bad(message: str) -> Invalid:
    return Invalid(message, code="invalid_receipt", fields={"receipt": message})


def check_pasted(text: object, viewer: User) -> ReceiptCheck:
    _require_auditor(viewer, "check head receipts")
    return check(parse(text))


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReceiptRow:
    receipt: LedgerReceipt
    signature_valid: bool

    @property
    def payload(self) -> dict[str, Any]:
        return ledger.receipt_payload(self.receipt)


def _row(receipt: LedgerReceipt) -> ReceiptRow:
    payload = ledger.receipt_payload(receipt)
    expected = ledger.receipt_signature(receipt.seq, receipt.entry_hash, payload["issued_at"])
    return ReceiptRow(receipt, hmac.compare_digest(expected, receipt.signature))


@dataclass(frozen=True)
class ReceiptPage:
    rows: list[ReceiptRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_receipts(viewer: User, page: int = 1, per_page: int = 25) -> ReceiptPage:
    """Receipts newest first, each with whether its signature is valid."""
    _require_auditor(viewer, "see head receipts")
    page = min(max(1, page), MAX_PAGE)
    total = db.session.scalar(select(func.count()).select_from(LedgerReceipt)) or 0
    found = db.session.scalars(
        select(LedgerReceipt)
        .order_by(LedgerReceipt.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return ReceiptPage([_row(r) for r in found], page, per_page, total)


def get_receipt(receipt_id: int, viewer: User) -> LedgerReceipt:
    _require_auditor(viewer, "see head receipts")
    found = db.session.get(LedgerReceipt, receipt_id) if 0 < receipt_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no head receipt {receipt_id}", code="unknown_receipt")
    return found


def check_stored(receipt_id: int, viewer: User) -> tuple[LedgerReceipt, ReceiptCheck]:
    receipt = get_receipt(receipt_id, viewer)
    return receipt, check(ledger.receipt_payload(receipt))


def latest() -> LedgerReceipt | None:
    return db.session.scalars(
        select(LedgerReceipt).order_by(LedgerReceipt.id.desc()).limit(1)
    ).first()


# ---------------------------------------------------------------------------- issuing


def issue(actor: User) -> dict[str, Any]:
    """QA's or an admin's "Issue a receipt now": sign the head as it is. A head signed
    already is answered (409) rather than signed twice: receipts only move forward."""
    _require_auditor(actor, "issue head receipts")
    head = db.session.scalar(select(func.max(LedgerEntry.seq))) or 0
    latest = db.session.scalars(
        select(LedgerReceipt).order_by(LedgerReceipt.seq.desc()).limit(1)
    ).first()
    if latest is not None and latest.seq == head:
        raise Conflict(
            f"Entry #{head}, the head, is already signed (receipt of "
            f"{ledger.receipt_payload(latest)['issued_at']}); nothing new to sign",
            code="head_already_signed",
        )
    payload = ledger.issue_receipt()
    log.info("head receipt issued by %s: #%s", actor.username, payload["seq"])
    return payload


def issue_if_moved() -> dict[str, Any] | None:
    """Beat's periodic receipt (and the embedded mode's, after a verification): a new one
    only when the head moved since the latest receipt, so a quiet ledger adds none."""
    head = db.session.scalar(select(func.max(LedgerEntry.seq))) or 0
    signed = db.session.scalar(select(func.max(LedgerReceipt.seq)))
    db.session.rollback()  # the read ends here; issue_receipt runs a transaction of its own
    if head == 0 or (signed is not None and signed >= head):
        return None
    try:
        return ledger.issue_receipt()
    finally:
        # Reading the committed receipt back began a transaction: end it, so a worker or
        # a job's thread holds no SQLite lock while it goes on.
        db.session.rollback()


def embedded() -> bool:
    """No broker configured: no Celery beat, so verifications issue receipts too (beside the
    in-process clock's periodic one, decision 119)."""
    return not dispatch.broker_configured()
