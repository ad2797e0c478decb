"""``flask --app wsgi`` commands (docs/product.md §10): users, demo data, the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, Patient, Unit, User
from lims.services import access
from lims.services.admin import accounts
from lims.services.clinic import readiness
from lims.services.custody import ledger

PASSWORD = "a-long-enough-pw"


def create_user(runner, *args: str, password: str = PASSWORD):
    return runner.invoke(args=["users", "create", *args], input=f"{password}\n{password}\n")


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_users_create_asks_for_the_password_and_creates_the_user(runner):
    result = create_user(runner, "tara", "--role", "technician", "--name", "Tara Tech")
    assert result.exit_code == 0, result.output
    assert "created tara (technician)" in result.output
    user = db.session.scalar(select(User).where(User.username == "tara"))
    assert (user.role, user.full_name) == ("technician", "Tara Tech")
    assert accounts.authenticate("tara", PASSWORD) == user
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["tara", "--role", "wizard"], PASSWORD, "wizard"),
        (["tara", "--role", "technician"], "short", "at least 12 characters"),
        (["Tara Tech!", "--role", "technician"], PASSWORD, "a username is"),
    ],
    ids=["unknown role", "short password", "bad username"],
)
def test_users_create_refuses_bad_input(runner, args, password, message):
    result = create_user(runner, *args, password=password)
    assert result.exit_code != 0
    assert message in result.output
    assert count(User) == 0


def test_users_create_refuses_a_duplicate(runner):
    assert create_user(runner, "tara", "--role", "technician").exit_code == 0
    result = create_user(runner, "TARA", "--role", "qa")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count(User) == 1


def test_users_create_refuses_passwords_that_differ(runner):
    result = runner.invoke(
        args=["users", "create", "tara", "--role", "qa"], input=f"{PASSWORD}\nother-password\n"
    )
    assert result.exit_code != 0
    assert count(User) == 0


def test_seed_demo_fills_an_empty_database_once(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    seeded = {model: count(model) for model in (User, Patient, Unit, LedgerEntry)}
    # Five demo users since decision 61: a second clinician whose patient the first does not see;
    # and since decision 105 a newcomer from single sign-on waiting for a role.
    assert seeded[User] == 6 and seeded[Patient] >= 3 and seeded[Unit] >= 6
    statuses = set(db.session.scalars(select(Unit.status)))
    assert {"collected", "in_transit", "received", "in_processing", "quarantine"} <= statuses
    assert ledger.verify().intact
    assert accounts.authenticate("tech", "demo-pass-123").role == "technician"

    second = runner.invoke(args=["seed-demo"])
    assert "nothing seeded" in second.output
    assert {model: count(model) for model in seeded} == seeded
    # what the demo shows, read from this one seeding (seeding takes seconds)
    each_demo_clinician_sees_their_own_patients_only()
    the_demo_has_collections_tested_not_tested_and_not_recorded()
    the_demo_has_a_shipment_on_its_way_one_arrived_short_and_one_being_packed()
    the_demo_locations_have_scannable_codes()
    the_demo_has_a_newcomer_from_single_sign_on_waiting_for_a_role()
    the_demo_has_one_past_import()
    the_demo_has_one_adverse_reaction_closed_signed_and_one_open()
    the_demo_has_a_year_of_treatment_courses_whose_outcomes_vary_with_dose()


def the_demo_has_a_year_of_treatment_courses_whose_outcomes_vary_with_dose() -> None:
    from datetime import UTC, datetime

    from lims.models import (
        AssessmentPhoto,
        Equipment,
        OutcomeAssessment,
        OutcomeReminder,
        ReagentLot,
        TreatmentPlan,
    )
    from lims.services.clinic import outcome_analysis, outcomes

    plans = list(db.session.scalars(select(TreatmentPlan)))
    assert len(plans) == 12
    first_given = min(s.administered_at for p in plans for s in p.sessions if s.administered_at)
    assert (datetime.now(UTC) - first_given).days >= 365
    rows = list(db.session.scalars(select(OutcomeAssessment)))
    assert {r.visit for r in rows} == {"baseline", "month_3", "month_6", "month_12"}
    assert sum(1 for r in rows if r.corrects_id) == 2
    reminders = {(r.visit, r.kind) for r in db.session.scalars(select(OutcomeReminder))}
    assert {("month_12", "due"), ("month_12", "overdue")} <= reminders
    photos = list(db.session.scalars(select(AssessmentPhoto)))
    visits = {db.session.get(OutcomeAssessment, p.assessment_id).visit for p in photos}
    assert visits == {"baseline", "month_3", "month_6", "month_12"}
    qa = db.session.scalar(select(User).where(User.username == "qa"))
    outcomes.read_photo(photos[0].id, qa)  # stored under PHOTO_DIR, its checksum holding
    # the first year's register: decommissioned, its lots used up
    old = db.session.scalars(
        select(Equipment).where(Equipment.status_reason.like("decommissioned%"))
    ).all()
    assert len(old) == 5 and {e.status for e in old} == {"out_of_service"}
    assert "used_up" in set(db.session.scalars(select(ReagentLot.flagged)))

    result = outcome_analysis.analyse(qa, outcome_analysis.parse_visit({}))
    dose = {g.label: g.spread for g in next(g for g in result.groupings if g.key == "dose").groups}
    low, middle, high = (
        dose[label] for label in ("cells < 5 × 10⁶", "cells 5 to < 20 × 10⁶", "cells ≥ 20 × 10⁶")
    )
    assert low.median < middle.median < high.median


def the_demo_has_one_adverse_reaction_closed_signed_and_one_open() -> None:
    from lims.models import AdverseReaction, Notification
    from lims.services.audit import adverse_reactions

    rows = list(db.session.scalars(select(AdverseReaction).order_by(AdverseReaction.id)))
    assert [r.status for r in rows] == ["closed", "open"]
    assert adverse_reactions.signature_matches(rows[0])
    urgent = select(Notification).where(Notification.event == "adverse_reaction")
    assert {n.urgency for n in db.session.scalars(urgent)} == {"urgent"}


def the_demo_has_one_past_import() -> None:
    from lims.models import DataImport, LedgerEntry, Location

    imp = db.session.scalar(select(DataImport))
    assert (imp.kind, imp.status, imp.imported_count) == ("locations", "imported", 2)
    freezer = db.session.scalar(select(Location).where(Location.name.startswith("Freezer -80 B")))
    assert freezer.parent.name == "Archive room"
    cited = db.session.scalars(select(LedgerEntry.data).where(LedgerEntry.action == "import"))
    assert all(imp.sha256 in data for data in cited)


def the_demo_has_a_newcomer_from_single_sign_on_waiting_for_a_role() -> None:
    newcomer = db.session.scalar(select(User).where(User.username == "newcomer"))

    assert (newcomer.role, newcomer.oidc_issuer, newcomer.oidc_subject) == (
        "pending",
        "http://127.0.0.1:9400",
        "newcomer",
    )
    assert accounts.authenticate("newcomer", "demo-pass-123") is None


def each_demo_clinician_sees_their_own_patients_only() -> None:
    doctor, doctor2, tech = (
        db.session.scalar(select(User).where(User.username == name))
        for name in ("doctor", "doctor2", "tech")
    )

    def names(user: User) -> set[str]:
        return set(db.session.scalars(select(Patient.name).where(access.visible_patients(user))))

    assert {"Maria Keller", "Jonas Weber", "Aisha Rahman", "Tomasz Nowak"} <= names(doctor)
    assert "Greta Lindqvist" not in names(doctor)
    assert names(doctor2) == {"Greta Lindqvist"}
    assert names(tech) == names(doctor) | names(doctor2)
    assert [row.patient.name for row in readiness.board(doctor2).rows] == ["Greta Lindqvist"]
    assert "Greta Lindqvist" not in {row.patient.name for row in readiness.board(doctor).rows}


def the_demo_has_collections_tested_not_tested_and_not_recorded() -> None:
    recorded = set(db.session.scalars(select(Unit.donor_testing).where(Unit.parent_id.is_(None))))

    assert recorded == {"performed", "not_performed", None}


def test_seed_demo_leaves_a_database_with_users_alone(runner, users):
    result = runner.invoke(args=["seed-demo"])
    assert "nothing seeded" in result.output
    assert count(Unit) == 0


def test_ledger_verify_reports_the_count_when_intact(runner, register, act):
    act(register("ADIPOSE"), "receive")
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "ledger intact: 2 entries verified" in result.output


def test_ledger_verify_on_an_empty_ledger(runner):
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0
    assert "0 entries verified" in result.output


def test_ledger_receipt_prints_a_signed_head(runner, register):
    register("ADIPOSE")
    result = runner.invoke(args=["ledger", "receipt"])
    assert result.exit_code == 0
    assert '"seq": 1' in result.output and '"signature"' in result.output


def the_demo_has_a_shipment_on_its_way_one_arrived_short_and_one_being_packed() -> None:
    from lims.models import Deviation, Printer, Shipment

    found = {s.status: s for s in db.session.scalars(select(Shipment))}
    assert set(found) == {"dispatched", "received", "preparing"}
    assert found["received"].discrepancies == 1
    assert [i.outcome for i in found["received"].items] == ["accepted", "missing"]
    assert {u.status for u in (i.unit for i in found["dispatched"].items)} == {"in_transit"}
    (packing,) = found["preparing"].items
    assert packing.unit.unit_type == "MSC(AT)" and packing.unit.status == "released"
    assert db.session.scalar(select(Deviation).where(Deviation.shipment_id == found["received"].id))
    clinic, lab = found["dispatched"].from_site, found["dispatched"].to_site
    assert (clinic.kind, lab.kind) == ("clinic", "processing_lab")
    assert {p.site_id for p in db.session.scalars(select(Printer))} == {clinic.id, lab.id}


def the_demo_locations_have_scannable_codes() -> None:
    from lims.domain.codes import LocationCode, classify
    from lims.models import Location
    from lims.services.admin import locations

    stored = locations.all_locations()
    assert len(stored) >= 9
    assert all(isinstance(classify(p.code), LocationCode) for p in stored)
    kinds = [p.kind for p in stored]
    assert {"site", "room", "refrigerator", "freezer", "rack", "box"} <= set(kinds)
    assert any(p.parent and p.parent.kind == "rack" for p in stored if p.kind == "box")
    assert db.session.scalar(select(func.count()).select_from(Location)) == len(stored)
