"""The scan station in the browser (server side): a scan shows the unit and exactly the
actions open to the user; unit then location moves it; wristband then unit checks identity
and a mismatch stops the flow; batch mode; every error is specific and changes nothing."""

from __future__ import annotations

import html
import re

import pytest

from lims.domain.codes import make_location_code
from lims.domain.identifiers import barcode_data
from tests.backends import backend  # noqa: F401  (SQLite alone: the station page; the scan service is tested on both in test_scan_service)

from .conftest import last_entry


def scan(client, code: str):
    return client.post("/station", data={"code": code})


def press(client, op: str):
    return client.post("/station", data={"op": op})


def text_of(response) -> str:
    plain = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(plain))


def action_buttons(response) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', response.get_data(as_text=True))


def test_the_station_is_one_focused_empty_input(login):
    html = login("technician").get("/station").get_data(as_text=True)
    assert html.count('name="code"') == 1
    assert 'autofocus autocomplete="off"' in html and 'value=""' in html
    assert "js/scan.js" in html and "css/scan.css" in html


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("technician", ["dispatch", "receive", "store", "move", "reject", "discard"]),
        ("clinician", ["dispatch"]),
        ("qa", ["reject", "discard"]),
        ("admin", []),
    ],
)
def test_a_unit_scan_shows_its_facts_and_exactly_the_allowed_actions(
    login, unit_in, role, expected
):
    unit = unit_in("collected")
    response = scan(login(role), unit.barcode_data)
    assert response.status_code == 200
    page = text_of(response)
    for fact in ("collected", unit.patient.name, unit.patient.mrn, "Location", "Custodian"):
        assert fact in page
    assert action_buttons(response) == expected
    keys = re.findall(r'data-key="(\d)" data-action', response.get_data(as_text=True))
    assert keys == [str(i) for i in range(1, len(expected) + 1)]


def test_action_buttons_lead_to_the_form_and_back_to_the_station(login, unit_in):
    client = login("technician")
    unit = unit_in("collected")
    page = scan(client, unit.barcode_data).get_data(as_text=True)
    href = re.search(r'data-action="receive"\s+href="([^"]+)"', page).group(1)
    assert href == f"/units/{unit.id}/actions/receive?next=/station"
    form = client.get(href)
    version = re.search(r'name="version"[^>]*value="(\d+)"', form.get_data(as_text=True))
    done = client.post(
        href,
        data={
            "version": version.group(1),
            "temperature_c": "4",
            "container_intact": "yes",
            "label_matches": "yes",
            "volume_ml": "250",
        },
    )
    assert done.status_code == 302 and done.location == "/station"
    page = client.get("/station")
    assert "is now received" in text_of(page)
    assert "start_processing" in action_buttons(page)


def test_cancel_on_a_form_opened_from_the_station_returns_to_it(login, unit_in):
    client = login("technician")
    unit = unit_in("collected")
    form = client.get(f"/units/{unit.id}/actions/receive?next=/station").get_data(as_text=True)
    assert re.search(r'href="/station">Cancel</a>', form)


@pytest.mark.parametrize(
    ("role", "offered"), [("technician", True), ("qa", True), ("clinician", False)]
)
def test_the_station_offers_the_print_dialog_to_those_who_may_print(login, unit_in, role, offered):
    unit = unit_in("collected")
    page = scan(login(role), unit.barcode_data).get_data(as_text=True)
    link = f'data-key="+" data-label-dialog href="/labels/units/{unit.id}"'
    assert (link in page) is offered


def test_a_wristband_scan_offers_the_wristband_print_dialog(login, unit_in):
    unit = unit_in("collected")
    page = scan(login("clinician"), unit.patient.wristband).get_data(as_text=True)
    assert f'href="/labels/patients/{unit.patient_id}"' in page


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "x"])
def test_an_action_form_never_sends_the_user_off_site(login, unit_in, target):
    client = login("technician")
    unit = unit_in("collected")
    url = f"/units/{unit.id}/actions/reject?next={target}"
    done = client.post(url, data={"version": str(unit.version), "reason": "unusable"})
    assert done.status_code == 302 and done.location == f"/units/{unit.id}"


