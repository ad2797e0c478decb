"""QA's pages in the audit workspace: the home with the last verification's verdict,
the head receipts (listed, checked stored or pasted back in, downloaded, issued by a
button) and the deviations list with QA's signed close. Every refusal is a 4xx page that
changes nothing."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import delete, func, select, text

from lims.extensions import db
from lims.models import Deviation, LedgerEntry, LedgerReceipt, Signature
from lims.services.actions import units
from lims.services.custody import jobs, ledger
from tests.backends import backend  # noqa: F401  (SQLite alone: the pages; the rules are tested on both in tests/service)
from tests.rows import a_job
from tests.service.lab import PASSWORD, qc_data, triggers_off, walk
from tests.service.test_jobs import wait_until_finished

from .conftest import text_of

ENTRIES = LedgerEntry.__table__


@pytest.fixture
def product_id(register, users) -> int:
    product = walk(register("ADIPOSE"), "quarantine", users)
    db.session.commit()
    return product.id


@pytest.fixture
def deviation_id(product_id, users) -> int:
    """A viability out of specification on the product: one open deviation."""
    units.perform_action(product_id, "record_qc", qc_data("viability", 40.0), users["technician"])
    db.session.commit()
    return db.session.scalar(select(func.max(Deviation.id)))


def close_form(**overrides) -> dict[str, str]:
    return {
        "decision": "accepted_with_conditions",
        "note": "use only with the physician's documented consent",
        "password": PASSWORD,
        "meaning": "reviewed",
        **overrides,
    }


def stored(deviation_id: int) -> tuple:
    db.session.rollback()
    row = db.session.get(Deviation, deviation_id)
    signatures = db.session.scalar(select(func.count()).select_from(Signature))
    return row.closed_at, row.decision, ledger.count(), signatures


# ---------------------------------------------------------------------------- home


def verified(qa) -> jobs.JobView:
    """A verification started and run to its verdict (in a thread: no broker here)."""
    job_id = jobs.start_ledger_verify(qa).id
    return wait_until_finished(lambda: jobs.get_job(job_id, qa))


def test_qa_lands_on_the_audit_home(login):
    response = login("qa").get("/")

    assert response.status_code == 302 and response.location == "/audit/"


def test_the_home_before_any_verification(login, users):
    page = text_of(login("qa").get("/audit/"))

    assert "The ledger has not been verified yet" in page
    assert "No receipt has been issued yet" in page
    assert "Verify now" in page


def test_the_home_shows_an_intact_verification_who_and_how_many(login, users, unit_in):
    unit_in("received")
    db.session.commit()
    job = verified(users["qa"])

    response = login("qa").get("/audit/")

    html = response.get_data(as_text=True)
    assert f'data-verdict="intact" data-job="{job.id}"' in html
    assert "Ledger intact: 2 entries verified, head #2" in text_of(response)
    assert "Last verification by Test Qa" in text_of(response)
    assert 'data-check="ok"' in html  # the receipt the verification issued still holds


def test_the_home_names_the_first_broken_entry_in_red(login, users, unit_in):
    unit_in("received")
    unit_in("received")
    db.session.commit()
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET actor_name = 'Mallory' WHERE seq = 3"))
    verified(users["qa"])

    response = login("qa").get("/audit/")

    html = response.get_data(as_text=True)
    assert 'data-verdict="broken"' in html and 'data-seq="3"' in html
    assert "LEDGER BROKEN at entry #3" in text_of(response)
    assert "altered" in text_of(response)


def test_the_home_links_a_running_verification(login, users, monkeypatch):
    monkeypatch.setattr(jobs, "_dispatch", lambda job_id: None)
    running = jobs.start_ledger_verify(users["qa"])
    db.session.commit()

    html = login("qa").get("/audit/").get_data(as_text=True)

    assert f'href="/audit/jobs/{running.id}" data-running="{running.id}"' in html


def test_the_home_counts_open_deviations_and_the_release_queue(login, deviation_id):
    response = login("qa").get("/audit/")

    html = response.get_data(as_text=True)
    assert re.search(r'data-tile="deviations".*?data-count="1"', html, re.S)
    assert re.search(r'data-tile="release-queue".*?data-count="1"', html, re.S)
    assert 'href="/audit/deviations"' in html and 'href="/release"' in html


def test_the_home_links_every_page_of_the_workspace(login):
    page = login("qa").get("/audit/").get_data(as_text=True)
    for href in (
        "/audit/ledger",
        "/audit/verify",
        "/audit/receipts",
        "/audit/deviations",
        "/audit/charts",
    ):
        assert f'href="{href}' in page, href


def test_an_admin_sees_the_home_without_the_release_queue_link(login, deviation_id):
    html = login("admin").get("/audit/").get_data(as_text=True)

    assert 'data-tile="release-queue"' in html and 'href="/release"' not in html


def test_the_home_of_the_last_finished_verification_a_route_table_job(login, users):
    a_job(users["qa"])

    assert "Ledger intact: 1 entries verified" in text_of(login("qa").get("/audit/"))


# ---------------------------------------------------------------------------- receipts


@pytest.fixture
def kept(unit_in) -> dict:
    unit_in("received")
    unit_in("received")
    db.session.commit()
    return ledger.issue_receipt()


def receipt_id() -> int:
    return db.session.scalar(select(func.max(LedgerReceipt.id)))


def cut_tail(*seqs: int, with_receipts: bool = False) -> None:
    with triggers_off() as session:
        session.execute(delete(ENTRIES).where(ENTRIES.c.seq.in_(seqs)))
        if with_receipts:
            session.execute(delete(LedgerReceipt.__table__))


def test_the_button_issues_a_receipt_of_the_head(login, kept, unit_in):
    unit_in("collected")  # the head moves on from the kept receipt's #4 to #5
    db.session.commit()
    client = login("admin")

    response = client.post("/audit/receipts")

    assert response.status_code == 302 and response.location == "/audit/receipts"
    page = client.get("/audit/receipts").get_data(as_text=True)
    assert "Head receipt issued: entry #5" in page
    assert page.count('data-seq="5"') == 1 and page.count('data-seq="4"') == 1
    assert page.count("✔ valid") == 2


def test_a_head_already_signed_is_not_signed_again(login, kept):
    client = login("qa")

    response = client.post("/audit/receipts", follow_redirects=True)

    assert "Entry #4, the head, is already signed" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(LedgerReceipt)) == 1


def test_a_stored_receipt_checks(login, kept):
    response = login("qa").get(f"/audit/receipts/{receipt_id()}")

    assert response.status_code == 200
    assert 'data-check="ok"' in response.get_data(as_text=True)
    assert "Receipt holds: entry #4 is still in the ledger" in text_of(response)


def test_a_stored_receipt_names_the_entries_cut_from_the_end(login, kept):
    cut_tail(3, 4)

    response = login("qa").get(f"/audit/receipts/{receipt_id()}")

    assert 'data-check="bad"' in response.get_data(as_text=True)
    assert "RECEIPT DOES NOT HOLD" in text_of(response)
    assert "entries #3–#4 signed on" in text_of(response)


def test_the_receipt_downloads_as_json_to_keep(login, kept):
    response = login("qa").get(f"/audit/receipts/{receipt_id()}.json")

    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.get_data(as_text=True)) == kept


def test_a_pasted_receipt_catches_a_tail_cut_with_the_receipts(login, kept):
    cut_tail(4, with_receipts=True)

    response = login("qa").post("/audit/receipts/check", data={"receipt": json.dumps(kept)})

    assert response.status_code == 200
    assert "RECEIPT DOES NOT HOLD" in text_of(response)
    assert "entry #4 signed on" in text_of(response) and "is missing" in text_of(response)
    assert "No receipt has been issued yet" in text_of(response)


def test_a_pasted_receipt_of_an_intact_ledger_holds(login, kept):
    response = login("qa").post("/audit/receipts/check", data={"receipt": json.dumps(kept)})

    assert "Receipt holds" in text_of(response) and "the pasted receipt" in text_of(response)


def test_a_pasted_forgery_is_refused(login, kept):
    forged = json.dumps({**kept, "seq": 2})

    response = login("qa").post("/audit/receipts/check", data={"receipt": forged})

    assert "signature is not valid" in text_of(response)
    assert "Signature NOT valid" in text_of(response)


@pytest.mark.parametrize(
    ("pasted", "says"),
    [("", "paste the receipt"), ("{", "not JSON"), ("x" * 5000, "under 4000"), ("[]", "object")],
)
def test_what_is_not_a_receipt_is_refused_beside_the_field(login, kept, pasted, says):
    response = login("qa").post("/audit/receipts/check", data={"receipt": pasted})

    assert response.status_code == 422
    assert 'class="field has-error' in response.get_data(as_text=True)
    assert says in text_of(response)


@pytest.mark.parametrize("query", ["?page=abc", "?page=-3", "?page=99999999999999999999"])
def test_any_page_of_receipts_answers(login, kept, query):
    assert login("qa").get(f"/audit/receipts{query}").status_code == 200


@pytest.mark.parametrize("url", ["/audit/receipts/424242", "/audit/receipts/424242.json"])
def test_an_unknown_receipt_is_404(login, url):
    assert login("qa").get(url).status_code == 404


def test_a_huge_receipt_id_is_404(login):
    assert login("qa").get("/audit/receipts/99999999999999999999").status_code == 404


# ---------------------------------------------------------------------------- deviations


def test_the_list_shows_an_open_deviation_with_its_unit(login, deviation_id, product_id):
    response = login("qa").get("/audit/deviations")

    html = response.get_data(as_text=True)
    assert f'data-deviation="{deviation_id}" data-state="open"' in html
    assert f'href="/units/{product_id}"' in html
    assert "Viability 40" in text_of(response) and "Opened by Test Technician" in text_of(response)
    assert f'href="/audit/deviations/{deviation_id}/close"' in html


def test_an_admin_reads_the_list_but_is_offered_no_close(login, deviation_id):
    html = login("admin").get("/audit/deviations").get_data(as_text=True)

    assert f'data-deviation="{deviation_id}"' in html
    assert "/close" not in html and "Only QA closes deviations" in html


def test_qa_closes_a_deviation_with_a_signature(login, deviation_id, product_id):
    client = login("qa")
    shown = client.get(f"/audit/deviations/{deviation_id}/close")
    assert '<input checked id="meaning-0" name="meaning" type="radio" value="reviewed">' in (
        shown.get_data(as_text=True)
    )
    assert "does not change the unit" in text_of(shown)

    response = client.post(f"/audit/deviations/{deviation_id}/close", data=close_form())

    assert response.status_code == 302
    assert response.location == "/audit/deviations?state=closed"
    page = client.get(response.location)
    assert f"Deviation #{deviation_id} closed: accepted with conditions, signed." in text_of(page)
    assert "Decision: accepted with conditions — use only with the physician" in text_of(page)
    assert re.search(r"Signed by Test Qa, \d{4}-\d\d-\d\d \d\d:\d\d CET: reviewed", text_of(page))
    unit_page = text_of(client.get(f"/units/{product_id}"))
    assert "close deviation" in unit_page.lower() and ": reviewed" in unit_page


def test_the_unit_page_says_whether_its_deviation_is_open_or_decided(
    login, deviation_id, product_id
):
    client = login("qa")
    assert "open — awaiting QA's decision" in text_of(client.get(f"/units/{product_id}"))

    client.post(f"/audit/deviations/{deviation_id}/close", data=close_form())

    page = text_of(client.get(f"/units/{product_id}"))
    assert "open — awaiting QA's decision" not in page
    assert re.search(r"closed: accepted with conditions — Test Qa, \d{4}-\d\d-\d\d \d\d:\d\d", page)
    assert "use only with the physician's documented consent" in page


def test_closing_again_is_409_and_changes_nothing(login, deviation_id):
    client = login("qa")
    client.post(f"/audit/deviations/{deviation_id}/close", data=close_form())
    before = stored(deviation_id)

    response = client.post(
        f"/audit/deviations/{deviation_id}/close", data=close_form(decision="product_rejected")
    )

    assert response.status_code == 409 and "Already closed" in text_of(response)
    assert stored(deviation_id) == before


def test_a_wrong_password_is_422_beside_the_field_and_changes_nothing(login, deviation_id):
    before = stored(deviation_id)

    response = login("qa").post(
        f"/audit/deviations/{deviation_id}/close", data=close_form(password="guess")
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="password-error-1">wrong password<', html)
    assert re.findall(r'<(\w+) [^>]*autofocus[^>]*name="(\w+)"', html) == [("input", "password")]
    assert stored(deviation_id) == before


def test_wrong_passwords_pause_the_signers_signing(login, deviation_id, app):
    client = login("qa")
    budget = int(app.config["SIGNING_THROTTLE"].split()[0])
    url = f"/audit/deviations/{deviation_id}/close"

    wrong = [client.post(url, data=close_form(password=f"g{i}")).status_code for i in range(budget)]
    blocked = client.post(url, data=close_form())

    assert wrong == [422] * budget and blocked.status_code == 429
    assert stored(deviation_id)[0] is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"decision": ""}, "decision"),
        ({"decision": "whatever"}, "decision"),
        ({"note": ""}, "note"),
        ({"note": "n" * 5000}, "note"),
        ({"meaning": "approved for release"}, "meaning"),
    ],
)
def test_bad_fields_are_named_and_change_nothing(login, deviation_id, form, field):
    before = stored(deviation_id)

    response = login("qa").post(f"/audit/deviations/{deviation_id}/close", data=close_form(**form))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.findall(r'id="(\w+)-error-1"', html) == [field]
    assert stored(deviation_id) == before


@pytest.mark.parametrize("role", ["admin", "technician", "clinician"])
def test_others_may_not_close(login, deviation_id, role):
    before = stored(deviation_id)

    response = login(role).post(f"/audit/deviations/{deviation_id}/close", data=close_form())

    assert response.status_code == 403
    assert stored(deviation_id) == before


@pytest.mark.parametrize("url_id", ["424242", "99999999999999999999", "abc"])
def test_an_unknown_deviation_is_404(login, url_id):
    assert login("qa").get(f"/audit/deviations/{url_id}/close").status_code == 404


@pytest.mark.parametrize(
    "query", ["?state=shut", "?kind=mystery", "?state=" + "x" * 3000, "?state=open&kind=%00"]
)
def test_an_unknown_filter_is_a_clear_422(login, deviation_id, query):
    response = login("qa").get(f"/audit/deviations{query}")

    assert response.status_code == 422
    assert "unknown" in text_of(response)


@pytest.mark.parametrize("query", ["?state=closed", "?state=all&page=abc", "?page=10000000000000"])
def test_filters_and_pages_answer(login, deviation_id, query):
    assert login("qa").get(f"/audit/deviations{query}").status_code == 200
