"""Concurrent users (docs/product.md §11): two actions on one unit at once, one wins and the other
is told (409); registrations at once never share a DIN; the ledger stays one chain.

Real threads, each with its own app context and so its own session and connection, start
together at a barrier. PostgreSQL is where this matters (many web workers); the races that
SQLite serialises anyway are run on it too."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from lims.domain.errors import Conflict
from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.services.actions.units import perform_action, register
from lims.services.admin import accounts
from lims.services.custody import ledger

from .lab import data_for, entries_of, registration, stored

TIMEOUT = 30


def at_once(app, work: list[tuple[int, Callable[[User], Any]]]) -> list[Any]:
    """Run each ``(user_id, job)`` in its own thread, all released together; return each
    job's result (plain values: its session is gone afterwards) or the exception it raised."""
    db.session.commit()  # the test's own session holds nothing while the threads run
    barrier = threading.Barrier(len(work), timeout=TIMEOUT)
    outcomes: list[Any] = [None] * len(work)

    def run(index: int, user_id: int, job: Callable[[User], Any]) -> None:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                db.session.commit()
                barrier.wait()
                outcomes[index] = job(user)
            except Exception as exc:  # reported to the test, which decides
                outcomes[index] = exc
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=run, args=(i, user_id, job))
        for i, (user_id, job) in enumerate(work)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return outcomes


def winners_and_losers(outcomes: list[Any]) -> tuple[list[Any], list[Exception]]:
    losers = [o for o in outcomes if isinstance(o, Exception)]
    unexpected = [o for o in losers if not isinstance(o, Conflict)]
    assert not unexpected, unexpected
    return [o for o in outcomes if not isinstance(o, Exception)], losers


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """Races on one unit: PostgreSQL only (SQLite serialises whole transactions)."""
    return request.param


@pytest.mark.req("LIMS-2")
@pytest.mark.postgres_only
def test_two_technicians_start_processing_one_unit_at_once(app, users, unit_in):
    unit = unit_in("received")
    version = stored(unit.id)["version"]

    unit_id = unit.id  # plain values into the threads: the test's session is not theirs

    def start(user: User) -> tuple[str, int]:
        result = perform_action(unit_id, "start_processing", data_for("start_processing"), user)
        return result.unit.status, result.unit.custodian_id

    outcomes = at_once(app, [(users["technician"].id, start), (users["technician2"].id, start)])

    winners, losers = winners_and_losers(outcomes)
    assert (len(winners), len(losers)) == (1, 1)
    assert losers[0].http_status == 409
    after = stored(unit.id)
    assert (after["status"], after["version"]) == ("in_processing", version + 1)
    assert (after["status"], after["custodian_id"]) == winners[0]
    assert [e.action for e in entries_of(unit.id)].count("start_processing") == 1
    assert ledger.verify().intact


@pytest.mark.postgres_only
def test_qa_rejects_while_a_technician_starts_processing(app, users, unit_in):
    unit = unit_in("received")

    unit_id = unit.id  # plain values into the threads: the test's session is not theirs

    def start(user: User) -> str:
        return perform_action(
            unit_id, "start_processing", data_for("start_processing"), user
        ).unit.status

    def reject(user: User) -> str:
        return perform_action(unit_id, "reject", data_for("reject"), user).unit.status

    outcomes = at_once(app, [(users["technician"].id, start), (users["qa"].id, reject)])

    winners, losers = winners_and_losers(outcomes)
    assert (len(winners), len(losers)) == (1, 1)
    assert stored(unit.id)["status"] == winners[0]
    assert len(entries_of(unit.id)) == 3  # register, receive, and the winner's
    assert ledger.verify().intact


def register_many(app, users, count: int, same_patient: bool) -> list[Any]:
    def job(index: int) -> Callable[[User], Any]:
        mrn = "MRN-SHARED" if same_patient else f"MRN-{index}"
        data = registration(patient={"mrn": mrn, "name": "Pat Example"})
        return lambda user: register(data, user).unit.din

    if same_patient:  # the patient exists; only the collections race
        register(
            registration(patient={"mrn": "MRN-SHARED", "name": "Pat Example"}), users["clinician"]
        )
    return at_once(app, [(users["clinician"].id, job(i)) for i in range(count)])


@pytest.mark.req("T-1", "LIMS-2")
@pytest.mark.postgres_only
@pytest.mark.parametrize("same_patient", [False, True], ids=["new patients", "one patient"])
def test_ten_registrations_at_once_get_distinct_sequential_dins(app, users, same_patient):
    outcomes = register_many(app, users, 10, same_patient)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    first = 2 if same_patient else 1
    assert sorted(int(din[7:]) for din in outcomes) == list(range(first, first + 10))
    assert len({din[:7] for din in outcomes}) == 1  # one facility, one year
    seqs = db.session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1))
    assert ledger.verify().intact


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_ten_registrations_at_once_on_sqlite_queue_instead_of_failing(app, users):
    outcomes = register_many(app, users, 10, same_patient=False)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(int(din[7:]) for din in outcomes) == list(range(1, 11))
    assert ledger.verify().checked == 10


@pytest.mark.postgres_only
def test_two_qa_users_release_one_unit_at_once(app, users, unit_in):
    """One release wins, the other is told (409); one signature, one ledger entry."""
    from lims.services.custody.signatures import signatures_of

    from .lab import pass_all_qc, sign

    product = unit_in("quarantine")
    pass_all_qc(product, users["technician"])
    second_qa = accounts.create_user("qa2", "qa", "test-pass-1234", full_name="Second QA")

    product_id = product.id  # plain values into the threads: the test's session is not theirs

    def release(user: User) -> str:
        return perform_action(product_id, "release", sign(), user).unit.status

    outcomes = at_once(app, [(users["qa"].id, release), (second_qa.id, release)])

    winners, losers = winners_and_losers(outcomes)
    assert (winners, len(losers)) == (["released"], 1)
    assert losers[0].http_status == 409
    assert [e.action for e in entries_of(product.id)].count("release") == 1
    assert len(signatures_of([product.id])) == 1
    assert ledger.verify().intact


@pytest.mark.postgres_only
def test_two_units_stored_into_one_position_at_once(app, users, unit_in):
    """A position holds one unit: of two technicians storing there at once, one wins."""
    from lims.services.admin.locations import create_location

    box = create_location("Box", "box", None, users["admin"], rows=1, columns=1)
    (position,) = box.children
    first = unit_in("quarantine")
    second = unit_in("quarantine", patient={"mrn": "MRN-2", "name": "Other Patient"})
    data = {"location": position.code, "storage_temperature_c": 4.0}

    def store(unit_id: int) -> Callable[[User], Any]:
        return lambda user: perform_action(unit_id, "store", data, user).unit.location_id

    outcomes = at_once(
        app,
        [(users["technician"].id, store(first.id)), (users["technician2"].id, store(second.id))],
    )

    winners, losers = winners_and_losers(outcomes)
    assert (winners, len(losers)) == ([position.id], 1)
    assert losers[0].code == "position_occupied"
    db.session.expire_all()
    placed = [db.session.get(type(first), u.id).location_id for u in (first, second)]
    assert placed.count(position.id) == 1 and placed.count(None) == 1
