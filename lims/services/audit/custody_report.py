"""A unit's chain-of-custody report: from the collection's source down to this unit (the
parent's history first), every ledger entry with who, when, what, status, custodian and
location before and after, signatures as their manifestation and the entry's hash; and a
check of the chain at generation time. One builder for the screen, the CSV and the PDF
(``custody_pdf``), and for the unit page's whole-collection history export.

The words of each entry are the unit page's own reading (``services.timeline.timeline``), so
an inspector's printout and the screen can never say different things. Nothing here
changes state.

The check at generation time recomputes the HMAC of every entry in the report and checks
that each links to the entry before it in the whole ledger (its ``prev_hash`` is that
entry's hash). That proves these rows are unaltered and in the chain, in time proportional
to the report; the whole chain (and the head receipts) is the full verification's job, whose
latest verdict the report names beside the current head.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ...domain.ledger_chain import GENESIS, entry_hash, utc_iso
from ...domain.lifecycle import Status
from ...extensions import db
from ...models import Job, LedgerEntry, Location, Unit, User
from ...models.types import utcnow
from ...timefmt import local_time
from ..actions import units
from ..custody import ledger
from ..materials import uses
from .timeline import timeline

TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class ReportEntry:
    """One ledger entry as the report prints it."""

    seq: int
    recorded_at: datetime
    unit_label: str
    action: str
    data: list[tuple[str, str]]
    reason: str | None
    from_status: str | None
    to_status: str | None
    from_custodian: str | None
    to_custodian: str | None
    from_location: str | None
    to_location: str | None
    actor_name: str
    actor_role: str
    signatures: list[str]  # manifestations: "Signed by …, date time zone: meaning"
    entry_hash: str
    alert: bool = False

    @property
    def local_time(self) -> str:
        return local_time(self.recorded_at, TIME)

    @property
    def utc_time(self) -> str:
        return utc_iso(self.recorded_at)

    @property
    def summary(self) -> str:
        return "; ".join(f"{key}: {value}" for key, value in self.data)

    @property
    def status_change(self) -> str:
        if not (self.from_status or self.to_status):
            return ""
        return f"{self.from_status or 'new'} → {self.to_status or '—'}"

    @property
    def custody_change(self) -> str:
        return change(self.from_custodian, self.to_custodian)

    @property
    def location_change(self) -> str:
        return change(self.from_location, self.to_location)


def change(before: str | None, after: str | None) -> str:
    """``A → B``; one name when nothing moved; a dash when there is nothing to say."""
    if before == after:
        return before or "—"
    return f"{before or '—'} → {after or '—'}"


@dataclass(frozen=True)
class ChainCheck:
    """What was checked when the report was made, and the ledger's state then."""

    checked: int
    problems: list[str]
    head_seq: int
    last_verified_at: datetime | None = None
    last_verified_intact: bool | None = None
    last_verified_head: int | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def statement(self) -> str:
        if self.problems:
            first = self.problems[0]
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return f"CHAIN CHECK FAILED at generation: {first}{more}. Ledger head #{self.head_seq}."
        return (
            f"Chain verified at generation: all {self.checked} entries of this report match "
            f"their keyed hashes and link to the entry before them in the ledger. "
            f"Ledger head #{self.head_seq}."
        )

    @property
    def last_verification(self) -> str:
        if self.last_verified_at is None:
            return "No full verification of the ledger is on record."
        verdict = "intact" if self.last_verified_intact else "BROKEN"
        return (
            f"Last full verification: {local_time(self.last_verified_at, TIME)}, "
            f"{verdict} up to entry #{self.last_verified_head}."
        )


@dataclass(frozen=True)
class Section:
    """One unit of the lineage and its own entries, oldest first."""

    unit: Unit
    entries: list[ReportEntry]

    @property
    def title(self) -> str:
        return unit_label(self.unit)


@dataclass(frozen=True)
class CustodyReport:
    unit: Unit
    lineage: list[Unit]  # the collection's source first, this unit last
    sections: list[Section]
    check: ChainCheck
    generated_at: datetime
    generated_by: str
    entries: list[ReportEntry] = field(default_factory=list)
    # Equipment and reagent lots that touched the lineage, with their state at the time.
    materials: list[uses.UseView] = field(default_factory=list)

    @property
    def status(self) -> str:
        return Status(self.unit.status).label

    @property
    def unit_labels(self) -> dict[int, str]:
        return {u.id: unit_label(u) for u in self.lineage}

    @property
    def product(self) -> str:
        unit = self.unit
        return f"{unit.kind.name} — product code {unit.product_code}, division {unit.division}"

    @property
    def expiry(self) -> str:
        expires = self.unit.expires_at
        return f"{local_time(expires, TIME)} ({utc_iso(expires)})" if expires else "—"

    @property
    def patient(self) -> str:
        p = self.unit.patient
        born = f", born {p.birth_date.isoformat()}" if p.birth_date else ""
        return f"{p.name} (MRN {p.mrn}{born}, wristband {p.wristband})"

    @property
    def filename(self) -> str:
        u = self.unit
        return f"custody-{u.din}{u.check_character}-{u.product_code}-{u.division}"


