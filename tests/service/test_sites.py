"""Sites and who belongs to them, on both backends: the installation's one site as the
migration made it, registering and editing a site and what is refused, an account's sites
and the ledger entries each change writes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import LedgerEntry, Site
from lims.services.admin import accounts, sites

CLINIC = {
    "code": "c0002",
    "name": "Hair Clinic North",
    "address": "2 North Street, 00000 City",
    "timezone": "Europe/Paris",
    "kind": "clinic",
}


def entries(action: str) -> list[dict]:
    found = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)
    )
    return [{**json.loads(e.data), "unit_id": e.unit_id} for e in found]


@pytest.fixture
def clinic(users) -> Site:
    return sites.register_site(CLINIC, users["admin"])


def test_the_installation_is_one_site_every_account_belongs_to(app, users):
    (home,) = sites.list_sites()
    assert (home.code, home.kind, home.active) == ("T0001", "processing_lab", True)
    assert home.name == app.config["FACILITY_NAME"]
    assert home.timezone == app.config["TIMEZONE"]
    for user in users.values():
        assert sites.sites_of(user) == [home]


def test_an_admin_registers_a_site_and_the_ledger_says_so(users, clinic):
    assert (clinic.code, clinic.name, clinic.kind, clinic.active) == (
        "C0002",
        "Hair Clinic North",
        "clinic",
        True,
    )
    assert clinic.created_by_id == users["admin"].id
    (entry,) = entries("site_registered")
    assert entry["site"] == "C0002"
    assert entry["site_id"] == clinic.id
    assert entry["timezone"] == "Europe/Paris"
    assert entry["unit_id"] is None
    assert [s.code for s in sites.list_sites()] == ["T0001", "C0002"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "C002"),
        ("code", "C00-2"),
        ("timezone", "Mars/Olympus"),
        ("timezone", "../../etc/passwd"),
        ("kind", "warehouse"),
        ("name", "  "),
        ("address", ""),
    ],
)
def test_bad_site_data_is_refused_by_field(users, field, value):
    with pytest.raises(Invalid) as refused:
        sites.register_site({**CLINIC, field: value}, users["admin"])
    assert field in refused.value.fields
    assert db.session.scalar(select(Site).where(Site.code == "C0002")) is None


def test_a_facility_code_is_registered_once(users, clinic):
    with pytest.raises(Conflict) as refused:
        sites.register_site({**CLINIC, "code": " C0002 ", "name": "Another"}, users["admin"])
    assert refused.value.code == "duplicate_site"


def test_only_an_admin_registers_or_edits_a_site(users, clinic):
    with pytest.raises(Forbidden):
        sites.register_site({**CLINIC, "code": "C0003"}, users["qa"])
    with pytest.raises(Forbidden):
        sites.update_site(clinic.id, {"name": "Elsewhere"}, users["technician"])


def test_an_edit_records_what_changed(users, clinic):
    sites.update_site(
        clinic.id, {"name": "Hair Clinic North (Main St)", "timezone": "UTC"}, users["admin"]
    )
    assert (clinic.name, clinic.timezone) == ("Hair Clinic North (Main St)", "UTC")
    (entry,) = entries("site_updated")
    assert entry["changes"] == {
        "name": ["Hair Clinic North", "Hair Clinic North (Main St)"],
        "timezone": ["Europe/Paris", "UTC"],
    }


def test_the_facility_code_is_fixed_once_registered(users, clinic):
    with pytest.raises(Conflict) as refused:
        sites.update_site(clinic.id, {"code": "C0009", "name": "Moved"}, users["admin"])
    assert refused.value.code == "code_fixed"
    db.session.refresh(clinic)
    assert (clinic.code, clinic.name) == ("C0002", "Hair Clinic North")
    sites.update_site(clinic.id, {"code": "c0002", "name": "Same code"}, users["admin"])


def test_an_edit_that_changes_nothing_and_an_unknown_site_are_refused(users, clinic):
    with pytest.raises(Conflict) as refused:
        sites.update_site(clinic.id, {"kind": "clinic"}, users["admin"])
    assert refused.value.code == "no_change"
    with pytest.raises(NotFound):
        sites.update_site(999_999, {"name": "Nowhere"}, users["admin"])


def test_the_last_active_site_stays_active(users, clinic):
    home = sites.list_sites()[0]
    sites.update_site(clinic.id, {"active": False}, users["admin"])
    with pytest.raises(Conflict) as refused:
        sites.update_site(home.id, {"active": False}, users["admin"])
    assert refused.value.code == "last_active_site"


def test_an_admin_sets_an_accounts_sites_and_the_ledger_names_before_and_after(users, clinic):
    home = sites.list_sites()[0]
    doctor = users["clinician"]
    assert sites.set_memberships(doctor.id, [clinic.id, home.id], users["admin"]) == [
        clinic,
        home,
    ]
    sites.set_memberships(doctor.id, [clinic.id], users["admin"])
    assert sites.sites_of(doctor) == [clinic]
    first, second = entries("user_sites_changed")
    assert (first["user_id"], first["username"]) == (doctor.id, doctor.username)
    assert (first["before"], first["after"]) == (["T0001"], ["C0002", "T0001"])
    assert (second["before"], second["after"]) == (["C0002", "T0001"], ["C0002"])


@pytest.mark.parametrize("site_ids", [[], [999_999], "1", [True]])
def test_an_active_account_keeps_a_known_site(users, site_ids):
    with pytest.raises(Invalid) as refused:
        sites.set_memberships(users["technician"].id, site_ids, users["admin"])
    assert all(name.startswith("site_ids") for name in refused.value.fields)
    assert entries("user_sites_changed") == []


def test_an_account_needs_an_active_site(users, clinic):
    sites.update_site(clinic.id, {"active": False}, users["admin"])
    with pytest.raises(Invalid) as refused:
        sites.set_memberships(users["technician"].id, [clinic.id], users["admin"])
    assert refused.value.code == "no_site"


def test_memberships_are_an_admins_and_name_a_person(users, clinic):
    with pytest.raises(Forbidden):
        sites.set_memberships(users["technician"].id, [clinic.id], users["qa"])
    with pytest.raises(NotFound):
        sites.set_memberships(999_999, [clinic.id], users["admin"])
    with pytest.raises(Conflict):
        sites.set_memberships(users["qa"].id, [sites.list_sites()[0].id], users["admin"])


def test_a_new_account_joins_the_oldest_active_site(users, clinic):
    home = sites.list_sites()[0]
    made = accounts.create_user(
        "newtech", "technician", "Correct-Horse-9", full_name="New Tech", by=users["admin"]
    )
    assert sites.sites_of(made) == [home]
    sites.update_site(clinic.id, {"name": "Clinic"}, users["admin"])
    sites.update_site(home.id, {"active": False}, users["admin"])
    later = accounts.create_user(
        "newdoc", "clinician", "Correct-Horse-9", full_name="New Doc", by=users["admin"]
    )
    assert sites.sites_of(later) == [clinic]
