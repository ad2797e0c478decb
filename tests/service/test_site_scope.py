"""Units, locations and printers belong to a site, and a person sees the sites they belong to
(decision 103), on both backends: where a collection is registered and what its DIN begins
with, who finds it (look-up, lists, scan, board), storing only at its own site, the printers
listed by site, and an installation of one site reading exactly as before."""

from __future__ import annotations

import pytest

from lims.domain.errors import Invalid, NotFound
from lims.services import access, search
from lims.services.actions import units
from lims.services.admin import locations, sites
from lims.services.clinic import readiness
from lims.services.station import printing, scan
from tests.conftest import registration
from tests.sites import CLINIC


@pytest.fixture
def clinic(users):
    """A clinic beside the lab; the clinician works at both, the second technician at the
    clinic alone, the first technician at the lab alone (as before)."""
    admin = users["admin"]
    (lab,) = sites.list_sites()
    made = sites.register_site(CLINIC, admin)
    sites.set_memberships(users["clinician"].id, [lab.id, made.id], admin)
    sites.set_memberships(users["technician2"].id, [made.id], admin)
    return made


def test_one_site_everyone_belongs_to_has_no_site_condition(users, register):
    unit = register("ADIPOSE")
    for role in ("technician", "clinician", "qa", "admin"):
        assert access.site_scope(users[role]) is None
    assert access.sees_every_unit(users["technician"])
    assert unit.din.startswith("T0001") and unit.site_id == sites.first_site().id


def test_a_collection_is_registered_at_one_of_the_registrants_sites(users, clinic):
    doctor = users["clinician"]
    at_lab = units.register(registration("ADIPOSE", mrn="M-1"), doctor).unit
    at_clinic = units.register(registration("ADIPOSE", mrn="M-2", site="c0002"), doctor).unit
    assert at_lab.din.startswith("T0001") and at_clinic.din.startswith("C0002")
    assert at_clinic.site_id == clinic.id
    with pytest.raises(Invalid) as refused:
        units.register(registration("ADIPOSE", mrn="M-3", site="C0002"), users["technician"])
    assert refused.value.code == "not_your_site" and "site" in refused.value.fields


def test_a_person_sees_the_units_of_their_sites_only(users, clinic):
    doctor, lab_tech, clinic_tech = users["clinician"], users["technician"], users["technician2"]
    at_clinic = units.register(registration("ADIPOSE", mrn="M-2", site="C0002"), doctor).unit
    at_lab = units.register(registration("BLOOD", mrn="M-1"), doctor).unit

    assert access.site_scope(lab_tech) == {sites.first_site().id}
    with pytest.raises(NotFound):
        access.require_unit(lab_tech, at_clinic.id)
    with pytest.raises(NotFound):
        scan.resolve(at_clinic.barcode_data, lab_tech)
    assert access.require_unit(clinic_tech, at_clinic.id).id == at_clinic.id
    with pytest.raises(NotFound):
        access.require_unit(clinic_tech, at_lab.id)

    def listed(user):
        return {u.id for u in search.search_units(viewer=user).items}

    assert listed(lab_tech) == {at_lab.id}
    assert listed(clinic_tech) == {at_clinic.id}
    assert listed(doctor) == {at_lab.id, at_clinic.id}  # a member of both sites

    def on_board(user):
        return {line.unit.id for row in readiness.board(user).rows for line in row.units}

    assert on_board(users["qa"]) == {at_lab.id}  # QA works for the lab alone here
    assert on_board(doctor) == {at_lab.id, at_clinic.id}


def test_a_unit_is_stored_only_at_its_own_site(users, clinic):
    admin, clinic_tech = users["admin"], users["technician2"]
    fridge = locations.create_location(
        "Clinic fridge", "refrigerator", None, admin, site_id=clinic.id
    )
    shelf = locations.create_location("Rack 1", "rack", fridge, admin)
    assert shelf.site_id == clinic.id
    lab_room = locations.create_location("Lab room", "room", None, admin)
    unit = units.register(registration("ADIPOSE", site="C0002"), users["clinician"]).unit
    units.perform_action(
        unit.id,
        "receive",
        {"temperature_c": 4.0, "container_intact": True, "volume_ml": 250},
        clinic_tech,
    )
    with pytest.raises(Invalid) as elsewhere:
        units.perform_action(
            unit.id,
            "store",
            {"location": lab_room.code, "storage_temperature_c": 4.0},
            clinic_tech,
        )
    assert elsewhere.value.code == "other_site"
    stored = units.perform_action(
        unit.id, "store", {"location": shelf.code, "storage_temperature_c": 4.0}, clinic_tech
    )
    assert stored.unit.location_id == shelf.id


def test_printers_are_listed_for_the_sites_of_the_reader(users, clinic):
    admin = users["admin"]
    base = {"kind": "zpl_tcp", "host": "127.0.0.1", "stock": "tube"}
    printing.register_printer({**base, "name": "Lab tubes"}, admin)
    printing.register_printer({**base, "name": "Clinic tubes", "site_id": clinic.id}, admin)
    with pytest.raises(Invalid):
        printing.register_printer({**base, "name": "Nowhere", "site_id": 999}, admin)
    assert [p.name for p in printing.printers(users["technician"])] == ["Lab tubes"]
    assert [p.name for p in printing.printers(users["technician2"])] == ["Clinic tubes"]
    assert len(printing.printers(admin)) == 2  # the admin configures every site's printers


def test_the_person_is_read_with_whether_they_belong_everywhere(users, clinic):
    """The sign-in loaders read the count of active sites a person is missing with the
    person, so an access check of a member of every site asks the database nothing more."""
    from sqlalchemy import event

    from lims.extensions import db
    from lims.services.admin import accounts

    everywhere = accounts.user_for_session(users["clinician"].id)
    lab_only = accounts.user_for_session(users["technician"].id)
    assert (everywhere.sites_missing, lab_only.sites_missing) == (0, 1)

    lab = sites.first_site().id
    asked = []

    def count(*args) -> None:
        asked.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        access.forget_site_scopes()
        assert access.site_scope(everywhere) is None
        assert asked == []
        assert access.site_scope(lab_only) == {lab}
        assert len(asked) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
