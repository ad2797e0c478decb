"""Lab history for the readiness tests: collections played through the services at past
moments (``lims.models.types.clock_at``, the path the demo seed uses), so each product's
milestone times are real ledger-backed times with known stage durations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lims.domain.processing import batch_record
from lims.models.types import clock_at
from lims.services.actions import units
from tests.service.lab import (
    BENCH_EQUIPMENT,
    BENCH_LOTS,
    PRODUCT_OF,
    data_for,
    pass_all_qc,
    registration,
    sign,
)

H = timedelta(hours=1)


def released_in_past(
    users: dict,
    start: datetime,
    *,
    kind: str = "ADIPOSE",
    transit: timedelta = 2 * H,
    waiting: timedelta = H,
    processing: timedelta = 3 * H,
    qc_release: timedelta = 6 * H,
    mrn: str = "MRN-H",
) -> Any:
    """A collection of ``kind`` collected at ``start`` and its product released after the
    given stage durations; registered by a technician, so the patient is nobody's on the
    board. Returns the released product."""
    tech = users["technician"]
    with clock_at(start):
        data = registration(kind, collected_at=start.isoformat())
        data["patient"] = {"mrn": mrn, "name": f"History {mrn}", "birth_date": "1970-01-01"}
        source = units.register(data, tech).unit
    t = start + transit
    with clock_at(t):
        units.perform_action(source.id, "receive", data_for("receive", kind), tech)
    t += waiting
    with clock_at(t):
        units.perform_action(
            source.id, "start_processing", data_for("start_processing", kind), tech
        )
    began, t = t, t + processing
    with clock_at(t):
        made = {"type": PRODUCT_OF[kind], "volume_ml": 10, "cell_count": 30_000_000}
        steps = batch_record(
            kind,
            began + timedelta(minutes=1),
            t - timedelta(minutes=1),
            equipment=BENCH_EQUIPMENT,
            lots=BENCH_LOTS,
        )
        result = units.perform_action(
            source.id, "complete_processing", {"products": [made], "steps": steps}, tech
        )
    product = result.products[0]
    with clock_at(t + qc_release / 2):
        pass_all_qc(product, tech)
    with clock_at(t + qc_release):
        units.perform_action(product.id, "release", sign(), users["qa"])
    return product
