"""The ledger through the API: QA's verify names the first altered entry, and two clients
racing on one unit leave one winner, one 409 and an intact chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from lims.extensions import db
from tests.conftest import PASSWORD
from tests.service.lab import triggers_off


def test_verify_names_the_first_altered_entry(api):
    unit = api.register("ADIPOSE")
    api.act(unit, "dispatch")
    api.act(unit, "receive")
    assert api.get("/ledger/verify", as_="qa").get_json()["intact"] is True

    dispatched = api.get(f"/units/{unit['id']}/history").get_json()["entries"][1]
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET data = '{}' WHERE seq = 2"))

    result = api.get("/ledger/verify", as_="qa").get_json()
    assert result["intact"] is False
    assert result["checked"] == 1 and result["head_seq"] == 1
    assert result["first_break"]["seq"] == dispatched["seq"] == 2
    assert result["first_break"]["entry_id"] == dispatched["id"]
    assert "altered" in result["first_break"]["problem"]


@pytest.mark.req("LIMS-2")
def test_two_clients_acting_at_once_one_wins_the_other_gets_409(app, api):
    unit = api.register("ADIPOSE")
    second = api.post("/tokens", {"username": "tech2", "password": PASSWORD}, as_=None)
    headers = [api.headers("technician"), {"Authorization": f"Bearer {second.get_json()['token']}"}]
    body = {"action": "receive", "temperature_c": 4.0, "container_intact": True, "volume_ml": 250}
    barrier, statuses = threading.Barrier(2), []

    def receive(auth: dict[str, str]) -> None:
        client = app.test_client()  # another thread: its own app context and session
        barrier.wait()
        response = client.post(f"/api/v1/units/{unit['id']}/actions", json=body, headers=auth)
        statuses.append((response.status_code, response.get_json()))

    db.session.rollback()  # this thread's reads must not hold SQLite's write lock meanwhile
    threads = [threading.Thread(target=receive, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(code for code, _ in statuses) == [200, 409], statuses
    loser = next(body for code, body in statuses if code == 409)
    assert loser["error"]["code"] in {"not_allowed_now", "stale_version", "concurrent_change"}
    verify = api.get("/ledger/verify", as_="qa").get_json()
    assert verify["intact"] is True and verify["checked"] == 2
