"""Reagent lots in the service: receipt (each refusal changes nothing), QA's signed
acceptance and rejection (a wrong password, the receiver, a decided or expired lot: refused
without a trace), the state each lot is in and the register's lists, and that an
unaccepted lot cannot be used by a step."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lims.domain.codes import ReagentLotCode, classify
from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.domain.signatures import record_hash
from lims.extensions import db
from lims.models import LedgerEntry, ReagentLot
from lims.models.types import utcnow
from lims.services.custody import ledger
from lims.services.materials import reagents, uses
from tests.conftest import PASSWORD

from .reagent_lab import (
    accepted,
    entries_of,
    lot_fields,
    receive,
    set_expiry,
    stored,
    today,
)

# ---------------------------------------------------------------------------- receipt


def test_a_received_lot_has_a_code_waits_for_qa_and_is_in_the_ledger(users):
    lot = receive(users, product_name="  Collagenase   NB 4  ", quantity=12.5)

    assert isinstance(classify(lot.code), ReagentLotCode)
    assert lot.code.startswith("RT0001")
    assert lot.product_name == "Collagenase NB 4"  # white space tidied
    assert (lot.quantity_received, lot.quantity_remaining, lot.quantity_unit) == (12.5, 12.5, "g")
    assert lot.received_by_id == users["technician"].id and lot.accepted_at is None
    assert reagents.state_of(lot) == "awaiting"
    (entry,) = entries_of(reagents.RECEIVED)
    assert entry.unit_id is None and entry.actor_id == users["technician"].id
    data = json.loads(entry.data)
    assert data["lot_id"] == lot.id and data["code"] == lot.code
    assert data["lot_number"] == "N-2417" and data["coa_ref"] == "CoA-N-2417"
    assert data["expires_on"] == lot.expires_on.isoformat()
    assert ledger.verify().intact


def test_qa_receives_too_and_codes_follow_one_another(users):
    first = receive(users, as_="qa")
    second = receive(users, lot_number="N-2418")
    assert int(second.code[6:12]) == int(first.code[6:12]) + 1


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_only_the_lab_and_qa_receive(users, role):
    before = stored()
    with pytest.raises(Forbidden):
        receive(users, as_=role)
    assert stored() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reagent": "coffee"}, "reagent"),
        ({"reagent": None}, "reagent"),
        ({"product_name": "   "}, "product_name"),
        ({"product_name": "x" * 121}, "product_name"),
        ({"manufacturer": None}, "manufacturer"),
        ({"lot_number": "A\x00B"}, "lot_number"),
        ({"lot_number": "L" * 61}, "lot_number"),
        ({"expires_on": "2027-02-30"}, "expires_on"),
        ({"expires_on": 1_800_000_000}, "expires_on"),
        ({"storage": "in the car"}, "storage"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": "10"}, "quantity"),
        ({"quantity": float("nan")}, "quantity"),
        ({"quantity": 2_000_000}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity_unit": "litre"}, "quantity_unit"),
        ({"coa_ref": ""}, "coa_ref"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_received(users, overrides, field):
    before = stored()
    with pytest.raises(Invalid) as refused:
        reagents.receive(lot_fields(**overrides), users["technician"])
    assert field in refused.value.fields, refused.value.fields
    assert stored() == before


def test_a_lot_already_expired_is_not_received_but_one_expiring_today_is(users):
    before = stored()
    yesterday = (today() - timedelta(days=1)).isoformat()
    with pytest.raises(Invalid) as refused:
        receive(users, expires_on=yesterday)
    assert refused.value.code == "expired_at_receipt"
    assert "expired on" in refused.value.fields["expires_on"]
    assert stored() == before

    lot = receive(users, expires_on=today().isoformat())
    assert reagents.state_of(lot) == "awaiting"


def test_an_expiry_decades_ahead_is_a_typing_mistake(users):
    before = stored()
    with pytest.raises(Invalid) as refused:
        receive(users, expires_on=(today() + timedelta(days=366 * 11)).isoformat())
    assert "check the date" in refused.value.fields["expires_on"]
    assert stored() == before


@pytest.mark.parametrize(
    "again",
    [
        {},  # a double submit
        {"manufacturer": "NORDMARK", "lot_number": "n-2417"},  # the same lot, typed otherwise
        {"quantity": 5, "reagent": "wash buffer"},  # a second delivery of the same lot
    ],
)
def test_one_lot_is_received_once(users, again):
    first = receive(users)
    before = stored()
    with pytest.raises(Conflict) as refused:
        receive(users, as_="qa", **again)
    assert refused.value.code == "duplicate_lot"
    assert first.code in refused.value.message
    assert stored() == before


def test_another_lot_number_of_the_same_product_is_another_lot(users):
    receive(users)
    assert receive(users, lot_number="N-2418").lot_number == "N-2418"


def test_receive_lot_takes_plain_values_for_the_demo_seed(users):
    lot = reagents.receive_lot(
        users["technician"],
        reagent="wash buffer",
        product_name="DPBS",
        manufacturer="Gibco",
        lot_number="G1",
        expires_on=today() + timedelta(days=90),
        storage="15–25 °C",
        quantity=500,
        quantity_unit="mL",
        coa_ref="CoA-G1",
    )
    assert (lot.reagent, lot.quantity_received) == ("wash buffer", 500.0)


# ---------------------------------------------------------------------------- acceptance


@pytest.mark.req("P11-9", "F-6")
def test_qa_signs_the_acceptance_and_the_lot_becomes_usable(users):
    lot = receive(users)
    moment = utcnow()

    reagents.accept_lot(lot.id, users["qa"], PASSWORD)

    db.session.expire_all()
    lot = db.session.get(ReagentLot, lot.id)
    assert lot.accepted_by_id == users["qa"].id and lot.accepted_at >= moment
    assert reagents.state_of(lot) == "usable"
    entry = db.session.get(LedgerEntry, lot.acceptance_entry_id)
    assert entry.action == reagents.ACCEPTED and entry.unit_id is None
    data = json.loads(entry.data)
    (signature,) = data["signatures"]
    assert signature["meaning"] == "approved" and signature["signer_id"] == users["qa"].id
    assert signature["name"] == users["qa"].full_name and signature["role"] == "qa"
    record = data["signed_record"]
    assert record["lot"]["code"] == lot.code and record["lot"]["coa_ref"] == lot.coa_ref
    assert signature["record_hash"] == record_hash({**record, "signer_id": users["qa"].id})
    assert PASSWORD not in entry.data
    assert ledger.verify().intact


def test_a_wrong_password_accepts_nothing(users):
    lot = receive(users)
    before = stored()

    with pytest.raises(Invalid) as refused:
        reagents.accept_lot(lot.id, users["qa"], "not-my-password")

    assert refused.value.code == "wrong_password"
    assert set(refused.value.fields) == {"password"}
    assert stored() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"meaning": "approved"}, "password"),
        ({"password": "", "meaning": "approved"}, "password"),
        ({"password": PASSWORD}, "meaning"),
        ({"password": PASSWORD, "meaning": "approved for release"}, "meaning"),
        ({"password": PASSWORD, "meaning": "approved", "note": "x"}, "note"),
    ],
)
def test_an_acceptance_needs_the_password_and_its_one_meaning(users, data, field):
    lot = receive(users)
    before = stored()
    with pytest.raises(Invalid) as refused:
        reagents.accept(lot.id, data, users["qa"])
    assert field in refused.value.fields
    assert stored() == before


@pytest.mark.parametrize("role", ["technician", "clinician", "admin"])
def test_only_qa_accepts(users, role):
    lot = receive(users, as_="qa")
    before = stored()
    with pytest.raises(Forbidden):
        reagents.accept_lot(lot.id, users[role], PASSWORD)
    assert stored() == before


@pytest.mark.req("F-5")
def test_whoever_received_the_lot_does_not_accept_it(users):
    lot = receive(users, as_="qa")
    before = stored()
    with pytest.raises(Conflict) as refused:
        reagents.accept_lot(lot.id, users["qa"], PASSWORD)
    assert refused.value.code == "two_person_rule"
    assert stored() == before


def test_an_acceptance_is_signed_once(users):
    lot = accepted(users)
    before = stored()
    with pytest.raises(Conflict) as refused:
        reagents.accept_lot(lot.id, users["qa"], PASSWORD)
    assert refused.value.code == "already_accepted"
    assert stored() == before


def test_an_expired_lot_is_not_accepted(users):
    lot = receive(users)
    set_expiry(lot, today() - timedelta(days=1))
    before = stored()
    with pytest.raises(Conflict) as refused:
        reagents.accept_lot(lot.id, users["qa"], PASSWORD)
    assert refused.value.code == "lot_expired"
    assert stored() == before


@pytest.mark.parametrize("lot_id", [0, -1, 10**9, "x", True, 2**70])
def test_an_unknown_lot_is_not_found(users, lot_id):
    with pytest.raises(NotFound):
        reagents.accept(lot_id, {"password": PASSWORD, "meaning": "approved"}, users["qa"])


# ---------------------------------------------------------------------------- rejection


def test_qa_rejects_a_lot_with_a_reason_and_it_is_never_used(users):
    lot = receive(users)

    reagents.reject_lot(lot.id, users["qa"], PASSWORD, "CoA does not match the lot number")

    db.session.expire_all()
    lot = db.session.get(ReagentLot, lot.id)
    assert lot.flagged == "rejected" and lot.accepted_at is None
    assert reagents.state_of(lot) == "rejected"
    (entry,) = entries_of(reagents.REJECTED)
    assert entry.reason == "CoA does not match the lot number"
    (signature,) = json.loads(entry.data)["signatures"]
    assert signature["meaning"] == "rejected"
    with pytest.raises(Conflict) as refused:
        reagents.accept_lot(lot.id, users["qa"], PASSWORD)
    assert refused.value.code == "lot_rejected"


def test_a_rejection_needs_a_reason_and_the_password(users):
    lot = receive(users)
    before = stored()
    with pytest.raises(Invalid) as no_reason:
        reagents.reject(lot.id, {"password": PASSWORD, "meaning": "rejected"}, users["qa"])
    with pytest.raises(Invalid) as wrong:
        reagents.reject_lot(lot.id, users["qa"], "guess", "CoA missing")
    assert "reason" in no_reason.value.fields and wrong.value.code == "wrong_password"
    assert stored() == before


def test_an_accepted_lot_is_not_rejected(users):
    lot = accepted(users)
    before = stored()
    with pytest.raises(Conflict) as refused:
        reagents.reject_lot(lot.id, users["qa"], PASSWORD, "changed my mind")
    assert refused.value.code == "already_accepted"
    assert stored() == before


def test_the_lots_record_lists_its_entries_with_their_signatures(users):
    lot = accepted(users)
    other = receive(users, lot_number="N-9")  # its entry names another lot
    assert [e.action for e in reagents.lot_history(lot)] == [reagents.RECEIVED, reagents.ACCEPTED]
    assert [e.action for e in reagents.lot_history(other)] == [reagents.RECEIVED]


# ---------------------------------------------------------------------------- use


def test_a_step_may_use_a_lot_only_once_qa_accepted_it(users):
    lot = receive(users)
    with pytest.raises(Conflict) as refused:
        uses.check_lot(lot.code, utcnow(), reagent="collagenase", quantity=1.0)
    assert "not been accepted" in refused.value.message

    reagents.accept_lot(lot.id, users["qa"], PASSWORD)

    checked = uses.check_lot(lot.code, utcnow(), reagent="collagenase", quantity=1.0)
    assert checked.lot.id == lot.id


def test_a_rejected_lot_cannot_be_used(users):
    lot = receive(users)
    reagents.reject_lot(lot.id, users["qa"], PASSWORD, "damaged in transit")
    with pytest.raises(Conflict):
        uses.check_lot(lot.code, utcnow(), reagent="collagenase", quantity=1.0)


# ---------------------------------------------------------------------------- states and lists


def _lots(users) -> dict[str, ReagentLot]:
    """One lot in each state (beside the bench's accepted lots, one per reagent)."""
    made = {
        "usable": accepted(users, lot_number="U-1"),
        "awaiting": receive(users, lot_number="A-1", reagent="wash buffer"),
        "rejected": receive(users, lot_number="R-1"),
        "expired": accepted(users, lot_number="E-1"),
        "used_up": accepted(users, lot_number="X-1"),
    }
    reagents.reject_lot(made["rejected"].id, users["qa"], PASSWORD, "CoA missing")
    set_expiry(made["expired"], today() - timedelta(days=1))
    made["used_up"].quantity_remaining = 0.0
    made["used_up"].flagged = "used_up"
    db.session.commit()
    return made


def test_each_lot_shows_why_it_is_not_usable(users):
    made = _lots(users)
    db.session.expire_all()
    assert {
        s: reagents.state_of(db.session.get(ReagentLot, lot.id)) for s, lot in made.items()
    } == {s: s for s in made}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("usable", {"usable"}),
        ("awaiting", {"awaiting"}),
        ("flagged", {"rejected", "expired", "used_up"}),
        ("all", {"usable", "awaiting", "rejected", "expired", "used_up"}),
    ],
)
def test_the_list_filters_by_state(users, state, expected):
    made = _lots(users)
    ours = {lot.id: name for name, lot in made.items()}
    page = reagents.list_lots(users["technician"], state=state, per_page=100)
    assert {ours[lot.id] for lot in page.rows if lot.id in ours} == expected
    assert all(reagents.state_of(lot) != "usable" for lot in page.rows) or state in (
        "usable",
        "all",
    )
    assert page.total == len(page.rows)