def test_unit_then_location_records_the_move(login, unit_in, place):
    client = login("technician")
    unit = unit_in("received")
    box = place("Box A1", "box")
    scan(client, unit.barcode_data)
    moved = scan(client, box.code)
    assert moved.status_code == 200
    assert 'data-outcome="moved"' in moved.get_data(as_text=True)
    assert f"stored at {box.path}" in text_of(moved)
    entry = last_entry(unit.id)
    assert (entry.action, entry.to_location_id) == ("move", box.id)


def test_the_move_button_waits_for_a_location_and_refuses_another_kind(
    login, unit_in, place, stored
):
    client = login("technician")
    unit = unit_in("received")
    other = unit_in("collected", mrn="MRN-2", name="Other Person")
    box = place("Box A1", "box")
    scan(client, unit.barcode_data)
    waiting = press(client, "move")
    assert "Next: scan a location code" in text_of(waiting)
    before = stored()
    refused = scan(client, other.barcode_data)
    assert refused.status_code == 422
    assert "expected a location code" in text_of(refused) and "this is a unit code" in text_of(
        refused
    )
    assert stored() == before
    assert 'data-outcome="moved"' in scan(client, box.code).get_data(as_text=True)


def test_a_move_of_a_unit_in_a_final_status_is_refused(login, unit_in, place, stored):
    client = login("technician")
    unit = unit_in("discarded")
    box = place("Box A1", "box")
    shown = scan(client, unit.barcode_data)
    assert "Unit in a final status" in text_of(shown) and action_buttons(shown) == []
    before = stored()
    refused = scan(client, box.code)
    assert refused.status_code == 409 and "cannot move a unit that is discarded" in (
        text_of(refused)
    )
    assert stored() == before


@pytest.mark.parametrize(
    ("what", "status", "title", "words"),
    [
        ("unknown unit", 404, "Unknown unit", "no unit has identifier"),
        ("unknown location", 404, "Unknown location", "no location has code"),
        ("wrong check", 422, "Wrong check character", "expected"),
        ("product code first", 422, "Wrong kind of code", "identifier first"),
        ("gibberish", 422, "Cannot use this code", ""),
    ],
)
def test_scan_errors_are_loud_specific_and_change_nothing(
    login, unit_in, stored, what, status, title, words
):
    client = login("technician")
    unit = unit_in("collected")
    code = {
        "unknown unit": barcode_data("T000126999999"),
        "unknown location": make_location_code("T0001", 999),
        "wrong check": unit.din + ("0" if unit.check_character != "0" else "1"),
        "product code first": "=<S101000",
        "gibberish": "hello?",
    }[what]
    before = stored()
    response = scan(client, code)
    assert response.status_code == status
    assert 'class="station-error" role="alert"' in response.get_data(as_text=True)
    assert title in text_of(response) and words in text_of(response)
    assert "Nothing was changed" in text_of(response)
    if what == "wrong check":
        assert f"expected '{unit.check_character}'" in text_of(response)
    assert stored() == before


def test_wristband_then_matching_unit_shows_green(login, unit_in):
    client = login("clinician")
    unit = unit_in("collected")
    asked = scan(client, unit.patient.wristband)
    assert "Now scan the unit" in text_of(asked)
    matched = scan(client, unit.barcode_data)
    assert 'data-outcome="match"' in matched.get_data(as_text=True)
    assert last_entry(unit.id).action == "identity_check"


def test_a_mismatch_is_loud_recorded_and_stops_the_flow_until_dismissed(login, unit_in, stored):
    client = login("technician")
    unit = unit_in("received")
    other = unit_in("collected", mrn="MRN-2", name="Other Person")
    scan(client, other.patient.wristband)
    alarm = scan(client, unit.barcode_data)
    markup = alarm.get_data(as_text=True)
    assert 'class="station-alert" role="alert"' in markup
    page = text_of(alarm)
    assert "STOP" in page and "Pat Example (MRN-1)" in page and "Other Person (MRN-2)" in page
    assert last_entry(unit.id).action == "identity_check"
    assert 'name="code"' not in markup  # no scanning on

    before = stored()
    blocked = scan(client, unit.barcode_data)
    assert blocked.status_code == 409 and "station-alert" in blocked.get_data(as_text=True)
    assert stored() == before

    dismissed = press(client, "dismiss")
    assert "station-alert" not in dismissed.get_data(as_text=True)
    assert scan(client, unit.barcode_data).status_code == 200