def unit_label(unit: Unit) -> str:
    return f"{unit.unit_type} · {unit.product_code} {unit.division}"


# ---------------------------------------------------------------------------- reading


def _names(entries: Sequence[LedgerEntry]) -> tuple[dict[int, str], dict[int, str]]:
    """Custodians' printed names and locations' paths for every id the entries name."""
    people = {e.from_custodian_id for e in entries} | {e.to_custodian_id for e in entries}
    places = {e.from_location_id for e in entries} | {e.to_location_id for e in entries}
    people.discard(None)
    places.discard(None)
    rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(people)))
    custodians = {user_id: name for user_id, name in rows}
    locations = {
        loc.id: loc.path
        for loc in db.session.scalars(select(Location).where(Location.id.in_(places)))
    }
    return custodians, locations


def report_entries(
    entries: Sequence[LedgerEntry],
    units_seen: Iterable[Unit],
    label: Callable[[Unit], str] = unit_label,
) -> list[ReportEntry]:
    """The entries as the report prints them, in the order given (``label``: how a unit is
    named; within one collection its type, product code and division are enough)."""
    by_id = {u.id: u for u in units_seen}
    custodians, locations = _names(entries)
    rows = []
    for item in timeline(list(entries), list(by_id.values())):
        e = item.entry
        unit = by_id.get(e.unit_id)
        rows.append(
            ReportEntry(
                seq=e.seq,
                recorded_at=e.recorded_at,
                unit_label=label(unit) if unit else "—",
                action=item.action,
                data=item.data,
                reason=e.reason,
                from_status=item.from_status,
                to_status=item.to_status,
                from_custodian=custodians.get(e.from_custodian_id),
                to_custodian=custodians.get(e.to_custodian_id),
                from_location=locations.get(e.from_location_id),
                to_location=locations.get(e.to_location_id),
                actor_name=e.actor_name,
                actor_role=item.actor_role,
                signatures=[s.manifestation for s in item.signatures],
                entry_hash=e.entry_hash,
                alert=item.alert,
            )
        )
    return rows


def collection_history(unit: Unit) -> list[ReportEntry]:
    """Every entry of the unit's collection (all units sharing its DIN), in ledger order:
    the unit page's history export."""
    collection = units.units_for_din(unit.din)
    return report_entries(ledger.history([u.id for u in collection]), collection)


def check_chain(entries: Sequence[LedgerEntry]) -> ChainCheck:
    """Recompute each entry's HMAC and check its link to the entry before it."""
    key = current_app.config["LEDGER_KEY"].encode()
    before = sorted({e.seq - 1 for e in entries if e.seq > 1})
    hashes: dict[int, str] = {}
    for start in range(0, len(before), 500):
        chunk = before[start : start + 500]
        rows = db.session.execute(
            select(LedgerEntry.seq, LedgerEntry.entry_hash).where(LedgerEntry.seq.in_(chunk))
        )
        hashes.update({seq: digest for seq, digest in rows})
    problems = []
    for e in sorted(entries, key=lambda e: e.seq):
        if not hmac.compare_digest(entry_hash(key, e.hashed_content()), e.entry_hash):
            problems.append(f"entry #{e.seq}: content does not match its hash (altered)")
        expected = GENESIS if e.seq == 1 else hashes.get(e.seq - 1)
        if e.prev_hash != expected:
            problems.append(f"entry #{e.seq}: does not link to entry #{e.seq - 1}")
    head = db.session.scalar(select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc()).limit(1))
    last = db.session.scalars(
        select(Job)
        .where(Job.kind == "ledger_verify", Job.status == "done")
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(1)
    ).first()
    verdict = json.loads(last.result) if last is not None and last.result else {}
    return ChainCheck(
        checked=len(entries),
        problems=problems,
        head_seq=head or 0,
        last_verified_at=last.finished_at if last is not None else None,
        last_verified_intact=verdict.get("intact"),
        last_verified_head=verdict.get("head_seq"),
    )


