"""The route × role table's rows for the shipments pages: endpoint -> (method, url template,
roles that get the page; None: public), and the makers of any placeholder the URLs name beyond
the table's own ({shipment}, {shipmentitem}, {shipmentcode})."""

from __future__ import annotations

ALL = {"technician", "clinician", "qa", "admin"}  # QA and admin read every shipment
SHIPPERS = {"technician", "clinician"}  # pack, dispatch, cancel and receive (site members)

ROUTES: dict[str, tuple] = {
    "shipments.index": ("GET", "/shipments", ALL),
    "shipments.find": ("GET", "/shipments/find?code={shipmentcode}", ALL),  # to its page
    "shipments.new": ("GET", "/shipments/new", SHIPPERS),  # the form; POST creates
    "shipments.detail": ("GET", "/shipments/{shipment}", ALL),
    # Nothing scanned: back to the page, with a word on top.
    "shipments.add_item": ("POST", "/shipments/{shipment}/items", SHIPPERS),
    "shipments.remove_item": (
        "POST",
        "/shipments/{shipment}/items/{shipmentitem}/remove",
        SHIPPERS,
    ),
    # GET (a refused form's address opened again) is the shipment's page; POST sends the form.
    "shipments.dispatch": ("GET", "/shipments/{shipment}/dispatch", SHIPPERS),
    "shipments.cancel": ("GET", "/shipments/{shipment}/cancel", SHIPPERS),
    "shipments.receive": ("GET", "/shipments/{shipment}/receive", SHIPPERS),
    "shipments.manifest_pdf": ("GET", "/shipments/{shipment}/manifest.pdf", ALL),
    "shipments.packing_list_pdf": ("GET", "/shipments/{shipment}/packing-list.pdf", ALL),
}


def a_shipment(users, owner, unit) -> int:
    """The unit (a collection), packed by the technician into a shipment from the lab (every
    account's first site) to a clinic; one shipment per test, whichever placeholder asks."""
    from sqlalchemy import select

    from lims.extensions import db
    from lims.models import Shipment
    from lims.services.admin import sites
    from lims.services.station import shipments

    made = db.session.scalar(select(Shipment.id).limit(1))
    if made is not None:
        return made
    (lab,) = sites.list_sites()
    clinic = sites.register_site(
        {
            "code": "C0002",
            "name": "Hair Clinic North",
            "address": "2 North Street, 00000 City",
            "timezone": "Europe/Paris",
            "kind": "clinic",
        },
        users["admin"],
    )
    tech = users["technician"]
    shipment = shipments.create(
        {
            "from_site": lab.id,
            "to_site": clinic.id,
            "container": "Insulated box 12 L",
            "courier": "MedCourier",
            "condition": "refrigerated",
        },
        tech,
    )
    shipments.add_item(shipment.id, {"unit_id": unit.id}, tech)
    return shipment.id


def a_shipment_item(users, owner, unit) -> int:
    from lims.services.station import shipments

    shipment = shipments.get(a_shipment(users, owner, unit), users["admin"])
    return shipment.items[0].id


def a_shipment_code(users, owner, unit) -> str:
    from lims.services.station import shipments

    return shipments.get(a_shipment(users, owner, unit), users["admin"]).code


ROWS: dict = {
    "shipment": a_shipment,
    "shipmentitem": a_shipment_item,
    "shipmentcode": a_shipment_code,
}
