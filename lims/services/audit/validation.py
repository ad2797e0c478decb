"""Validation reports (``make validation``): kept as generated, listed for QA and admin, and
approved by QA with an electronic signature.

- **Recording** a report stores its data (canonical JSON), its HTML and PDF, the SHA-256 of
  the data and the counts read from it, and appends one ``validation_report_recorded``
  ledger entry (no unit) with the report's id, digest and counts. The same report (the same
  digest) is recorded once.
- **Approval** (QA only; the password again, meaning ``approved``): the signature is bound
  to the report's id, digest and counts; the ``validation_report_approved`` entry carries
  the signed record and the signature's manifest, and the row cites it with who and when.
  A report is approved once (409 ``already_approved``). A report whose stored data no
  longer matches its digest is not approved (409 ``report_altered``). A report that is not
  clean — a marked test failed or broke, or a claimed requirement is not met — may be
  approved only with a written justification, which the signature covers (422
  ``justification_required`` without one; decision 83). A wrong password is
  ``wrong_password``, which the entrypoints count like a failed sign-in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from ...db import lock, transaction
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID
from ...domain.ledger_chain import canonical_json, utc_iso
from ...domain.roles import Role
from ...extensions import db
from ...models import LedgerEntry, User, ValidationReport
from ...models.types import utcnow
from ..custody import ledger, signatures

READERS = frozenset({Role.QA.value, Role.ADMIN.value})
SIGNERS = frozenset({Role.QA.value})
RECORDED, APPROVED = "validation_report_recorded", "validation_report_approved"
ACTIONS = (RECORDED, APPROVED)
MEANING = "approved"
JUSTIFICATION_MAX = 2000
MAX_PAGE = 100_000
NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)

Password = Annotated[str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=False)]
Justification = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=JUSTIFICATION_MAX)
]


class ApproveFields(BaseModel):
    """QA's signed approval of a validation report: the password again and the one meaning;
    a justification when the report is not clean (a test failed, a claimed requirement is
    not met)."""

    model_config = ConfigDict(extra="forbid")

    password: Password = Field(description="the signer's own password, typed again")
    meaning: Literal["approved"] = Field(description="the meaning of the signature: approved")
    justification: Justification | None = Field(
        None,
        description="why the report is approved although a marked test failed or a claimed "
        "requirement is not met (required then, ignored otherwise)",
    )


def _require(user: User, roles: frozenset[str], doing: str) -> None:
    if user.role not in roles:
        who = " or ".join(sorted(roles))
        raise Forbidden(f"only {who} may {doing}", code="role_not_allowed")


def digest(content: str) -> str:
    return hashlib.sha256(content.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReportView:
    """One stored report with what its data says at a glance."""

    report: ValidationReport

    @cached_property
    def data(self) -> dict[str, Any]:
        return json.loads(self.report.content)

    @cached_property
    def intact(self) -> bool:
        """The stored data still hashes to the digest recorded (and the ledger carries)."""
        return digest(self.report.content) == self.report.sha256

    @property
    def tests(self) -> dict[str, int]:
        return dict(self.data.get("summary", {}).get("tests", {}))

    @property
    def requirements(self) -> dict[str, int]:
        return dict(self.data.get("summary", {}).get("requirements", {}))

    @property
    def errors(self) -> int:
        return int(self.tests.get("error", 0))

    @property
    def claimed_not_met(self) -> int:
        return int(self.requirements.get("claimed_not_met", 0))

    @property
    def pq_status(self) -> str:
        return str((self.data.get("pq") or {}).get("status", "not run"))

    @property
    def clean(self) -> bool:
        """Every marked test that ran passed and every claimed requirement is met."""
        return self.report.failed == 0 and self.errors == 0 and self.claimed_not_met == 0

    @property
    def problems(self) -> list[str]:
        """What keeps it from being clean, in words (the page's warning)."""
        found = []
        if self.report.failed or self.errors:
            found.append(f"{self.report.failed} marked test(s) failed or broke")
        if self.claimed_not_met:
            found.append(f"{self.claimed_not_met} claimed requirement(s) not met")
        if self.pq_status not in ("passed",):
            found.append(f"performance qualification {self.pq_status}")
        if not self.intact:
            found.append("the stored data no longer matches its digest")
        return found


@dataclass(frozen=True)
class ReportPage:
    rows: list[ReportView]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_reports(viewer: User, page: int = 1, per_page: int = 25) -> ReportPage:
    """Reports newest generated first."""
    _require(viewer, READERS, "read validation reports")
    page = min(max(1, page), MAX_PAGE)
    total = db.session.scalar(select(func.count()).select_from(ValidationReport)) or 0
    rows = db.session.scalars(
        select(ValidationReport)
        .options(joinedload(ValidationReport.approved_by))
        .order_by(ValidationReport.generated_at.desc(), ValidationReport.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return ReportPage([ReportView(r) for r in rows], page, per_page, total)


def get_report(report_id: object, viewer: User) -> ValidationReport:
    """The report with this id (a path's); anything else is "no such report"."""
    _require(viewer, READERS, "read validation reports")
    if isinstance(report_id, str) and report_id.isascii() and report_id.isdigit():
        report_id = int(report_id)
    if isinstance(report_id, bool) or not isinstance(report_id, int) or not 0 < report_id <= MAX_ID:
        raise NotFound(f"no validation report with id {str(report_id)[:40]}")
    report = db.session.get(ValidationReport, report_id)
    if report is None:
        raise NotFound(f"no validation report with id {report_id}")
    return report


def view(report_id: object, viewer: User) -> ReportView:
    return ReportView(get_report(report_id, viewer))


def history(report: ValidationReport) -> list[LedgerEntry]:
    """The ledger entries the row cites: its recording and, once signed, its approval."""
    ids = [i for i in (report.recorded_entry_id, report.approved_entry_id) if i]
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.id.in_(ids)).order_by(LedgerEntry.seq)
        )
    )


