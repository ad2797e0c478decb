"""The API route × role table's rows for the reagent lots: endpoint name -> ``Endpoint``,
and the makers of any placeholder the paths name beyond the table's own ({id}, {product},
{patient}, {location}, {job} …): name -> maker(users, role, unit)."""

from __future__ import annotations

from lims.services.materials import reagents
from tests.conftest import PASSWORD

from .access import Endpoint

READERS = frozenset({"technician", "qa", "admin"})
RECEIVERS = frozenset({"technician", "qa"})


def _receipt() -> dict:
    return {
        "reagent": "wash buffer",
        "product_name": "DPBS without Ca/Mg",
        "manufacturer": "Gibco",
        "lot_number": "ACCESS-1",
        "expires_on": reagents.today().replace(year=reagents.today().year + 1).isoformat(),
        "storage": "15–25 °C",
        "quantity": 500,
        "quantity_unit": "mL",
        "coa_ref": "CoA-ACCESS-1",
    }


ENDPOINTS: dict[str, Endpoint] = {
    "api.list_reagent_lots": Endpoint("GET", "/reagent-lots?state=awaiting", READERS),
    "api.receive_reagent_lot": Endpoint("POST", "/reagent-lots", RECEIVERS, 201, _receipt),
    "api.get_reagent_lot": Endpoint("GET", "/reagent-lots/{lot}", READERS),
    # Signed by QA; {lot}: received by a technician (a second person accepts it).
    "api.accept_reagent_lot": Endpoint(
        "POST",
        "/reagent-lots/{lot}/accept",
        frozenset({"qa"}),
        body=lambda: {"password": PASSWORD, "meaning": "approved"},
    ),
    "api.reject_reagent_lot": Endpoint(
        "POST",
        "/reagent-lots/{lot}/reject",
        frozenset({"qa"}),
        body=lambda: {"reason": "CoA missing", "password": PASSWORD, "meaning": "rejected"},
    ),
    # The recall look-up names patients: those who see every patient the lab holds a unit of.
    "api.reagent_lot_units": Endpoint("GET", "/reagent-lots/{lot}/units", READERS),
}


def a_lot(users, role, unit) -> int:
    """A lot a technician received, waiting for QA's acceptance."""
    return reagents.receive(_receipt(), users["technician"]).id


ROWS: dict = {"lot": a_lot}
