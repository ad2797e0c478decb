"""The people's side of notifications in the browser: the inbox and its badge on every
page, marking read (one's own only), preferences per event kind and channel (urgent ones
locked on), and the admins' page of parked deliveries with its Retry button.

Events are produced the way the lab produces them, through the services; with no Redis
configured they reach the inbox right after the commit.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Invalid
from lims.domain.notifications import PERSONAL_EVENTS, Urgency
from lims.extensions import db
from lims.models import Delivery, Notification, NotificationPreference
from lims.services import inbox
from lims.services.actions import units
from lims.services.station import scan
from tests.backends import backend  # noqa: F401  (SQLite alone: the inbox pages; delivery and the inbox are tested on both in notify/)
from tests.service.lab import data_for

from .conftest import ZONE, text_of


def badge(response) -> int:
    """The unread count the top bar shows."""
    found = re.search(r'class="inbox-link[^"]*"[^>]*data-unread="(\d+)"', response.get_data(True))
    assert found, "no inbox link in the top bar"
    return int(found.group(1))


def shown_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-notification="(\d+)"', response.get_data(True))]


def notes_of(user) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def receive_one(register, users, **overrides):
    unit = register("ADIPOSE", **overrides)
    units.perform_action(unit.id, "receive", data_for("receive"), users["technician"])
    return unit


def a_mismatch(register, users):
    """A wristband of one patient scanned against another's unit: urgent, to QA and the
    clinician."""
    unit = register("ADIPOSE")
    other = register("ADIPOSE", mrn="MRN-9", name="Someone Else")
    check = scan.check_identity(other.patient.wristband, unit.barcode_data, users["clinician"])
    assert not check.match
    return unit


# ---------------------------------------------------------------------------- inbox and badge


def test_a_received_unit_is_in_every_technicians_inbox(login, register, users):
    unit = receive_one(register, users)
    client = login("technician")

    response = client.get("/notifications")

    page, html = text_of(response), response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unit received" in page and "Pat Example" in page
    assert f'href="/units/{unit.id}"' in html
    assert "Mark read" in page and "Unread" in page
    assert f"times in {ZONE}" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", page)  # the site's time, zone named
    assert badge(response) == 1
    assert len(notes_of(users["technician2"])) == 1
    assert notes_of(users["clinician"]) == [] and notes_of(users["qa"]) == []


def test_the_badge_counts_unread_on_every_page(login, register, users):
    receive_one(register, users)
    receive_one(register, users, mrn="MRN-2", name="Second Patient")
    client = login("technician")

    for url in ("/units/", "/station", "/notifications/settings"):
        response = client.get(url)
        assert badge(response) == 2, url
        assert '<span class="unread-badge">2' in response.get_data(as_text=True)


def test_no_badge_count_without_unread_and_none_for_anonymous(client, login, register, users):
    receive_one(register, users)
    assert "inbox-link" not in client.get("/login").get_data(as_text=True)

    response = login("clinician").get("/units/")

    assert badge(response) == 0
    assert "unread-badge" not in response.get_data(as_text=True)


def test_the_newest_comes_first(login, register, users):
    receive_one(register, users, name="First Patient")
    receive_one(register, users, mrn="MRN-2", name="Second Patient")

    response = login("technician").get("/notifications")

    page = text_of(response)
    assert page.index("Second Patient") < page.index("First Patient")
    ids = shown_ids(response)
    assert ids == sorted(ids, reverse=True)


def test_marking_one_read_lowers_the_count(login, register, users):
    receive_one(register, users)
    receive_one(register, users, mrn="MRN-2", name="Second Patient")
    client = login("technician")
    first = notes_of(users["technician"])[0]

    response = client.post(f"/notifications/{first.id}/read")

    assert response.status_code == 302 and response.location.endswith("/notifications")
    page = client.get("/notifications")
    assert badge(page) == 1
    assert [n.read_at is not None for n in notes_of(users["technician"])] == [True, False]
    assert "Read " in text_of(page)
    assert notes_of(users["technician2"])[0].read_at is None  # theirs is their own


def test_mark_all_read(login, register, users):
    receive_one(register, users)
    receive_one(register, users, mrn="MRN-2", name="Second Patient")
    client = login("technician")

    response = client.post("/notifications/read-all", follow_redirects=True)

    assert "Marked 2 notifications read." in text_of(response)
    assert badge(response) == 0
    assert all(n.read_at for n in notes_of(users["technician"]))
    assert not any(n.read_at for n in notes_of(users["technician2"]))


def test_the_unread_filter(login, register, users):
    receive_one(register, users, name="First Patient")
    receive_one(register, users, mrn="MRN-2", name="Second Patient")
    client = login("technician")
    client.post(f"/notifications/{notes_of(users['technician'])[0].id}/read")

    page = text_of(client.get("/notifications?unread=1"))

    assert "Second Patient" in page and "First Patient" not in page
    assert "1 unread notification" in page


def test_another_users_notification_cannot_be_read_or_marked(client, login, register, users):
    receive_one(register, users)
    theirs = notes_of(users["technician2"])[0]
    client = login("technician")

    assert theirs.id not in shown_ids(client.get("/notifications"))
    response = client.post(f"/notifications/{theirs.id}/read")

    assert response.status_code == 404
    assert notes_of(users["technician2"])[0].read_at is None
    assert client.post("/notifications/999999/read").status_code == 404


def test_a_clinician_sees_an_urgent_mismatch_loudly(login, register, users):
    a_mismatch(register, users)

    response = login("clinician").get("/notifications")

    html, page = response.get_data(as_text=True), text_of(response)
    assert "⚠ Urgent" in page and "Patient/product mismatch" in page
    assert 'class="note u-urgent is-unread"' in html
    assert re.search(r'class="inbox-link has-urgent"', html)
    assert "1 urgent" in page  # the badge says it in words too


# ---------------------------------------------------------------------------- preferences


def all_on_form(prefs_page: str) -> dict[str, str]:
    """What the browser posts for the preferences form as shown: every checked box."""
    names = re.findall(r'<input type="checkbox" name="([^"]+)" value="on" checked', prefs_page)
    hidden = re.findall(r'<input type="hidden" name="([a-z_]+\.[a-z]+)" value="on"', prefs_page)
    return {name: "on" for name in [*names, *hidden]}


def test_the_preferences_table(login, users):
    response = login("technician").get("/notifications/settings")

    html, page = response.get_data(as_text=True), text_of(response)
    assert response.status_code == 200
    for title in ("Unit received", "Positive sterility after release", "Transit overdue"):
        assert title in page
    assert "In-app" in page and "E-mail" in page
    urgent = [kind for kind in PERSONAL_EVENTS.values() if kind.urgency is Urgency.URGENT]
    assert len(urgent) == 3  # mismatch, positive sterility, adverse reaction
    assert page.count("urgent: cannot be switched off") == 2 * len(urgent)  # × 2 channels
    assert re.search(r'name="identity_mismatch\.inapp" value="on" checked\s+disabled', html)
    assert "this server sends no e-mail" in page
    assert "your account has no e-mail address" in page


@pytest.mark.parametrize(
    "app_config", [{"TIMEZONE": ZONE, "MAIL_SERVER": "smtp.example.org"}], ids=["mail"]
)
def test_no_email_note_when_mail_would_reach_the_user(login, users):
    users["technician"].email = "tech@example.org"
    db.session.commit()

    page = text_of(login("technician").get("/notifications/settings"))

    assert "E-mail will not reach you" not in page


def test_switching_in_app_off_for_a_normal_event(login, register, users):
    client = login("technician")
    form = all_on_form(client.get("/notifications/settings").get_data(as_text=True))
    del form["unit_received.inapp"]

    response = client.post("/notifications/settings", data=form, follow_redirects=True)

    assert "Your notification preferences are saved." in text_of(response)
    assert 'name="unit_received.inapp" value="on" checked' not in response.get_data(True)
    row = db.session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == users["technician"].id,
            NotificationPreference.event == "unit_received",
            NotificationPreference.channel == "inapp",
        )
    )
    assert row is not None and row.enabled is False

    receive_one(register, users)

    channels = db.session.scalars(
        select(Delivery.channel).where(Delivery.user_id == users["technician"].id)
    ).all()
    assert "inapp" not in channels and notes_of(users["technician"]) == []
    assert len(notes_of(users["technician2"])) == 1  # the choice was only theirs


def test_switching_email_off_is_recorded(login, users):
    client = login("qa")
    form = all_on_form(client.get("/notifications/settings").get_data(as_text=True))
    del form["ready_for_review.email"]

    client.post("/notifications/settings", data=form)

    prefs = inbox.preferences(users["qa"])
    cells = {c.name: c.enabled for _, row in prefs.rows for c in row}
    assert cells["ready_for_review.email"] is False and cells["ready_for_review.inapp"] is True


def preference_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(NotificationPreference)) or 0


def test_a_forged_post_cannot_switch_an_urgent_event_off(login, register, users):
    client = login("qa")
    form = all_on_form(client.get("/notifications/settings").get_data(as_text=True))
    del form["identity_mismatch.inapp"]  # the hidden "on" beside the disabled box
    del form["ready_for_review.inapp"]  # and a normal choice in the same post

    response = client.post("/notifications/settings", data=form)

    assert response.status_code == 422
    assert "Nothing was saved" in text_of(response)
    assert preference_rows() == 0
    a_mismatch(register, users)
    assert [n.event for n in notes_of(users["qa"])] == ["identity_mismatch"]


def test_the_service_refuses_to_switch_urgent_off(users):
    with pytest.raises(Invalid) as refused:
        inbox.save_preferences(users["qa"], {("sterility_positive", "email"): False})

    assert refused.value.code == "urgent_always_on"
    assert refused.value.fields == {"sterility_positive.email": "urgent: cannot be switched off"}
    assert preference_rows() == 0


# ---------------------------------------------------------------------------- admins: failed deliveries


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FAILING_WEBHOOK = {
    "TIMEZONE": ZONE,
    "WEBHOOK_URL": f"http://127.0.0.1:{closed_port()}/hook",
    "WEBHOOK_SECRET": "test-webhook-secret",
    "NOTIFY_MAX_ATTEMPTS": 1,
}
failing_webhook = pytest.mark.parametrize("app_config", [FAILING_WEBHOOK], ids=["webhook"])


def failed_hook(register, users) -> Delivery:
    """A unit received while the clinic's webhook is down: its delivery is parked."""
    receive_one(register, users)
    db.session.expire_all()
    (delivery,) = db.session.scalars(select(Delivery).where(Delivery.channel == "webhook"))
    assert delivery.status == "failed" and delivery.attempts == 1
    return delivery


