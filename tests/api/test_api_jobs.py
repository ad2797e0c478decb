"""Ledger verification as a job over the API: ``POST /ledger/verify-jobs`` answers
202 with the job and its Location; ``GET /jobs/<id>`` reports progress of total and, when
done, the verdict. The synchronous ``GET /ledger/verify`` stays."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from lims.extensions import db
from lims.services.custody import jobs
from tests.service.lab import triggers_off
from tests.service.test_jobs import wait_until_finished

from .helpers import assert_error
from .test_api_openapi import conforms


@pytest.fixture
def doc(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def ledger_of_three(api) -> dict:
    unit = api.register("ADIPOSE")
    api.act(unit, "receive")
    api.register("BLOOD")
    db.session.commit()
    return unit


def start(api, as_: str = "qa"):
    try:
        return api.post("/ledger/verify-jobs", as_=as_)
    finally:
        db.session.rollback()


def poll(api, location: str, as_: str = "qa") -> dict:
    path = location.removeprefix("/api/v1")

    def read() -> dict:
        response = api.get(path, as_=as_)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return wait_until_finished(read)


@pytest.mark.parametrize("role", ["qa", "admin"])
def test_a_verification_job_is_accepted_and_polled_to_its_verdict(api, doc, ledger_of_three, role):
    response = start(api, as_=role)

    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "ledger_verify" and job["status"] == "queued"
    assert job["total"] == 3 and job["progress"] == 0 and job["result"] is None
    conforms(job, {"$ref": "#/components/schemas/JobOut"}, doc)

    final = poll(api, response.headers["Location"], as_=role)

    assert final["status"] == "done" and final["error"] is None
    assert final["progress"] == final["total"] == 3 and final["percent"] == 100
    assert final["result"] == {"intact": True, "checked": 3, "head_seq": 3, "first_break": None}
    assert final["started_by"]["name"] == f"Test {role.title()}"
    assert final["started_at"].endswith("Z") and final["finished_at"].endswith("Z")
    conforms(final, {"$ref": "#/components/schemas/JobOut"}, doc)


def test_the_job_names_the_first_broken_entry(api, ledger_of_three):
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET reason = 'edited' WHERE seq = 2"))

    final = poll(api, start(api).headers["Location"])

    assert final["status"] == "done"
    assert final["result"]["intact"] is False
    assert final["result"]["first_break"]["seq"] == 2
    assert "altered" in final["result"]["first_break"]["problem"]
    assert final["result"]["checked"] == 1 and final["progress"] == 1
    sync = api.get("/ledger/verify", as_="qa").get_json()  # the synchronous check agrees
    db.session.rollback()
    assert sync["first_break"]["seq"] == 2


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_others_may_neither_start_nor_read_a_job(api, users, ledger_of_three, monkeypatch, role):
    monkeypatch.setattr(jobs, "_dispatch", lambda job_id: None)
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()

    assert_error(start(api, as_=role), 403)
    assert_error(api.get(f"/jobs/{job_id}", as_=role), 403)
    db.session.rollback()
    assert [j.id for j in jobs.recent_jobs(users["qa"])] == [job_id]


def test_without_a_token_nothing_starts(api, users):
    assert_error(start(api, as_=None), 401)
    assert_error(api.get("/jobs/1", as_=None), 401)


def test_an_unknown_job_is_404(api, users):
    error = assert_error(api.get("/jobs/424242", as_="qa"), 404, "unknown_job")

    assert "424242" in error["message"]


def test_the_document_describes_the_job_routes(doc):
    start_op = doc["paths"]["/api/v1/ledger/verify-jobs"]["post"]
    get_op = doc["paths"]["/api/v1/jobs/{job_id}"]["get"]

    assert start_op["description"] == get_op["description"] == "Roles: admin, qa."
    assert start_op["responses"]["202"]["description"] == "Accepted"
    assert "Location" in start_op["responses"]["202"]["headers"]
    assert [p["name"] for p in get_op["parameters"]] == ["job_id"]
    assert {"401", "403", "404"} <= set(get_op["responses"])