def test_the_list_filters_by_reagent_newest_first(users):
    older = receive(users, lot_number="W-1", reagent="wash buffer")
    newer = receive(users, lot_number="W-2", reagent="wash buffer")
    page = reagents.list_lots(users["admin"], reagent="wash buffer", state="awaiting")
    assert [lot.id for lot in page.rows] == [newer.id, older.id]


def test_the_counts_follow_the_states(users):
    made = _lots(users)
    counts = reagents.counts_by_state(users["qa"])
    total = db.session.query(ReagentLot).count()
    assert counts["all"] == total
    assert counts["awaiting"] == 1 and counts["flagged"] == 3
    assert counts["usable"] == total - 4
    assert len(made) == 5


@pytest.mark.parametrize(("reagent", "state"), [("coffee", "all"), ("", "broken")])
def test_an_unknown_filter_is_refused(users, reagent, state):
    with pytest.raises(Invalid) as refused:
        reagents.list_lots(users["technician"], reagent=reagent, state=state)
    assert refused.value.code == "invalid_filter"


def test_clinicians_do_not_see_the_register(users):
    lot = receive(users)
    with pytest.raises(Forbidden):
        reagents.list_lots(users["clinician"])
    with pytest.raises(Forbidden):
        reagents.find_lot(lot.id, users["clinician"])


def test_a_lot_expiring_soon_says_how_many_days_are_left(users):
    lot = receive(users, expires_on=(today() + timedelta(days=10)).isoformat())
    assert reagents.expiring_soon(lot) == 10
    assert reagents.expiring_soon(receive(users, lot_number="far")) is None
