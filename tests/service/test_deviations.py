"""Deviations for QA: the list (open, closed, by kind) and QA's signed decision that
closes one — a signed ledger entry on the unit that moves nothing, the signature row and
the deviation's columns in one transaction; refused without a trace when the password is
wrong, the caller is not QA, QA opened it, or someone else closed it first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import Deviation, LedgerEntry, Signature, Unit
from lims.services.actions import units
from lims.services.admin import accounts
from lims.services.audit import deviations
from lims.services.custody import ledger

from .lab import PASSWORD, qc_data
from .test_concurrency import at_once, winners_and_losers


@pytest.fixture
def product(unit_in) -> Unit:
    """An SVF in quarantine with a viability out of specification: one open deviation."""
    product = unit_in("quarantine")
    return product


def fail_viability(product: Unit, users) -> int:
    units.perform_action(product.id, "record_qc", qc_data("viability", 40.0), users["technician"])
    db.session.commit()
    return db.session.scalar(select(func.max(Deviation.id)))


@pytest.fixture
def deviation_id(product, users) -> int:
    return fail_viability(product, users)


def decision(kind: str = "accepted_no_impact", **overrides) -> dict:
    return {
        "decision": kind,
        "note": "re-tested on a second vial: 86 %; no impact on the product",
        "password": PASSWORD,
        "meaning": "reviewed",
        **overrides,
    }


def snapshot(deviation_id: int) -> dict:
    """What is stored now: the deviation's columns, and how many entries and signatures."""
    db.session.rollback()
    row = db.session.get(Deviation, deviation_id)
    return {
        "closed_at": row.closed_at,
        "decision": row.decision,
        "signature_id": row.signature_id,
        "entries": ledger.count(),
        "signatures": db.session.scalar(select(func.count()).select_from(Signature)),
    }


# ---------------------------------------------------------------------------- closing


@pytest.mark.req("F-9")
def test_qa_closes_a_deviation_with_a_signed_decision(deviation_id, product, users):
    before = db.session.get(Unit, product.id)
    status, version = before.status, before.version
    entries = ledger.count()

    closed = deviations.close(deviation_id, decision(), users["qa"])

    assert closed.closed_by_id == users["qa"].id and closed.closed_at is not None
    assert closed.decision == "accepted_no_impact"
    assert closed.decision_note == "re-tested on a second vial: 86 %; no impact on the product"
    signature = closed.signature
    assert (signature.action, signature.meaning) == ("close_deviation", "reviewed")
    assert (signature.signer_id, signature.printed_name) == (users["qa"].id, "Test Qa")
    entry = db.session.get(LedgerEntry, signature.ledger_entry_id)
    assert ledger.count() == entries + 1 and entry.seq == entries + 1
    assert (entry.action, entry.unit_id, entry.actor_id) == (
        "close_deviation",
        product.id,
        users["qa"].id,
    )
    assert entry.from_status == entry.to_status == status  # standing: the unit does not move
    assert entry.reason == closed.decision_note
    data = json.loads(entry.data)
    assert data["decision"] == "accepted — no impact"
    assert data["deviation"] == f"#{deviation_id} QC out of specification"
    assert data["signed_record"]["deviation"]["id"] == deviation_id
    assert data["signatures"][0]["record_hash"] == signature.record_hash
    unit = db.session.get(Unit, product.id)
    assert (unit.status, unit.version) == (status, version)
    assert ledger.verify().intact


def test_product_rejected_records_the_decision_and_leaves_the_unit_alone(
    deviation_id, product, users
):
    deviations.close(deviation_id, decision("product_rejected"), users["qa"])

    assert db.session.get(Unit, product.id).status == "quarantine"
    assert db.session.get(Deviation, deviation_id).decision == "product_rejected"


def test_closing_twice_is_refused_and_records_nothing_more(deviation_id, users):
    deviations.close(deviation_id, decision(), users["qa"])
    before = snapshot(deviation_id)

    with pytest.raises(Conflict) as refused:
        deviations.close(deviation_id, decision("product_rejected"), users["qa"])

    assert refused.value.code == "already_closed" and refused.value.http_status == 409
    assert snapshot(deviation_id) == before


def test_two_qa_closing_at_once_one_wins_the_other_is_told(app, deviation_id, users):
    second = accounts.create_user("qa2", "qa", PASSWORD, full_name="Second Qa")
    entries = ledger.count()

    def close(user) -> int:
        return deviations.close(deviation_id, decision(), user).closed_by_id

    outcomes = at_once(app, [(users["qa"].id, close), (second.id, close)])

    won, lost = winners_and_losers(outcomes)
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].http_status == 409
    stored = snapshot(deviation_id)
    assert db.session.get(Deviation, deviation_id).closed_by_id == won[0]
    assert stored["entries"] == entries + 1 and stored["signatures"] == 1
    assert ledger.verify().intact


def test_a_wrong_password_changes_nothing(deviation_id, users):
    before = snapshot(deviation_id)

    with pytest.raises(Invalid) as refused:
        deviations.close(deviation_id, decision(password="not-my-password"), users["qa"])

    assert refused.value.code == "wrong_password" and refused.value.http_status == 422
    assert refused.value.fields == {"password": "wrong password"}
    assert snapshot(deviation_id) == before


