"""A form for each lifecycle action, filled in as a person would, and each
kind of refusal answered on the page (a wrong password beside its field, a wrong patient as a
loud STOP) with nothing changed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from lims.domain.identifiers import make_wristband
from lims.extensions import db
from lims.models import LedgerEntry, QcResult, Unit
from lims.services.actions import units
from lims.services.admin import accounts, locations
from tests.backends import backend  # noqa: F401  (SQLite alone: the forms; each action's rule is tested on both at the service layer)
from tests.service.lab import (
    BENCH_EQUIPMENT,
    BENCH_LOTS,
    CABINET,
    data_for,
    qc_data,
    required_tests,
    sign,
    steps_for,
)

from .conftest import local_input, stored, text_of

PASSWORD = "test-pass-1234"

# ---------------------------------------------------------------------------- helpers


def make_product(
    register,
    users,
    kind: str = "ADIPOSE",
    *,
    qc: str | None = "pass",
    release: bool = False,
    dispense: bool = False,
    mrn: str = "MRN-1",
    name: str = "Pat Example",
) -> Unit:
    """An SVF (or other) product made through the services, with QC recorded ("pass", or
    "pending" sterility, or none) and, if asked, released by QA and dispensed to the
    clinician."""
    tech = users["technician"]
    source = register(kind, mrn=mrn, name=name)
    for action in ("receive", "start_processing", "complete_processing"):
        result = units.perform_action(source.id, action, data_for(action, kind), tech)
    (made,) = result.products
    if qc is not None:
        for test in required_tests(made.unit_type):
            value = "pending" if (qc == "pending" and test == "sterility") else None
            units.perform_action(made.id, "record_qc", qc_data(test, value), tech)
    if release:
        units.perform_action(made.id, "release", sign(), users["qa"])
    if dispense:
        units.perform_action(made.id, "dispense", {"clinician": "doctor"}, tech)
    return made


@pytest.fixture
def product(register, users) -> Callable[..., Unit]:
    """``product(qc=..., release=..., dispense=...)``: see ``make_product``."""
    return partial(make_product, register, users)


def shown_version(response) -> str:
    match = re.search(
        r'name="version" type="hidden" value="(\d+)"', response.get_data(as_text=True)
    )
    assert match, "the form carries the unit's version"
    return match.group(1)


def open_form(client, unit: Unit, action: str, **args: str):
    response = client.get(f"/units/{unit.id}/actions/{action}", query_string=args)
    assert response.status_code == 200, text_of(response)[:800]
    return response


class FormValues(HTMLParser):
    """What a browser sends for the action form as shown: inputs' values, checked radios,
    selected options (else the first), textareas' text; passwords as the user types them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method") == "post" and "form" in a.get("class", ""):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("password", "submit"):
            if a.get("type") != "radio" or "checked" in a:
                self.values[name] = a.get("value", "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select:
            if "selected" in a or self._select not in self.values:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data.lstrip("\n")


def submit(client, unit: Unit, action: str, fields: dict[str, Any], **args: str):
    """Open the action's form, fill in ``fields`` over what it shows, and send it."""
    form = open_form(client, unit, action, **args)
    parser = FormValues()
    parser.feed(form.get_data(as_text=True))
    return client.post(f"/units/{unit.id}/actions/{action}", data={**parser.values, **fields})


def entries(unit_id: int, action: str) -> list[dict]:
    db.session.rollback()
    rows = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.unit_id == unit_id, LedgerEntry.action == action)
        .order_by(LedgerEntry.seq)
    )
    return [json.loads(e.data) for e in rows]


def fresh(unit_id: int) -> Unit:
    db.session.rollback()
    unit = db.session.get(Unit, unit_id)
    assert unit is not None
    return unit


def field_error(response, field_id: str) -> str:
    """The message shown beside one input."""
    html = response.get_data(as_text=True)
    match = re.search(rf'<p class="field-error" id="{field_id}-error-1">([^<]*)</p>', html)
    assert match, f"no message beside {field_id}"
    return match.group(1)


