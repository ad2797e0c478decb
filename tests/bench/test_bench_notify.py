"""The notification benchmark runs end to end on a small database (embedded and broker-down
modes; the broker-up mode needs a Redis and is for the bench itself)."""

from __future__ import annotations

import pytest

from bench.notify import run


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_the_notification_benchmark_runs(database_url, app):
    results = run(database_url, None, actions=3, events=4)  # its own apps, same database
    assert results["receive_embedded"]["n"] == 3
    assert results["receive_broker_down"]["n"] == 3
    backlog = results["backlog"]
    assert backlog["events"] == 4 + 3  # the broker-down receipts waited in the outbox too
    assert backlog["deliveries"] == backlog["events"] * 3  # three bench technicians
    assert backlog["sent"] == backlog["deliveries"] + 3 * 3  # plus the embedded ones
