"""The admin's grant of every patient to a clinician, on the person's page (decision 61): the
button, the ledger's record of the grant and of taking it back, and refusals that change
nothing. (There is no admin API for accounts: the page is the one way.)"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.services.admin import accounts
from tests.conftest import PASSWORD
from tests.web.conftest import text_of


def stored(user_id: int) -> tuple[bool, int]:
    """The grant as stored, and the ledger's length."""
    db.session.rollback()
    granted = db.session.scalar(select(User.all_patients).where(User.id == user_id))
    return bool(granted), db.session.scalar(select(func.count()).select_from(LedgerEntry))


@pytest.fixture
def colleague(users) -> User:
    return accounts.create_user("doctor2", "clinician", PASSWORD, full_name="Dr Lea Vogt")


def test_an_admin_grants_a_clinician_every_patient_and_takes_it_back(
    client, login, users, register, colleague
):
    theirs = register("ADIPOSE")  # the test clinician's patient, not doctor2's
    login("admin")
    page = client.get(f"/admin/users/{colleague.id}")
    assert "those they are named on" in text_of(page)
    assert "May see every patient" in page.get_data(as_text=True)

    granted = client.post(
        f"/admin/users/{colleague.id}/patients/grant",
        data={"patients-reason": "covers the ward in August"},
    )
    assert granted.status_code == 302
    assert stored(colleague.id)[0] is True
    page = text_of(client.get(f"/admin/users/{colleague.id}"))
    assert "doctor2 may now see every patient." in page
    assert "every patient (an admin's grant)" in page
    assert "May see every patient" in page and "covers the ward in August" in page

    client.post("/logout")
    login("doctor2")
    assert client.get(f"/patients/{theirs.patient.id}").status_code == 200
    client.post("/logout")

    login("admin")
    taken = client.post(f"/admin/users/{colleague.id}/patients/revoke", data={})
    assert taken.status_code == 302
    assert stored(colleague.id)[0] is False
    assert "Own patients only" in text_of(client.get(f"/admin/users/{colleague.id}"))
    client.post("/logout")
    login("doctor2")
    assert client.get(f"/patients/{theirs.patient.id}").status_code == 404


def test_the_grant_is_offered_for_clinicians_only(client, login, users):
    login("admin")
    page = client.get(f"/admin/users/{users['technician'].id}").get_data(as_text=True)
    assert "May see every patient" not in page
    before = stored(users["technician"].id)
    refused = client.post(f"/admin/users/{users['technician'].id}/patients/grant", data={})
    assert refused.status_code == 409
    assert "only a clinician is granted every patient" in text_of(refused)
    assert stored(users["technician"].id) == before


def test_a_second_grant_is_told_and_changes_nothing(client, login, users, colleague):
    login("admin")
    client.post(f"/admin/users/{colleague.id}/patients/grant", data={})
    before = stored(colleague.id)
    again = client.post(f"/admin/users/{colleague.id}/patients/grant", data={})
    assert again.status_code == 409 and "may already see every patient" in text_of(again)
    assert stored(colleague.id) == before


@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
def test_no_one_but_an_admin_grants(client, login, users, colleague, role):
    login(role)
    before = stored(colleague.id)
    for action in ("grant", "revoke"):
        response = client.post(f"/admin/users/{colleague.id}/patients/{action}", data={})
        assert response.status_code == 403
    assert stored(colleague.id) == before
