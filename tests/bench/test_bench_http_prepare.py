"""``make bench-http`` stores a share of the units it samples in freezer boxes, through the
store action (each with its ledger entry), once per database: the look-up and scan figures
in docs/performance.md include stored units (decision 123)."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.http import STORED_SHARE, _store_some
from bench.seed import seed
from lims.domain.lifecycle import LIVE
from lims.extensions import db
from lims.models import LedgerEntry, Location, Unit
from lims.services.custody import ledger


def test_a_share_of_the_sampled_live_units_is_stored_through_the_store_action(app):
    seed(60, days=60)
    db.session.remove()
    live = [s.value for s in LIVE]
    ids = list(db.session.scalars(select(Unit.id).where(Unit.status.in_(live)).order_by(Unit.id)))
    db.session.remove()

    _store_some(ids)

    stored = db.session.scalars(select(Unit).where(Unit.location_id.is_not(None))).all()
    assert len(stored) == int(len(ids) * STORED_SHARE) > 0
    assert all(u.location.kind == "position" for u in stored)
    assert stored[0].location.path.startswith("Bench cryo room › LN2 freezer 1 › Rack 1 › Box 1 › ")
    entries = db.session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.action == "store")
    )
    assert entries == len(stored)
    assert ledger.verify().intact
    boxes = db.session.scalar(select(func.count()).where(Location.kind == "box"))
    db.session.remove()

    _store_some(ids)  # once per database: a later run stores nothing more
    assert db.session.scalar(select(func.count()).where(Unit.location_id.is_not(None))) == len(
        stored
    )
    assert db.session.scalar(select(func.count()).where(Location.kind == "box")) == boxes