def status_of(delivery_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id).status


@dataclass
class Receiver:
    url: str
    received: list[bytes]


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    """A local webhook that answers 204 (a test points the app at it once it is needed)."""
    received: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_port}/hook", received)
    server.shutdown()
    server.server_close()


@failing_webhook
def test_the_admin_sees_a_failed_delivery(login, register, users):
    delivery = failed_hook(register, users)

    response = login("admin").get("/admin/deliveries")

    html, page = response.get_data(as_text=True), text_of(response)
    assert response.status_code == 200
    assert f'data-delivery="{delivery.id}"' in html
    assert "Unit received" in page and "the clinic's webhook" in page
    assert (
        "Webhook" in page and "webhook http://127.0.0.1:" in page
    )  # channel, last error (origin only)
    assert re.search(r'data-status="failed"><dt>Failed</dt><dd>1</dd>', html)
    assert re.search(r'data-status="sent"><dt>Sent</dt><dd>2</dd>', html)  # two in-app
    assert "Retry" in page


@failing_webhook
def test_retry_sends_it_when_the_receiver_is_back(app, login, register, users, webhook_receiver):
    delivery = failed_hook(register, users)
    app.config["WEBHOOK_URL"] = webhook_receiver.url

    response = login("admin").post(f"/admin/deliveries/{delivery.id}/retry", follow_redirects=True)

    assert f"Delivery {delivery.id} was sent." in text_of(response)
    assert status_of(delivery.id) == "sent"
    assert len(webhook_receiver.received) == 1
    assert f'data-delivery="{delivery.id}"' not in response.get_data(as_text=True)


