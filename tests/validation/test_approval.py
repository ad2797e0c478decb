"""A kept validation report and QA's signed approval: through the service, the pages under
Audit and the API. Once only, QA only, the password again; a report that is not clean only
with a justification the signature covers; a report whose data was changed not at all."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.domain.ledger_chain import canonical_json
from lims.extensions import db
from lims.models import LedgerEntry, ValidationReport
from lims.services.audit import validation
from lims.services.custody import ledger
from tests.api.helpers import assert_error
from tests.conftest import PASSWORD
from tests.validation.stored import keep_report


def _entries(action: str) -> list[LedgerEntry]:
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == action)))


def _ledger_size() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


# ---------------------------------------------------------------------------- service


@pytest.mark.req("A11-3")
def test_a_kept_report_is_recorded_in_the_ledger_and_approved_once_by_qa(users):
    report = keep_report()
    (recorded,) = _entries(validation.RECORDED)
    facts = json.loads(recorded.data)
    assert recorded.unit_id is None and report.recorded_entry_id == recorded.id
    assert (facts["report_id"], facts["sha256"]) == (report.id, report.sha256)
    assert facts["tests"] == {"passed": 12, "failed": 0, "error": 0, "skipped": 1, "total": 13}
    assert validation.digest(report.content) == report.sha256

    approved = validation.approve_report(report.id, users["qa"], PASSWORD)
    assert approved.approved_by_id == users["qa"].id and approved.approved_at
    (entry,) = _entries(validation.APPROVED)
    assert approved.approved_entry_id == entry.id
    data = json.loads(entry.data)
    record = data["signed_record"]
    assert record["meaning"] == "approved"
    assert record["report"]["sha256"] == report.sha256
    assert record["report"]["tests"]["failed"] == 0
    (signature,) = data["signatures"]
    assert (signature["name"], signature["meaning"]) == ("Test Qa", "approved")
    assert PASSWORD not in entry.data

    with pytest.raises(Conflict) as again:
        validation.approve_report(report.id, users["qa"], PASSWORD)
    assert again.value.code == "already_approved"
    assert ledger.verify().intact


def test_refusals_change_nothing(users):
    report = keep_report()
    before = _ledger_size()
    with pytest.raises(Invalid) as wrong:
        validation.approve_report(report.id, users["qa"], "not-my-password")
    assert (wrong.value.code, wrong.value.fields) == (
        "wrong_password",
        {"password": "wrong password"},
    )
    for role in ("technician", "clinician", "admin"):
        with pytest.raises(Forbidden):
            validation.approve_report(report.id, users[role], PASSWORD)
    with pytest.raises(NotFound):
        validation.approve_report(report.id + 1000, users["qa"], PASSWORD)
    with pytest.raises(Invalid) as meaning:
        validation.approve(report.id, {"password": PASSWORD, "meaning": "reviewed"}, users["qa"])
    assert "meaning" in meaning.value.fields
    db.session.expire_all()
    assert db.session.get(ValidationReport, report.id).approved_at is None
    assert _ledger_size() == before


def test_a_report_that_is_not_clean_is_approved_only_with_a_justification(users):
    report = keep_report(failed=2, claimed_not_met=1)
    with pytest.raises(Invalid) as refused:
        validation.approve_report(report.id, users["qa"], PASSWORD)
    assert refused.value.code == "justification_required"
    assert "2 marked test(s) failed or broke" in refused.value.message
    assert "1 claimed requirement(s) not met" in refused.value.message

    why = "the two failures are the label printer's, which this site does not use"
    validation.approve_report(report.id, users["qa"], PASSWORD, justification=why)
    (entry,) = _entries(validation.APPROVED)
    record = json.loads(entry.data)["signed_record"]
    assert record["justification"] == why and entry.reason == why
    assert record["report"]["tests"]["failed"] == 2
    assert record["report"]["requirements"]["claimed_not_met"] == 1


def test_a_report_whose_data_was_changed_is_not_approved(users):
    report = keep_report()
    changed = report.content.replace('"passed":12', '"passed":99')
    db.session.execute(
        text("UPDATE validation_reports SET content = :c WHERE id = :i"),
        {"c": changed, "i": report.id},
    )
    db.session.commit()
    found = validation.view(report.id, users["qa"])
    assert not found.intact
    assert "the stored data no longer matches its digest" in found.problems
    with pytest.raises(Conflict) as refused:
        validation.approve_report(report.id, users["qa"], PASSWORD, justification="x")
    assert refused.value.code == "report_altered"


def test_the_same_report_is_recorded_once(users):
    report = keep_report()
    with pytest.raises(Conflict) as twice:
        validation.record(
            json.loads(report.content),
            report.html,
            report.pdf,
            generated_by="tests",
            actor=users["admin"],
        )
    assert twice.value.code == "already_recorded"
    assert canonical_json(json.loads(report.content)) == report.content


# ---------------------------------------------------------------------------- pages


def test_qa_reads_the_list_and_approves_with_a_signature(login, users):
    clean, dirty = keep_report(), keep_report(failed=1)
    client = login("qa")
    page = client.get("/audit/validation").get_data(as_text=True)
    assert f'data-report="{clean.id}" data-clean="yes"' in page
    assert f'data-report="{dirty.id}" data-clean="no"' in page
    assert "NOT CLEAN:" in page and "1 marked test(s) failed or broke" in page
    assert clean.sha256[:16] in page
    assert f'action="/audit/validation/{clean.id}/approve"' in page

    wrong = client.post(
        f"/audit/validation/{clean.id}/approve",
        data={"password": "wrong-password-1", "meaning": "approved"},
    )
    assert wrong.status_code == 422
    assert "wrong password" in wrong.get_data(as_text=True)

    refused = client.post(
        f"/audit/validation/{dirty.id}/approve", data={"password": PASSWORD, "meaning": "approved"}
    )
    assert refused.status_code == 422
    assert "say why the report is approved as it is" in refused.get_data(as_text=True)

    done = client.post(
        f"/audit/validation/{clean.id}/approve", data={"password": PASSWORD, "meaning": "approved"}
    )
    assert done.status_code == 302
    page = client.get("/audit/validation").get_data(as_text=True)
    assert "✔ Approved by Test Qa" in page
    assert f'action="/audit/validation/{clean.id}/approve"' not in page
    again = client.post(
        f"/audit/validation/{clean.id}/approve", data={"password": PASSWORD, "meaning": "approved"}
    )
    assert again.status_code == 409


def test_admin_reads_but_has_no_form_and_the_report_opens_sandboxed(login, users):
    report = keep_report()
    client = login("admin")
    page = client.get("/audit/validation").get_data(as_text=True)
    assert f'data-report="{report.id}"' in page and "Awaiting QA's approval" in page
    assert "/approve" not in page

    shown = client.get(f"/audit/validation/{report.id}")
    assert shown.status_code == 200 and shown.mimetype == "text/html"
    policy = shown.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox; ")
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<style nonce="{nonce}">' in shown.get_data(as_text=True)
    assert "sandbox" not in client.get("/audit/validation").headers["Content-Security-Policy"]

    pdf = client.get(f"/audit/validation/{report.id}.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data == report.pdf
    assert "attachment" in pdf.headers["Content-Disposition"]
    data = client.get(f"/audit/validation/{report.id}.json")
    assert validation.digest(data.get_data(as_text=True)) == report.sha256
    assert client.get("/audit/validation/999999").status_code == 404


def test_the_audit_home_links_to_the_reports(login):
    page = login("qa").get("/audit/").get_data(as_text=True)
    assert 'href="/audit/validation"' in page


# ---------------------------------------------------------------------------- API


def test_the_api_lists_reads_and_approves(api, users):
    report = keep_report()
    listed = api.get("/validation-reports", as_="admin").get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["id"], item["sha256"], item["clean"], item["intact"]) == (
        report.id,
        report.sha256,
        True,
        True,
    )
    one = api.get(f"/validation-reports/{report.id}", as_="qa").get_json()
    assert validation.digest(canonical_json(one["data"])) == report.sha256
    pdf = api.get(f"/validation-reports/{report.id}?format=pdf", as_="qa")
    assert pdf.mimetype == "application/pdf" and pdf.data == report.pdf
    html = api.get(f"/validation-reports/{report.id}?format=html", as_="qa")
    assert html.mimetype == "text/html" and "The report" in html.get_data(as_text=True)
    assert_error(api.get(f"/validation-reports/{report.id}?format=doc", as_="qa"), 422)
    assert_error(api.get("/validation-reports/424242", as_="qa"), 404)

    path = f"/validation-reports/{report.id}/approve"
    wrong = api.post(path, {"password": "wrong-password-1", "meaning": "approved"}, as_="qa")
    assert_error(wrong, 422, "wrong_password")
    assert_error(api.post(path, {"password": PASSWORD, "meaning": "approved"}, as_="admin"), 403)
    done = api.post(path, {"password": PASSWORD, "meaning": "approved"}, as_="qa").get_json()
    assert done["approved_by"]["name"] == "Test Qa" and done["approved_entry_id"]
    again = api.post(path, {"password": PASSWORD, "meaning": "approved"}, as_="qa")
    assert_error(again, 409, "already_approved")


def test_the_api_asks_for_a_justification_when_the_report_is_not_clean(api, users):
    report = keep_report(claimed_not_met=1)
    path = f"/validation-reports/{report.id}/approve"
    body = {"password": PASSWORD, "meaning": "approved"}
    error = assert_error(api.post(path, body, as_="qa"), 422, "justification_required")
    assert "justification" in error["fields"]
    done = api.post(path, {**body, "justification": "accepted risk, see CAPA-12"}, as_="qa")
    assert done.status_code == 200 and done.get_json()["clean"] is False
