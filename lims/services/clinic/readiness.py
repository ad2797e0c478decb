"""The readiness board: a clinician's patients by next appointment, each live unit
in plain words with its estimated ready time, countdown to expiry and warnings.

Reads only. The rules are ``domain.readiness``; the history behind the estimates is
``services.turnaround`` (the same figures the audit charts draw). The board shows patients
with something under way: a live unit or a booked appointment still to come.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import selectinload

from ...db import among
from ...domain import readiness as rules
from ...domain.catalogue import CATALOGUE
from ...domain.errors import Forbidden, Invalid, NotFound
from ...domain.identifiers import MAX_ID
from ...domain.roles import Role
from ...domain.status import Status
from ...domain.turnaround import StageSummary
from ...extensions import db
from ...models import (
    Appointment,
    Deviation,
    Patient,
    TreatmentPlan,
    TreatmentSession,
    Unit,
    User,
)
from ...models.types import utcnow
from ...models.unit import UnitReading
from ...timefmt import local_time, site_zone
from .. import access
from .turnaround import recent_summaries

# An overview of every clinician's patients (QA, admin) shows at most this many.
MAX_PATIENTS = 200


class Moments:
    """A board's moments in words, in the site's zone: the zone and "now" read once for the
    whole board, not once per moment (a board of 700 units writes ~1,300 of them)."""

    def __init__(self, now: datetime, zone: ZoneInfo) -> None:
        self.now = now
        self.zone = zone
        self._said: dict[datetime, str] = {}  # a moment is written once per board

    def when(self, moment: datetime) -> str:
        """A moment with its day (and its year when that is not obvious). An expired unit's
        words and its warning both name its expiry: written once."""
        said = self._said.get(moment)
        if said is None:
            fmt = "%d %b %Y %H:%M" if abs(moment - self.now).days > 300 else "%a %d %b %H:%M"
            said = self._said[moment] = local_time(moment, fmt, self.zone)
        return said

    def clock(self, moment: datetime) -> str:
        return local_time(moment, "%H:%M", self.zone)


def when(moment: datetime) -> str:
    """A moment with its day (and its year when that is not obvious), in the site's zone."""
    return Moments(utcnow(), site_zone()).when(moment)


@dataclass(frozen=True, slots=True)
class BoardUnit(UnitReading):
    """A unit as the board reads it: the columns its lines, the JSON and the page use, and the
    custodian's name, from one Core select (no ORM object: 700 of them were a third of a
    board's time). The names are ``Unit``'s and it reads them as a ``Unit`` does
    (``UnitReading``), so the rules, the serialiser and the templates take either."""

    id: int
    parent_id: int | None
    patient_id: int
    din: str
    check_character: str
    product_code: str
    division: str
    unit_type: str
    status: str
    expires_at: datetime | None
    qc_alert: str | None
    thawed_at: datetime | None
    collected_at: datetime
    received_at: datetime | None
    processing_started_at: datetime | None
    processed_at: datetime | None
    chain_of_identity: str | None
    custodian_name: str | None


_BOARD_COLUMNS = [
    *(getattr(Unit, f.name) for f in fields(BoardUnit) if f.name != "custodian_name"),
    User.full_name.label("custodian_name"),
]


@dataclass
class UnitLine:
    unit: Unit | BoardUnit
    words: str
    ready: bool
    expired: bool
    countdown_to: datetime | None
    estimate: rules.Estimate | None
    estimate_words: str | None
    appointment: Appointment | None  # the injection it is compared against
    warnings: list[rules.Warning]

    @property
    def danger(self) -> bool:
        return any(w.level == "danger" for w in self.warnings)


@dataclass
class SessionLine:
    """The patient's next planned treatment session, and the product ready for it: a live unit
    of the session's product type and of the plan's therapy course, ready (released, in date,
    no QC alert)."""

    session: TreatmentSession
    course_code: str
    ready_unit: Unit | BoardUnit | None

    @property
    def ready(self) -> bool:
        return self.ready_unit is not None


@dataclass
class PatientRow:
    patient: Patient
    appointments: list[Appointment]  # booked, still to come (or under way), soonest first
    units: list[UnitLine]
    warnings: list[rules.Warning] = field(default_factory=list)
    next_session: SessionLine | None = None

    @property
    def next_appointment(self) -> Appointment | None:
        return self.appointments[0] if self.appointments else None

    @property
    def ready(self) -> bool:
        return any(line.ready for line in self.units)

    @property
    def warning_count(self) -> int:
        return len(self.warnings) + sum(len(line.warnings) for line in self.units)


