"""Ledger search for QA: by unit, patient, user, action, status and time, newest first,
paged by ``seq`` (keyset), so the thousandth page costs what the first does.

Every filter is one of the ledger's ``(column, seq)`` indexes (migration 0006), and a time
window is first turned into a range of ``seq`` through the ``recorded_at`` index, so the
query itself always walks ``seq``. Nothing here changes state.

An entry's time is taken when its transaction starts and its ``seq`` under the ledger lock,
so time and ``seq`` can disagree by the length of one transaction. The ``seq`` range is
therefore widened by ``SEQ_MARGIN`` and the exact times filter what the margin lets in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, select, text

from ...domain import codes
from ...domain.errors import Invalid, NotFound
from ...domain.identifiers import MAX_ID, CodeError, eye_readable
from ...domain.lifecycle import ACTIONS, Status
from ...extensions import db
from ...models import LedgerEntry, Patient, Unit, User

MAX_TEXT = 64
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# An export is for an inspector's question, not a copy of the ledger: past this many
# entries it stops and says so (narrow the search, or export again below the last one).
EXPORT_MAX = 10_000
SEQ_MARGIN = timedelta(hours=1)
FIRST_YEAR, LAST_YEAR = 2000, 2999  # dates outside name no entry (and cannot overflow)
# Entries that are not lifecycle actions: bedside checks and label prints.
OTHER_ACTIONS = {
    "identity_check": "Bedside identity check",
    "print_label": "Print label",
    "reprint_label": "Reprint label",
    "label_confirmed": "Label confirmed by scan-back",
    "label_mismatch": "Label scanned back wrong",
    "label_destroyed": "Label destroyed",
    "printer_registered": "Printer registered",
    "printer_updated": "Printer edited",
    "print_rule_added": "Print rule added",
    "print_rule_removed": "Print rule removed",
    "permit_equipment": "Permit refused equipment",
    "equipment_registered": "Equipment registered",
    "equipment_updated": "Equipment edited",
    "equipment_calibrated": "Equipment calibrated or qualified",
    "equipment_maintained": "Equipment maintained",
    "equipment_status": "Equipment status changed",
    "reagent_lot_received": "Reagent lot received",
    "reagent_lot_accepted": "Reagent lot accepted (signed)",
    "reagent_lot_rejected": "Reagent lot rejected (signed)",
    "validation_report_recorded": "Validation report recorded",
    "validation_report_approved": "Validation report approved (signed)",
    "certificate_issued": "Certificate of release issued",
    "site_registered": "Site registered",
    "site_updated": "Site edited",
    "user_sites_changed": "Account's sites changed",
    "shipment_created": "Shipment created",
    "shipment_item_added": "Packed into a shipment",
    "shipment_item_removed": "Taken out of a shipment",
    "shipment_dispatched": "Shipment dispatched (packed and checked)",
    "ship": "Shipped (product)",
    "arrive": "Arrived with a shipment (product)",
    "shipment_missing": "Missing from a shipment on arrival",
    "shipment_unexpected": "Arrived unexpectedly with a shipment",
    "shipment_received": "Shipment received",
    "shipment_cancelled": "Shipment cancelled",
    "import": "Imported from a file (history recorded elsewhere)",
    "report_adverse_reaction": "Adverse reaction reported",
    "investigate_adverse_reaction": "Adverse reaction investigation note",
    "close_adverse_reaction": "Adverse reaction closed (signed)",
}
ACTION_NAMES: dict[str, str] = {
    **{name: action.label for name, action in ACTIONS.items()},
    **OTHER_ACTIONS,
}
_ID = re.compile(r"^\d{1,12}$")


@dataclass(frozen=True)
class Criteria:
    """What QA typed, as text; ``search`` resolves and checks every part of it."""

    unit: str = ""
    patient: str = ""
    user: str = ""
    action: str = ""
    status: str = ""
    since: str = ""
    until: str = ""
    cursor: str = ""
    limit: int = DEFAULT_LIMIT

    @property
    def filters(self) -> dict[str, str]:
        """The filters given (not the cursor): for links to the next page."""
        names = ("unit", "patient", "user", "action", "status", "since", "until")
        return {name: getattr(self, name).strip() for name in names if getattr(self, name).strip()}


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    next_cursor: int | None  # the seq to continue below; None on the last page
    described: dict[str, str] = field(default_factory=dict)  # each filter as resolved
    since: datetime | None = None
    until: datetime | None = None  # inclusive


def _invalid(name: str, message: str, code: str = "invalid_filter") -> Invalid:
    return Invalid(message, code=code, fields={name: message})


def _text(criteria: Criteria, name: str) -> str:
    value = " ".join(str(getattr(criteria, name) or "").split())
    if len(value) > MAX_TEXT:
        raise _invalid(name, f"{name}: at most {MAX_TEXT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise _invalid(name, f"{name}: contains a control character")
    return value


def _as_id(text: str) -> int | None:
    if not _ID.match(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else 0  # 0: a number no row can have


# ---------------------------------------------------------------------------- filters


def unit_filter(text: str) -> tuple[ColumnElement[bool], str]:
    """A unit id, a unit's code (with product code and division: that unit) or a DIN
    (scanned or typed with its check character: the whole collection)."""
    number = _as_id(text)
    if number is not None:
        unit = db.session.get(Unit, number) if number else None
        if unit is None:
            raise NotFound(f"no such unit: no unit has id {text}", code="unknown_unit")
        return LedgerEntry.unit_id == unit.id, f"{unit.label} ({unit.unit_type})"
    try:
        scanned = codes.classify(text)
    except CodeError as exc:
        raise _invalid("unit", f"unit: {exc.message}", exc.code) from None
    if not isinstance(scanned, codes.UnitCode):
        raise _invalid(
            "unit",
            f"unit: this is a {codes.describe(scanned)} code, not a unit's",
            "wrong_kind",
        )
    din = scanned.din.din
    if scanned.product_code is not None:
        unit = db.session.scalar(
            select(Unit).where(
                Unit.din == din,
                Unit.product_code == scanned.product_code,
                Unit.division == (scanned.division or "00"),
            )
        )
        if unit is None:
            raise NotFound(
                f"no such unit: {eye_readable(din)} {scanned.product_code} "
                f"{scanned.division} is not known",
                code="unknown_unit",
            )
        return LedgerEntry.unit_id == unit.id, f"{unit.label} ({unit.unit_type})"
    count = len(db.session.scalars(select(Unit.id).where(Unit.din == din)).all())
    if not count:
        raise NotFound(
            f"no such unit: no collection has identifier {eye_readable(din)}",
            code="unknown_unit",
        )
    return LedgerEntry.din == din, f"collection {eye_readable(din)} ({count} units)"


def patient_filter(text: str) -> tuple[ColumnElement[bool], str]:
    """A medical record number, a wristband code or a patient id: every unit of theirs."""
    patient = db.session.scalar(select(Patient).where(Patient.mrn == text))
    if patient is None:
        band = re.sub(r"[\s\-]", "", text).upper()
        patient = db.session.scalar(select(Patient).where(Patient.wristband == band))
    if patient is None and (number := _as_id(text)):
        patient = db.session.get(Patient, number)
    if patient is None:
        raise NotFound(f"no such patient: no MRN, wristband or id {text!r}", code="unknown_patient")
    unit_ids = list(db.session.scalars(select(Unit.id).where(Unit.patient_id == patient.id)))
    condition = LedgerEntry.unit_id.in_(unit_ids) if unit_ids else false()
    return condition, f"{patient.name} (MRN {patient.mrn}, {len(unit_ids)} units)"


def user_filter(text: str) -> tuple[ColumnElement[bool], str]:
    user = db.session.scalar(select(User).where(User.username == text))
    if user is None and (number := _as_id(text)):
        user = db.session.get(User, number)
    if user is None:
        raise NotFound(f"no such user: no username or id {text!r}", code="unknown_user")
    return LedgerEntry.actor_id == user.id, f"{user.full_name} ({user.username})"


def action_label(name: str) -> str:
    return ACTION_NAMES.get(name) or name.replace("_", " ").capitalize()


def recorded_actions() -> list[str]:
    """Every action the ledger holds, by a loose index scan of ``ix_ledger_action_seq``
    (one probe per distinct action, not a pass over millions of rows)."""
    rows = db.session.execute(
        text(
            "WITH RECURSIVE a(action) AS ("
            " SELECT min(action) FROM ledger_entries"
            " UNION ALL"
            " SELECT (SELECT min(action) FROM ledger_entries WHERE action > a.action)"
            " FROM a WHERE a.action IS NOT NULL)"
            " SELECT action FROM a WHERE action IS NOT NULL"
        )
    ).scalars()
    return list(rows)


def action_choices() -> list[tuple[str, str]]:
    """The actions one may search for: the lifecycle's and any other the ledger holds."""
    names = dict.fromkeys([*ACTION_NAMES, *recorded_actions()])
    return sorted(((name, action_label(name)) for name in names), key=lambda c: c[1])


