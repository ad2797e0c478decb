"""GET /api/v1/notifications and POST /api/v1/notifications/<id>/read: the caller's own
inbox, newest first, and marking one read. Events are produced through the API itself (a
receipt tells every technician; a wrong wristband tells the clinician, urgently)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Notification
from tests.backends import backend  # noqa: F401  (SQLite alone: the inbox API; delivery is tested on both in notify/)

from .helpers import assert_error

ITEM_FIELDS = {"id", "event", "unit_id", "urgency", "created_at", "read", "title", "body"}


def received(api, **overrides) -> dict:
    unit = api.register("ADIPOSE", **overrides)
    api.act(unit, "receive")
    return unit


def inbox(api, as_: str = "technician", query: str = "") -> dict:
    response = api.get(f"/notifications{query}", as_=as_)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def read_at(notification_id: int):
    db.session.expire_all()
    return db.session.scalar(select(Notification.read_at).where(Notification.id == notification_id))


def test_the_inbox_lists_the_callers_notifications_newest_first(api):
    first = received(api)
    second = received(api, mrn="MRN-2", name="Second Patient")

    body = inbox(api)

    assert [item["unit_id"] for item in body["items"]] == [second["id"], first["id"]]
    for item in body["items"]:
        assert set(item) == ITEM_FIELDS
        assert item["event"] == "unit_received" and item["urgency"] == "normal"
        assert item["read"] is False and item["created_at"].endswith("Z")
    assert body["total"] == 2 and body["unread"] == 2 and body["page"] == 1
    assert inbox(api, as_="clinician")["items"] == []


def test_marking_one_read(api):
    received(api)
    received(api, mrn="MRN-2", name="Second Patient")
    newest, oldest = inbox(api)["items"]

    response = api.post(f"/notifications/{oldest['id']}/read")

    assert response.status_code == 200
    assert response.get_json() == {**oldest, "read": True}
    assert read_at(oldest["id"]) is not None
    body = inbox(api)
    assert body["unread"] == 1 and [i["read"] for i in body["items"]] == [False, True]
    unread = inbox(api, query="?unread=true")
    assert [i["id"] for i in unread["items"]] == [newest["id"]] and unread["total"] == 1


def test_marking_read_again_keeps_the_first_time(api):
    received(api)
    (item,) = inbox(api)["items"]
    api.post(f"/notifications/{item['id']}/read")
    first = read_at(item["id"])

    response = api.post(f"/notifications/{item['id']}/read")

    assert response.status_code == 200 and response.get_json()["read"] is True
    assert read_at(item["id"]) == first


def test_another_users_notification_is_not_found_and_stays_unread(api):
    received(api)
    (theirs,) = inbox(api, as_="technician")["items"]

    response = api.post(f"/notifications/{theirs['id']}/read", as_="clinician")

    assert_error(response, 404, "not_found")
    assert read_at(theirs["id"]) is None
    assert inbox(api, as_="technician")["unread"] == 1


@pytest.mark.parametrize("notification_id", ["999999", "2147483648", "0", "abc"])
def test_an_unknown_notification_is_not_found(api, users, notification_id):
    assert_error(api.post(f"/notifications/{notification_id}/read"), 404)


@pytest.mark.parametrize("query", ["?unread=maybe", "?unread=true&unread=false", "?colour=red"])
def test_a_wrong_query_is_refused(api, users, query):
    assert_error(api.get(f"/notifications{query}"), 422)


def test_a_wristband_mismatch_reaches_the_clinician_as_urgent(api):
    unit = api.register("ADIPOSE")
    other = api.register("ADIPOSE", mrn="MRN-9", name="Someone Else")
    answer = api.post(
        "/scan/identity",
        {"wristband": other["patient"]["wristband"], "unit": unit["barcode_data"]},
        as_="clinician",
    )
    assert answer.status_code == 200 and answer.get_json()["result"] == "mismatch"

    (item,) = inbox(api, as_="clinician", query="?unread=true")["items"]

    assert item["event"] == "identity_mismatch" and item["urgency"] == "urgent"
    assert item["unit_id"] == unit["id"]


def test_both_operations_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    listing = doc["paths"]["/api/v1/notifications"]["get"]
    marking = doc["paths"]["/api/v1/notifications/{notification_id}/read"]["post"]

    assert {p["name"] for p in listing["parameters"]} == {"unread", "page", "per_page"}
    assert [p["name"] for p in marking["parameters"]] == ["notification_id"]
    assert "404" in marking["responses"] and listing["description"] == (
        "Roles: any signed-in user."
    )
    item = doc["components"]["schemas"]["NotificationOut"]
    assert set(item["properties"]) == ITEM_FIELDS
    assert set(item["required"]) == ITEM_FIELDS
    ref = marking["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/NotificationOut")