@failing_webhook
def test_retry_while_the_receiver_is_still_down_parks_it_again(login, register, users):
    delivery = failed_hook(register, users)

    response = login("admin").post(f"/admin/deliveries/{delivery.id}/retry", follow_redirects=True)

    assert f"Delivery {delivery.id} failed again and is parked" in text_of(response)
    assert status_of(delivery.id) == "failed"


@failing_webhook
def test_with_celery_a_retry_is_queued(app, login, register, users, monkeypatch):
    delivery = failed_hook(register, users)
    app.config["CELERY"] = {**app.config["CELERY"], "broker_url": "redis://127.0.0.1:1/0"}
    queued = []
    monkeypatch.setattr(
        app.extensions["celery"], "send_task", lambda name, args, **kw: queued.append((name, args))
    )

    response = login("admin").post(f"/admin/deliveries/{delivery.id}/retry", follow_redirects=True)

    assert queued == [("lims.deliver", (delivery.id,))]
    assert "a worker sends it now" in text_of(response)
    assert status_of(delivery.id) == "pending"


@failing_webhook
def test_with_redis_down_a_retry_waits_for_the_sweep(app, login, register, users, monkeypatch):
    delivery = failed_hook(register, users)
    app.config["CELERY"] = {**app.config["CELERY"], "broker_url": "redis://127.0.0.1:1/0"}

    def redis_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(app.extensions["celery"], "send_task", redis_down)

    response = login("admin").post(f"/admin/deliveries/{delivery.id}/retry", follow_redirects=True)

    assert response.status_code == 200
    assert "the sweep will send it" in text_of(response)
    assert status_of(delivery.id) == "pending"