def action_filter(text: str) -> tuple[ColumnElement[bool], str]:
    name = text.strip().lower().replace(" ", "_")
    known = name in ACTION_NAMES or db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.action == name).limit(1)
    )
    if not known:
        raise _invalid("action", f"action: unknown action {text!r}", "unknown_action")
    return LedgerEntry.action == name, action_label(name)


def status_filter(text: str) -> tuple[ColumnElement[bool], str]:
    try:
        status = Status(text.lower().replace(" ", "_"))
    except ValueError:
        raise _invalid("status", f"status: unknown status {text!r}", "unknown_status") from None
    # Entries that moved the unit into the status, not the notes recorded while it stood there.
    moved_in = LedgerEntry.from_status.is_(None) | (LedgerEntry.from_status != status.value)
    return (LedgerEntry.to_status == status.value) & moved_in, f"to {status.label}"


# ---------------------------------------------------------------------------- time


def parse_moment(text: str, name: str, zone: ZoneInfo, *, end: bool, need_zone: bool) -> datetime:
    """A date (the whole day in the site's zone: ``until`` includes it) or a datetime.

    ``need_zone`` (the API) refuses a datetime without a zone; the browser's inputs have
    none and mean the site's zone.
    """
    value = text.strip().replace(" ", "T", 1)
    if value[:4].isdigit() and not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
        raise _invalid(name, f"{name}: a year from {FIRST_YEAR} to {LAST_YEAR}")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise _invalid(name, f"{name}: {text!r} is not a date") from None
        if end:  # until a date: to the end of that day
            return datetime.combine(day + timedelta(days=1), time.min, zone) - timedelta(
                microseconds=1
            )
        return datetime.combine(day, time.min, zone)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise _invalid(
            name, f"{name}: {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 date and time"
        ) from None
    if moment.tzinfo is None:
        if need_zone:
            raise _invalid(name, f"{name}: give the time zone, e.g. {value}Z or {value}+01:00")
        moment = moment.replace(tzinfo=zone)
    return moment


