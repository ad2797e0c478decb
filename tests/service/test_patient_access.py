"""Minimum necessary access at the service layer (decision 61): who sees which patient and
unit, the same "not found" for a record one may not see as for one that does not exist, the
admin's grant of every patient, and one query for a whole list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from lims.domain import identifiers
from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import LedgerEntry, Patient, Unit
from lims.models.types import utcnow
from lims.services import access, search
from lims.services.actions import units
from lims.services.admin import accounts
from lims.services.clinic import appointments, readiness
from lims.services.station import labels, scan
from tests.access_cast import NAME, PERSONAS, SEE, make_cast

from .lab import stored


@pytest.fixture
def cast(users):
    return make_cast(users)


def message(call) -> str:
    with pytest.raises(NotFound) as refused:
        call()
    return refused.value.message


# ---------------------------------------------------------------------------- who sees


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_sees_the_patient_and_her_units(cast, persona):
    user = cast.people[persona]
    seen = persona in SEE
    assert access.may_see_patient(user, cast.patient.id) is seen
    visible = set(db.session.scalars(select(Patient.id).where(access.visible_patients(user))))
    assert (cast.patient.id in visible) is seen
    shown = set(db.session.scalars(select(Unit.id).where(access.visible_units(user))))
    mine = {cast.source.id, cast.product.id, cast.fresh.id, cast.spare.id}
    assert (mine <= shown) is seen and (not mine & shown) is (not seen)


@pytest.mark.req("LIMS-3")
def test_another_clinicians_own_patients_stay_theirs(cast, users):
    """Each clinician sees their own patient and not the other's, in one list."""
    theirs = units.register(
        {
            "patient": {"mrn": "MRN-S", "name": "Sam Stranger", "birth_date": "1970-01-01"},
            "type": "BLOOD",
            "collection_site": "antecubital vein",
            "volume_ml": 50,
            "collected_at": (utcnow() - timedelta(hours=1)).isoformat(),
        },
        cast.people["stranger"],
    ).unit
    names = {
        persona: set(
            db.session.scalars(
                select(Patient.name).where(access.visible_patients(cast.people[persona]))
            )
        )
        for persona in ("treating", "stranger", "technician", "qa")
    }
    assert names["treating"] == {NAME}
    assert names["stranger"] == {"Sam Stranger"}
    assert names["technician"] == names["qa"] == {NAME, "Sam Stranger"}
    assert theirs.patient.clinician_id == cast.people["stranger"].id


def test_a_technician_sees_the_patients_the_lab_holds_units_of_only(cast, users):
    clinic_only = Patient(mrn="MRN-C", name="Clinic Only", wristband="P-CLINIC-1")
    db.session.add(clinic_only)
    db.session.commit()
    assert not access.may_see_patient(users["technician"], clinic_only.id)
    assert access.may_see_patient(users["qa"], clinic_only.id)
    assert access.may_see_patient(users["admin"], clinic_only.id)
    assert message(lambda: access.require_patient(users["technician"], clinic_only.id)) == (
        f"no patient with id {clinic_only.id}"
    )


def test_scheduled_work_sees_every_patient(cast):
    system = accounts.system_user()
    assert access.may_see_patient(system, cast.patient.id)


def test_the_grant_counts_for_a_clinician_only(cast, users):
    """``all_patients`` set on someone who is not a clinician widens nothing."""
    clinic_only = Patient(mrn="MRN-C", name="Clinic Only", wristband="P-CLINIC-1")
    db.session.add(clinic_only)
    users["technician"].all_patients = True
    db.session.commit()
    assert not access.may_see_patient(users["technician"], clinic_only.id)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.req("LIMS-3")
def test_a_refusal_is_word_for_word_the_answer_to_an_unknown_record(cast):
    stranger = cast.people["stranger"]
    patient_id, unit_id = cast.patient.id, cast.fresh.id
    assert message(lambda: access.require_patient(stranger, patient_id)) == (
        f"no patient with id {patient_id}"
    )
    assert message(lambda: access.require_patient(stranger, 999_999)) == (
        "no patient with id 999999"
    )
    assert message(lambda: access.require_unit(stranger, unit_id)) == f"no unit with id {unit_id}"
    assert message(lambda: access.require_unit(stranger, 999_999)) == "no unit with id 999999"
    assert message(lambda: access.require_unit(stranger, "x")) == "no unit with id x"