@dataclass
class Board:
    generated_at: datetime
    clinician: User | None  # None: every clinician's patients (QA, admin)
    rows: list[PatientRow]
    quiet: int  # the clinician's patients with nothing under way (not shown)
    truncated: bool = False


def clinician_for(viewer: User, requested: object | None) -> User | None:
    """Whose board the viewer sees: a clinician their own; QA and admin any clinician's, or
    everyone's when none is asked for."""
    if requested in (None, ""):
        if viewer.role == Role.CLINICIAN:
            return viewer
        if viewer.role in (Role.QA, Role.ADMIN):
            return None
        raise Forbidden("the readiness board is for clinicians, QA and admins")
    text = str(requested).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise Invalid(
            "clinician must be a clinician's id (a whole number)",
            code="invalid_fields",
            fields={"clinician": "must be a clinician's id"},
        )
    if viewer.role == Role.CLINICIAN:
        if int(text) != viewer.id:
            raise Forbidden("a clinician sees their own board only", code="not_your_board")
        return viewer
    if viewer.role not in (Role.QA, Role.ADMIN):
        raise Forbidden("the readiness board is for clinicians, QA and admins")
    user = db.session.get(User, int(text))
    if user is None or user.role != Role.CLINICIAN:
        raise NotFound(f"no clinician with id {text}")
    return user


def open_deviations(units: list[Unit] | list[BoardUnit]) -> dict[int, tuple[str, ...]]:
    """unit id -> kinds of the undecided deviations on it or on what it was made from, for
    every unit given: the patients' open deviations in one query and, only for the patients
    that have one (few: QA decides them), their family tree in a second."""
    patients = {u.patient_id for u in units}
    found: dict[int, tuple[str, ...]] = {u.id: () for u in units}
    if not patients:
        return found
    kinds: dict[int, list[str]] = {}
    concerned: set[int] = set()
    for unit_id, patient_id, kind in db.session.execute(
        select(Deviation.unit_id, Unit.patient_id, Deviation.kind)
        .join(Unit, Unit.id == Deviation.unit_id)
        .where(among(Unit.patient_id, patients), Deviation.closed_at.is_(None))
    ):
        kinds.setdefault(unit_id, []).append(kind)
        concerned.add(patient_id)
    if not kinds:
        return found
    parent_of = dict(
        db.session.execute(select(Unit.id, Unit.parent_id).where(among(Unit.patient_id, concerned)))
        .tuples()
        .all()
    )
    for unit in units:
        if unit.patient_id not in concerned:
            continue
        lineage, node = [], unit.id
        while node is not None:
            lineage.extend(kinds.get(node, ()))
            node = parent_of.get(node)
        found[unit.id] = tuple(lineage)
    return found


@cache
def _kind_facts(unit_type: str) -> tuple[bool, bool]:
    """(cryopreserved, is_source) of a unit type, as the catalogue says."""
    kind = CATALOGUE.get(unit_type)
    return (
        bool(kind and kind.storage.high_c is not None and kind.storage.high_c < 0),
        bool(kind and kind.is_source),
    )


def _facts(unit: Unit | BoardUnit, deviations: tuple[str, ...] = ()) -> rules.UnitFacts:
    cryopreserved, is_source = _kind_facts(unit.unit_type)
    return rules.UnitFacts(
        unit_type=unit.unit_type,
        status=Status(unit.status),
        expires_at=unit.expires_at,
        qc_alert=unit.qc_alert,
        thawed_at=unit.thawed_at,
        custodian_name=unit.custodian_name,
        cryopreserved=cryopreserved,
        is_source=is_source,
        open_deviations=deviations,
    )


_MILESTONES = ("collected_at", "received_at", "processing_started_at", "processed_at")


