"""Through the JSON API only: a product's whole life (processing step by step, QC,
a signed QA release, dispensing, the bedside check), and every refusal on the way — a 4xx
in the one error shape that changes nothing. The ``api`` helper checks every answer for
passwords (tests/api/conftest.py)."""

from __future__ import annotations

import pytest

from lims.services.admin import locations
from tests.backends import backend  # noqa: F401  (SQLite alone: the API's answers along a product's life; the life is tested on both in service/test_product_life)
from tests.conftest import PASSWORD
from tests.service.lab import CABINET, PRODUCT_OF, qc_data, required_tests, sign, steps_for

from .conftest import secret_fields
from .helpers import assert_error, product_through_api, record_required_qc

KINDS = ["ADIPOSE", "MARROW", "BLOOD"]


def _action(api, unit: dict, action: str, as_: str = "technician", **fields):
    return api.action(unit, action, as_=as_, **fields)


def _history(api, unit: dict) -> list[dict]:
    return api.get(f"/units/{unit['id']}/history").get_json()["entries"]


def _administration(unit: dict, wristband: str | None = None) -> dict:
    return {
        "wristband": wristband or unit["patient"]["wristband"],
        "site": "vertex",
        "method": "micro-injection",
        "volume_ml": 8,
    }


@pytest.fixture
def quarantined(api):
    """An SVF product in quarantine with every required result passing."""
    _, product = product_through_api(api, "ADIPOSE")
    record_required_qc(api, product)
    return product


@pytest.fixture
def shelf(users) -> str:
    """A fridge's location code (made by an admin; locations have no API)."""
    return locations.create_location("Fridge 1", "refrigerator", None, users["admin"]).code


@pytest.fixture
def released(api, quarantined):
    api.act(quarantined, "release", as_="qa", **sign())
    return api.get(f"/units/{quarantined['id']}").get_json()


# ---------------------------------------------------------------------------- a whole life


@pytest.mark.parametrize("kind", KINDS)
def test_a_product_goes_from_collection_to_the_patient_through_the_api(api, kind):
    source = api.register(kind, as_="clinician")
    api.act(source, "receive")
    api.act(source, "start_processing")
    for step in steps_for(kind):
        done = api.act(source, "record_step", **step)
        assert done["unit"]["status"] == "in_processing"
        assert done["entries"][0]["data"]["step"] == step["step"]
        assert done["entries"][0]["data"]["operator"] == "Test Technician"

    completed = api.act(
        source,
        "complete_processing",
        products=[{"type": PRODUCT_OF[kind], "volume_ml": 8, "cell_count": 30_000_000}],
    )
    assert completed["unit"]["status"] == "processed"
    (product,) = completed["products"]
    assert product["type"] == PRODUCT_OF[kind] and product["status"] == "quarantine"
    assert (product["volume_ml"], product["cell_count"]) == (8, 30_000_000)
    assert product["expires_at"] and completed["unit"]["children"] == [product["id"]]

    for entry in record_required_qc(api, product):
        assert (entry["data"]["verdict"], entry["data"]["spec_version"]) == ("pass", 1)
    qc = api.get(f"/units/{product['id']}/qc").get_json()
    assert qc["readiness"]["complete"] is True
    assert [r["test"] for r in qc["results"]] == required_tests(PRODUCT_OF[kind])
    queue = api.get("/release-queue", as_="qa").get_json()["items"]
    assert [i["unit"]["id"] for i in queue] == [product["id"]]

    released = api.act(product, "release", as_="qa", **sign())
    assert released["unit"]["status"] == "released" and released["unit"]["released_at"]
    (signature,) = released["entries"][0]["data"]["signatures"]
    assert (signature["name"], signature["meaning"]) == ("Test Qa", "approved for release")
    assert api.get("/release-queue", as_="qa").get_json()["items"] == []

    dispensed = api.act(product, "dispense", clinician="doctor")
    assert dispensed["unit"]["status"] == "dispensed"
    assert dispensed["unit"]["custodian"]["name"] == "Test Clinician"
    given = api.act(product, "administer", as_="clinician", **_administration(product))
    assert given["unit"]["status"] == "administered" and given["unit"]["administered_at"]
    assert given["entries"][0]["data"]["identity_check"]["result"] == "match"

    actions = [e["action"] for e in _history(api, product) if e["unit_id"] == product["id"]]
    tests = len(required_tests(PRODUCT_OF[kind]))
    assert actions == [
        "complete_processing",
        *["record_qc"] * tests,
        "release",
        "certificate_issued",  # the release issues certificate 1 (decision 85)
        "dispense",
        "administer",
    ]
    assert api.get("/ledger/verify", as_="qa").get_json()["intact"] is True