def test_another_clinician_cannot_act_on_the_unit_and_nothing_changes(cast):
    before = stored(cast.fresh.id)
    data = {"courier": "Courier A", "transport_condition": "cool box"}
    refused = message(
        lambda: units.perform_action(cast.fresh.id, "dispatch", data, cast.people["stranger"])
    )
    assert refused == f"no unit with id {cast.fresh.id}"
    assert stored(cast.fresh.id) == before
    # the clinician who took the collection may dispatch it
    units.perform_action(cast.fresh.id, "dispatch", data, cast.people["collector"])


def test_a_batch_item_of_a_patient_not_seen_reads_as_unknown(cast):
    data = {"courier": "Courier A", "transport_condition": "cool box"}
    (item,) = scan.apply_batch([cast.fresh.id], "dispatch", data, cast.people["stranger"])
    assert not item.ok and item.code == "not_found"
    assert item.message == f"no unit with id {cast.fresh.id}"


def test_appointments_of_a_patient_not_seen_are_not_found_not_forbidden(cast):
    stranger, booked = cast.people["stranger"], cast.appointment
    assert message(lambda: appointments.get_patient(cast.patient.id, stranger)) == (
        f"no patient with id {cast.patient.id}"
    )
    later = {"scheduled_at": (utcnow() + timedelta(days=2)).isoformat()}
    assert message(lambda: appointments.move(booked.id, later, stranger)) == (
        f"no appointment with id {booked.id} for this patient"
    )
    assert message(lambda: appointments.move(999_999, later, stranger)) == (
        "no appointment with id 999999 for this patient"
    )
    booking = {"kind": "collection", "scheduled_at": later["scheduled_at"]}
    assert message(lambda: appointments.book(cast.patient.id, booking, stranger)) == (
        f"no patient with id {cast.patient.id}"
    )
    # One who sees her but does not treat her is told so (403), as before.
    with pytest.raises(Forbidden):
        appointments.book(cast.patient.id, booking, cast.people["granted"])


def test_a_wristband_label_is_printed_only_for_a_patient_seen(cast):
    stranger = cast.people["stranger"]
    assert message(lambda: labels.print_patient_label(cast.patient.id, {}, stranger)) == (
        f"no patient with id {cast.patient.id}"
    )
    printed = labels.print_patient_label(cast.patient.id, {}, cast.people["treating"])
    assert NAME.encode() in printed.content


# ---------------------------------------------------------------------------- scanning


def test_a_scan_finds_only_what_the_scanner_may_see(cast):
    stranger, treating = cast.people["stranger"], cast.people["treating"]
    with pytest.raises(NotFound) as refused:
        scan.resolve(cast.fresh.barcode_data, stranger)
    assert refused.value.code == "unknown_identifier"
    with pytest.raises(NotFound) as refused:
        scan.resolve(cast.patient.wristband, stranger)
    assert refused.value.message == f"no patient has wristband {cast.patient.wristband}"
    with pytest.raises(NotFound) as refused:
        scan.lookup(cast.fresh.barcode_data, stranger)
    assert refused.value.code == "unknown_identifier"
    assert scan.resolve(cast.fresh.barcode_data, treating).unit == cast.fresh
    assert scan.resolve(cast.patient.wristband, treating).patient == cast.patient


def test_a_technician_scans_any_unit_at_the_bench_final_ones_too(cast, users):
    units.perform_action(
        cast.spare.id, "discard", {"reason": "no longer needed"}, users["technician"]
    )
    found = scan.resolve(cast.spare.barcode_data, users["technician"])
    assert found.unit == cast.spare and found.unit.status == "discarded"
    assert scan.lookup(cast.spare.barcode_data, users["technician"]) == [cast.spare]


def test_an_identity_check_with_a_wristband_not_seen_is_unknown_and_unrecorded(cast, users):
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    with pytest.raises(NotFound):
        scan.check_identity(
            cast.patient.wristband, cast.fresh.barcode_data, cast.people["stranger"]
        )
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    check = scan.check_identity(
        cast.patient.wristband, cast.fresh.barcode_data, cast.people["collector"]
    )
    assert check.match


# ---------------------------------------------------------------------------- lists


