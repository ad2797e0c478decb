"""The ledger through the API: QA's verify names the first altered entry, and two clients
racing on one unit leave one winner, one 409 and an intact chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from lims.extensions import db
from lims.services.custody import jobs
from tests.conftest import PASSWORD
from tests.service.lab import triggers_off
from tests.service.test_jobs import wait_until_finished

from .helpers import assert_error
from .test_api_openapi import conforms


def test_verify_names_the_first_altered_entry(api):
    unit = api.register("ADIPOSE")
    api.act(unit, "dispatch")
    api.act(unit, "receive")
    assert api.get("/ledger/verify", as_="qa").get_json()["intact"] is True

    dispatched = api.get(f"/units/{unit['id']}/history").get_json()["entries"][1]
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET data = '{}' WHERE seq = 2"))

    result = api.get("/ledger/verify", as_="qa").get_json()
    assert result["intact"] is False
    assert result["checked"] == 1 and result["head_seq"] == 1
    assert result["first_break"]["seq"] == dispatched["seq"] == 2
    assert result["first_break"]["entry_id"] == dispatched["id"]
    assert "altered" in result["first_break"]["problem"]


@pytest.mark.req("LIMS-2")
def test_two_clients_acting_at_once_one_wins_the_other_gets_409(app, api):
    unit = api.register("ADIPOSE")
    second = api.post("/tokens", {"username": "tech2", "password": PASSWORD}, as_=None)
    headers = [api.headers("technician"), {"Authorization": f"Bearer {second.get_json()['token']}"}]
    body = {"action": "receive", "temperature_c": 4.0, "container_intact": True, "volume_ml": 250}
    barrier, statuses = threading.Barrier(2), []

    def receive(auth: dict[str, str]) -> None:
        client = app.test_client()  # another thread: its own app context and session
        barrier.wait()
        response = client.post(f"/api/v1/units/{unit['id']}/actions", json=body, headers=auth)
        statuses.append((response.status_code, response.get_json()))

    db.session.rollback()  # this thread's reads must not hold SQLite's write lock meanwhile
    threads = [threading.Thread(target=receive, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(code for code, _ in statuses) == [200, 409], statuses
    loser = next(body for code, body in statuses if code == 409)
    assert loser["error"]["code"] in {"not_allowed_now", "stale_version", "concurrent_change"}
    verify = api.get("/ledger/verify", as_="qa").get_json()
    assert verify["intact"] is True and verify["checked"] == 2


# ---------------------------------------------------------------------------- quick check (decision 94)


def verified_in_full(api) -> int:
    """A full verification through the API, to its verdict (and, without a broker, the
    receipt of the head it found intact)."""
    response = api.post("/ledger/verify-jobs", as_="qa")
    db.session.rollback()
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    final = wait_until_finished(lambda: api.get(f"/jobs/{job_id}", as_="qa").get_json())
    assert final["result"]["intact"] is True
    return job_id


@pytest.fixture
def three_then_two(api) -> tuple[dict, int]:
    """Three entries verified in full (the receipt of #3 with it), then two more."""
    unit = api.register("ADIPOSE")
    api.act(unit, "dispatch")
    api.act(unit, "receive")
    job_id = verified_in_full(api)
    api.register("BLOOD")
    api.register("BLOOD")
    db.session.commit()
    return unit, job_id


@pytest.mark.req("P11-4")
@pytest.mark.parametrize("role", ["qa", "admin"])
def test_the_quick_check_recomputes_only_what_follows_the_receipt(api, users, three_then_two, role):
    _, job_id = three_then_two

    response = api.get("/ledger/verify/from-receipt", as_=role)

    assert response.status_code == 200, response.get_json()
    found = response.get_json()
    assert found["intact"] is True and found["first_break"] is None
    assert (found["from_seq"], found["checked"], found["head_seq"]) == (3, 2, 5)
    assert found["receipt"]["seq"] == 3 and found["receipt"]["issued_at"].endswith("Z")
    assert found["full_verification"]["job_id"] == job_id
    assert found["full_verification"]["head_seq"] == 3
    assert found["summary"].startswith("Ledger intact from receipt #3: entries #4–#5 recomputed;")
    assert f"(job #{job_id}) and not re-read now" in found["summary"]
    doc = api.get("/openapi.json", as_=None).get_json()
    conforms(found, {"$ref": "#/components/schemas/QuickVerifyOut"}, doc)
    db.session.rollback()
    assert [j.kind for j in jobs.recent_jobs(users["qa"], kind=jobs.VERIFICATIONS)] == [
        "ledger_verify"  # a GET records nothing, as GET /ledger/verify records nothing
    ]


def test_the_quick_check_names_an_entry_altered_after_the_receipt(api, three_then_two):
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET data = '{}' WHERE seq = 5"))

    found = api.get("/ledger/verify/from-receipt", as_="qa").get_json()

    assert found["intact"] is False and found["checked"] == 1
    assert found["first_break"]["seq"] == 5 and "altered" in found["first_break"]["problem"]
    assert found["summary"].startswith("LEDGER BROKEN at entry #5")


def test_with_nothing_to_start_from_the_answer_is_409_saying_why(api):
    api.register("ADIPOSE")

    error = assert_error(api.get("/ledger/verify/from-receipt", as_="qa"), 409, "no_intact_receipt")

    assert error["message"] == (
        "No quick check: no full verification of the ledger has finished yet. "
        "Run the full verification."
    )


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_others_may_not_check_quickly(api, three_then_two, role):
    assert_error(api.get("/ledger/verify/from-receipt", as_=role), 403)
