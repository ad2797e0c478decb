"""The route × role table's rows for the equipment register's pages: endpoint -> (method,
url template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

READERS = {"technician", "qa", "admin"}  # the register, an item's page, its label
EDITORS = {"admin", "qa"}  # register and edit items
RECORDERS = {"technician", "qa"}  # calibration, qualification, maintenance, status

ROUTES: dict[str, tuple] = {
    "equipment.index": ("GET", "/equipment/", READERS),
    "equipment.detail": ("GET", "/equipment/{equipment}", READERS),
    "equipment.units_csv": ("GET", "/equipment/{equipment}/units.csv", READERS),
    # The forms; POST registers, saves, records or changes the status.
    "equipment.register": ("GET", "/equipment/new", EDITORS),
    "equipment.edit": ("GET", "/equipment/{equipment}/edit", EDITORS),
    "equipment.record": ("GET", "/equipment/{equipment}/records", RECORDERS),
    "equipment.status": ("GET", "/equipment/{equipment}/status", RECORDERS),
    "equipment.label_dialog": ("GET", "/equipment/{equipment}/label", READERS),
    "equipment.print_label": ("POST", "/equipment/{equipment}/label", READERS),  # a PDF
}


def an_item(users, owner, unit) -> int:
    """A centrifuge QA registered."""
    from lims.services.materials import equipment

    item = equipment.register_equipment(
        {"name": "Centrifuge 1", "kind": "centrifuge", "maintenance_interval_days": 90},
        users["qa"],
    )
    return item.id


ROWS: dict = {"equipment": an_item}