def build(unit_id: int | str, viewer: User) -> CustodyReport:
    """The report of one unit: its lineage from the source down, each unit's entries."""
    unit = units.get_unit(unit_id)
    lineage = list(reversed(unit.lineage()))
    entries = ledger.history([u.id for u in lineage])
    rows = {r.seq: r for r in report_entries(entries, lineage)}
    sections = [Section(u, [rows[e.seq] for e in entries if e.unit_id == u.id]) for u in lineage]
    return CustodyReport(
        unit=unit,
        lineage=lineage,
        sections=sections,
        check=check_chain(entries),
        generated_at=utcnow(),
        generated_by=f"{viewer.full_name} ({viewer.role})",
        entries=[row for section in sections for row in section.entries],
        materials=uses.views_of([u.id for u in lineage]),
    )


def material_lines(report: CustodyReport) -> list[list[str]]:
    """The equipment and lots table: used at, unit, step, item or lot, its state then."""
    labels = report.unit_labels
    return [
        [
            local_time(view.used_at, TIME),
            labels.get(view.unit_id, ""),
            (view.step or view.action).replace("_", " "),
            f"{view.code} {view.name}",
            view.then
            + (f"; use permitted by deviation #{view.permitted_by}" if view.permitted_by else ""),
        ]
        for view in report.materials
    ]


# ---------------------------------------------------------------------------- CSV

COLUMNS = (
    "entry",
    "recorded at",
    "recorded at (UTC)",
    "unit",
    "action",
    "status",
    "custodian",
    "location",
    "by",
    "role",
    "recorded data",
    "reason",
    "signatures",
    "entry hash",
)
# What a spreadsheet may read as the start of a formula (OWASP: CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def cell(value: object) -> str:
    """Every CSV cell goes through here, so a spreadsheet opening the file runs nothing:
    text that could start a formula gets a leading apostrophe (shown as text). A number
    stays a number (``-150``, ``-0.5``): no formula can hide in it and it should add up;
    text that merely starts like one (``-1+1``, ``-150 °C``) is quoted like any other."""
    if value is None:
        return ""
    text = str(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if text.startswith(_FORMULA) and not (number or _NUMBER.fullmatch(text)):
        return "'" + text
    return text


def _row(entry: ReportEntry) -> list[str]:
    return [
        cell(v)
        for v in (
            entry.seq,
            entry.local_time,
            entry.utc_time,
            entry.unit_label,
            entry.action,
            entry.status_change,
            entry.custody_change,
            entry.location_change,
            entry.actor_name,
            entry.actor_role,
            entry.summary,
            entry.reason or "",
            " | ".join(entry.signatures),
            entry.entry_hash,
        )
    ]


def entries_csv(entries: Iterable[ReportEntry]) -> str:
    """One header row and one row per entry (the unit page's history export)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(_row(e) for e in entries)
    return out.getvalue()


def header_lines(report: CustodyReport) -> list[tuple[str, str]]:
    generated = f"{local_time(report.generated_at, TIME)} ({utc_iso(report.generated_at)})"
    return [
        ("report", "Chain-of-custody report"),
        ("unit", f"{report.unit.eye_readable} {report.unit.product_code} {report.unit.division}"),
        ("product", report.product),
        ("patient", report.patient),
        ("status", report.status),
        ("expiry", report.expiry),
        ("lineage", " › ".join(unit_label(u) for u in report.lineage)),
        ("generated at", generated),
        ("generated by", report.generated_by),
        ("chain check", report.check.statement),
        ("last full verification", report.check.last_verification),
    ]


def report_csv(report: CustodyReport) -> str:
    """The report's facts as ``field,value`` lines, an empty line, then the entries table."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows((name, cell(value)) for name, value in header_lines(report))
    writer.writerow(())
    return out.getvalue() + entries_csv(report.entries)


def extract_csv(
    entries: Sequence[LedgerEntry],
    described: Mapping[str, str],
    *,
    more: bool,
    generated_by: User,
) -> str:
    """A ledger search as an inspector takes it away: what was asked and when, whether the
    extract is complete, then the entries table (each unit named in full)."""
    units_seen = db.session.scalars(
        select(Unit).where(Unit.id.in_({e.unit_id for e in entries if e.unit_id}))
    ).all()
    rows = report_entries(entries, units_seen, label=lambda u: u.label)
    now = utcnow()
    asked = "; ".join(f"{name} {words}" for name, words in described.items())
    complete = (
        f"no: the newest {len(rows)} matching entries; search again older than entry "
        f"#{rows[-1].seq} for the rest"
        if more and rows
        else "yes"
    )
    out = io.StringIO()
    writer = csv.writer(out)
    lines = (
        ("extract", "Custody ledger search"),
        ("filters", asked or "none: the whole ledger"),
        ("entries", len(rows)),
        ("complete", complete),
        ("generated at", f"{local_time(now, TIME)} ({utc_iso(now)})"),
        ("generated by", f"{generated_by.full_name} ({generated_by.username})"),
    )
    writer.writerows((name, cell(value)) for name, value in lines)
    writer.writerow(())
    return out.getvalue() + entries_csv(rows)
