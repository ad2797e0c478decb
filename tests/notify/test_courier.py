"""The embedded mode outside tests: an action answers first, and its notifications are
delivered after, on the courier's thread (decision 91). A webhook peer on 127.0.0.1 that
holds every delivery until let go shows the order: the answer arrives while the peer still
holds the delivery; once it lets go, the inbox and the webhook have what they should."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Delivery, Notification
from lims.notify.courier import courier
from lims.services.actions import units
from lims.services.admin import accounts
from tests.service.lab import data_for, idle_in_transaction, registration

from .conftest import free_port


class HeldPeer:
    """A webhook receiver that answers only when ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.arrived = threading.Event()
        self.bodies: list[bytes] = []


@pytest.fixture
def held_peer() -> Iterator[tuple[HeldPeer, str]]:
    peer = HeldPeer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            peer.arrived.set()
            peer.gate.wait(30)
            peer.bodies.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield peer, f"http://127.0.0.1:{port}/hook"
    finally:
        peer.gate.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def app_config(held_peer):
    _, url = held_peer
    return {"NOTIFY_IN_BACKGROUND": True, "WEBHOOK_URL": url, "WEBHOOK_SECRET": "s" * 32}


@pytest.mark.req("LIMS-1")
def test_an_action_answers_before_its_notifications_are_delivered(app, client, users, held_peer):
    peer, _ = held_peer
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    db.session.commit()
    token, _ = accounts.issue_token(users["technician"])
    db.session.commit()
    lab = {users["technician"].id, users["technician2"].id}
    assert courier(app).wait_idle(10)  # the registration's own notifications, if any, are out
    peer.arrived.clear()

    answer = client.post(
        f"/api/v1/units/{unit.id}/actions",
        json={"action": "receive", **data_for("receive")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.get_json()
    db.session.remove()  # the courier's thread writes next; this test holds no transaction
    # The answer came back while the peer still holds the delivery: it was not made inside.
    assert peer.arrived.wait(10) and peer.bodies == []
    assert not courier(app).wait_idle(0.2)

    peer.gate.set()
    assert courier(app).wait_idle(20)
    assert len(peer.bodies) >= 1 and b"unit_received" in b"".join(peer.bodies)
    notes = db.session.scalars(
        select(Notification).where(
            Notification.unit_id == unit.id, Notification.event == "unit_received"
        )
    ).all()
    assert {n.user_id for n in notes} == lab
    webhooks = db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).all()
    assert webhooks and {d.status for d in webhooks} == {"sent"}


@pytest.mark.req("LIMS-1")
def test_the_bench_keeps_working_while_a_receiver_takes_its_time(app, client, users, held_peer):
    """A delivery holds no transaction while its peer answers: on SQLite the write lock is
    free for the next action, and PostgreSQL has no connection of ours idle in a transaction."""
    peer, _ = held_peer
    first, second = (
        units.register(registration("ADIPOSE"), users["clinician"]).unit.id for _ in range(2)
    )
    db.session.commit()
    token, _ = accounts.issue_token(users["technician"])
    db.session.commit()
    assert courier(app).wait_idle(10)
    peer.arrived.clear()
    headers = {"Authorization": f"Bearer {token}"}
    receive = {"action": "receive", **data_for("receive")}

    assert (
        client.post(f"/api/v1/units/{first}/actions", json=receive, headers=headers).status_code
        == 200
    )
    db.session.remove()
    assert peer.arrived.wait(10)  # the courier is inside the webhook call now
    if db.engine.dialect.name == "postgresql":
        assert idle_in_transaction() == 0
    else:
        answer = client.post(f"/api/v1/units/{second}/actions", json=receive, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        db.session.remove()
    assert peer.bodies == []  # still held: what was checked happened during the call

    peer.gate.set()
    assert courier(app).wait_idle(20)
    sent = db.session.scalars(select(Delivery.status).where(Delivery.channel == "webhook")).all()
    assert sent and set(sent) == {"sent"}
