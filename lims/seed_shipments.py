"""Demo shipments (decision 102): the clinic collects and ships to the central laboratory.

- one shipment on its way now: two fresh collections, packed by the clinician, checked by the
  technician (both work for the clinic too);
- one that arrived this morning one unit short: received by the lab with a note, the missing
  unit's deviation waiting for QA, QA told;
- one being packed at the lab: an MSC aliquot from the liquid-nitrogen bank going back to the
  clinic for a maintenance treatment, in a dry shipper.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Site, Unit, User
from .services.admin import sites
from .services.station import shipments


def _new(sender: Site, receiver: Site, by: User, **how) -> int:
    data = {
        "from_site": sender.id,
        "to_site": receiver.id,
        "container": "Insulated transport box 12 L",
        "courier": "MedCourier North",
        "condition": "refrigerated",
        **how,
    }
    return shipments.create(data, by).id


def stock(
    doctor: User,
    tech: User,
    password: str,
    collect: Callable[..., Unit],
    aliquot: Unit,
) -> None:
    """``collect(patient index, type, body site, volume, hours ago, facility=…)`` registers a
    collection."""
    known = {s.code: s for s in sites.list_sites()}
    lab = sites.first_site()
    clinic = known.get("C0002")
    if lab is None or clinic is None:
        return
    checked = {"checked_by": tech.username, "checked_by_password": password}

    earlier = _new(clinic, lab, doctor, tracking_number="MCN-20931", logger_id="TL-0417")
    arrived = [
        collect(1, "BLOOD", "antecubital vein", 60, 2, facility=clinic.code),
        collect(3, "BLOOD", "antecubital vein", 58, 1.5, facility=clinic.code),
    ]
    for unit in arrived:
        shipments.add_item(earlier, {"code": unit.barcode_data}, doctor)
    shipments.dispatch(earlier, checked, doctor)
    shipments.receive(
        earlier,
        {
            "arrival_temperature_c": 6.5,
            "scanned": [arrived[0].barcode_data],
            "note": "One tube not in the box; the courier and the clinic were called.",
        },
        tech,
    )

    on_the_way = _new(clinic, lab, doctor, tracking_number="MCN-20977", logger_id="TL-0422")
    for unit in (
        collect(2, "ADIPOSE", "abdomen", 270, 1, facility=clinic.code),
        collect(0, "MARROW", "posterior iliac crest", 58, 1, facility=clinic.code),
    ):
        shipments.add_item(on_the_way, {"code": unit.barcode_data}, doctor)
    shipments.dispatch(on_the_way, checked, doctor)

    back = _new(
        lab,
        clinic,
        tech,
        container="Dry shipper DS-2",
        condition="dry_shipper",
        logger_id="TL-DS2",
        note="MSC aliquot for the maintenance treatment",
    )
    shipments.add_item(back, {"unit_id": aliquot.id}, tech)
