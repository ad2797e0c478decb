"""The scheduled checks of the registers (services.materials.warnings, the Celery task
``lims.materials_checks``): equipment warns 7 days and 1 day before a calibration lapses or
a maintenance falls due and once overdue — each warning exactly once, however often the
check runs — and a reagent lot past its expiry is flagged once. The clock is moved with
time-machine; the warnings reach the lab's and QA's inboxes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import time_machine
from sqlalchemy import select

from lims.extensions import db
from lims.models import Notification, OutboxEvent, ReagentLot
from lims.services.materials import equipment, warnings

from .equipment_lab import calibrate, days, make_item, today


def checks_on(day: date) -> dict[str, int]:
    """The hourly check as it runs at noon on ``day`` (the site is on UTC here)."""
    with time_machine.travel(datetime.combine(day, time(12), UTC), tick=False):
        return warnings.run_checks()


def events(about=None, kind: str = "equipment_due") -> list[dict]:
    """The events of this kind, about one item or lot (the test bench has its own)."""
    db.session.rollback()
    rows = db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.kind == kind).order_by(OutboxEvent.id)
    )
    found = [json.loads(row.payload) for row in rows]
    if about is None:
        return found
    return [e for e in found if e["path"].endswith(f"/{about.id}")]


def warned(item, day: date) -> int:
    """How many new warnings about ``item`` the check sends on ``day``, run twice: the
    second run sends nothing at all."""
    before = len(events(item))
    checks_on(day)
    assert checks_on(day)["equipment_warnings"] == 0, day
    return len(events(item)) - before


# Day relative to the due date -> new warnings the first run that day sends (a second run
# that day sends none).
SCHEDULE = [(-8, 0), (-7, 1), (-5, 0), (-1, 1), (0, 0), (1, 1), (2, 0), (40, 0)]


def test_a_calibration_warns_7_days_and_1_day_before_and_once_lapsed(users):
    item = make_item(users)
    due = today() + days(20)
    calibrate(users, item, today(), due)

    for offset, new in SCHEDULE:
        assert warned(item, due + days(offset)) == new, offset

    sent = events(item)
    assert [e["warning"] for e in sent] == ["7d", "1d", "overdue"]
    assert {(e["due"], e["due_on"], e["path"]) for e in sent} == {
        ("calibration", due.isoformat(), f"/equipment/{item.id}")
    }
    assert sent[0]["subject"] == f"Centrifuge Centrifuge 1 ({item.code}), calibration"
    assert sent[0]["message"] == (
        f"The calibration of {item.code} Centrifuge 1 is valid until {due.isoformat()} "
        "(the last day is in 7 days); arrange its calibration."
    )
    assert sent[1]["message"].endswith("(the last day is tomorrow); arrange its calibration.")
    assert "may not be used on a unit until it is calibrated again" in sent[2]["message"]


def test_maintenance_warns_the_same_way(users):
    item = make_item(users, maintenance_interval_days=30)
    due = item.maintenance_due_on

    for offset, new in SCHEDULE:
        assert warned(item, due + days(offset)) == new, offset

    sent = events(item)
    assert [(e["due"], e["warning"]) for e in sent] == [
        ("maintenance", "7d"),
        ("maintenance", "1d"),
        ("maintenance", "overdue"),
    ]
    assert sent[2]["message"] == (
        f"Maintenance of {item.code} Centrifuge 1 was due on {due.isoformat()} and is overdue."
    )


def test_a_check_that_missed_days_sends_the_nearest_warning_once(users):
    item = make_item(users, maintenance_interval_days=30)
    due = item.maintenance_due_on
    assert warned(item, due - days(3)) == 1  # the 7-day warning, late
    assert warned(item, due + days(3)) == 1  # 1d missed: overdue only
    assert [e["warning"] for e in events(item)] == ["7d", "overdue"]


def test_a_new_calibration_starts_the_warnings_afresh(users):
    item = make_item(users)
    first = today() + days(5)
    calibrate(users, item, today(), first)
    assert warned(item, today()) == 1  # 7d of the first date
    calibrate(users, item, today(), today() + days(3), certificate_ref="CERT-NEW")
    assert warned(item, today()) == 1  # 7d of the new date
    assert [e["due_on"] for e in events(item)] == [
        first.isoformat(),
        (today() + days(3)).isoformat(),
    ]


def test_items_out_of_service_are_not_warned_about_until_back(users):
    item = make_item(users, maintenance_interval_days=10)
    equipment.set_status(item.id, {"status": "out_of_service", "reason": "repair"}, users["qa"])
    assert warned(item, item.maintenance_due_on + days(2)) == 0
    equipment.set_status(item.id, {"status": "in_service"}, users["qa"])
    assert warned(item, item.maintenance_due_on + days(2)) == 1


def test_the_warning_reaches_the_lab_and_qa_inboxes_with_a_link(users):
    item = make_item(users, maintenance_interval_days=5)
    checks_on(today())

    db.session.rollback()
    notes = db.session.scalars(
        select(Notification).where(Notification.event == "equipment_due")
    ).all()
    readers = {users[role].id for role in ("technician", "technician2", "qa")}
    assert {n.user_id for n in notes} == readers
    note = notes[0]
    assert note.title == (
        f"Equipment calibration or maintenance due: Centrifuge Centrifuge 1 ({item.code}), "
        "maintenance"
    )
    assert note.body.startswith(f"Maintenance of {item.code} Centrifuge 1 is due on")


# ---------------------------------------------------------------------------- reagent lots


def _lot(users, number: str, expires_on: date, flagged: str | None = None) -> ReagentLot:
    lot = ReagentLot(
        code=f"R{number}",
        reagent="culture medium",
        product_name="MSC medium",
        manufacturer="Acme",
        lot_number=number,
        expires_on=expires_on,
        storage="2-8 °C",
        quantity_received=500,
        quantity_remaining=0 if flagged else 500,
        quantity_unit="mL",
        coa_ref="COA-1",
        received_by_id=users["technician"].id,
        flagged=flagged,
    )
    db.session.add(lot)
    db.session.commit()
    return lot


def test_an_expired_lot_is_flagged_once_and_the_lab_told(users):
    expired = _lot(users, "L1", today() - days(1))
    last_day = _lot(users, "L2", today())  # its last day of use: not yet expired
    used_up = _lot(users, "L3", today() - days(5), flagged="used_up")

    checks_on(today())
    assert checks_on(today())["lots_flagged"] == 0  # each lot once

    db.session.rollback()
    assert (expired.flagged, last_day.flagged, used_up.flagged) == ("expired", None, "used_up")
    assert events(last_day, "reagent_lot_flagged") == []
    assert events(used_up, "reagent_lot_flagged") == []
    (event,) = events(expired, "reagent_lot_flagged")
    assert event["path"] == f"/reagent-lots/{expired.id}"
    assert event["subject"] == "culture medium lot L1 (RL1)"
    assert event["message"] == (
        f"Lot L1 of MSC medium expired on {(today() - days(1)).isoformat()}; it may not be used."
    )
    checks_on(today() + days(1))
    assert len(events(last_day, "reagent_lot_flagged")) == 1  # now L2 has expired too


# ---------------------------------------------------------------------------- the task


def test_the_beat_task_is_registered_by_name_and_runs_the_checks(app, users):
    """A real worker's path is covered elsewhere (tests/notify); here: the name beat sends
    is a registered task, and running it does the checks in this process."""
    registered = app.extensions["celery"].tasks["lims.materials_checks"]
    assert registered.name == "lims.materials_checks"
    assert app.config["CELERY"]["beat_schedule"]["materials-checks"] == {
        "task": "lims.materials_checks",
        "schedule": 3600.0,
    }
    item = make_item(users, name="Incubator 9", kind="incubator", maintenance_interval_days=1)

    assert registered.run()["equipment_warnings"] >= 1
    assert [e["warning"] for e in events(item)] == ["1d"]
    assert registered.run() == {"equipment_warnings": 0, "lots_flagged": 0}