def _seq_before(moment: datetime) -> int | None:
    """A seq every entry recorded at or after ``moment`` lies above: that of the latest
    entry recorded more than ``SEQ_MARGIN`` earlier (None: no such entry, no bound)."""
    return db.session.scalar(
        select(LedgerEntry.seq)
        .where(LedgerEntry.recorded_at < moment - SEQ_MARGIN)
        .order_by(LedgerEntry.recorded_at.desc())
        .limit(1)
    )


def _seq_after(moment: datetime) -> int | None:
    """A seq every entry recorded at or before ``moment`` lies below."""
    return db.session.scalar(
        select(LedgerEntry.seq)
        .where(LedgerEntry.recorded_at > moment + SEQ_MARGIN)
        .order_by(LedgerEntry.recorded_at)
        .limit(1)
    )


def _time_filters(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """The window as a seq range (so the query stays on seq) plus the exact times."""
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        low = _seq_before(since)
        if low is not None:
            conditions.append(LedgerEntry.seq > low)
        conditions.append(LedgerEntry.recorded_at >= since)
    if until is not None:
        high = _seq_after(until)
        if high is not None:
            conditions.append(LedgerEntry.seq < high)
        conditions.append(LedgerEntry.recorded_at <= until)
    return conditions


# ---------------------------------------------------------------------------- search

FILTERS = {
    "unit": unit_filter,
    "patient": patient_filter,
    "user": user_filter,
    "action": action_filter,
    "status": status_filter,
}


def parse_cursor(text: str) -> int | None:
    value = str(text or "").strip()
    if not value:
        return None
    number = _as_id(value)
    if not number:
        raise _invalid("cursor", "cursor: use the next_cursor of the page before", "bad_cursor")
    return number


def search(criteria: Criteria, zone: ZoneInfo, *, need_zone: bool = False) -> LedgerPage:
    """One page of entries matching every filter given, newest first.

    Unknown unit, patient or user: ``NotFound``; anything unreadable: ``Invalid``.
    """
    if not 1 <= criteria.limit <= MAX_LIMIT:
        raise _invalid("limit", f"limit: from 1 to {MAX_LIMIT}")
    conditions: list[ColumnElement[bool]] = []
    described: dict[str, str] = {}
    for name, make in FILTERS.items():
        given = _text(criteria, name)
        if given:
            condition, described[name] = make(given)
            conditions.append(condition)
    since_text, until_text = _text(criteria, "since"), _text(criteria, "until")
    since = (
        parse_moment(since_text, "since", zone, end=False, need_zone=need_zone)
        if since_text
        else None
    )
    until = (
        parse_moment(until_text, "until", zone, end=True, need_zone=need_zone)
        if until_text
        else None
    )
    if since and until and since > until:
        raise _invalid("until", "until: the end is before the start")
    conditions += _time_filters(since, until)
    cursor = parse_cursor(criteria.cursor)
    if cursor is not None:
        conditions.append(LedgerEntry.seq < cursor)
    rows = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(*conditions)
            .order_by(LedgerEntry.seq.desc())
            .limit(criteria.limit + 1)
        )
    )
    more = len(rows) > criteria.limit
    rows = rows[: criteria.limit]
    return LedgerPage(rows, rows[-1].seq if more else None, described, since, until)


def search_all(
    criteria: Criteria, zone: ZoneInfo, *, most: int | None = None
) -> tuple[LedgerPage, bool]:
    """Every entry matching the criteria, newest first, page after page up to ``most``
    (``EXPORT_MAX``); and whether more matched than were taken."""
    most = EXPORT_MAX if most is None else most
    page = search(replace(criteria, limit=MAX_LIMIT), zone)
    entries = list(page.entries)
    while page.next_cursor is not None and len(entries) < most:
        page = search(replace(criteria, cursor=str(page.next_cursor), limit=MAX_LIMIT), zone)
        entries.extend(page.entries)
    more = len(entries) > most or page.next_cursor is not None
    taken = entries[:most]
    last = taken[-1].seq if more and taken else None
    return replace(page, entries=taken, next_cursor=last), more
