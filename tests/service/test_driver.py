"""Reads on the driver (decision 116): what ``DriverSelect`` reads is what SQLAlchemy reads,
type for type, on both backends; ``attach`` makes objects the ORM cannot tell from its own;
a driver error is raised as SQLAlchemy raises it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Float, bindparam, func, inspect, select

from lims.db import among, transaction
from lims.driver import DriverSelect, attach, column_keys
from lims.extensions import db
from lims.models import LedgerEntry, Location, Patient, Unit, User
from lims.services import access
from lims.services.actions import units
from lims.services.admin import accounts, locations
from lims.services.custody import ledger
from lims.services.station import scan
from tests.conftest import USERNAMES, receipt, registration


@pytest.fixture
def lab(users, register, act):
    """Units in several states: a collection received and processed (a product with a
    custodian and children's ids on its source), one only registered, one discarded."""
    source = register(mrn="MRN-D1", name="Ada Driver")
    act(source, "receive")
    act(source, "start_processing")
    act(source, "complete_processing")
    register("MARROW", mrn="MRN-D2", name="Bo Driver")
    gone = register("BLOOD", mrn="MRN-D3", name="Cy Driver")
    act(gone, "discard")
    source_id = source.id
    db.session.remove()
    return source_id


UNIT_AND_PEOPLE = (
    select(
        *(getattr(Unit, k) for k in column_keys(Unit)),
        Patient.birth_date,
        User.full_name,
        User.active,
    )
    .join(Patient, Patient.id == Unit.patient_id)
    .outerjoin(User, User.id == Unit.custodian_id)
    .where(Unit.id >= bindparam("from_id"))
    .order_by(Unit.id)
)


def test_rows_are_what_sqlalchemy_reads_value_and_type(app, lab):
    read = DriverSelect(UNIT_AND_PEOPLE)
    ours = read.rows({"from_id": 0})
    theirs = [tuple(r) for r in db.session.execute(UNIT_AND_PEOPLE, {"from_id": 0})]
    assert len(ours) == 4
    assert ours == theirs
    for mine, core in zip(ours, theirs, strict=True):
        assert [type(v) for v in mine] == [type(v) for v in core]
    # aware UTC moments and booleans (SQLite stores 0 and 1)
    first = dict(zip(read.keys, ours[0], strict=True))
    assert first["collected_at"].tzinfo is UTC
    assert first["deviation"] is False
    # a parameter converted by its type on the way in: a moment compared in UTC
    later = DriverSelect(
        select(Unit.id).where(Unit.collected_at > bindparam("after", type_=Unit.collected_at.type))
    )
    assert later.rows({"after": datetime.now(UTC) + timedelta(days=1)}) == []
    assert len(later.rows({"after": datetime.now(UTC) - timedelta(days=30)})) == len(ours)


def test_first_is_the_row_by_column_key_or_none(app, lab):
    read = DriverSelect(select(Unit.id, Unit.status).where(Unit.id == bindparam("unit_id")))
    assert read.first({"unit_id": lab}) == {"id": lab, "status": "processed"}
    assert read.first({"unit_id": 10**9}) is None


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(app, lab):
    if db.engine.dialect.name == "sqlite":  # SQLite's sqrt(-1) is NULL, not an error
        assert DriverSelect(select(func.sqrt(bindparam("x", type_=Float)))).rows({"x": -1.0}) == [
            (None,)
        ]
        return
    read = DriverSelect(select(func.sqrt(bindparam("x", type_=Float))))
    with pytest.raises(sa.exc.DBAPIError, match="square root of a negative number"):
        read.rows({"x": -1.0})


def test_an_attached_object_is_one_the_orm_loaded(app, lab):
    values = DriverSelect(
        select(*(getattr(Unit, k) for k in column_keys(Unit))).where(Unit.id == lab)
    ).first({})
    unit = attach(Unit, values)
    state = inspect(unit)
    assert state.persistent and not state.modified and unit not in db.session.dirty
    assert unit.patient.name == "Ada Driver"  # a relationship not given loads as usual
    assert [c.unit_type for c in unit.children] == ["SVF"]
    db.session.remove()
    loaded = db.session.get(Unit, lab)
    assert {k: getattr(loaded, k) for k in column_keys(Unit)} == values
    db.session.remove()

    # changed and flushed like any other (the version counter checked and moved on)
    unit = attach(Unit, values)
    with transaction():
        unit.collection_site = "flank"
    db.session.remove()
    again = db.session.get(Unit, lab)
    assert (again.collection_site, again.version) == ("flank", values["version"] + 1)


def test_an_object_the_session_holds_is_not_replaced(app, lab):
    held = db.session.get(Unit, lab)
    values = {k: getattr(held, k) for k in column_keys(Unit)}
    assert attach(Unit, {**values, "status": "stale"}) is None
    assert attach(Unit, {**values, "status": "stale"}, existing=True) is held
    assert held.status == "processed"


def test_related_objects_must_be_the_sessions_own(app, lab):
    """``attach`` skips the ORM's save-update cascade, so it takes as related only objects
    the session holds (or None): anything else is refused, nothing added."""
    held = db.session.get(Unit, lab)
    values = {k: getattr(held, k) for k in column_keys(Unit)}
    patient = held.patient
    db.session.remove()
    stranger = Patient(mrn="MRN-X", name="Not Held")
    with pytest.raises(ValueError, match="related objects the session holds"):
        attach(Unit, values, {"patient": stranger})
    assert not db.session.identity_map and stranger not in db.session
    with pytest.raises(ValueError):
        attach(Unit, values, {"patient": patient})  # detached: another session's
    again = db.session.get(Patient, patient.id)
    unit = attach(Unit, values, {"patient": again, "custodian": None})
    assert unit.patient is again and inspect(unit).persistent


def test_a_ledger_entry_appended_on_the_driver_is_the_one_stored(app, lab, users):
    """``ledger.append`` inserts on the driver and attaches the entry: the object it returns
    is the session's, unchanged, and holds exactly what the database stored; the chain
    still verifies."""
    unit = db.session.get(Unit, lab)
    actor = _person("technician")
    with transaction(keep_loaded=True):
        first = ledger.append(
            unit=unit, action="note", actor=actor, movement=ledger.movement_of(unit), data={"n": 1}
        )
        second = ledger.append(
            unit=None, action="note", actor=actor, movement=ledger.movement_of(None), data={"n": 2}
        )
    assert second.seq == first.seq + 1 and second.prev_hash == first.entry_hash
    assert inspect(first).persistent and not inspect(first).modified
    returned = {k: getattr(first, k) for k in column_keys(LedgerEntry)}
    db.session.remove()
    stored = db.session.get(LedgerEntry, returned["id"])
    assert {k: getattr(stored, k) for k in column_keys(LedgerEntry)} == returned
    assert stored.actor.username == USERNAMES["technician"]
    assert ledger.verify().intact


def test_a_registered_unit_is_what_the_orm_would_have_inserted(app, users):
    """Registration inserts its unit on the driver (decision 123). Its row and the object it
    answers with hold what the ORM's flush of the same ``Unit`` writes — column defaults,
    the first version — so a column default added later cannot be silently skipped; and
    the unit is versioned as before."""
    made = units.register(registration(), _person("clinician")).unit
    answered = {k: getattr(made, k) for k in column_keys(Unit)}
    assert made.child_ids == [] and made.patient.mrn == "MRN-1"
    db.session.remove()
    stored = db.session.get(Unit, answered["id"])
    assert {k: getattr(stored, k) for k in column_keys(Unit)} == answered
    own = {"id", "din", "check_character", "created_at", "updated_at"}
    twin = Unit(
        **{
            k: v
            for k, v in answered.items()
            if v is not None and k not in own | {"deviation", "exceptional_release", "version"}
        }
    )
    twin.din, twin.check_character = "X" * 13, "X"
    db.session.add(twin)
    db.session.flush()  # the ORM's own insert, rolled back below
    orm = {k: getattr(twin, k) for k in column_keys(Unit) if k not in own}
    assert orm == {k: v for k, v in answered.items() if k not in own}
    assert twin.created_at is not None and twin.updated_at is not None
    db.session.rollback()
    db.session.remove()
    received = units.perform_action(answered["id"], "receive", receipt(), _person("technician"))
    assert received.unit.version == answered["version"] + 1 == 2


def _person(role: str) -> User:
    return db.session.scalar(select(User).where(User.username == USERNAMES[role]))


def _as_shown(unit: Unit) -> tuple:
    return (
        {k: getattr(unit, k) for k in column_keys(Unit)},
        unit.child_ids,
        {k: getattr(unit.patient, k) for k in column_keys(Patient)},
        unit.custodian and unit.custodian.full_name,
    )


def test_units_shown_read_like_the_orm_to_show(app, lab, users):
    ids = list(db.session.scalars(select(Unit.id).order_by(Unit.id)))
    fast_view = [_as_shown(access.read_shown(access.UNIT_SHOWN, {"unit_id": i})[0]) for i in ids]
    db.session.remove()
    orm_view = [
        _as_shown(db.session.scalar(select(Unit).where(Unit.id == i).options(*access.TO_SHOW)))
        for i in ids
    ]
    assert fast_view == orm_view
    assert any(view[1] for view in fast_view)  # a source with its products
    assert any(view[3] for view in fast_view)  # a unit with a custodian
    assert access.require_unit(_person("qa"), ids[0], to_show=True).id == ids[0]


def test_a_unit_in_a_location_shows_its_path(app, lab, users):
    room = locations.create_location("Room D", "room", None, _person("admin"))
    bench = locations.create_location("Bench D", "bench", room, _person("admin"))
    bench_code = bench.code
    db.session.remove()
    product = db.session.scalar(select(Unit.id).where(Unit.parent_id == lab))
    units.perform_action(product, "move", {"location": bench_code}, _person("technician"))
    db.session.remove()
    qa = _person("qa")
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        shown = access.require_unit(qa, product, to_show=True)
        assert shown.location.path == "Room D › Bench D"
        assert shown.location.parent.parent is None
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    # the place and the places above came with the unit's read: the ORM was not asked
    assert not [s for s in statements if "locations" in s]
    db.session.remove()
    orm = db.session.get(Unit, product)
    assert (orm.location.path, orm.location.code) == ("Room D › Bench D", bench_code)
    # a place the session holds already is taken as it is
    held = orm.location
    db.session.expunge(orm)
    assert access.require_unit(_person("qa"), product, to_show=True).location is held


def test_a_collection_in_freezer_boxes_comes_with_its_places_in_one_statement(
    app, lab, users, monkeypatch
):
    room = locations.create_location("Room C", "room", None, _person("admin"))
    shelf = locations.create_location("Shelf C", "bench", room, _person("admin"))
    shelf_code = shelf.code
    db.session.remove()
    din = db.session.scalar(select(Unit.din).where(Unit.id == lab))
    collection = list(db.session.scalars(select(Unit.id).where(Unit.din == din)))
    assert len(collection) > 1
    db.session.remove()
    for unit_id in collection:
        units.perform_action(unit_id, "move", {"location": shelf_code}, _person("technician"))
        db.session.remove()

    def no_second_read(params):
        raise AssertionError("a place within the row's reach was read again")

    monkeypatch.setattr(access._PLACE_AND_ABOVE, "rows", no_second_read)
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        found = scan.collection_of(din, _person("qa"))
        assert [u.location.path for u in found] == ["Room C › Shelf C"] * len(collection)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert not [s for s in statements if "locations" in s]


def test_a_place_deeper_than_the_row_reaches_comes_whole(app, lab, users):
    admin = _person("admin")
    place = None
    names = [f"Level {n}" for n in range(access.PLACE_LEVELS + 2)]
    for name in names:
        place = locations.create_location(name, "room", place, admin)
    deepest, kind = place.code, place.kind
    db.session.remove()
    product = db.session.scalar(select(Unit.id).where(Unit.parent_id == lab))
    units.perform_action(product, "move", {"location": deepest}, _person("technician"))
    db.session.remove()
    shown = access.require_unit(_person("qa"), product, to_show=True)
    assert shown.location.path == " › ".join(names)
    db.session.remove()
    # a place within the row's reach: its other columns load when asked for
    db.session.remove()
    product_2 = units.register(registration("ADIPOSE"), _person("clinician")).unit.id
    units.perform_action(product_2, "receive", receipt(), _person("technician"))
    db.session.remove()
    shallow = db.session.scalar(select(Location.code).where(Location.name == names[1]))
    units.perform_action(product_2, "move", {"location": shallow}, _person("technician"))
    db.session.remove()
    shown = access.require_unit(_person("qa"), product_2, to_show=True)
    assert (shown.location.path, shown.location.kind) == (" › ".join(names[:2]), kind)
    assert shown.location.site_id == shown.location.parent.site_id


def test_the_token_holder_is_read_afresh_and_refused_when_ended(app, users):
    token, _ = accounts.issue_token(_person("qa"))
    db.session.remove()
    holder = accounts.user_for_token(token)
    assert (holder.username, holder.sites_missing) == (USERNAMES["qa"], 0)
    assert inspect(holder).persistent and not inspect(holder).modified
    # the session holds the person already, and they were renamed since: read afresh
    db.session.expire_on_commit = False  # the person stays in the session as read
    db.session.execute(
        sa.update(User)
        .where(User.id == holder.id)
        .values(full_name="Renamed")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    again = accounts.user_for_token(token)
    assert again is holder and again.full_name == "Renamed"
    db.session.remove()
    accounts.revoke_token(token, _person("qa"))
    db.session.remove()
    assert accounts.user_for_token(token) is None
    # an unknown token, and one of a deactivated person
    assert accounts.user_for_token("not-a-token") is None
    other, _ = accounts.issue_token(_person("technician"))
    with transaction():
        _person("technician").active = False
    db.session.remove()
    assert accounts.user_for_token(other) is None


def test_among_is_in_whatever_the_number_of_values(app, lab):
    patients = sorted(set(db.session.scalars(select(Unit.patient_id))))
    for values in ([], patients[:1], patients, [10**9]):
        got = sorted(db.session.scalars(select(Unit.id).where(among(Unit.patient_id, values))))
        want = sorted(db.session.scalars(select(Unit.id).where(Unit.patient_id.in_(values))))
        assert got == want
    assert (
        len(db.session.scalars(select(Unit.id).where(among(Unit.patient_id, patients))).all()) == 4
    )
