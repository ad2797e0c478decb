"""Ledger search: each filter finds exactly its entries, newest first, paged by seq; a time
window is exact at its edges; unknown things and unreadable input are refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from lims.domain.errors import Invalid, NotFound
from lims.extensions import db
from lims.models import LedgerEntry
from lims.services.actions import units
from lims.services.audit import ledger_search as audit

from .lab import registration, walk

BERLIN = ZoneInfo("Europe/Berlin")


def search(**criteria):
    return audit.search(audit.Criteria(**criteria), BERLIN)


def seqs(page) -> list[int]:
    return [e.seq for e in page.entries]


def every(condition) -> list[int]:
    """What the search must find: every entry meeting the condition, newest first."""
    return list(
        db.session.scalars(
            select(LedgerEntry.seq).where(condition).order_by(LedgerEntry.seq.desc())
        )
    )


@pytest.fixture
def two_patients(users):
    """A released product of one patient, and a collection of another patient."""
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    other = units.register(
        registration(
            "BLOOD", patient={"mrn": "MRN-2", "name": "Other Person", "birth_date": "1970-01-01"}
        ),
        users["clinician"],
    ).unit
    units.perform_action(other.id, "discard", {"reason": "no longer needed"}, users["technician"])
    return product, other


def test_no_filter_lists_the_whole_ledger_newest_first(two_patients):
    assert seqs(search(limit=200)) == every(LedgerEntry.seq > 0)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (lambda p, o, u: {"unit": str(p.id)}, lambda p, o, u: LedgerEntry.unit_id == p.id),
        (lambda p, o, u: {"unit": p.barcode_data}, lambda p, o, u: LedgerEntry.din == p.din),
        (
            lambda p, o, u: {"unit": f"{p.din}{p.check_character} {p.product_code} {p.division}"},
            lambda p, o, u: LedgerEntry.unit_id == p.id,
        ),
        (lambda p, o, u: {"patient": "MRN-2"}, lambda p, o, u: LedgerEntry.unit_id == o.id),
        (
            lambda p, o, u: {"patient": str(o.patient_id)},
            lambda p, o, u: LedgerEntry.unit_id == o.id,
        ),
        (
            lambda p, o, u: {"patient": o.patient.wristband},
            lambda p, o, u: LedgerEntry.unit_id == o.id,
        ),
        (lambda p, o, u: {"user": "qa"}, lambda p, o, u: LedgerEntry.actor_id == u["qa"].id),
        (
            lambda p, o, u: {"user": str(u["qa"].id)},
            lambda p, o, u: LedgerEntry.actor_id == u["qa"].id,
        ),
        (
            lambda p, o, u: {"action": "record_qc"},
            lambda p, o, u: LedgerEntry.action == "record_qc",
        ),
        (
            lambda p, o, u: {"status": "discarded"},
            lambda p, o, u: LedgerEntry.to_status == "discarded",
        ),
        (
            lambda p, o, u: {"user": "tech", "action": "discard"},
            lambda p, o, u: (
                (LedgerEntry.actor_id == u["technician"].id) & (LedgerEntry.action == "discard")
            ),
        ),
    ],
    ids=[
        "unit-id",
        "unit-din-collection",
        "unit-code",
        "patient-mrn",
        "patient-id",
        "patient-wristband",
        "user-name",
        "user-id",
        "action",
        "status",
        "user-and-action",
    ],
)
def test_each_filter_finds_exactly_its_entries(two_patients, users, given, expected):
    product, other = two_patients
    want = every(expected(product, other, users))
    assert want, "the fixture must hold entries for this filter"
    assert seqs(search(**given(product, other, users), limit=200)) == want


def test_a_patient_filter_covers_every_unit_of_theirs(two_patients):
    product, _ = two_patients
    ids = [u.id for u in units.units_for_din(product.din)]
    assert seqs(search(patient="MRN-1", limit=200)) == every(LedgerEntry.unit_id.in_(ids))


def test_pages_follow_each_other_without_gap_or_overlap(two_patients):
    whole = every(LedgerEntry.seq > 0)
    seen, cursor = [], ""
    while True:
        page = search(limit=7, cursor=cursor)
        seen += seqs(page)
        if page.next_cursor is None:
            break
        cursor = str(page.next_cursor)
    assert seen == whole


def test_the_last_page_says_there_is_no_more(two_patients):
    total = len(every(LedgerEntry.seq > 0))
    assert search(limit=total).next_cursor is None
    assert search(limit=total - 1).next_cursor is not None


def test_a_time_window_is_exact_at_both_edges(users):
    moments = [datetime(2026, 11, d, 10, 0, tzinfo=UTC) for d in (10, 11, 12, 13)]
    made = []
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            made.append(units.register(registration("BLOOD", hours_ago=1), users["clinician"]).unit)
    # 11 and 12 November, Berlin days (10:00 UTC is 11:00 there)
    page = search(since="2026-11-11", until="2026-11-12", limit=200)
    assert [e.unit_id for e in page.entries] == [made[2].id, made[1].id]
    exact = search(since="2026-11-11 11:00", until="2026-11-12 11:00", limit=200)
    assert [e.unit_id for e in exact.entries] == [made[2].id, made[1].id]
    after = search(since="2026-11-11 11:00:01", limit=200)
    assert [e.unit_id for e in after.entries] == [made[3].id, made[2].id]


def test_a_window_with_no_entries_is_empty(two_patients):
    assert search(since="2031-01-01").entries == []
    assert search(until="2001-01-01").entries == []


@pytest.mark.parametrize(
    ("criteria", "error", "code"),
    [
        ({"unit": "999999"}, NotFound, "unknown_unit"),
        ({"unit": "9999999999"}, NotFound, "unknown_unit"),
        ({"unit": "T0001 26 999999 X"}, Invalid, "bad_check_character"),
        ({"unit": "T000126999998"}, Invalid, "missing_check_character"),
        ({"unit": "PT00010000013"}, Invalid, None),
        ({"patient": "NOBODY"}, NotFound, "unknown_patient"),
        ({"user": "ghost"}, NotFound, "unknown_user"),
        ({"action": "teleport"}, Invalid, "unknown_action"),
        ({"status": "melted"}, Invalid, "unknown_status"),
        ({"since": "yesterday"}, Invalid, None),
        ({"since": "2026-02-30"}, Invalid, None),
        ({"since": "0001-01-01"}, Invalid, None),
        ({"until": "9999-12-31"}, Invalid, None),
        ({"since": "2026-11-12", "until": "2026-11-11"}, Invalid, None),
        ({"cursor": "abc"}, Invalid, "bad_cursor"),
        ({"cursor": "-5"}, Invalid, "bad_cursor"),
        ({"cursor": "99999999999999999999"}, Invalid, "bad_cursor"),
        ({"user": "x" * 65}, Invalid, None),
        ({"user": "qa\x00"}, Invalid, None),
        ({"limit": 0}, Invalid, None),
        ({"limit": 10_000}, Invalid, None),
    ],
)
def test_bad_or_unknown_filters_are_refused_with_a_clear_message(
    two_patients, criteria, error, code
):
    with pytest.raises(error) as refused:
        search(**criteria)
    assert refused.value.message
    if code:
        assert refused.value.code == code


def test_the_api_form_needs_a_zone_on_a_time(two_patients):
    with pytest.raises(Invalid, match="time zone"):
        audit.search(audit.Criteria(since="2026-11-11T10:00"), BERLIN, need_zone=True)
    page = audit.search(audit.Criteria(since="2026-11-11T10:00+01:00"), BERLIN, need_zone=True)
    assert page.since == datetime(2026, 11, 11, 9, 0, tzinfo=UTC)


def test_actions_to_choose_include_those_only_the_ledger_knows(two_patients):
    names = [name for name, _ in audit.action_choices()]
    assert {"release", "discard", "identity_check"} <= set(names)
    assert audit.recorded_actions() == sorted(set(every_action()))


def every_action() -> list[str]:
    return list(db.session.scalars(select(LedgerEntry.action)))


def test_an_entry_recorded_a_little_out_of_order_is_still_found(users):
    """Time is taken when a transaction starts and seq under the lock: a later seq may carry
    an earlier time (within a transaction's length); the window still finds it."""
    first = datetime(2026, 11, 20, 12, 0, 5, tzinfo=UTC)
    with time_machine.travel(first, tick=False):
        a = units.register(registration("BLOOD", hours_ago=1), users["clinician"]).unit
    with time_machine.travel(first - timedelta(seconds=4), tick=False):
        b = units.register(registration("BLOOD", hours_ago=1), users["clinician"]).unit
    page = search(since="2026-11-20 13:00:02", limit=10)  # 12:00:02 UTC
    assert {e.unit_id for e in page.entries} == {a.id}
    page = search(until="2026-11-20 13:00:02", limit=10)
    assert {e.unit_id for e in page.entries} == {b.id}
