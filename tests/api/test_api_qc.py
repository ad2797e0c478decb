"""Reading QC over the API (a product's results, verdicts and spec versions; the specs in
force and their history; QA's release queue), admins publishing specifications, and the
OpenAPI document of all of it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from lims.api.schemas import PRODUCT_TYPES
from lims.domain.lifecycle import UNIT_ACTIONS
from lims.extensions import db
from lims.models import Deviation
from lims.services.audit import deviations
from tests.backends import backend  # noqa: F401  (SQLite alone: the QC API's answers; QC rules are tested on both in service/test_qc_results)
from tests.conftest import PASSWORD
from tests.service.lab import qc_data, required_tests, sign

from .helpers import assert_error, product_through_api, record_required_qc
from .test_api_openapi import conforms

VIABILITY_80 = {
    "product_type": "SVF",
    "test": "viability",
    "operator": ">=",
    "limit": 80,
    "reason": "tighter viability after validation run 7",
}


def _qc(api, unit: dict, as_: str = "technician") -> dict:
    response = api.get(f"/units/{unit['id']}/qc", as_=as_)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _specs(api, product_type: str | None = None) -> dict:
    path = f"/qc/specs?type={product_type}" if product_type else "/qc/specs"
    response = api.get(path)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _spec(api, product_type: str, test: str) -> dict:
    (group,) = _specs(api, product_type)["product_types"]
    return next(s for s in group["specs"] if s["test"] == test)


# ---------------------------------------------------------------------------- a unit's QC


def test_a_products_qc_shows_each_result_with_its_verdict_and_spec(api):
    _, product = product_through_api(api, "ADIPOSE")
    api.act(product, "record_qc", **qc_data("viability", 70.0))  # exactly the limit
    api.act(product, "record_qc", **qc_data("endotoxin", 0.5))  # the limit is "< 0.5"
    qc = _qc(api, product, as_="clinician")

    assert (qc["unit_id"], qc["product_type"]) == (product["id"], "SVF")
    assert qc["identifier"] == product["identifier"]
    viability, endotoxin = qc["results"]
    assert viability["value"] == 70.0 and viability["measure"] == "%"
    assert (viability["verdict"], viability["spec"], viability["spec_version"]) == (
        "pass",
        "≥ 70 %",
        1,
    )
    assert viability["recorded_by"]["name"] == "Test Technician"
    assert viability["method"] == "validated method" and viability["lot"] == "QC-LOT-1"
    assert datetime.fromisoformat(viability["recorded_at"].replace("Z", "+00:00"))
    assert (endotoxin["verdict"], endotoxin["spec"]) == ("fail", "< 0.5 EU/mL")
    assert [r["superseded"] for r in qc["results"]] == [False, False]

    assert [s["test"] for s in qc["specs"]] == [
        "viable_cell_count",
        "viability",
        "gram_stain",
        "sterility",
        "endotoxin",
    ]
    assert qc["readiness"] == {
        "complete": False,
        "missing": ["viable_cell_count", "gram_stain", "sterility"],
        "failing": ["endotoxin"],
        "pending": [],
        "released_pending": [],
        "problems": qc["readiness"]["problems"],
    }
    assert "out of specification: endotoxin" in qc["readiness"]["problems"]
    (deviation,) = qc["deviations"]
    assert deviation["kind"] == "qc_out_of_specification"
    assert deviation["qc_result_id"] == endotoxin["id"]
    assert (deviation["closed_at"], deviation["decision"]) == (None, None)


@pytest.mark.req("P11-2")
def test_a_correction_supersedes_the_old_result_which_stays_visible(api):
    _, product = product_through_api(api, "ADIPOSE")
    wrong = api.act(product, "record_qc", **qc_data("viability", 7.5))["entries"][0]
    api.act(
        product,
        "record_qc",
        **qc_data("viability", 75.0),
        corrects=wrong["data"]["qc_result_id"],
        reason="decimal point misplaced when typing",
    )
    old, new = _qc(api, product)["results"]
    assert (old["value"], old["verdict"], old["superseded"]) == (7.5, "fail", True)
    assert (new["value"], new["verdict"], new["superseded"]) == (75.0, "pass", False)
    assert new["corrects_id"] == old["id"]
    assert new["reason"] == "decimal point misplaced when typing"
    assert old["corrects_id"] is None and old["reason"] is None


@pytest.mark.req("F-7")
def test_a_new_spec_version_judges_new_results_and_never_rewrites_old_ones(api):
    _, product = product_through_api(api, "ADIPOSE")
    api.act(product, "record_qc", **qc_data("viability", 75.0))
    published = api.post("/qc/specs", VIABILITY_80, as_="admin")
    assert published.status_code == 201, published.get_json()
    api.act(product, "record_qc", **qc_data("viability", 75.0))

    old, new = _qc(api, product)["results"]
    assert (old["verdict"], old["spec_version"], old["spec"]) == ("pass", 1, "≥ 70 %")
    assert (new["verdict"], new["spec_version"], new["spec"]) == ("fail", 2, "≥ 80 %")
    assert (old["superseded"], new["superseded"]) == (True, False)
    qc = _qc(api, product)
    viability = next(s for s in qc["specs"] if s["test"] == "viability")
    assert (viability["version"], viability["text"]) == (2, "≥ 80 %")
    assert qc["readiness"]["failing"] == ["viability"]


def test_an_aliquot_shows_the_qc_of_the_unit_it_was_split_from(api):
    _, product = product_through_api(api, "BLOOD")
    record_required_qc(api, product)
    api.act(product, "release", as_="qa", **sign())
    (aliquot,) = api.act(product, "split", aliquots=[{"volume_ml": 2}])["products"]
    late = api.act(aliquot, "record_qc", **qc_data("sterility", "no growth"))
    assert late["entries"][0]["unit_id"] == aliquot["id"]

    qc = _qc(api, aliquot)
    tests = required_tests("PRP")
    assert [r["unit_id"] for r in qc["results"]] == [product["id"]] * len(tests) + [aliquot["id"]]
    assert [r["superseded"] for r in qc["results"]] == [t == "sterility" for t in tests] + [False]
    assert [r["test"] for r in _qc(api, product)["results"]] == tests  # not the other way


def test_a_source_unit_has_no_qc_and_an_unknown_unit_none_at_all(api):
    source = api.register("ADIPOSE")
    assert_error(api.get(f"/units/{source['id']}/qc"), 409, "no_qc")
    assert_error(api.get("/units/999999/qc"), 404)


# ---------------------------------------------------------------------------- specifications


def test_the_specs_in_force_are_listed_per_product_type(api):
    everything = _specs(api)
    assert [g["product_type"] for g in everything["product_types"]] == list(PRODUCT_TYPES)
    (svf,) = _specs(api, "svf")["product_types"]  # any case
    assert svf["name"] == "Stromal vascular fraction, adipose"
    sterility = next(s for s in svf["specs"] if s["test"] == "sterility")
    assert sterility["accept"] == ["no growth"] and sterility["pending_at_release"] is True
    assert sterility["values"] == ["no growth", "growth", "pending"]
    assert sterility["limit"] is None and sterility["measure"] == ""
    (version,) = sterility["history"]
    assert version["version"] == 1 and version["published_by"] is None
    (prp,) = _specs(api, "PRP")["product_types"]
    count = next(s for s in prp["specs"] if s["test"] == "platelet_count")
    assert (count["operator"], count["limit"], count["text"]) == (">=", 1000, "≥ 1000 ×10³/µL")


@pytest.mark.parametrize("product_type", ["ADIPOSE", "XYZ", ""])
def test_specs_of_a_source_or_unknown_type_are_refused(api, product_type):
    error = assert_error(api.get(f"/qc/specs?type={product_type}"), 422)
    assert "type" in error["fields"]


def test_an_admin_publishes_the_next_version_with_its_history(api):
    response = api.post("/qc/specs", {**VIABILITY_80, "product_type": "svf"}, as_="admin")
    assert response.status_code == 201, response.get_json()
    spec = response.get_json()
    assert (spec["product_type"], spec["test"], spec["version"]) == ("SVF", "viability", 2)
    assert (spec["text"], spec["required"], spec["pending_at_release"]) == ("≥ 80 %", True, False)
    builtin, published = spec["history"]
    assert (builtin["version"], builtin["text"], builtin["reason"]) == (1, "≥ 70 %", None)
    assert published["version"] == 2 and published["reason"] == VIABILITY_80["reason"]
    assert published["published_by"]["name"] == "Test Admin" and published["published_at"]
    assert _spec(api, "SVF", "viability") == spec
    assert _spec(api, "BM-MNC", "viability")["version"] == 1  # other products keep theirs

    words = {"product_type": "SVF", "test": "sterility", "accept": ["no growth"]}
    again = api.post(
        "/qc/specs", {**words, "pending_at_release": False, "reason": "frozen only"}, as_="admin"
    )
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["pending_at_release"] is False and again.get_json()["version"] == 2


@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
def test_only_an_admin_publishes_specs(api, role):
    before = _specs(api, "SVF")
    assert_error(api.post("/qc/specs", VIABILITY_80, as_=role), 403)
    assert _specs(api, "SVF") == before


BAD_SPECS = [
    ({"limit": "80"}, "limit"),
    ({"limit": True}, "limit"),
    ({"limit": 150}, "limit"),  # a percentage cannot pass at 150 %
    ({"operator": "=>"}, "operator"),
    ({"limit": -0.5}, "limit"),
    ({"accept": ["no growth"]}, "accept"),
    ({"reason": "x"}, "reason"),
    ({"reason": None}, "reason"),
    ({"required": "yes"}, "required"),
    ({"pending_at_release": True}, "pending_at_release"),
    ({"product_type": "ADIPOSE"}, "product_type"),
    ({"product_type": "XYZ"}, "product_type"),
    ({"test": "colour"}, "test"),
    ({"version": 7}, "version"),
    ({"test": "sterility"}, "limit"),  # words, not a limit
    ({"test": "sterility", "operator": None, "limit": None, "accept": ["pending"]}, "accept"),
    ({"test": "sterility", "operator": None, "limit": None, "accept": ["maybe"]}, "accept"),
    ({"test": "sterility", "operator": None, "limit": None, "accept": []}, "accept"),
    (
        {"test": "gram_stain", "operator": None, "limit": None, "accept": ["no organisms seen"]}
        | {"pending_at_release": True},
        "pending_at_release",
    ),
]


@pytest.mark.parametrize(("change", "field"), BAD_SPECS)
def test_a_spec_that_cannot_judge_is_refused(api, change, field):
    body = {k: v for k, v in {**VIABILITY_80, **change}.items() if v is not None}
    before = _specs(api)
    error = assert_error(api.post("/qc/specs", body, as_="admin"), 422)
    assert field in error["fields"], error
    assert _specs(api) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [("{", "application/json", 400), ("[]", "application/json", 400), ("x", "text/plain", 415)],
)
def test_a_spec_body_that_is_not_a_json_object_is_refused(api, data, content_type, status):
    response = api.post("/qc/specs", as_="admin", data=data, content_type=content_type)
    assert_error(response, status)


# ---------------------------------------------------------------------------- release queue


def test_the_release_queue_shows_readiness_deviations_and_expiry_soonest_first(api, users):
    _, svf = product_through_api(api, "ADIPOSE")  # 24 h
    _, prp = product_through_api(api, "BLOOD", mrn="MRN-2", name="Other Patient")  # 4 h
    record_required_qc(api, prp, platelet_count=400.0)
    record_required_qc(api, svf, sterility="pending")

    items = api.get("/release-queue", as_="qa").get_json()["items"]
    assert [i["unit"]["id"] for i in items] == [prp["id"], svf["id"]]
    first, second = items
    assert first["expires_at"] == prp["expires_at"]
    assert (first["readiness"]["failing"], first["deviations"]) == (["platelet_count"], 1)
    assert second["readiness"]["complete"] is True
    assert second["readiness"]["released_pending"] == ["sterility"]
    assert (second["deviations"], second["hands_on"]) == (0, [])

    api.act(svf, "release", as_="qa", **sign())
    items = api.get("/release-queue", as_="qa").get_json()["items"]
    assert [i["unit"]["id"] for i in items] == [prp["id"]]


def test_the_release_queue_counts_open_deviations_apart_from_closed_ones(api, users):
    _, prp = product_through_api(api, "BLOOD")
    record_required_qc(api, prp, platelet_count=400.0)
    (item,) = api.get("/release-queue", as_="qa").get_json()["items"]
    assert (item["deviations"], item["open_deviations"]) == (1, 1)

    (deviation,) = db.session.scalars(select(Deviation)).all()
    decision = {"decision": "accepted_no_impact", "note": "recount", "password": PASSWORD}
    deviations.close(deviation.id, {**decision, "meaning": "reviewed"}, users["qa"])

    (item,) = api.get("/release-queue", as_="qa").get_json()["items"]
    assert (item["deviations"], item["open_deviations"]) == (1, 0)
    (closed,) = api.get(f"/units/{prp['id']}/qc").get_json()["deviations"]
    assert (closed["decision"], closed["closed_by"]["id"]) == ("accepted_no_impact", users["qa"].id)
    assert closed["closed_at"] is not None


def test_the_release_queue_tells_qa_what_they_did_to_a_unit(api):
    """A technician who became QA may not release what they tested (two-person rule)."""
    from lims.extensions import db
    from lims.services.admin import accounts

    user = accounts.create_user("swap", "technician", PASSWORD, full_name="Tech Then QA")
    signed_in = api.post("/tokens", {"username": "swap", "password": PASSWORD}, as_=None)
    auth = {"Authorization": f"Bearer {signed_in.get_json()['token']}"}
    _, product = product_through_api(api, "ADIPOSE")
    record_required_qc(api, product)
    body = {"action": "record_qc", **qc_data("sterility", "no growth")}
    tested = api.client.post(f"/api/v1/units/{product['id']}/actions", json=body, headers=auth)
    assert tested.status_code == 200, tested.get_json()
    user.role = "qa"
    db.session.commit()

    (item,) = api.client.get("/api/v1/release-queue", headers=auth).get_json()["items"]
    assert item["hands_on"] == ["record_qc"]
    release = {"action": "release", **sign(), "version": item["unit"]["version"]}
    refused = api.client.post(f"/api/v1/units/{product['id']}/actions", json=release, headers=auth)
    assert_error(refused, 409, "two_person_rule")
    assert api.get("/release-queue", as_="qa").get_json()["items"][0]["hands_on"] == []


# ---------------------------------------------------------------------------- OpenAPI


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_signed_actions_document_their_passwords_as_write_only(doc):
    schemas = doc["components"]["schemas"]
    for name, secrets, required in (
        ("ReleaseRequest", ["password"], True),
        ("ExceptionalReleaseRequest", ["password", "physician_password"], True),
        ("RejectRequest", ["password"], False),
    ):
        for secret in secrets:
            prop = schemas[name]["properties"][secret]
            assert prop["writeOnly"] is True and prop["format"] == "password"
            assert (secret in schemas[name]["required"]) is required
    assert schemas["TokenRequest"]["properties"]["password"]["writeOnly"] is True
    for name, schema in schemas.items():
        if name.endswith("Out"):
            assert not {"password", "physician_password"} & set(schema.get("properties", {}))


def test_every_action_with_its_own_fields_is_in_the_action_union(doc):
    mapping = doc["components"]["schemas"]["ActionRequest"]["discriminator"]["mapping"]
    new = {"record_step", "record_qc", "release", "exceptional_release", "split", "store"}
    assert new | {"thaw", "dispense", "administer", "return", "expire"} <= set(mapping)
    assert set(mapping) == set(UNIT_ACTIONS)
    products = doc["components"]["schemas"]["ActionResultOut"]["properties"]["products"]
    assert "split" in products["description"] and "complete_processing" in products["description"]


def test_the_qc_routes_are_documented_with_their_roles(doc):
    ops = {op["operationId"]: op for path in doc["paths"].values() for op in path.values()}
    assert ops["unit_qc"]["description"] == "Roles: any signed-in user."
    assert ops["list_qc_specs"]["description"] == "Roles: any signed-in user."
    assert ops["publish_qc_spec"]["description"] == "Roles: admin."
    assert ops["release_queue"]["description"] == "Roles: qa."
    assert "201" in ops["publish_qc_spec"]["responses"]
    assert "429" in ops["unit_action"]["responses"]
    params = {p["name"] for p in ops["list_qc_specs"]["parameters"]}
    assert params == {"type"}


def _schema(doc, path: str, method: str, status: int) -> dict:
    response = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].split("/")[-1]]
    return response["content"]["application/json"]["schema"]


def test_real_qc_answers_match_the_documented_schemas(api, doc):
    _, product = product_through_api(api, "ADIPOSE")
    record_required_qc(api, product, viability=50.0)
    action = "/api/v1/units/{unit_id}/actions"
    calls = [
        ("/api/v1/units/{unit_id}/qc", "get", 200, api.get(f"/units/{product['id']}/qc")),
        ("/api/v1/qc/specs", "get", 200, api.get("/qc/specs")),
        ("/api/v1/qc/specs", "post", 201, api.post("/qc/specs", VIABILITY_80, as_="admin")),
        ("/api/v1/qc/specs", "post", 422, api.post("/qc/specs", {}, as_="admin")),
        ("/api/v1/release-queue", "get", 200, api.get("/release-queue", as_="qa")),
        ("/api/v1/release-queue", "get", 403, api.get("/release-queue")),
    ]
    exceptional = {  # api.action adds the version a signature needs
        "password": PASSWORD,
        "meaning": "approved exceptional release",
        "justification": "no alternative for this patient",
        "physician": "doctor",
        "physician_password": PASSWORD,
    }
    calls += [
        (action, "post", 200, api.action(product, "exceptional_release", as_="qa", **exceptional)),
        (
            action,
            "post",
            200,
            api.post(
                f"/units/{product['id']}/actions",
                {"action": "split", "aliquots": [{"volume_ml": 1}]},
            ),
        ),
    ]
    for path, method, status, response in calls:
        assert response.status_code == status, (path, response.get_json())
        conforms(response.get_json(), _schema(doc, path, method, status), doc, path)