# ---------------------------------------------------------------------------- recording


def _count(mapping: Mapping[str, Any], name: str) -> int:
    value = mapping.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(
            f"the report's summary has no count {name}",
            code="invalid_report",
            fields={"summary": name},
        )
    return value


def facts(report: ValidationReport) -> dict[str, Any]:
    """What the ledger records of a report and a signature is bound to."""
    summary = ReportView(report)
    return {
        "report_id": report.id,
        "sha256": report.sha256,
        "version": report.version,
        "generated_at": utc_iso(report.generated_at),
        "generated_by": report.generated_by,
        "tests": {
            "passed": report.passed,
            "failed": report.failed,
            "error": summary.errors,
            "skipped": report.skipped,
            "total": int(summary.tests.get("total", 0)),
        },
        "requirements": {
            "met": report.requirements_met,
            "total": report.requirements_total,
            "claimed_not_met": summary.claimed_not_met,
        },
        "pq": summary.pq_status,
    }


def record(
    data: Mapping[str, Any],
    html: str,
    pdf: bytes,
    *,
    generated_by: str,
    actor: User,
    generated_at: datetime | None = None,
) -> ValidationReport:
    """Keep a generated report; its digest is the SHA-256 of ``canonical_json(data)``.
    ``generated_at``: when its data was gathered (default now)."""
    content = canonical_json(dict(data))
    sha = digest(content)
    summary = data.get("summary")
    if not isinstance(summary, Mapping):
        raise Invalid("a report needs its summary", code="invalid_report", fields={"summary": ""})
    tests, reqs = summary.get("tests") or {}, summary.get("requirements") or {}
    generated_at = generated_at or utcnow()
    with transaction():
        lock("lims.validation_reports")
        known = db.session.scalar(select(ValidationReport).where(ValidationReport.sha256 == sha))
        if known is not None:
            raise Conflict(
                f"this report was recorded already (report {known.id})", code="already_recorded"
            )
        report = ValidationReport(
            generated_at=generated_at,
            generated_by=generated_by[:120],
            version=str(data.get("version", {}).get("describe", "unknown"))[:80],
            passed=_count(tests, "passed"),
            failed=_count(tests, "failed"),
            skipped=_count(tests, "skipped") + int(tests.get("xfailed", 0) or 0),
            requirements_met=_count(reqs, "met"),
            requirements_total=_count(reqs, "total"),
            sha256=sha,
            content=content,
            html=html,
            pdf=pdf,
        )
        db.session.add(report)
        db.session.flush()
        entry = ledger.append(
            unit=None,
            action=RECORDED,
            actor=actor,
            movement=NO_MOVEMENT,
            data=facts(report),
            at=generated_at,
        )
        report.recorded_entry_id = entry.id
    return report


# ---------------------------------------------------------------------------- approval


def signed_record(report: ValidationReport, meaning: str, justification: str | None) -> dict:
    """What QA's signature on a report is bound to: its id, digest and counts."""
    record: dict[str, Any] = {"action": APPROVED, "meaning": meaning, "report": facts(report)}
    if justification is not None:
        record["justification"] = justification
    return record