@failing_webhook
def test_retrying_twice_is_answered_not_repeated(app, login, register, users, webhook_receiver):
    delivery = failed_hook(register, users)
    app.config["WEBHOOK_URL"] = webhook_receiver.url
    client = login("admin")
    client.post(f"/admin/deliveries/{delivery.id}/retry")

    response = client.post(f"/admin/deliveries/{delivery.id}/retry", follow_redirects=True)

    assert "is not parked as failed" in text_of(response)
    assert len(webhook_receiver.received) == 1
    assert client.post("/admin/deliveries/999999/retry").status_code == 404


@failing_webhook
@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
def test_only_admins_see_and_retry_deliveries(login, register, users, role):
    delivery = failed_hook(register, users)
    client = login(role)

    assert client.get("/admin/deliveries").status_code == 403
    assert client.post(f"/admin/deliveries/{delivery.id}/retry").status_code == 403
    assert status_of(delivery.id) == "failed"


# ---------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("app_config", [{"TIMEZONE": ZONE, "WTF_CSRF_ENABLED": True}], ids=["csrf"])
def test_marking_read_without_a_token_is_refused(client, register, users):
    receive_one(register, users)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "tech", "password": "test-pass-1234", "csrf_token": token}
    )
    note = notes_of(users["technician"])[0]

    assert client.post(f"/notifications/{note.id}/read").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    assert notes_of(users["technician"])[0].read_at is None
    inbox_page = client.get("/notifications").get_data(as_text=True)
    token = inbox_page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/notifications/{note.id}/read", data={"csrf_token": token})
    assert response.status_code == 302
    assert notes_of(users["technician"])[0].read_at is not None


def test_the_badge_costs_one_query_per_page(app, login, register, users):
    from sqlalchemy import event

    receive_one(register, users)
    client = login("technician")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.get("/units/")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)

    assert badge(response) == 1
    assert len([s for s in statements if "FROM notifications" in s]) == 1


@pytest.mark.parametrize("page", ["0", "-3", "abc", str(10**30)])
def test_any_page_number_answers(login, register, users, page):
    receive_one(register, users)

    response = login("technician").get(f"/notifications?page={page}")

    assert response.status_code == 200
