"""Demo printers and a morning of label prints at the bench (decision 100).

Two ZPL printers at the laboratory on this machine's ports 9101 (tube labels, any label by
default) and 9102 (product bags), and the clinic's tube printer on 9103 (decision 103), which
``make run`` serves with the printer emulator when asked
(``DEMO_PRINTERS=1``). While seeding, emulators on those ports take the demo's prints: a
label confirmed by scan, one that scanned back wrong, was destroyed and reprinted with a
reason, and one printed but not yet scanned back — what the label report reconciles. When
the ports are taken (an emulator already running, or another seeding), the printers are
registered and the prints left out.
"""

from __future__ import annotations

import logging

from flask import current_app

from .models import Site, Unit, User
from .services.station import printing

log = logging.getLogger(__name__)
TUBE_PORT, BAG_PORT = 9101, 9102
BENCH = printing.Station("bench-1", "127.0.0.1")


def stock(admin: User) -> dict[str, int]:
    """Register the two printers and their rules; their ids by stock."""
    tube = printing.register_printer(
        {
            "name": "Bench 1 tubes",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": TUBE_PORT,
            "stock": "tube",
            "place": "Processing room, bench 1",
        },
        admin,
    )
    bag = printing.register_printer(
        {
            "name": "Bench 1 bags",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": BAG_PORT,
            "stock": "bag",
            "place": "Processing room, bench 1",
        },
        admin,
    )
    printing.add_rule({"printer_id": tube.id}, admin)
    printing.add_rule({"printer_id": bag.id, "template": "product_bag"}, admin)
    return {"tube": tube.id, "bag": bag.id}


CLINIC_PORT = 9103


def clinic_printer(admin: User, clinic: Site | None) -> int | None:
    """The clinic's own tube printer (decision 103), for its reception desk's workstation."""
    if clinic is None:
        return None
    printer = printing.register_printer(
        {
            "name": "Clinic reception tubes",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": CLINIC_PORT,
            "stock": "tube",
            "place": "Hair Clinic North, reception",
            "site_id": clinic.id,
        },
        admin,
    )
    printing.add_rule({"printer_id": printer.id, "workstation": "clinic-desk"}, admin)
    return printer.id


def prints(tech: User, source: Unit, product: Unit, other: Unit) -> None:
    """The morning's prints, sent to emulators on the demo printers' ports."""
    from .printers.emulator import ZplPrinterEmulator

    try:
        emulators = [ZplPrinterEmulator(port=p).start() for p in (TUBE_PORT, BAG_PORT)]
    except OSError:
        log.warning(
            "ports %s and %s are taken: the demo's label prints are left out", TUBE_PORT, BAG_PORT
        )
        return
    config = current_app.config
    background, config["PRINT_IN_BACKGROUND"] = config.get("PRINT_IN_BACKGROUND", True), False
    try:
        tube = printing.print_label(printing.unit_subject(tech, source.id), {}, tech, BENCH)
        printing.confirm(tube.id, source.barcode_data, tech)
        bag = printing.print_label(printing.unit_subject(tech, product.id), {}, tech, BENCH)
        printing.confirm(bag.id, other.barcode_data, tech)  # another unit's label in the tray
        printing.destroy(
            bag.id, {"reason": "label of another unit picked from the tray; shredded"}, tech
        )
        again = printing.print_label(
            printing.unit_subject(tech, product.id),
            {"reason": "first label scanned back wrong"},
            tech,
            BENCH,
        )
        printing.confirm(again.id, product.barcode_data, tech)
        printing.print_label(
            printing.unit_subject(tech, other.id), {}, tech, BENCH
        )  # not scanned yet
    finally:
        config["PRINT_IN_BACKGROUND"] = background
        for emulator in emulators:
            emulator.stop()