@pytest.mark.req("P11-7")
@pytest.mark.parametrize("role", ["technician", "clinician", "admin"])
def test_only_qa_closes_deviations(deviation_id, users, role):
    before = snapshot(deviation_id)

    with pytest.raises(Forbidden):
        deviations.close(deviation_id, decision(), users[role])

    assert snapshot(deviation_id) == before


@pytest.mark.req("F-5", "F-9")
def test_whoever_opened_a_deviation_may_not_close_it(product, users):
    deviation_id = fail_viability(product, users)
    accounts.change_role(users["technician"], "qa")  # the technician became QA since
    db.session.commit()
    before = snapshot(deviation_id)

    with pytest.raises(Conflict) as refused:
        deviations.close(deviation_id, decision(), users["technician"])

    assert refused.value.code == "two_person_rule"
    assert "opened this deviation" in refused.value.message
    assert snapshot(deviation_id) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"decision": None}, "decision"),
        ({"decision": "accepted"}, "decision"),
        ({"decision": ["accepted_no_impact"]}, "decision"),
        ({"note": ""}, "note"),
        ({"note": "   "}, "note"),
        ({"note": 5}, "note"),
        ({"note": "x" * 1001}, "note"),
        ({"password": ""}, "password"),
        ({"password": None}, "password"),
        ({"meaning": "approved for release"}, "meaning"),
        ({"meaning": None}, "meaning"),
        ({"meaning": {"reviewed": True}}, "meaning"),
    ],
)
def test_bad_fields_are_named_and_change_nothing(deviation_id, users, data, field):
    before = snapshot(deviation_id)

    with pytest.raises(Invalid) as refused:
        deviations.close(deviation_id, decision(**data), users["qa"])

    assert refused.value.code == "invalid_fields"
    assert set(refused.value.fields) == {field}
    assert snapshot(deviation_id) == before


@pytest.mark.parametrize("body", [None, [], "close it"])
def test_a_body_that_is_not_fields_is_refused(deviation_id, users, body):
    with pytest.raises(Invalid) as refused:
        deviations.close(deviation_id, body, users["qa"])

    assert refused.value.code == "invalid_body"


@pytest.mark.parametrize("deviation_id", [0, -1, 424242, 2**31, 10**30, "abc", "7x", True])
def test_an_unknown_deviation_is_not_found(users, deviation_id):
    with pytest.raises(NotFound) as refused:
        deviations.close(deviation_id, decision(), users["qa"])

    assert refused.value.code == "unknown_deviation"


# ---------------------------------------------------------------------------- the list


@pytest.fixture
def three(product, users) -> dict[str, int]:
    """Two QC deviations (one closed) and a receipt deviation."""
    first = fail_viability(product, users)
    second = fail_viability(product, users)
    source = units.register(
        {
            "patient": {"mrn": "MRN-2", "name": "Ann Other", "birth_date": "1970-01-01"},
            "type": "ADIPOSE",
            "collection_site": "abdomen",
            "volume_ml": 50,
            "collected_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
        users["clinician"],
    ).unit
    units.perform_action(
        source.id,
        "receive",
        {
            "temperature_c": 12.0,
            "container_intact": True,
            "label_matches": True,
            "volume_ml": 50,
            "deviation_note": "surgeon confirms the time out of the fridge",
        },
        users["technician"],
    )
    db.session.commit()
    receipt = db.session.scalar(select(func.max(Deviation.id)))
    deviations.close(first, decision(), users["qa"])
    return {"first": first, "second": second, "receipt": receipt}


def ids(page) -> list[int]:
    return [d.id for d in page.rows]


@pytest.mark.parametrize(
    ("state", "kind", "expect"),
    [
        ("open", "", ["receipt", "second"]),
        ("closed", "", ["first"]),
        ("all", "", ["receipt", "second", "first"]),
        ("all", "qc_out_of_specification", ["second", "first"]),
        ("open", "receipt_outside_acceptance", ["receipt"]),
        ("closed", "receipt_outside_acceptance", []),
    ],
)
def test_the_list_filters_by_state_and_kind_newest_first(three, users, state, kind, expect):
    page = deviations.list_deviations(users["qa"], state=state, kind=kind)

    assert ids(page) == [three[name] for name in expect]
    assert page.total == len(expect)


def test_the_list_pages(three, users):
    pages = [
        deviations.list_deviations(users["admin"], state="all", page=n, per_page=2)
        for n in (1, 2, 3)
    ]

    assert [len(p.rows) for p in pages] == [2, 1, 0]
    assert pages[0].pages == 2
    assert deviations.kinds() == ["qc_out_of_specification", "receipt_outside_acceptance"]
    assert deviations.open_count() == 2


@pytest.mark.parametrize(
    ("state", "kind", "field"),
    [
        ("shut", "", "state"),
        ("", "", "state"),
        ("open", "mystery", "kind"),
        ("x" * 5000, "", "state"),
    ],
)
def test_an_unknown_filter_is_refused(three, users, state, kind, field):
    with pytest.raises(Invalid) as refused:
        deviations.list_deviations(users["qa"], state=state, kind=kind)

    assert set(refused.value.fields) == {field} and len(refused.value.message) < 300


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_only_qa_and_admins_read_the_list(deviation_id, users, role):
    with pytest.raises(Forbidden):
        deviations.list_deviations(users[role])
    with pytest.raises(Forbidden):
        deviations.get_deviation(deviation_id, users[role])