def test_a_wristband_then_another_kind_is_refused(login, unit_in, place):
    client = login("technician")
    unit = unit_in("collected")
    scan(client, unit.patient.wristband)
    refused = scan(client, place().code)
    assert refused.status_code == 422 and "the unit's code" in text_of(refused)
    assert "Cancel step" in text_of(refused)
    press(client, "cancel")
    assert scan(client, unit.barcode_data).status_code == 200


def test_a_collection_asks_for_the_product_code_then_shows_that_unit(login, unit_in):
    client = login("technician")
    source = unit_in("processed")
    product = source.children[0]
    asked = scan(client, source.barcode_data)
    assert 'data-outcome="collection"' in asked.get_data(as_text=True)
    assert "product code barcode" in text_of(asked)
    shown = scan(client, f"=<{product.product_code}{product.division}")
    assert shown.status_code == 200
    assert f'data-unit="{product.id}"' in shown.get_data(as_text=True)


def test_batch_mode_applies_one_action_with_a_result_per_unit(login, unit_in, place, stored):
    client = login("technician")
    good = [unit_in("received"), unit_in("collected")]
    bad = unit_in("received")
    box = place("Box A1", "box")
    press(client, "batch")
    for unit in (*good, bad):
        assert scan(client, unit.barcode_data).status_code == 200
    final = unit_in("discarded")
    refused = scan(client, final.barcode_data)
    assert refused.status_code == 409 and "not added to the batch" in text_of(refused)
    # Someone else moves the bad unit on meanwhile: it is rejected before the batch runs.
    from lims.services.actions import units

    units.perform_action(bad.id, "reject", {"reason": "label torn"}, bad.custodian)
    before = {u[0]: u for u in stored()["units"]}

    form = client.get("/station/batch/move")
    assert form.status_code == 200 and "Move all 3" in text_of(form)
    done = client.post("/station/batch/move", data={"version": "0", "location": box.code})

    assert done.status_code == 200
    markup = done.get_data(as_text=True)
    assert markup.count('class="ok"') == 2 and markup.count('class="failed"') == 1
    assert "Move: 2 of 3 done" in text_of(done)
    after = {u[0]: u for u in stored()["units"]}
    assert after[bad.id] == before[bad.id]
    assert all(after[u.id][3] == box.id for u in good)


def test_an_empty_batch_sends_the_user_back(login):
    client = login("technician")
    answer = client.get("/station/batch/discard")
    assert answer.status_code == 302 and answer.location == "/station"


def test_an_unknown_batch_action_is_404(login, unit_in):
    client = login("technician")
    press(client, "batch")
    scan(client, unit_in("received").barcode_data)
    assert client.get("/station/batch/complete_processing").status_code == 404


@pytest.mark.parametrize(
    ("role", "status", "code", "title"),
    [
        ("clinician", "collected", 403, "Not allowed for your role"),
        ("technician", "discarded", 409, "Not allowed now"),
    ],
)
def test_an_action_not_allowed_now_is_refused_at_the_station(
    login, unit_in, stored, role, status, code, title
):
    client = login(role)
    unit = unit_in(status)
    scan(client, unit.barcode_data)
    before = stored()
    refused = press(client, "move")
    assert refused.status_code == code and title in text_of(refused)
    assert "Next: scan a location" not in text_of(refused)
    assert stored() == before


def test_an_unknown_station_operation_is_refused(login):
    assert press(login("technician"), "explode").status_code == 422


@pytest.mark.parametrize("what", ["wristband", "location"])
def test_the_top_bar_box_names_a_non_unit_code_and_points_to_the_station(
    login, unit_in, place, what
):
    unit = unit_in("collected")
    code = unit.patient.wristband if what == "wristband" else place().code
    response = login("technician").get("/scan", query_string={"code": code})
    assert response.status_code == 422
    page = text_of(response)
    assert "Not a unit" in page and "the scan station handles it" in page
    assert 'href="/station"' in response.get_data(as_text=True)


def test_the_top_bar_box_still_goes_straight_to_a_unit(login, unit_in):
    unit = unit_in("collected")
    response = login("clinician").get("/scan", query_string={"code": unit.barcode_data})
    assert response.status_code == 302 and response.location.endswith(f"/units/{unit.id}")
