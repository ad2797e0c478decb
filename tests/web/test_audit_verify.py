"""QA verifies the ledger from the audit workspace: a button starts a job, the
job's page shows a real progress bar that a vendored script polls from the job's JSON, and
the verdict — intact with the count and head, or loudly the first broken entry.

Each read is rolled back at once: the test's session must hold no SQLite transaction while
the job's thread writes its progress.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from lims.extensions import db
from lims.services.custody import jobs, ledger
from tests.service.lab import triggers_off
from tests.service.test_jobs import queued_only, wait_until_finished  # noqa: F401

from .conftest import text_of


@pytest.fixture
def five_entries(unit_in) -> None:
    unit_in("received")  # register, receive
    unit_in("received")
    unit_in("collected")
    db.session.commit()
    assert ledger.count() == 5


def start(client) -> int:
    response = client.post("/audit/verify")
    db.session.rollback()
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    match = re.fullmatch(r"/audit/jobs/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def poll(client, job_id: int) -> dict:
    def read() -> dict:
        response = client.get(f"/audit/jobs/{job_id}.json")
        assert response.status_code == 200 and response.is_json
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()

    return wait_until_finished(read)


def page(client, job_id: int):
    try:
        return client.get(f"/audit/jobs/{job_id}")
    finally:
        db.session.rollback()


def test_qa_verifies_the_ledger_and_sees_it_intact(login, five_entries):
    client = login("qa")
    form = client.get("/audit/verify")
    assert form.status_code == 200
    assert "Verify the ledger" in text_of(form)
    assert 'action="/audit/verify"' in form.get_data(as_text=True)

    job_id = start(client)
    final = poll(client, job_id)

    assert final["status"] == "done"
    assert final["progress"] == final["total"] == 5 and final["percent"] == 100
    assert final["result"]["intact"] is True
    response = page(client, job_id)
    html = response.get_data(as_text=True)
    assert "Ledger intact: 5 entries verified, head #5" in text_of(response)
    assert re.search(r'<progress id="job-progress"[^>]* max="5" value="5"', html), html
    assert "LEDGER BROKEN" not in html
    listing = client.get("/audit/verify")
    db.session.rollback()
    assert f'href="/audit/jobs/{job_id}"' in listing.get_data(as_text=True)
    assert "Ledger intact: 5 entries verified, head #5." in text_of(listing)


@pytest.mark.req("P11-4")
def test_a_broken_ledger_is_named_loudly(login, five_entries):
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET data = '{}' WHERE seq = 4"))
    client = login("admin")

    job_id = start(client)
    final = poll(client, job_id)

    assert final["result"]["intact"] is False and final["result"]["first_break"]["seq"] == 4
    response = page(client, job_id)
    html = response.get_data(as_text=True)
    assert re.search(r'<section class="stop-refusal job-broken" role="alert"', html)
    words = text_of(response)
    assert "LEDGER BROKEN" in words
    assert "First broken entry: #4" in words and "altered" in words
    assert "3 entries before it verified" in words
    assert "Ledger intact" not in words


def test_the_job_page_works_without_javascript_and_polls_with_it(
    login, users, five_entries, monkeypatch
):
    """A job nobody has run yet: the page as of loading, a Refresh link, the polled URL."""
    monkeypatch.setattr(jobs, "_dispatch", lambda job_id: None)
    client = login("qa")
    job_id = start(client)

    response = page(client, job_id)

    html = response.get_data(as_text=True)
    assert re.search(r'<progress id="job-progress" class="job-progress" max="5">', html), html
    assert f'data-job-poll="/audit/jobs/{job_id}.json"' in html
    assert 'data-job-status="queued"' in html
    assert f'<a class="btn" href="/audit/jobs/{job_id}">Refresh</a>' in html
    assert '<script src="/static/js/progress.js" defer></script>' in html
    assert "Waiting to start: 5 entries to check." in text_of(response)
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
    state = client.get(f"/audit/jobs/{job_id}.json").get_json()
    db.session.rollback()
    assert state == {
        "id": job_id,
        "status": "queued",
        "progress": 0,
        "total": 5,
        "percent": 0,
        "finished": False,
        "summary": "Waiting to start: 5 entries to check.",
        "result": None,
        "error": None,
    }


def test_the_polling_script_is_vendored(client):
    response = client.get("/static/js/progress.js")

    script = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200
    assert "data-job-poll" in script and "setTimeout" in script
    assert "http" not in script.replace("HTTP ", "")


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_others_may_neither_start_nor_watch_a_verification(
    login, users, five_entries, monkeypatch, role
):
    monkeypatch.setattr(jobs, "_dispatch", lambda job_id: None)
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()
    client = login(role)

    for response in (
        client.get("/audit/verify"),
        client.post("/audit/verify"),
        client.post("/audit/verify/quick"),
        client.get(f"/audit/jobs/{job_id}"),
        client.get(f"/audit/jobs/{job_id}.json"),
    ):
        assert response.status_code == 403
    db.session.rollback()
    assert [j.id for j in jobs.recent_jobs(users["qa"])] == [job_id]  # none started


def test_an_unknown_job_is_a_clear_404(login, users):
    client = login("qa")

    response = client.get("/audit/jobs/424242")

    assert response.status_code == 404
    assert "no job 424242" in text_of(response)


@pytest.mark.usefixtures("queued_only")
def test_pressing_verify_again_while_one_waits_shows_the_waiting_one(login, five_entries, users):
    queued = jobs.start_ledger_verify(users["qa"])  # queued, never handed to a worker here
    db.session.commit()

    response = login("qa").post("/audit/verify", follow_redirects=True)

    assert response.request.path == f"/audit/jobs/{queued.id}"
    assert "a verification is already queued" in text_of(response)
    assert len(jobs.recent_jobs(users["qa"])) == 1


# ---------------------------------------------------------------------------- quick check (decision 94)


def quick(client):
    try:
        return client.post("/audit/verify/quick")
    finally:
        db.session.rollback()


@pytest.mark.req("P11-4")
def test_qa_checks_quickly_from_the_last_intact_receipt(login, five_entries, unit_in):
    client = login("qa")
    form = client.get("/audit/verify")
    db.session.rollback()
    assert "Quick check from the last intact receipt" in text_of(form)
    assert 'action="/audit/verify/quick"' in form.get_data(as_text=True)
    full = start(client)
    assert poll(client, full)["result"]["intact"]  # and, without a broker, a receipt of #5
    unit_in("collected")
    unit_in("collected")
    db.session.commit()

    response = quick(client)

    match = re.fullmatch(r"/audit/jobs/(\d+)", response.location)
    assert response.status_code == 302 and match, response.location
    job_id = int(match.group(1))
    shown = page(client, job_id)
    words = text_of(shown)
    assert "Quick check from the last intact receipt" in words
    assert "Ledger intact from receipt #5 to head #7" in words
    assert re.search(
        rf"entries #6–#7 recomputed; entries up to #5 were found intact by the full verification "
        rf"of \S+ \S+ UTC \(job #{full}\) and not re-read now",
        words,
    ), words
    assert "LEDGER BROKEN" not in words
    state = client.get(f"/audit/jobs/{job_id}.json").get_json()
    db.session.rollback()
    assert state["status"] == "done" and state["progress"] == state["total"] == 2
    listing = text_of(client.get("/audit/verify"))
    db.session.rollback()
    assert "Ledger intact from receipt #5: entries #6–#7 recomputed" in listing
    assert "Ledger intact: 5 entries verified, head #5." in listing


def test_a_quick_check_names_an_entry_altered_after_the_receipt(login, five_entries, unit_in):
    client = login("admin")
    assert poll(client, start(client))["result"]["intact"]
    unit_in("collected")
    unit_in("collected")
    db.session.commit()
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET data = '{}' WHERE seq = 7"))

    response = page(client, int(quick(client).location.rsplit("/", 1)[1]))

    html = response.get_data(as_text=True)
    assert re.search(r'<section class="stop-refusal job-broken" role="alert"', html)
    words = text_of(response)
    assert "LEDGER BROKEN" in words and "First broken entry: #7" in words
    assert "1 entries after receipt #5 verified before it" in words


def test_with_nothing_to_start_from_the_page_says_so_and_records_nothing(
    login, five_entries, users
):
    client = login("qa")

    response = client.post("/audit/verify/quick", follow_redirects=True)
    db.session.rollback()

    assert response.status_code == 200 and response.request.path == "/audit/verify"
    assert (
        "No quick check: no full verification of the ledger has finished yet. "
        "Run the full verification." in text_of(response)
    )
    assert jobs.recent_jobs(users["qa"], kind=jobs.VERIFICATIONS) == []