class Estimator:
    """Estimates for many units, reading each product type's history once and working out
    each stage's outlook once (``rules.outlook``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._summaries: dict[str, dict[str, StageSummary | None]] = {}
        # (unit type, status) -> (stage, its outlook), or None: nothing to estimate
        self._outlooks: dict[tuple[str, str], tuple[str, rules.Outlook] | None] = {}

    def summaries(self, product_type: str) -> dict[str, StageSummary | None]:
        if product_type not in self._summaries:
            self._summaries[product_type] = recent_summaries(product_type)
        return self._summaries[product_type]

    def _outlook(self, unit_type: str, status: str) -> tuple[str, rules.Outlook] | None:
        key = (unit_type, status)
        if key not in self._outlooks:
            stage = rules.STAGE_OF_STATUS.get(Status(status))
            product_type = rules.product_for(unit_type, Status(status)) if stage else None
            self._outlooks[key] = (
                (stage, rules.outlook(product_type, stage, self.summaries(product_type)))
                if stage is not None and product_type is not None
                else None
            )
        return self._outlooks[key]

    def __call__(self, unit: Unit | BoardUnit) -> rules.Estimate | None:
        found = self._outlook(unit.unit_type, unit.status)
        if found is None:
            return None
        stage, seen = found
        times = {name: getattr(unit, name) for name in _MILESTONES}
        return rules.estimate_from(seen, rules.stage_start(stage, times), self.now)


def _injection_for(
    unit: Unit | BoardUnit, appointments: list[Appointment], ready_elsewhere: bool
) -> Appointment | None:
    """The injection a unit is meant for: one that names it, else one that names none —
    unless another of the patient's products is ready, which such an injection is taken to
    be for (a fresh collection is then not warned of as late for it)."""
    injections = [a for a in appointments if a.kind == "injection"]
    named = [a for a in injections if a.unit_id == unit.id]
    if named:
        return named[0]
    if ready_elsewhere:
        return None
    return next((a for a in injections if a.unit_id is None), None)


def unit_line(
    unit: Unit | BoardUnit,
    facts: rules.UnitFacts,
    appointments: list[Appointment],
    estimator: Estimator,
    moments: Moments,
    ready_elsewhere: bool = False,
) -> UnitLine:
    """``facts``: the unit's own (``_facts``), read once for the line and the patient's row."""
    now = estimator.now
    est = estimator(unit)
    ready = rules.is_ready(facts, now)
    appointment = _injection_for(unit, appointments, ready_elsewhere and not ready)
    injection = appointment.scheduled_at if appointment else None
    return UnitLine(
        unit=unit,
        words=rules.status_words(facts, now, moments.when),
        ready=ready,
        expired=rules.is_expired(facts, now),
        countdown_to=rules.counts_down(facts),
        estimate=est,
        estimate_words=rules.estimate_words(est, moments.when, moments.clock) if est else None,
        appointment=appointment,
        warnings=rules.warnings(facts, est, injection, now, moments.when),
    )


def _patient_warnings(row: PatientRow, moments: Moments) -> list[rules.Warning]:
    found = []
    for appointment in row.appointments:
        if appointment.kind == "injection" and not row.units:
            found.append(
                rules.Warning(
                    "nothing_under_way",
                    "danger",
                    f"Injection booked for {moments.when(appointment.scheduled_at)}, but nothing of "
                    "this patient is at the lab or ready",
                )
            )
            break
    return found


def next_sessions(patient_ids: list[int]) -> dict[int, tuple[TreatmentSession, str]]:
    """Each patient's next planned session with its plan's course, in one query (the
    treatment plans are ``actions.treatment``'s; the board reads their rows)."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        select(TreatmentPlan.patient_id, TreatmentPlan.course_code, TreatmentSession)
        .join(TreatmentSession, TreatmentSession.plan_id == TreatmentPlan.id)
        .where(among(TreatmentPlan.patient_id, patient_ids), TreatmentSession.status == "planned")
        .order_by(TreatmentSession.planned_at, TreatmentSession.id)
    ).all()
    found: dict[int, tuple[TreatmentSession, str]] = {}
    for patient_id, course_code, session in rows:
        found.setdefault(patient_id, (session, course_code))
    return found


def session_line(
    planned: tuple[TreatmentSession, str] | None, lines: list[UnitLine]
) -> SessionLine | None:
    if planned is None:
        return None
    session, course_code = planned
    ready = next(
        (
            line.unit
            for line in lines
            if line.ready
            and line.unit.unit_type == session.product_type
            and line.unit.chain_of_identity == course_code
        ),
        None,
    )
    return SessionLine(session, course_code, ready)


def upcoming(now: datetime):
    """The condition of a booked appointment still to come (or under way)."""
    return (Appointment.status == "booked") & (Appointment.scheduled_at >= now - rules.UNDER_WAY)


def _first(rows: Select) -> ColumnElement[bool]:
    """Whether the patient has such a row, asked of that patient alone (see ``board``)."""
    return rows.correlate(Patient).limit(1).scalar_subquery().is_not(None)