def test_no_response_and_no_ledger_entry_holds_a_password(api, users):
    _, product = product_through_api(api, "ADIPOSE")
    record_required_qc(api, product, viability=50.0)  # out of specification
    result = api.act(
        product,
        "exceptional_release",
        as_="qa",
        password=PASSWORD,
        meaning="approved exceptional release",
        justification="no alternative for this patient",
        physician="doctor",
        physician_password=PASSWORD,
    )
    assert [s["meaning"] for s in result["entries"][0]["data"]["signatures"]] == [
        "approved exceptional release",
        "approved exceptional release",
    ]
    history = api.get(f"/units/{product['id']}/history").get_json()
    assert [e["action"] for e in history["entries"][-2:]] == [
        "exceptional_release",
        "certificate_issued",
    ]
    assert secret_fields(history) == [] and secret_fields(result) == []
    assert PASSWORD not in str(history) + str(result)


def test_a_fresh_product_with_pending_sterility_is_released_flagged(api):
    _, product = product_through_api(api, "MARROW")
    record_required_qc(api, product, sterility="pending")
    readiness = api.get(f"/units/{product['id']}/qc").get_json()["readiness"]
    assert readiness["complete"] is True and readiness["released_pending"] == ["sterility"]
    released = api.act(product, "release", as_="qa", **sign())
    assert released["entries"][0]["data"]["flags"] == ["sterility pending at release"]

    late = api.act(product, "record_qc", **qc_data("sterility", "growth"))
    assert late["entries"][0]["data"]["verdict"] == "fail"
    assert late["unit"]["qc_alert"] and late["unit"]["deviation"] is True
    refused = _action(api, product, "dispense", clinician="doctor")
    assert_error(refused, 409)


def test_split_lists_the_aliquots_as_products_and_they_share_the_qc(api, released):
    result = api.act(released, "split", aliquots=[{"volume_ml": 2}, {"volume_ml": 3}])
    first, second = result["products"]
    assert [(p["division"], p["volume_ml"]) for p in (first, second)] == [("A0", 2), ("B0", 3)]
    assert {p["status"] for p in (first, second)} == {"released"}
    assert result["unit"]["volume_ml"] == 3
    assert sorted(result["unit"]["children"]) == sorted([first["id"], second["id"]])

    qc = api.get(f"/units/{first['id']}/qc").get_json()
    assert {r["unit_id"] for r in qc["results"]} == {released["id"]}
    assert qc["readiness"]["complete"] is True
    api.act(first, "dispense", clinician="doctor")
    given = api.act(
        first, "administer", as_="clinician", **{**_administration(first), "volume_ml": 2}
    )
    assert given["unit"]["status"] == "administered"


# ---------------------------------------------------------------------------- refusals


def test_a_wrong_password_is_refused_and_changes_nothing(api, quarantined, state):
    before = state()
    response = _action(api, quarantined, "release", as_="qa", **sign(password="not-my-password"))
    error = assert_error(response, 422, "wrong_password")
    assert error["fields"] == {"password": "wrong password"}
    assert state() == before


def test_a_wrong_physician_password_is_refused(api, state):
    _, product = product_through_api(api, "ADIPOSE")
    record_required_qc(api, product, viability=50.0)
    before = state()
    response = _action(
        api,
        product,
        "exceptional_release",
        as_="qa",
        password=PASSWORD,
        meaning="approved exceptional release",
        justification="no alternative for this patient",
        physician="doctor",
        physician_password="a-guess",
    )
    error = assert_error(response, 422, "wrong_password")
    assert error["fields"] == {"physician_password": "wrong password"}
    assert state() == before


class TestWrongSignaturePasswordsPauseOnlyTheSignersSigning:
    @pytest.fixture
    def app_config(self):
        return {"SIGNING_THROTTLE": "5 per 15 minutes"}  # whatever the environment

    def test_five_wrong_passwords_stop_the_signers_signing_but_not_their_sign_in(
        self, api, quarantined, state, shelf
    ):
        api.headers("qa")  # signed in before the budget is spent
        for _ in range(5):
            wrong = _action(api, quarantined, "release", as_="qa", **sign(password="guess"))
            assert_error(wrong, 422, "wrong_password")
        before = state()
        right = _action(api, quarantined, "release", as_="qa", **sign())
        assert_error(right, 429, "too_many_requests")
        assert state() == before
        web = api.client.post("/login", data={"username": "qa", "password": PASSWORD})
        assert web.status_code == 302  # signing is paused, signing in is not
        unsigned = api.act(quarantined, "store", location=shelf, storage_temperature_c=4.0)
        assert unsigned["unit"]["status"] == "quarantine"  # actions without a password go on


