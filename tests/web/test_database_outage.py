"""When the database goes away, fills up or turns read-only, every request gets a clear 503
with Retry-After (never a 500 page, never a half-written unit), and the app recovers by
itself once the database answers again (pooled connections are checked before use).

The outage is real: the app talks to PostgreSQL through a TCP relay that the test cuts and
restores, so live pooled connections die exactly as they do when the server restarts."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from lims import create_app
from lims.extensions import db
from lims.models import Unit
from lims.services.admin import accounts
from tests.conftest import PASSWORD, WORKER, FreshRequestClient
from tests.service.lab import registration

READ_ONLY_ROLE = "lims_read_only_test" + (f"_{WORKER}" if WORKER else "")


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """A TCP outage and a read-only role are PostgreSQL's; SQLite's file has no server."""
    return request.param


class Relay:
    """A TCP relay on 127.0.0.1 to PostgreSQL that can be cut (live connections closed,
    new ones refused at once) and restored, like a database server restarting."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.up = True
        self.live: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.live.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self.lock:
            self.live.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            ends = list(self.live)
        for end in ends:
            self._close(end)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.server.close()


@pytest.fixture
def relay(app) -> Iterator[Relay]:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    yield relay
    relay.close()


def client_of(database_url: str):
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, FACILITY_CODE="T0001")
    return other, FreshRequestClient(other, other.response_class, use_cookies=True)


def token_for(client, username: str = "tech") -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def units_now() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Unit)) or 0


def assert_unavailable(answer, says: str) -> None:
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert says in answer.get_data(as_text=True)


def test_a_lost_database_is_a_503_to_retry_and_the_app_recovers_by_itself(app, users, relay):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(host="127.0.0.1", port=relay.port)
    other, client = client_of(url.render_as_string(hide_password=False))
    auth = token_for(client)
    assert client.get("/api/v1/units", headers=auth).status_code == 200  # pooled connections

    relay.cut()
    refused = client.post("/api/v1/units", json=registration(), headers=auth)
    listed = client.get("/api/v1/units", headers=auth)
    page = client.get("/login")

    assert_unavailable(refused, "database_unavailable")
    assert refused.get_json()["error"]["message"].startswith("the database is unavailable")
    assert_unavailable(listed, "database_unavailable")
    assert page.status_code == 200  # the sign-in page needs no database
    assert units_now() == 0

    relay.restore()
    again = client.post("/api/v1/units", json=registration(), headers=auth)

    assert again.status_code == 201, again.get_json()
    assert units_now() == 1
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def read_only_url(app, postgres_engine) -> str:
    with postgres_engine.begin() as conn:
        conn.exec_driver_sql(
            f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READ_ONLY_ROLE}')"
            f" THEN CREATE ROLE {READ_ONLY_ROLE} LOGIN; END IF; END$$"
        )
        conn.exec_driver_sql(f"ALTER ROLE {READ_ONLY_ROLE} SET default_transaction_read_only = on")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {READ_ONLY_ROLE}")
        conn.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {READ_ONLY_ROLE}")
        conn.exec_driver_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {READ_ONLY_ROLE}")
    return (
        make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        .set(username=READ_ONLY_ROLE)
        .render_as_string(hide_password=False)
    )


def test_a_read_only_database_refuses_changes_clearly_and_still_reads(app, users, read_only_url):
    token, _ = accounts.issue_token(users["technician"])  # stored while the database writes
    other, client = client_of(read_only_url)
    auth = {"Authorization": f"Bearer {token}"}

    refused = client.post("/api/v1/units", json=registration(), headers=auth)
    listed = client.get("/api/v1/units", headers=auth)

    assert_unavailable(refused, "database_unavailable")
    assert "read-only" in refused.get_json()["error"]["message"]
    assert listed.status_code == 200
    assert units_now() == 0
    with other.app_context():
        db.engine.dispose()
