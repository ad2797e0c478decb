"""The route × role table's rows for the reagent-lot pages: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

from lims.services.materials import reagents

READERS = {"technician", "qa", "admin"}
RECEIVERS = {"technician", "qa"}

ROUTES: dict[str, tuple] = {
    "reagents.index": ("GET", "/reagent-lots", READERS),
    "reagents.receive": ("GET", "/reagent-lots/new", RECEIVERS),  # the form; POST receives
    "reagents.detail": ("GET", "/reagent-lots/{lot}", READERS),  # the recall names patients
    # A GET of a decision's address shows its form on the lot page; POST signs.
    "reagents.accept": ("GET", "/reagent-lots/{lot}/accept", {"qa"}),
    "reagents.reject": ("GET", "/reagent-lots/{lot}/reject", {"qa"}),
    "reagents.label": ("GET", "/reagent-lots/{lot}/label", READERS),  # a PDF sheet
    "reagents.recall_csv": ("GET", "/reagent-lots/{lot}/units.csv", READERS),
}


def a_lot(users, owner, unit) -> int:
    """A lot a technician received, waiting for QA's acceptance."""
    lot = reagents.receive_lot(
        users["technician"],
        reagent="collagenase",
        product_name="Collagenase NB 4",
        manufacturer="Nordmark",
        lot_number="ROUTE-1",
        expires_on=reagents.today().replace(year=reagents.today().year + 1),
        storage="2–8 °C",
        quantity=10,
        quantity_unit="g",
        coa_ref="CoA-ROUTE-1",
    )
    return lot.id


ROWS: dict = {"lot": a_lot}