def options_of(response, field_id: str) -> list[str]:
    html = response.get_data(as_text=True)
    select = html.split(f'id="{field_id}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option[^>]*value="([^"]*)"', select)


def input_tag(response, field_id: str) -> str:
    match = re.search(
        rf'<(?:input|select|textarea)[^>]*\bid="{field_id}"[^>]*>', response.get_data(as_text=True)
    )
    assert match, f"no input {field_id}"
    return match.group(0)


def sign_form(password: str = PASSWORD, **fields: str) -> dict[str, str]:
    return {"password": password, "meaning": "approved for release", **fields}


# ---------------------------------------------------------------------------- processing steps


def test_a_technician_records_a_step_in_local_time(login, unit_in):
    unit = unit_in("in_processing")
    client = login("technician")
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=40)

    form = open_form(client, unit, "record_step")
    assert re.search(r'<option [^>]*selected value="wash"', form.get_data(as_text=True))
    assert 'value="wash buffer"' in input_tag(form, "reagent")  # prefilled from the step
    response = submit(
        client,
        unit,
        "record_step",
        {
            "step": "wash",
            "started_at": local_input(start),
            "ended_at": local_input(start + timedelta(minutes=15)),
            "reagent": "wash buffer",
            "lot": BENCH_LOTS["wash buffer"],
            "quantity": "5",
            "equipment": CABINET,
            "notes": "two washes",
        },
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    (step,) = entries(unit.id, "record_step")
    assert step["step"] == "wash" and step["lot"] == BENCH_LOTS["wash buffer"]
    assert step["quantity_used"] == 5.0
    assert datetime.fromisoformat(step["started_at"]) == start
    assert datetime.fromisoformat(step["ended_at"]) == start + timedelta(minutes=15)
    page = text_of(client.get(f"/units/{unit.id}"))
    assert "Wash lipoaspirate Test Technician" in page
    wash = BENCH_LOTS["wash buffer"]
    assert f"wash buffer · lot B-{wash[-7:]} ({wash}) Bench biosafety cabinet {CABINET}" in page
    assert re.search(r"\d\d:\d\d CES?T – \d{4}-\d\d-\d\d \d\d:\d\d CES?T", page)


def test_the_reagent_follows_the_step_chosen_without_scripts(login, unit_in):
    unit = unit_in("in_processing")
    client = login("technician")
    start = datetime.now(UTC) - timedelta(minutes=30)

    # The form prefilled the wash step's reagent; the user picks another step, leaves it.
    response = submit(
        client,
        unit,
        "record_step",
        {
            "step": "collagenase_digestion",
            "started_at": local_input(start),
            "ended_at": local_input(start + timedelta(minutes=20)),
            "reagent": "wash buffer",
            "lot": BENCH_LOTS["collagenase"],
            "quantity": "1",
            "equipment": BENCH_EQUIPMENT["incubator"],
        },
    )

    assert response.status_code == 302
    (step,) = entries(unit.id, "record_step")
    assert step["reagent"] == "collagenase"


def test_a_step_with_a_reagent_and_no_lot_is_answered_beside_the_lot(login, unit_in):
    unit = unit_in("in_processing")
    before = stored(unit.id)
    start = datetime.now(UTC) - timedelta(minutes=30)

    response = submit(
        login("technician"),
        unit,
        "record_step",
        {
            "step": "wash",
            "started_at": local_input(start),
            "ended_at": local_input(start + timedelta(minutes=5)),
        },
    )

    assert response.status_code == 422
    assert (
        field_error(response, "lot") == "Wash lipoaspirate uses wash buffer: scan or pick its lot"
    )
    assert stored(unit.id) == before


def test_the_next_step_is_offered_once_the_earlier_ones_are_recorded(login, unit_in, users):
    unit = unit_in("in_processing")
    for step in steps_for("ADIPOSE")[:2]:
        units.perform_action(unit.id, "record_step", step, users["technician"])

    form = open_form(login("technician"), unit, "record_step")

    html = form.get_data(as_text=True)
    assert re.search(r'<option [^>]*selected value="neutralise_centrifuge"', html)
    assert "Collagenase digestion, 37 °C · collagenase — recorded" in text_of(form)


def test_processing_completes_through_the_form_once_every_step_is_recorded(login, unit_in, users):
    unit = unit_in("in_processing")
    client = login("technician")
    product_row = {
        "products-0-type": "SVF",
        "products-0-volume_ml": "9",
        "products-0-cell_count": "",
    }

    refused = submit(client, unit, "complete_processing", product_row)
    assert refused.status_code == 409
    assert "record every step of Adipose → SVF" in text_of(refused)

    for step in steps_for("ADIPOSE"):
        units.perform_action(unit.id, "record_step", step, users["technician"])
    done = submit(client, unit, "complete_processing", product_row)

    assert done.status_code == 302
    assert fresh(unit.id).status == "processed"


# ---------------------------------------------------------------------------- QC


def test_a_numeric_result_is_judged_and_shown_against_its_spec(login, product):
    made = product(qc=None)
    client = login("technician")

    form = open_form(client, made, "record_qc")
    assert "Viability — spec ≥ 70 % (version 1)" in text_of(form)
    response = submit(
        client,
        made,
        "record_qc",
        {
            "test": "viability",
            "value_number": "70",
            "value_word": "",
            "method": "7-AAD flow",
            "lot": "K-1",
        },
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    (result,) = db.session.scalars(select(QcResult).where(QcResult.unit_id == made.id))
    assert (result.test, result.value, result.verdict) == ("viability", 70.0, "pass")


def test_a_word_result_sends_the_word_not_the_number(login, product):
    made = product(qc=None)

    response = submit(
        login("technician"),
        made,
        "record_qc",
        {
            "test": "gram_stain",
            "value_number": "",
            "value_word": "no organisms seen",
            "method": "Gram stain",
            "lot": "GS-3",
        },
    )

    assert response.status_code == 302
    db.session.rollback()
    (result,) = db.session.scalars(select(QcResult).where(QcResult.unit_id == made.id))
    assert (result.value, result.verdict) == ("no organisms seen", "pass")


def test_a_missing_value_is_answered_beside_the_input_of_the_test(login, product):
    made = product(qc=None)
    before = stored(made.id)
    client = login("technician")

    word = submit(client, made, "record_qc", {"test": "sterility", "method": "BacT", "lot": "B-1"})
    number = submit(client, made, "record_qc", {"test": "endotoxin", "method": "LAL", "lot": "L-1"})

    assert word.status_code == number.status_code == 422
    assert field_error(word, "value_word") == "Field required"
    assert field_error(number, "value_number") == "Field required"
    assert stored(made.id) == before


def test_a_result_out_of_spec_fails_and_opens_a_deviation(login, product):
    made = product(qc=None)
    client = login("technician")

    response = submit(
        client,
        made,
        "record_qc",
        {"test": "viability", "value_number": "69.9", "method": "7-AAD flow", "lot": "K-1"},
    )

    assert response.status_code == 302
    page = client.get(f"/units/{made.id}")
    html, text = page.get_data(as_text=True), text_of(page)
    row = re.search(
        r'<tr class="qc-row verdict-row-fail" data-test="viability">.*?</tr>', html, re.S
    )
    assert row and 'class="verdict v-fail"' in row.group(0)
    assert "Viability ≥ 70 % (version 1) 69.9 % ✗ fail 7-AAD flow K-1 Test Technician" in text
    assert (
        "QC out of specification: Viability 69.9 % is outside specification (≥ 70 %, version 1)"
        in text
    )
    assert "out of specification: viability" in text  # not ready for release


@pytest.mark.req("P11-2")
def test_a_correction_keeps_the_old_value_visible_struck_through_with_its_reason(
    login, product, users
):
    made = product(qc=None)
    first = units.perform_action(
        made.id, "record_qc", qc_data("viability", 7.8), users["technician"]
    ).entries[0]
    old_id = json.loads(first.data)["qc_result_id"]
    client = login("technician")

    form = open_form(client, made, "record_qc", corrects=str(old_id))
    assert re.search(rf'<option [^>]*selected value="{old_id}"', form.get_data(as_text=True))
    response = submit(
        client,
        made,
        "record_qc",
        {
            "value_number": "78",
            "method": "7-AAD flow",
            "lot": "K-1",
            "reason": "decimal point misplaced",
        },
        corrects=str(old_id),
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    db.session.rollback()
    correction = db.session.scalars(select(QcResult).where(QcResult.corrects_id == old_id)).one()
    assert (correction.value, correction.verdict) == (78.0, "pass")
    html = client.get(f"/units/{made.id}").get_data(as_text=True)
    assert "<del>7.8 %</del>" in html
    assert f"corrected by result #{correction.id}: decimal point misplaced" in html
    current = re.search(
        r'<tr class="qc-row verdict-row-pass" data-test="viability">.*?</tr>', html, re.S
    )
    assert current and "78 %" in current.group(0)


def test_after_release_only_sterility_is_offered(login, product):
    made = product(qc="pending", release=True)

    form = open_form(login("technician"), made, "record_qc")

    assert options_of(form, "test") == ["", "sterility"]


# ---------------------------------------------------------------------------- release


def test_qa_sees_qc_against_spec_above_the_release_form(login, product):
    made = product(qc="pending")

    form = open_form(login("qa"), made, "release")

    page = text_of(form)
    assert "QC against specification" in page
    assert "Viability ≥ 70 % (version 1) 85 % ✓ pass validated method QC-LOT-1" in page
    assert "Sterility culture no growth (version 1) pending … pending" in page
    assert "sterility culture still pending, which this specification allows at release" in page
    password = input_tag(form, "password")
    assert 'type="password"' in password and 'autocomplete="current-password"' in password
    assert not re.search(r'value="[^"]', password)  # never prefilled
    meaning = re.search(r'<input[^>]*name="meaning"[^>]*>', form.get_data(as_text=True))
    assert meaning and "checked" in meaning.group(0)
    assert 'value="approved for release"' in meaning.group(0)


def test_readiness_problems_are_listed_before_signing(login, product, users):
    made = product(qc=None)
    units.perform_action(made.id, "record_qc", qc_data("viability", 50.0), users["technician"])

    page = text_of(open_form(login("qa"), made, "release"))

    assert "Not ready for release:" in page
    assert "out of specification: viability" in page
    assert "no result for viable cell count, gram stain, sterility culture, endotoxin" in page


@pytest.mark.req("P11-10")
def test_a_wrong_password_is_answered_beside_the_password_and_changes_nothing(login, product):
    made = product()
    before = stored(made.id)

    response = submit(login("qa"), made, "release", sign_form(password="not-my-password"))

    assert response.status_code == 422
    assert field_error(response, "password") == "wrong password"
    assert "your signature was not accepted; nothing was changed" in text_of(response)
    assert "not-my-password" not in response.get_data(as_text=True)  # never echoed
    assert not re.search(r'value="[^"]', input_tag(response, "password"))
    assert stored(made.id) == before


@pytest.mark.req("T-5")
def test_qa_releases_from_the_form_and_the_unit_shows_the_signature(login, product):
    made = product(qc="pending")
    client = login("qa")

    response = submit(client, made, "release", sign_form())

    assert response.status_code == 302, text_of(response)[-1500:]
    assert fresh(made.id).status == "released"
    page = text_of(client.get(f"/units/{made.id}"))
    assert re.search(
        r"Signed by Test Qa, \d{4}-\d\d-\d\d \d\d:\d\d CES?T: approved for release", page
    )
    assert "released with sterility culture pending" in page


def test_release_refused_for_readiness_shows_the_services_reason(login, product, users):
    made = product(qc=None)
    before = stored(made.id)

    response = submit(login("qa"), made, "release", sign_form())

    assert response.status_code == 409
    assert "cannot release: no result for viable cell count" in text_of(response)
    assert stored(made.id) == before


@pytest.mark.req("F-5")
def test_the_two_person_rule_refusal_shows_the_services_reason(client, users, product):
    made = product()  # the QC was recorded by "tech"
    accounts.change_role(users["technician"], "qa")
    client.post("/login", data={"username": "tech", "password": PASSWORD})
    before = stored(made.id)

    form = open_form(client, made, "release")
    assert "the two-person rule will refuse your signature" in text_of(form)
    response = submit(client, made, "release", sign_form())

    assert response.status_code == 409
    assert (
        "Test Technician may not release this unit: they took part in it (complete processing, "
        "record qc, record step, start processing); a second person must release"
    ) in text_of(response)
    assert stored(made.id) == before


@pytest.mark.req("P11-10", "F-3")
def test_an_exceptional_release_takes_both_signatures(login, product, users):
    made = product(qc=None)
    units.perform_action(made.id, "record_qc", qc_data("viability", 60.0), users["technician"])
    client = login("qa")
    fields = {
        "justification": "only product available; physician accepts the risk",
        "physician": "doctor",
        "physician_password": "wrong-password",
        "password": PASSWORD,
        "meaning": "approved exceptional release",
    }

    form = open_form(client, made, "exceptional_release")
    assert "Test Clinician (doctor)" in text_of(form)
    refused = submit(client, made, "exceptional_release", fields)
    assert refused.status_code == 422
    assert field_error(refused, "physician_password") == "wrong password"
    assert fresh(made.id).status == "quarantine"

    done = submit(client, made, "exceptional_release", {**fields, "physician_password": PASSWORD})

    assert done.status_code == 302, text_of(done)[:800]
    page = text_of(client.get(f"/units/{made.id}"))
    assert re.search(r"Signed by Test Qa, [^:]+:\d\d CES?T: approved exceptional release", page)
    assert re.search(
        r"Signed by Test Clinician, [^:]+:\d\d CES?T: approved exceptional release", page
    )
    assert "⚑ exceptional release" in page


def test_qa_signs_a_rejection_and_a_technician_gives_a_reason_only(login, unit_in, product, client):
    at_receipt = unit_in("collected")
    made = product(qc=None)

    as_tech = open_form(login("technician"), at_receipt, "reject")
    client.post("/logout")
    as_qa = submit(
        login("qa"),
        made,
        "reject",
        {"reason": "bag punctured", "password": PASSWORD, "meaning": "rejected"},
    )

    assert 'type="password"' not in as_tech.get_data(as_text=True)
    assert as_qa.status_code == 302, text_of(as_qa)[:800]
    assert fresh(made.id).status == "rejected"
    page = text_of(client.get(f"/units/{made.id}"))
    assert re.search(r"Signed by Test Qa, [^:]+:\d\d CES?T: rejected", page)


# ---------------------------------------------------------------------------- split, storage


def test_split_makes_an_aliquot_per_filled_row(login, product):
    made = product()
    client = login("technician")

    response = submit(
        client,
        made,
        "split",
        {"aliquots-0-volume_ml": "2", "aliquots-1-volume_ml": "", "aliquots-2-volume_ml": "3.5"},
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    aliquots = [u for u in units.units_for_din(made.din) if u.parent_id == made.id]
    assert [(a.division, a.volume_ml) for a in aliquots] == [("A0", 2.0), ("B0", 3.5)]


def test_split_more_than_the_unit_holds_is_refused_at_the_top(login, product):
    made = product()
    before = stored(made.id)

    response = submit(login("technician"), made, "split", {"aliquots-0-volume_ml": "200"})

    assert response.status_code == 422
    assert "the aliquots add up to 200 ml; the unit holds 10 ml" in text_of(response)
    assert stored(made.id) == before


@pytest.fixture
def shelf_and_box(users):
    fridge = locations.create_location("Fridge 1", "refrigerator", None, users["admin"])
    box = locations.create_location("Box 1", "box", fridge, users["admin"], rows=2, columns=2)
    return fridge, box


def test_store_move_and_thaw_record_location_and_temperature(login, product, users, shelf_and_box):
    fridge, box = shelf_and_box
    a1 = next(p for p in box.children if p.name == "A1")
    made = product()
    client = login("technician")

    refused = submit(client, made, "store", {"location": box.code, "storage_temperature_c": "4"})
    assert refused.status_code == 422
    assert "is a box of positions" in field_error(refused, "location")

    stored_there = submit(
        client, made, "store", {"location": a1.code, "storage_temperature_c": "4"}
    )
    moved = submit(client, made, "move", {"location": fridge.code, "storage_temperature_c": ""})

    assert stored_there.status_code == moved.status_code == 302
    assert [e["location_path"] for e in entries(made.id, "store") + entries(made.id, "move")] == [
        a1.path,
        fridge.path,
    ]
    assert "Thaw" not in [
        a.label for a in units.allowed_actions(fresh(made.id), users["technician"])
    ]


def test_a_frozen_msc_is_thawed_through_the_form(login, product, users):
    svf = product()
    tech = users["technician"]
    units.perform_action(svf.id, "start_processing", data_for("start_processing"), tech)
    for step in steps_for("SVF"):
        units.perform_action(svf.id, "record_step", step, tech)
    (msc,) = units.perform_action(
        svf.id, "complete_processing", {"products": [{"type": "MSC(AT)", "volume_ml": 5}]}, tech
    ).products

    response = submit(
        login("technician"), msc, "thaw", {"location": "", "storage_temperature_c": "20"}
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    thawed = fresh(msc.id)
    assert thawed.thawed_at is not None
    assert thawed.expires_at <= datetime.now(UTC) + timedelta(hours=4)


# ---------------------------------------------------------------------------- dispense, bedside


def test_dispense_offers_active_clinicians_and_checks_a_scanned_wristband(login, product, users):
    made = product(release=True)
    accounts.create_user("doctor2", "clinician", PASSWORD, full_name="Other Doctor")
    client = login("technician")

    form = open_form(client, made, "dispense")
    assert options_of(form, "clinician") == ["", "doctor2", "doctor"]  # by name
    response = submit(
        client, made, "dispense", {"clinician": "doctor", "wristband": made.patient.wristband}
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    assert fresh(made.id).custodian_id == users["clinician"].id
    (entry,) = entries(made.id, "dispense")
    assert entry["identity_check"]["result"] == "match"


@pytest.mark.parametrize("action", ["dispense", "administer"])
def test_another_patients_wristband_is_a_loud_refusal_and_changes_nothing(
    login, product, register, action
):
    made = product(release=True, dispense=action == "administer")
    other = register("ADIPOSE", mrn="MRN-2", name="Other Patient").patient
    before = stored(made.id)
    client = login("clinician" if action == "administer" else "technician")
    fields = {
        "dispense": {"clinician": "doctor", "wristband": other.wristband},
        "administer": {
            "wristband": other.wristband,
            "site": "vertex",
            "method": "micro-injection",
            "volume_ml": "2",
        },
    }[action]

    response = submit(client, made, action, fields)

    assert response.status_code == 409
    html, page = response.get_data(as_text=True), text_of(response)
    assert 'class="stop-refusal" role="alert"' in html
    assert "STOP — wrong patient" in page
    assert f"STOP: wristband {other.wristband} belongs to another patient" in page
    after = stored(made.id)
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    assert entries(made.id, "identity_check")[-1]["result"] == "mismatch"


@pytest.mark.req("F-8")
def test_a_clinician_administers_after_the_bedside_scan(login, product):
    made = product(release=True, dispense=True)
    client = login("clinician")

    form = open_form(client, made, "administer")
    assert "autofocus" in input_tag(form, "wristband")
    assert made.patient.wristband not in form.get_data(as_text=True)  # scanned, never shown
    given = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    response = submit(
        client,
        made,
        "administer",
        {
            "wristband": made.patient.wristband,
            "site": "vertex",
            "method": "mesotherapy",
            "volume_ml": "8",
            "administered_at": local_input(given),
        },
    )

    assert response.status_code == 302, text_of(response)[-1500:]
    unit = fresh(made.id)
    assert unit.status == "administered" and unit.administered_at == given
    (entry,) = entries(made.id, "administer")
    assert (entry["site"], entry["method"], entry["volume_ml"]) == ("vertex", "mesotherapy", 8.0)


@pytest.mark.parametrize(
    ("wristband", "status", "message"),
    [
        (make_wristband("T0001", 999_999), 404, "no patient has wristband PT0001999999"),
        ("PT0001000001X", 422, "check character"),
    ],
)
def test_a_wristband_that_names_nobody_is_answered_beside_the_scan(
    login, product, wristband, status, message
):
    made = product(release=True, dispense=True)
    before = stored(made.id)
    fields = {"wristband": wristband, "site": "vertex", "method": "mesotherapy", "volume_ml": "1"}

    response = submit(login("clinician"), made, "administer", fields)

    assert response.status_code == status
    assert message in field_error(response, "wristband")
    assert 'class="stop-refusal"' not in response.get_data(as_text=True)  # not a mismatch
    assert stored(made.id) == before


def test_a_dispensed_unit_is_returned_with_its_condition(login, product):
    made = product(release=True, dispense=True)

    response = submit(
        login("clinician"),
        made,
        "return",
        {"condition": "unopened, kept cool", "reason": "appointment moved"},
    )

    assert response.status_code == 302
    assert fresh(made.id).status == "returned"
    (entry,) = entries(made.id, "return")
    assert entry["condition"] == "unopened, kept cool"


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("technician", "release"),
        ("clinician", "release"),
        ("technician", "exceptional_release"),
        ("qa", "record_qc"),
        ("clinician", "split"),
        ("admin", "store"),
    ],
)
def test_a_role_that_may_not_take_a_new_action_is_refused_with_403(login, product, role, action):
    made = product()
    before = stored(made.id)
    client = login(role)

    shown = client.get(f"/units/{made.id}/actions/{action}")
    sent = client.post(
        f"/units/{made.id}/actions/{action}",
        data={"version": str(before["version"]), **sign_form()},
    )

    for response in (shown, sent):
        assert response.status_code == 403
        assert "may not" in text_of(response)
        assert 'type="password"' not in response.get_data(as_text=True)
    assert stored(made.id) == before


def test_wrong_signature_passwords_pause_the_signers_signing(login, product, app):
    made = product()
    client = login("qa")
    budget = int(app.config["SIGNING_THROTTLE"].split()[0])

    wrong = [
        submit(client, made, "release", sign_form(password=f"guess-{i}")).status_code
        for i in range(budget)
    ]
    blocked = client.post(
        f"/units/{made.id}/actions/release",
        data={"version": str(stored(made.id)["version"]), **sign_form()},
    )

    assert wrong == [422] * budget
    assert blocked.status_code == 429
    assert fresh(made.id).status == "quarantine"


# ---------------------------------------------------------------------------- every form


FORMS = {
    # action: (role, how the unit gets there)
    "record_step": ("technician", "in_processing"),
    "record_qc": ("technician", "quarantine"),
    "release": ("qa", "quarantine"),
    "exceptional_release": ("qa", "quarantine"),
    "split": ("technician", "quarantine"),
    "store": ("technician", "quarantine"),
    "move": ("technician", "quarantine"),
    "dispense": ("technician", "released"),
    "administer": ("clinician", "dispensed"),
    "return": ("technician", "dispensed"),
}


@pytest.mark.parametrize("action", FORMS)
def test_each_new_form_opens_for_its_role_with_big_touch_targets(login, unit_in, product, action):
    role, status = FORMS[action]
    unit = (
        unit_in(status)
        if status == "in_processing"
        else product(release=status != "quarantine", dispense=status == "dispensed")
    )

    form = open_form(login(role), unit, action)

    html = form.get_data(as_text=True)
    assert 'class="btn primary big"' in html or 'class="btn danger big"' in html
    assert 'name="version"' in html
    assert "autofocus" in html