def test_a_batch_never_signs(api, quarantined, state):
    """A signature binds to one unit's record: release is signed unit by unit."""
    before = state()
    body = {"units": [quarantined["id"]], "action": "release", **sign()}
    error = assert_error(api.post("/scan/batch", body, as_="qa"), 422, "signed_action")
    assert "action" in error["fields"]
    assert state() == before


@pytest.mark.parametrize(
    ("meaning", "code"),
    [("reviewed", "refused_release_meaning"), ("approved", "invalid_fields"), (None, None)],
)
def test_a_release_must_mean_approved_for_release(api, quarantined, state, meaning, code):
    body = {"password": PASSWORD} if meaning is None else sign(meaning)
    before = state()
    error = assert_error(_action(api, quarantined, "release", as_="qa", **body), 422, code)
    assert "meaning" in error["fields"]
    assert state() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({**qc_data("viability"), "test": "colour"}, "test"),
        (qc_data("viability", "no growth"), "value"),
        (qc_data("viability", "85"), "value"),
        (qc_data("viability", True), "value"),
        (qc_data("viability", 101.0), "value"),
        (qc_data("sterility", 0), "value"),
        (qc_data("sterility", "maybe"), "value"),
        (qc_data("platelet_count"), "test"),  # not a test of SVF
        ({"test": "viability", "value": 85.0, "method": "m"}, "lot"),
        (qc_data("viability", verdict="pass"), "verdict"),
        (qc_data("viability", corrects=1), "reason"),
    ],
)
def test_a_qc_result_that_cannot_be_judged_is_refused(api, state, fields, field):
    _, product = product_through_api(api, "ADIPOSE")
    before = state()
    error = assert_error(_action(api, product, "record_qc", **fields), 422)
    assert field in error["fields"], error
    assert state() == before


def test_a_technician_may_not_release(api, quarantined, state):
    before = state()
    response = _action(api, quarantined, "release", **sign())
    assert_error(response, 403, "role_not_allowed")
    assert state() == before


def test_out_of_specification_qc_is_not_releasable(api, state):
    _, product = product_through_api(api, "BLOOD")
    record_required_qc(api, product, platelet_count=400.0)
    item = api.get("/release-queue", as_="qa").get_json()["items"][0]
    assert item["readiness"]["failing"] == ["platelet_count"] and item["deviations"] == 1
    before = state()
    error = assert_error(
        _action(api, product, "release", as_="qa", **sign()), 409, "not_releasable"
    )
    assert "platelet count" in error["message"]
    assert state() == before


def test_a_release_submitted_twice_is_done_once(api, quarantined, state):
    api.act(quarantined, "release", as_="qa", **sign())
    before = state()
    second = _action(api, quarantined, "release", as_="qa", **sign())
    assert_error(second, 409, "not_allowed_now")
    assert state() == before
    releases = [e for e in _history(api, quarantined) if e["action"] == "release"]
    assert len(releases) == 1


def test_a_stale_release_is_refused(api, quarantined, state, shelf):
    api.act(quarantined, "store", location=shelf, storage_temperature_c=4.0)
    before = state()
    stale = _action(api, quarantined, "release", as_="qa", version=quarantined["version"], **sign())
    assert_error(stale, 409, "stale_version")
    assert state() == before


def test_another_patients_wristband_is_refused_and_recorded(api, released, state):
    other = api.register("BLOOD", mrn="MRN-2", name="Other Patient")
    api.act(released, "dispense", clinician="doctor")
    before = state()
    wrong = _administration(released, wristband=other["patient"]["wristband"])
    error = assert_error(_action(api, released, "administer", as_="clinician", **wrong), 409)
    assert error["code"] == "patient_mismatch" and "wristband" in error["fields"]

    after = state()
    assert after["units"] == before["units"]  # the unit did not move on
    assert after["ledger"] == before["ledger"] + 1  # but the near miss is on record
    last = _history(api, released)[-1]
    assert last["action"] == "identity_check" and last["unit_id"] == released["id"]
    assert last["data"]["result"] == "mismatch"
    assert last["data"]["refused_action"] == "administer"
    assert last["data"]["wristband"] == other["patient"]["wristband"]


