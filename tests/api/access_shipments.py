"""The API route × role table's rows for shipments. Every account belongs to the
installation's site (T0001); the shipments go to a second site every account also belongs
to, so membership never decides here: the role does (membership: tests/service)."""

from __future__ import annotations

from .access import Endpoint

EVERYONE = frozenset({"technician", "clinician", "qa", "admin"})
SHIPPERS = frozenset({"technician", "clinician"})
# A collection is received through the lifecycle's receive, a technician's action: a
# clinician receives only shipments of products (decision 102).
RECEIVERS = frozenset({"technician"})
PASSWORD = "test-pass-1234"


def _sites(users):
    from lims.services.admin import sites

    (home, *others) = sites.list_sites()
    if others:
        return home, others[0]
    other = sites.register_site(
        {
            "code": "C0002",
            "name": "Hair Clinic North",
            "address": "2 North Street",
            "timezone": "Europe/Paris",
            "kind": "clinic",
        },
        users["admin"],
    )
    for user in {u.id: u for u in users.values()}.values():
        sites.set_memberships(user.id, [home.id, other.id], users["admin"])
    return home, other


def _shipment(users):
    from lims.services.station import shipments

    home, other = _sites(users)
    return shipments.create(
        {
            "from_site": home.id,
            "to_site": other.id,
            "container": "box",
            "courier": "van",
            "condition": "refrigerated",
        },
        users["clinician"],
    )


def a_shipment(users, role, unit) -> int:
    return _shipment(users).id


def a_packedshipment(users, role, unit) -> int:
    from lims.services.station import shipments

    shipment = _shipment(users)
    shipments.add_item(shipment.id, {"unit_id": unit.id}, users["clinician"])
    return shipment.id


def a_sentshipment(users, role, unit) -> int:
    from lims.services.station import shipments

    shipment_id = a_packedshipment(users, role, unit)
    checked = {"checked_by": "tech2", "checked_by_password": PASSWORD}
    shipments.dispatch(shipment_id, checked, users["clinician"])
    return shipment_id


def an_item(users, role, unit) -> str:
    from lims.services.station import shipments

    shipment_id = a_packedshipment(users, role, unit)
    (item,) = shipments.get(shipment_id, users["clinician"]).items
    return f"{shipment_id}/items/{item.id}"


def _ready(users, role, unit) -> str:
    _sites(users)
    return ""


ENDPOINTS: dict[str, Endpoint] = {
    "api.list_shipments": Endpoint("GET", "/shipments", EVERYONE),
    "api.create_shipment": Endpoint(
        "POST",
        "/shipments{shipready}",
        SHIPPERS,
        201,
        body=lambda: {
            "from_site": 1,
            "to_site": 2,
            "container": "box",
            "courier": "van",
            "condition": "ambient",
        },
    ),
    "api.get_shipment": Endpoint("GET", "/shipments/{shipment}", EVERYONE),
    "api.add_shipment_item": Endpoint(
        "POST", "/shipments/{shipment}/items", SHIPPERS, 201, body=lambda: {"code": "{barcode}"}
    ),
    "api.remove_shipment_item": Endpoint(
        "POST", "/shipments/{shipmentitem}/remove", SHIPPERS, body=dict
    ),
    "api.dispatch_shipment": Endpoint(
        "POST",
        "/shipments/{packedshipment}/dispatch",
        SHIPPERS,
        body=lambda: {"checked_by": "tech2", "checked_by_password": PASSWORD},
    ),
    "api.receive_shipment": Endpoint(
        "POST",
        "/shipments/{sentshipment}/receive",
        RECEIVERS,
        body=lambda: {"arrival_temperature_c": 5.0, "scanned": ["{barcode}"]},
    ),
    "api.cancel_shipment": Endpoint(
        "POST", "/shipments/{shipment}/cancel", SHIPPERS, body=lambda: {"reason": "not needed"}
    ),
    "api.shipment_manifest": Endpoint("GET", "/shipments/{shipment}/manifest", EVERYONE),
    "api.shipment_packing_list": Endpoint("GET", "/shipments/{shipment}/packing-list", EVERYONE),
}
ROWS: dict = {
    "shipment": a_shipment,
    "packedshipment": a_packedshipment,
    "sentshipment": a_sentshipment,
    "shipmentitem": an_item,
    "shipready": _ready,
}