def approve(report_id: object, data: Mapping[str, Any] | None, actor: User) -> ValidationReport:
    """QA's signed approval from a request's fields; nothing changes on any refusal."""
    _require(actor, SIGNERS, "approve validation reports")
    if not isinstance(data, Mapping):
        raise Invalid("the approval must be an object of fields", code="invalid_body")
    try:
        fields = ApproveFields.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    now = utcnow()
    with transaction():
        report = get_report(report_id, actor)
        found = ReportView(report)
        if report.approved_at is not None:
            who = report.approved_by.full_name if report.approved_by else "QA"
            raise Conflict(
                f"validation report {report.id} was approved already ({who}, "
                f"{utc_iso(report.approved_at)}): an approval is signed once",
                code="already_approved",
            )
        if not found.intact:
            raise Conflict(
                f"validation report {report.id}'s stored data no longer matches its digest "
                f"{report.sha256}: it is not approved",
                code="report_altered",
            )
        justification = fields.justification if not found.clean else None
        if not found.clean and justification is None:
            problems = "; ".join(found.problems)
            raise Invalid(
                f"this report is not clean ({problems}): approving it needs a justification",
                code="justification_required",
                fields={"justification": "say why the report is approved as it is"},
            )
        signatures.check_password(actor, fields.password)
        record = signed_record(report, fields.meaning, justification)
        draft = signatures.sign(actor, record, fields.meaning, now)
        claimed = db.session.execute(
            update(ValidationReport)
            .where(ValidationReport.id == report.id, ValidationReport.approved_at.is_(None))
            .values(approved_by_id=actor.id, approved_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise Conflict(
                f"validation report {report.id} was approved by someone else meanwhile; reload",
                code="already_approved",
            )
        entry = ledger.append(
            unit=None,
            action=APPROVED,
            actor=actor,
            movement=NO_MOVEMENT,
            data={
                "report_id": report.id,
                "sha256": report.sha256,
                "signed_record": record,
                "signatures": [draft.manifest()],
            },
            reason=justification,
            at=now,
        )
        db.session.execute(
            update(ValidationReport)
            .where(ValidationReport.id == report.id)
            .values(approved_entry_id=entry.id)
            .execution_options(synchronize_session=False)
        )
    db.session.expire(report)
    return report


def approve_report(report_id: int, actor: User, password: str, justification: str | None = None):
    """QA approves a report now, signing with ``password`` (meaning approved)."""
    body: dict[str, Any] = {"password": password, "meaning": MEANING}
    if justification is not None:
        body["justification"] = justification
    return approve(report_id, body, actor)


# ---------------------------------------------------------------------------- installation


def database_facts() -> dict[str, Any]:
    """The database the app works on: its kind, server version, address (no password) and
    the migration applied."""
    from ..admin.site_settings import safe_url

    engine = db.engine
    dialect = engine.dialect.name
    query = "SELECT version()" if dialect == "postgresql" else "SELECT sqlite_version()"
    try:
        version = str(db.session.execute(text(query)).scalar())
    except SQLAlchemyError as exc:
        version = f"unreadable: {type(exc).__name__}"
    try:
        applied = [
            str(v)
            for v in db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
        ]
    except SQLAlchemyError:
        applied = []
    db.session.rollback()  # the reads end here
    return {
        "dialect": dialect,
        "driver": engine.dialect.driver,
        "server_version": version,
        "url": safe_url(engine.url.render_as_string(hide_password=False)),
        "migration_applied": applied,
    }


def ledger_facts() -> dict[str, Any]:
    """The whole ledger verified now; when intact, its head signed (a receipt issued only if
    the head moved since the latest) and the latest receipt checked."""
    from ..custody import receipts

    result = ledger.verify()
    facts: dict[str, Any] = {
        "intact": result.intact,
        "checked": result.checked,
        "last_seq": result.last_seq,
        "last_hash": result.last_hash,
        "first_break": str(result.first_break) if result.first_break else None,
    }
    db.session.rollback()
    if result.intact:
        receipts.issue_if_moved()
    latest = receipts.latest()
    if latest is None:
        facts["head_receipt"] = None
    else:
        payload = ledger.receipt_payload(latest)
        check = receipts.check(payload)
        facts["head_receipt"] = {**payload, "holds": check.ok, "check": check.summary}
    db.session.rollback()
    return facts