@pytest.mark.parametrize("clinician", ["nobody", "tech", "qa", ""])
def test_dispensing_needs_an_active_clinicians_username(api, released, state, clinician):
    before = state()
    error = assert_error(_action(api, released, "dispense", clinician=clinician), 422)
    assert "clinician" in error["fields"]
    assert state() == before


def test_a_position_holds_one_unit(api, users, state):
    freezer = locations.create_location("Fridge", "refrigerator", None, users["admin"])
    box = locations.create_location("Box 1", "box", freezer, users["admin"], rows=2, columns=2)
    a1 = next(p for p in box.children if p.name == "A1")
    first = api.register("ADIPOSE")
    second = api.register("ADIPOSE", mrn="MRN-2", name="Other Patient")
    stored = api.act(first, "store", location=a1.code, storage_temperature_c=4.0)
    assert stored["unit"]["location"]["code"] == a1.code

    before = state()
    taken = _action(api, second, "store", location=a1.code, storage_temperature_c=4.0)
    assert_error(taken, 409, "position_occupied")
    boxed = _action(api, second, "store", location=box.code, storage_temperature_c=4.0)
    assert "location" in assert_error(boxed, 422, "position_needed")["fields"]
    assert state() == before


def test_an_msc_aliquot_is_stored_moved_thawed_returned_and_released_again(api, users):
    _, svf = product_through_api(api, "ADIPOSE")
    record_required_qc(api, svf)
    api.act(svf, "start_processing", protocol="MSC expansion", equipment=CABINET)
    for step in steps_for("SVF"):
        api.act(svf, "record_step", **step)
    made = api.act(
        svf,
        "complete_processing",
        products=[{"type": "MSC(AT)", "volume_ml": 10, "cell_count": 50_000_000}],
    )
    (msc,) = made["products"]
    record_required_qc(api, msc)
    api.act(msc, "release", as_="qa", **sign())
    first, _ = api.act(msc, "split", aliquots=[{"volume_ml": 2}, {"volume_ml": 2}])["products"]

    freezer = locations.create_location("LN2 freezer", "freezer", None, users["admin"])
    box = locations.create_location("Box 1", "box", freezer, users["admin"], rows=9, columns=9)
    a1, b2 = (next(p for p in box.children if p.name == name) for name in ("A1", "B2"))
    stored = api.act(first, "store", location=a1.code, storage_temperature_c=-180.0)
    assert stored["unit"]["location"]["code"] == a1.code
    moved = api.act(first, "move", location=b2.code)
    assert moved["unit"]["location"]["code"] == b2.code
    assert moved["entries"][0]["data"]["location_path"].endswith("B2")
    warm = _action(api, first, "store", location=a1.code, storage_temperature_c=4.0)
    assert "storage_temperature_c" in assert_error(warm, 422)["fields"]

    thawed = api.act(first, "thaw", storage_temperature_c=20.0)["unit"]
    assert thawed["thawed_at"] and thawed["expires_at"] < first["expires_at"]
    assert_error(_action(api, first, "thaw"), 409)  # once only
    api.act(first, "dispense", clinician="doctor")
    returned = api.act(first, "return", as_="clinician", condition="unopened, kept cool")
    assert returned["unit"]["status"] == "returned"
    queue = api.get("/release-queue", as_="qa").get_json()["items"]
    assert first["id"] in [i["unit"]["id"] for i in queue]
    again = api.act(first, "release", as_="qa", **sign())
    assert again["unit"]["status"] == "released"


def test_qa_signs_a_rejection(api, quarantined, state):
    before = state()
    unsigned = _action(api, quarantined, "reject", as_="qa", reason="bag leaked in transport")
    assert "password" in assert_error(unsigned, 422)["fields"]
    assert state() == before
    rejected = api.act(
        quarantined, "reject", as_="qa", reason="bag leaked in transport", **sign("rejected")
    )
    assert rejected["unit"]["status"] == "rejected"
    (signature,) = rejected["entries"][0]["data"]["signatures"]
    assert (signature["name"], signature["meaning"]) == ("Test Qa", "rejected")
    assert rejected["entries"][0]["reason"] == "bag leaked in transport"
