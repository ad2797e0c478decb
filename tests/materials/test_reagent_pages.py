"""Reagent lots in the browser: the list with its flags and filters, receiving a lot (refusals
beside their fields, nothing stored), the lot page (banner, QA's signed decision, label,
record, recall table), wrong passwords counted like failed sign-ins, the recall CSV and the
scan box opening a lot from its code."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from lims.extensions import db
from lims.models import ReagentLot
from lims.services.materials import reagents
from tests.backends import backend  # noqa: F401  (SQLite alone: the pages; the rules are tested on both in test_reagent_service)
from tests.conftest import PASSWORD

from .reagent_lab import accepted, lot_fields, receive, set_expiry, stored, today, use_on


def text_of(response) -> str:
    """What a person reads: the page without tags, white space collapsed."""
    html = re.sub(
        r"<(script|style|svg)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S
    )
    text = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&#39;", "'"), ("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">")):
        text = text.replace(entity, char)
    return " ".join(text.replace("&amp;", "&").split())


def row_of(html: str, lot: ReagentLot) -> str:
    match = re.search(rf'<tr class="lot-row lot-row-(\w+)" data-lot="{lot.id}">', html)
    assert match, lot.code
    return match.group(1)


def form_of(**overrides) -> dict[str, str]:
    """What a technician types into the receive form."""
    data = {k: str(v) for k, v in lot_fields().items()}
    data["quantity"] = "10,5"  # a decimal comma, as typed on a German tablet
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------- the list


def test_the_list_shows_each_lots_flag(login, users):
    usable = accepted(users, lot_number="U-1")
    waiting = receive(users, lot_number="A-1")
    expired = accepted(users, lot_number="E-1")
    set_expiry(expired, today() - timedelta(days=2))

    response = login("technician").get("/reagent-lots")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert row_of(html, usable) == "usable"
    assert row_of(html, waiting) == "awaiting"
    assert row_of(html, expired) == "expired"
    assert "⚠ Expired" in text_of(response)
    assert 'href="/reagent-lots/new"' in html


def test_the_list_filters_by_reagent_and_state(login, users):
    waiting = receive(users, lot_number="A-1", reagent="wash buffer")
    other = receive(users, lot_number="A-2")

    html = (
        login("qa").get("/reagent-lots?state=awaiting&reagent=wash+buffer").get_data(as_text=True)
    )

    assert f'data-lot="{waiting.id}"' in html and f'data-lot="{other.id}"' not in html
    flagged = login("qa").get("/reagent-lots?state=flagged").get_data(as_text=True)
    assert "No lot matches." in flagged


def test_an_unknown_filter_says_so(login, users):
    response = login("admin").get("/reagent-lots?state=lost")
    assert response.status_code == 422
    assert "unknown filter" in text_of(response)
    assert 'href="/reagent-lots/new"' not in response.get_data(
        as_text=True
    )  # admins do not receive


# ---------------------------------------------------------------------------- receiving


def test_a_technician_receives_a_lot_and_lands_on_its_page(login, users):
    client = login("technician")

    response = client.post("/reagent-lots/new", data=form_of())

    assert response.status_code == 302
    lot = db.session.query(ReagentLot).filter_by(lot_number="N-2417").one()
    assert response.location.endswith(f"/reagent-lots/{lot.id}")
    assert lot.quantity_received == 10.5 and lot.received_by_id == users["technician"].id
    page = client.get(response.location)
    assert f"received as {lot.code}" in text_of(page)
    assert "Not yet usable" in text_of(page)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reagent": ""}, "reagent"),
        ({"quantity": "ten"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity_unit": "litre"}, "quantity_unit"),
        ({"expires_on": "2020-01-01"}, "expires_on"),
        ({"coa_ref": "   "}, "coa_ref"),
        ({"storage": ""}, "storage"),
    ],
)
def test_a_refused_receipt_names_the_field_keeps_what_was_typed_and_stores_nothing(
    login, users, overrides, field
):
    before = stored()

    response = login("technician").post("/reagent-lots/new", data=form_of(**overrides))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.findall(r'id="(\w+)-error-1"', html) == [field]
    assert 'value="Collagenase NB 4 Standard Grade"' in html
    assert stored() == before


def test_an_unreadable_date_is_refused_before_the_service(login, users):
    before = stored()
    response = login("qa").post("/reagent-lots/new", data=form_of(expires_on="next year"))
    assert response.status_code == 422
    assert re.findall(r'id="(\w+)-error-1"', response.get_data(as_text=True)) == ["expires_on"]
    assert stored() == before


def test_a_second_receipt_of_the_same_lot_is_refused(login, users):
    first = receive(users)
    before = stored()

    response = login("technician").post("/reagent-lots/new", data=form_of())

    assert response.status_code == 409
    assert f"received already, as {first.code}" in text_of(response)
    assert stored() == before


# ---------------------------------------------------------------------------- the lot page


def test_qa_sees_the_decision_forms(login, users):
    lot = receive(users)
    page = login("qa").get(f"/reagent-lots/{lot.id}").get_data(as_text=True)
    assert f'action="/reagent-lots/{lot.id}/accept"' in page
    assert f'action="/reagent-lots/{lot.id}/reject"' in page
    assert page.count('name="password"') == 2
    assert page.count('id="password"') == page.count('id="reject-password"') == 1


@pytest.mark.parametrize("role", ["technician", "admin"])
def test_others_see_the_lot_without_the_decision_forms(login, users, role):
    lot = receive(users)
    page = login(role).get(f"/reagent-lots/{lot.id}").get_data(as_text=True)
    assert "/accept" not in page and 'name="password"' not in page
    assert "QA has not accepted this lot" in page


def test_the_qa_who_received_a_lot_is_told_a_second_person_decides(login, users):
    lot = receive(users, as_="qa")
    page = login("qa").get(f"/reagent-lots/{lot.id}")
    assert "a second person from QA accepts or rejects it" in text_of(page)
    assert 'name="password"' not in page.get_data(as_text=True)


def test_qa_signs_the_acceptance_on_the_page(login, users):
    lot = receive(users)
    client = login("qa")

    response = client.post(
        f"/reagent-lots/{lot.id}/accept", data={"password": PASSWORD, "meaning": "approved"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert reagents.state_of(db.session.get(ReagentLot, lot.id)) == "usable"
    page = client.get(f"/reagent-lots/{lot.id}")
    text = text_of(page)
    assert "accepted: it may be used. Signed." in text
    assert "Signed by Test Qa, " in text and ": approved" in text
    assert 'data-lot-flag="' not in page.get_data(as_text=True)


def test_a_wrong_password_is_shown_beside_the_field_and_signs_nothing(login, users):
    lot = receive(users)
    before = stored()

    response = login("qa").post(
        f"/reagent-lots/{lot.id}/accept", data={"password": "guess", "meaning": "approved"}
    )

    assert response.status_code == 422
    assert re.search(r'id="password-error-1">wrong password<', response.get_data(as_text=True))
    assert "Nothing was signed" in text_of(response)
    assert stored() == before


def test_wrong_passwords_pause_the_signers_signing(login, users, app):
    lot = receive(users)
    client = login("qa")
    budget = int(app.config["SIGNING_THROTTLE"].split()[0])
    url = f"/reagent-lots/{lot.id}/accept"

    wrong = [
        client.post(url, data={"password": f"g{i}", "meaning": "approved"}).status_code
        for i in range(budget)
    ]
    blocked = client.post(url, data={"password": PASSWORD, "meaning": "approved"})

    assert wrong == [422] * budget and blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    db.session.expire_all()
    assert db.session.get(ReagentLot, lot.id).accepted_at is None


def test_qa_rejects_a_lot_on_the_page_and_it_is_flagged(login, users):
    lot = receive(users)
    client = login("qa")

    missing = client.post(
        f"/reagent-lots/{lot.id}/reject", data={"password": PASSWORD, "meaning": "rejected"}
    )
    assert missing.status_code == 422
    assert re.findall(r'id="([\w-]+)-error-1"', missing.get_data(as_text=True)) == ["reason"]

    response = client.post(
        f"/reagent-lots/{lot.id}/reject",
        data={"reason": "seal broken", "password": PASSWORD, "meaning": "rejected"},
    )

    assert response.status_code == 302
    page = client.get(f"/reagent-lots/{lot.id}")
    assert 'data-lot-flag="rejected"' in page.get_data(as_text=True)
    assert "Do not use this lot. QA rejected it." in text_of(page)
    assert "seal broken" in text_of(page)


def test_a_decided_lot_refuses_a_second_decision(login, users):
    lot = accepted(users)
    response = login("qa").post(
        f"/reagent-lots/{lot.id}/reject",
        data={"reason": "late", "password": PASSWORD, "meaning": "rejected"},
    )
    assert response.status_code == 409
    assert "accepted already" in text_of(response)


@pytest.mark.parametrize("role", ["technician", "admin", "clinician"])
def test_only_qa_signs(login, users, role):
    lot = receive(users, as_="qa")
    before = stored()
    response = login(role).post(
        f"/reagent-lots/{lot.id}/accept", data={"password": PASSWORD, "meaning": "approved"}
    )
    assert response.status_code == 403
    assert stored() == before


def test_an_expired_lot_has_a_loud_banner(login, users):
    lot = accepted(users)
    set_expiry(lot, today() - timedelta(days=1))
    page = login("technician").get(f"/reagent-lots/{lot.id}")
    assert 'data-lot-flag="expired"' in page.get_data(as_text=True)
    assert "Do not use this lot. It expired" in text_of(page)


def test_the_lot_page_lists_the_units_and_patients_it_touched(login, users, register, act):
    lot = accepted(users)
    source = register("ADIPOSE", mrn="MRN-9", name="Recall Patient")
    use_on(source, lot, step="collagenase_digestion", quantity=1.5)

    page = login("technician").get(f"/reagent-lots/{lot.id}")

    text = text_of(page)
    assert "1 unit of 1 patient: used on 1" in text
    assert "Recall Patient MRN-9" in text
    assert "used on it: collagenase_digestion" in text
    assert f'href="/units/{source.id}"' in page.get_data(as_text=True)
    assert f'href="/reagent-lots/{lot.id}/units.csv"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fmt", "mimetype"),
    [("pdf", "application/pdf"), ("zpl", "text/plain"), ("svg", "image/svg+xml")],
)
def test_the_label_carries_the_lots_code(login, users, fmt, mimetype):
    lot = receive(users)
    before = stored()
    response = login("technician").get(f"/reagent-lots/{lot.id}/label?format={fmt}&copies=3")
    assert response.status_code == 200 and response.mimetype == mimetype
    assert stored() == before  # a lot's label is not a ledger entry
    if fmt == "zpl":
        assert lot.code in response.get_data(as_text=True)  # the barcode's data
    if fmt == "svg":
        assert f"{lot.code[:6]} {lot.code[6:-1]}" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["format=png", "copies=0", "copies=many", "copies=101"])
def test_a_label_that_cannot_be_made_says_why(login, users, query):
    lot = receive(users)
    response = login("qa").get(f"/reagent-lots/{lot.id}/label?{query}")
    assert response.status_code == 422


def test_the_recall_csv_names_every_unit_and_patient(login, users, register, act):
    lot = accepted(users)
    source = register("ADIPOSE", mrn="MRN-5", name="=Formula Name")
    use_on(source, lot, step="wash", quantity=3.0)

    response = login("qa").get(f"/reagent-lots/{lot.id}/units.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"recall-{lot.code}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    (row,) = rows
    assert row["unit id"] == str(source.id) and row["MRN"] == "MRN-5"
    assert row["patient"] == "'=Formula Name"  # a spreadsheet runs nothing
    assert row["touched"] == "used on it" and row["steps"] == "wash"
    assert row["quantity used"] == "3.0" and row["quantity unit"] == "g"
    assert row["first use (UTC)"].endswith("Z")


def test_the_recall_csv_of_an_unused_lot_is_its_header(login, users):
    lot = receive(users)
    response = login("technician").get(f"/reagent-lots/{lot.id}/units.csv")
    (header,) = csv.reader(io.StringIO(response.get_data(as_text=True)))
    assert header[:3] == ["unit id", "identifier", "product code"]
    assert header[-2:] == ["first use", "first use (UTC)"]


def test_an_unknown_lot_is_not_found(login, users):
    assert login("qa").get("/reagent-lots/999999").status_code == 404
    assert login("qa").get("/reagent-lots/999999/units.csv").status_code == 404


# ---------------------------------------------------------------------------- the scan box


def test_the_scan_box_opens_a_lot_from_its_code(login, users):
    lot = receive(users)
    response = login("technician").get(f"/scan?code={lot.code}")
    assert response.status_code == 302
    assert response.location.endswith(f"/reagent-lots/{lot.id}")


def test_the_scan_box_tells_a_clinician_what_a_lot_code_is(login, users):
    lot = receive(users)
    response = login("clinician").get(f"/scan?code={lot.code}")
    assert response.status_code == 422
    assert "this is a reagent lot code" in text_of(response)


def test_the_scan_box_says_an_unknown_lot_code_is_unknown(login, users):
    from lims.domain.codes import make_reagent_lot_code

    response = login("qa").get(f"/scan?code={make_reagent_lot_code('T0001', 4242)}")
    assert response.status_code == 404
    assert "no reagent lot has code" in text_of(response)


@pytest.mark.parametrize(
    ("role", "shown"), [("technician", True), ("qa", True), ("admin", True), ("clinician", False)]
)
def test_the_nav_shows_reagents_to_those_who_read_them(login, users, role, shown):
    page = login(role).get("/units/").get_data(as_text=True)
    assert ('href="/reagent-lots"' in page) is shown
