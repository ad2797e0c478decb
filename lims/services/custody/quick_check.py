"""QA's quick check of the custody ledger: from the last receipt a full, intact verification
covered, only the entries after it recomputed (decision 94).

A full verification recomputes every entry; at millions of entries that takes minutes. An
intact one now records the head it reached and that entry's hash, signed with the ledger key
(``jobs._verdict``). The quick check starts from the newest stored head receipt at or below
that head whose signature holds, and checks:

1. the receipt itself (``receipts.check``): its signature, the entry it names still there
   with the signed hash, no entry up to it missing;
2. every entry after it recomputed and linked, the first to the hash the receipt signed
   (``ledger.verify_after``, the verifier's own chain walk started in the middle);
3. the entry the full verification reached still has the hash it found there: the entries
   between the receipt and that head were recomputed just now, so this ties the receipt to
   the chain that verification found intact, even if the receipt was issued after it;
4. the head against every stored receipt above the one it started from, as the full
   verification checks them all.

Entries up to the receipt are not re-read: the answer says so, naming the full verification
(its time, its job) that found them intact. When there is nothing to start from — no full
verification yet, the last one found the ledger broken, no receipt at or below its head with
a valid signature, or more entries after the receipt than a request should read — the check
is refused (409) saying why; the command verifies in full instead.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ...domain.errors import Conflict, Forbidden
from ...domain.ledger_chain import ChainBreak, VerifyResult, utc_iso
from ...extensions import db
from ...models import Job, LedgerEntry, LedgerReceipt, User
from ...models.types import utcnow
from . import jobs, ledger, receipts

# More entries after the receipt than this and the quick check is refused in a request: about
# 6 s at the 29,000–37,000 entries/s measured (docs/performance.md), well inside gunicorn's
# 30 s. Longer stretches are the full verification's job (or the command, which has no limit).
MAX_ENTRIES = 200_000
UNAVAILABLE = "no_intact_receipt"


@dataclass(frozen=True)
class Anchor:
    """Where the quick check starts: a receipt a full, intact verification covered."""

    job_id: int  # the full verification
    verified_at: datetime
    verified_seq: int  # the head it reached
    verified_hash: str
    receipt_id: int
    seq: int  # the receipt's entry: entries after it are recomputed
    entry_hash: str
    issued_at: datetime
    signature: str

    @property
    def verified_on(self) -> str:
        return self.verified_at.strftime("%Y-%m-%d %H:%M UTC")

    def receipt_payload(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "issued_at": utc_iso(self.issued_at),
            "signature": self.signature,
        }


@dataclass(frozen=True)
class QuickCheck:
    anchor: Anchor
    result: VerifyResult  # checked: entries recomputed now; last_seq: the head

    @property
    def intact(self) -> bool:
        return self.result.intact

    @property
    def first_break(self) -> ChainBreak | None:
        return self.result.first_break

    @property
    def coverage(self) -> str:
        """What was read now and what was not, in the words QA reads."""
        n, head = self.anchor.seq, self.result.last_seq
        if not self.intact:
            now = f"{self.result.checked} entries after #{n} recomputed before the break"
        elif head > n:
            now = f"entries #{n + 1}–#{head} recomputed"
        else:
            now = f"no entries after #{n} to recompute"
        if n == 0:
            return f"{now} (the receipt signed the empty ledger)"
        return (
            f"{now}; entries up to #{n} were found intact by the full verification of "
            f"{self.anchor.verified_on} (job #{self.anchor.job_id}) and not re-read now"
        )

    @property
    def summary(self) -> str:
        return jobs.quick_summary(self.as_result())

    def as_result(self) -> dict[str, Any]:
        """The verdict as the job row keeps it (``jobs.JobView``)."""
        found = self.first_break
        return {
            "intact": self.intact,
            "checked": self.result.checked,
            "head_seq": self.result.last_seq,
            "head_hash": self.result.last_hash,
            "first_break": (
                {"seq": found.seq, "entry_id": found.entry_id, "problem": found.problem}
                if found
                else None
            ),
            "from_seq": self.anchor.seq,
            "receipt": {
                "id": self.anchor.receipt_id,
                "seq": self.anchor.seq,
                "issued_at": utc_iso(self.anchor.issued_at),
            },
            "anchor_job": self.anchor.job_id,
            "verified_at": utc_iso(self.anchor.verified_at),
            "coverage": self.coverage,
        }


def _unavailable(why: str) -> Conflict:
    return Conflict(f"No quick check: {why}. Run the full verification.", code=UNAVAILABLE)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _last_full_verification() -> tuple[int, dict[str, Any]]:
    """The newest full verification with a verdict, and that verdict, if a quick check may
    rest on it."""
    job = db.session.execute(
        select(Job.id, Job.result, Job.finished_at)
        .where(Job.kind == jobs.LEDGER_VERIFY, Job.status == "done")
        .order_by(Job.id.desc())  # one runs at a time: the newest started is the newest done
        .limit(1)
    ).first()
    if job is None:
        raise _unavailable("no full verification of the ledger has finished yet")
    verdict = json.loads(job.result) if job.result else {}
    when = job.finished_at.strftime("%Y-%m-%d %H:%M UTC") if job.finished_at else "unknown"
    if not verdict.get("intact"):
        found = verdict.get("first_break") or {}
        where = f" at entry #{found['seq']}" if found.get("seq") is not None else ""
        raise _unavailable(
            f"the last full verification (job #{job.id}, {when}) found the ledger broken{where}; "
            "only a full verification can find it whole again"
        )
    try:
        seq, head_hash = int(verdict["head_seq"]), str(verdict["head_hash"])
        verified_at, signature = str(verdict["verified_at"]), str(verdict["signature"])
    except (KeyError, TypeError, ValueError):
        raise _unavailable(
            f"the last full verification (job #{job.id}, {when}) did not record the head it "
            "reached (it ran before quick checks existed)"
        ) from None
    expected = ledger.verification_signature(job.id, seq, head_hash, verified_at)
    if not hmac.compare_digest(expected, signature):
        raise _unavailable(
            f"the record of the last full verification (job #{job.id}) does not carry a valid "
            "signature for this ledger's key: it was altered, or written under another key, "
            "and cannot be relied on"
        )
    return job.id, {"seq": seq, "hash": head_hash, "at": _moment(verified_at)}


def _anchor() -> Anchor:
    """The newest stored receipt at or below the head the last full verification reached whose
    signature holds (a forged or altered one is passed over here, and caught below as one of
    the receipts above the anchor)."""
    job_id, verified = _last_full_verification()
    found = db.session.scalars(
        select(LedgerReceipt)
        .where(LedgerReceipt.seq <= verified["seq"])
        .order_by(LedgerReceipt.seq.desc(), LedgerReceipt.id.desc())
        .execution_options(yield_per=100)
    )
    for receipt in found:
        issued_at = utc_iso(receipt.issued_at)
        expected = ledger.receipt_signature(receipt.seq, receipt.entry_hash, issued_at)
        if hmac.compare_digest(expected, receipt.signature):
            return Anchor(
                job_id=job_id,
                verified_at=verified["at"],
                verified_seq=verified["seq"],
                verified_hash=verified["hash"],
                receipt_id=receipt.id,
                seq=receipt.seq,
                entry_hash=receipt.entry_hash,
                issued_at=receipt.issued_at,
                signature=receipt.signature,
            )
    raise _unavailable(
        f"no stored head receipt at or below entry #{verified['seq']}, the head the last full "
        f"verification (job #{job_id}) found intact, has a valid signature"
    )


def check(limit: int | None = MAX_ENTRIES) -> QuickCheck:
    """The quick check, with no role check and nothing written (the command's). Raises
    ``Conflict`` (code ``no_intact_receipt``) when there is nothing to start from, or more
    than ``limit`` entries after the receipt."""
    with jobs.ledger_reader():  # SQLite: read without holding the write lock
        return _check(limit)


def _check(limit: int | None) -> QuickCheck:
    anchor = _anchor()
    held = receipts.check(anchor.receipt_payload())
    if not held.ok:
        where = ChainBreak(
            anchor.seq,
            None,
            f"the receipt of {utc_iso(anchor.issued_at)} does not hold: "
            + "; ".join(held.problems),
        )
        last = min(anchor.seq, held.head_seq)
        return QuickCheck(anchor, VerifyResult(0, last, anchor.entry_hash, where))
    if limit is not None and held.head_seq - anchor.seq > limit:
        raise _unavailable(
            f"{held.head_seq - anchor.seq} entries follow receipt #{anchor.seq}, more than a "
            f"quick check reads ({limit})"
        )
    result = ledger.verify_after(anchor.seq, anchor.entry_hash)
    if result.intact:
        result = _still_as_verified(anchor, result)
    if result.intact:
        result = ledger.against_receipts(result, above=anchor.seq)
    return QuickCheck(anchor, result)


def _still_as_verified(anchor: Anchor, result: VerifyResult) -> VerifyResult:
    """The entry the full verification reached still has the hash it found: the chain
    recomputed now from the receipt is the one that verification found intact."""
    seq = anchor.verified_seq
    when = f"the full verification of {anchor.verified_on} (job #{anchor.job_id})"
    if seq > result.last_seq:
        problem = (
            f"{when} found the ledger intact up to entry #{seq}, but it now ends at "
            f"#{result.last_seq}: entries were removed from the end"
        )
        return _broken(result, ChainBreak(seq, None, problem))
    if seq == 0:
        return result
    stored = db.session.execute(
        select(LedgerEntry.id, LedgerEntry.entry_hash).where(LedgerEntry.seq == seq)
    ).first()
    if stored is None or not hmac.compare_digest(stored.entry_hash, anchor.verified_hash):
        problem = f"no longer has the hash {when} found there: it was replaced since"
        return _broken(result, ChainBreak(seq, stored.id if stored else None, problem))
    return result


def _broken(result: VerifyResult, found: ChainBreak) -> VerifyResult:
    return VerifyResult(result.checked, result.last_seq, result.last_hash, found)


def _require(viewer: User) -> None:
    if viewer.role not in receipts.AUDITORS:
        raise Forbidden(
            "only QA or an administrator may verify the ledger", code="role_not_allowed"
        )


def verify_from_receipt(viewer: User) -> QuickCheck:
    """``GET /api/v1/ledger/verify/from-receipt``: the quick check, answered, nothing written
    (as ``GET /ledger/verify`` writes nothing)."""
    _require(viewer)
    db.session.rollback()  # hold no SQLite write lock while the entries are read
    return check()


def run(actor: User) -> jobs.JobView:
    """The audit page's button: the quick check in this request, recorded as a finished job
    of its own kind (as the full verification's button records its job)."""
    _require(actor)
    actor_id, name, started = actor.id, actor.full_name, utcnow()
    db.session.rollback()
    found = check()
    return jobs.record_quick_check(actor_id, name, started, found.as_result())