def board(viewer: User, requested_clinician: object | None = None) -> Board:
    """The viewer's board (or, for QA and admin, a clinician's or everyone's)."""
    clinician = clinician_for(viewer, requested_clinician)
    now = utcnow()
    mine = Patient.clinician_id == clinician.id if clinician else None

    # A patient is on the board with a unit on it or an appointment to come. Asked per patient
    # in id order (on the units' and appointments' patient indexes), the first 201 are found
    # after reading about as many: a big lab's half a million live units are never all read
    # to find them (decision 97). Each question is a scalar subquery with LIMIT 1, not an
    # EXISTS: PostgreSQL turns an EXISTS under OR into a hash of every live unit's patient,
    # built before the first patient is read (55 ms at 100,000 units; this way 1 ms).
    here = access.at_my_sites(viewer)  # the units of the viewer's sites (decision 103)
    on_board = [s.value for s in rules.ON_BOARD]
    busy = or_(
        _first(
            select(Unit.id).where(Unit.patient_id == Patient.id, Unit.status.in_(on_board), here)
        ),
        _first(select(Appointment.id).where(Appointment.patient_id == Patient.id, upcoming(now))),
    )
    conditions = [busy, access.visible_patients(viewer)]
    if mine is not None:
        conditions.append(mine)
    patients = list(
        db.session.scalars(
            select(Patient).where(*conditions).order_by(Patient.id).limit(MAX_PATIENTS + 1)
        )
    )
    truncated = len(patients) > MAX_PATIENTS
    patients = patients[:MAX_PATIENTS]
    ids = [p.id for p in patients]

    units_by_patient: dict[int, list[BoardUnit]] = {i: [] for i in ids}
    appts_by_patient: dict[int, list[Appointment]] = {i: [] for i in ids}
    if ids:
        # Core, not the ORM's column loading (there is no entity to load)
        for row in (
            db.session.connection()
            .execute(
                select(*_BOARD_COLUMNS)
                .outerjoin(User, User.id == Unit.custodian_id)
                .where(among(Unit.patient_id, ids), Unit.status.in_(on_board), here)
                .order_by(Unit.collected_at, Unit.din, Unit.id)
            )
            .tuples()
            .all()  # fetched at once, not a driver call per row
        ):
            unit = BoardUnit(*row)
            units_by_patient[unit.patient_id].append(unit)
        for appointment in db.session.scalars(
            select(Appointment)
            .where(among(Appointment.patient_id, ids), upcoming(now))
            .order_by(Appointment.scheduled_at, Appointment.id)
        ):
            appts_by_patient[appointment.patient_id].append(appointment)

    estimator = Estimator(now)
    moments = Moments(now, site_zone())
    undecided = open_deviations([u for live in units_by_patient.values() for u in live])
    planned = next_sessions(ids)
    rows = []
    for patient in patients:
        appointments = appts_by_patient[patient.id]
        live = units_by_patient[patient.id]
        facts = [(u, _facts(u, undecided[u.id])) for u in live]
        any_ready = any(rules.is_ready(f, now) for _, f in facts)
        lines = [unit_line(u, f, appointments, estimator, moments, any_ready) for u, f in facts]
        row = PatientRow(patient, appointments, lines)
        row.next_session = session_line(planned.get(patient.id), lines)
        row.warnings = _patient_warnings(row, moments)
        rows.append(row)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(
        key=lambda r: (
            r.next_appointment is None,
            r.next_appointment.scheduled_at if r.next_appointment else far,
            r.patient.name.casefold(),
            r.patient.id,
        )
    )
    quiet = 0
    # A truncated board does not know how many of the rest are quiet: it says it is truncated.
    if clinician is not None and not truncated:
        total = db.session.scalar(select(func.count()).select_from(Patient).where(mine)) or 0
        quiet = max(total - len(rows), 0)
    return Board(now, clinician, rows, quiet, truncated)


def clinicians() -> list[User]:
    """Every clinician account (for QA's and admin's choice of board)."""
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.CLINICIAN.value).order_by(User.full_name)
        )
    )


# ---------------------------------------------------------------------------- the patient page


@dataclass
class TreeNode:
    unit: Unit
    line: UnitLine
    children: list[TreeNode] = field(default_factory=list)


def patient_units(patient: Patient) -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.patient_id == patient.id)
            .options(selectinload(Unit.custodian))
            .order_by(Unit.collected_at, Unit.din, Unit.id)
        )
    )


def patient_tree(patient: Patient, units: list[Unit]) -> list[TreeNode]:
    """The patient's units as a forest: each collection's source, its products, their
    aliquots (and products made from products, e.g. MSC from SVF), each with its words."""
    now = utcnow()
    appointments = list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id, upcoming(now))
            .order_by(Appointment.scheduled_at, Appointment.id)
        )
    )
    estimator = Estimator(now)
    moments = Moments(now, site_zone())
    undecided = open_deviations(units)
    facts = {u.id: _facts(u, undecided[u.id]) for u in units}
    any_ready = any(rules.is_ready(f, now) for f in facts.values())
    nodes = {
        u.id: TreeNode(u, unit_line(u, facts[u.id], appointments, estimator, moments, any_ready))
        for u in units
    }
    roots = []
    for unit in units:
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        (parent.children if parent else roots).append(nodes[unit.id])
    return roots