def test_the_units_list_holds_and_counts_only_units_seen(cast):
    for persona, expected in (("treating", 4), ("stranger", 0), ("qa", 4), ("technician", 4)):
        page = search.search_units("", viewer=cast.people[persona])
        assert page.total == expected == len(page.items), persona
        by_name = search.search_units(NAME, viewer=cast.people[persona])
        assert by_name.total == expected, persona


def test_a_record_number_not_seen_is_searched_like_an_unknown_one(cast, users):
    """A record number shaped like an identifier with a wrong check character: the list of
    her units for one who sees her, and for anyone else the refusal an unknown number gets."""
    din = identifiers.make_din("T0001", 2026, 424242)
    wrong = next(c for c in "ABCDEFGH" if c != identifiers.check_character(din))
    looks_like_din, stranger = din + wrong, cast.people["stranger"]

    def refusal() -> tuple[str, str]:
        with pytest.raises(Invalid) as refused:
            search.search_units(looks_like_din, viewer=stranger)
        return refused.value.code, refused.value.message

    unknown = refusal()
    db.session.execute(
        update(Patient).where(Patient.id == cast.patient.id).values(mrn=looks_like_din)
    )
    db.session.commit()
    assert search.search_units(looks_like_din, viewer=cast.people["treating"]).total == 4
    assert refusal() == unknown


def test_the_clinicians_board_shows_their_own_patients(cast):
    rows = readiness.board(cast.people["treating"]).rows
    assert [r.patient.name for r in rows] == [NAME]
    assert readiness.board(cast.people["stranger"]).rows == []


def test_a_list_is_filtered_in_one_query_whatever_its_length(cast, users):
    """The rule is a condition in the list's own query: as many statements for many units
    as for one (no query per unit)."""

    def statements(viewer) -> int:
        seen = []

        def count(*args) -> None:
            seen.append(args[2])

        access.forget_site_scopes()  # as a request starts: its sites read once (decision 103)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            search.search_units("", viewer=viewer)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    clinician = cast.people["treating"]
    db.session.commit()  # both counts start from an expired session
    few = statements(clinician)
    for _ in range(5):
        units.register(
            {
                "patient": {"mrn": "MRN-PIA", "name": NAME, "birth_date": "1980-05-17"},
                "type": "BLOOD",
                "collection_site": "antecubital vein",
                "volume_ml": 50,
                "collected_at": (utcnow() - timedelta(hours=1)).isoformat(),
            },
            clinician,
        )
    db.session.commit()
    assert statements(clinician) == few


# ---------------------------------------------------------------------------- the grant


def test_an_admin_grants_and_revokes_every_patient_in_the_ledger(cast, users):
    stranger, admin = cast.people["stranger"], users["admin"]
    accounts.set_all_patients(stranger, True, by=admin, reason="covers the ward this month")
    assert access.may_see_patient(stranger, cast.patient.id)
    accounts.set_all_patients(stranger, False, by=admin)
    assert not access.may_see_patient(stranger, cast.patient.id)
    events = [e for e in accounts.account_history(stranger) if e.action.startswith("access_")]
    assert [(e.action, e.actor_name, e.reason) for e in events] == [
        ("access_granted", "Test Admin", "covers the ward this month"),
        ("access_revoked", "Test Admin", None),
    ]
    assert events[0].data["scope"] == "all_patients"


def test_the_grant_is_refused_when_it_would_change_nothing(cast, users):
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    for person, granted in (
        (users["technician"], True),
        (users["qa"], True),
        (cast.people["granted"], True),
        (cast.people["stranger"], False),
    ):
        with pytest.raises(Conflict):
            accounts.set_all_patients(person, granted, by=users["admin"])
    with pytest.raises(Forbidden):
        accounts.set_all_patients(cast.people["stranger"], True, by=users["qa"])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    assert not cast.people["stranger"].all_patients


def test_a_role_change_away_from_clinician_ends_the_grant(cast, users):
    granted = cast.people["granted"]
    accounts.change_role(granted, "technician", by=users["admin"])
    assert granted.all_patients is False
    (changed,) = [e for e in accounts.account_history(granted) if e.action == "role_changed"]
    assert changed.data["all_patients_ended"] is True
    accounts.change_role(granted, "clinician", by=users["admin"])
    assert not access.may_see_patient(granted, cast.patient.id)
