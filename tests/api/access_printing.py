"""The API route × role table's rows for printers, print rules, print jobs and the label
report. Jobs print to a ZPL printer emulator on 127.0.0.1 (started once for the module);
``{failedjob}`` is a job whose printer's port has nothing listening."""

from __future__ import annotations

import socket

from .access import Endpoint

READERS = frozenset({"technician", "qa", "admin"})
ADMIN = frozenset({"admin"})
UNIT_PRINTERS = frozenset({"technician", "qa", "admin"})
WRISTBAND_PRINTERS = frozenset({"technician", "clinician", "qa"})
EVERYONE = frozenset({"technician", "clinician", "qa", "admin"})
_EMULATOR = None


def _emulator_port() -> int:
    global _EMULATOR
    if _EMULATOR is None:
        from lims.printers.emulator import ZplPrinterEmulator

        _EMULATOR = ZplPrinterEmulator().start()
    return _EMULATOR.port


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again at once: nothing listens there


def _printer(users, port: int, name: str) -> int:
    from lims.services.station import printing

    made = printing.register_printer(
        {"name": name, "kind": "zpl_tcp", "host": "127.0.0.1", "port": port, "stock": "tube"},
        users["admin"],
    )
    printing.add_rule({"printer_id": made.id}, users["admin"])
    return made.id


def a_printer(users, role, unit) -> int:
    return _printer(users, _emulator_port(), "Tube 1")


def a_rule(users, role, unit) -> int:
    from lims.services.station import printing

    return printing.add_rule({"printer_id": a_printer(users, role, unit)}, users["admin"]).id


def _job(users, unit, port: int) -> int:
    from lims.services.station import printing

    _printer(users, port, f"printer {port}")
    tech = users["technician"]
    subject = printing.unit_subject(tech, unit.id)
    return printing.print_label(subject, {}, tech, printing.Station()).id


def a_printjob(users, role, unit) -> int:
    return _job(users, unit, _emulator_port())


def a_failedjob(users, role, unit) -> int:
    return _job(users, unit, _closed_port())


def _ready(users, role, unit) -> str:
    a_printer(users, role, unit)
    return ""


ENDPOINTS: dict[str, Endpoint] = {
    "api.list_printers": Endpoint("GET", "/printers", READERS),
    "api.register_printer": Endpoint(
        "POST",
        "/printers",
        ADMIN,
        201,
        body=lambda: {"name": "Bag 1", "kind": "cups_pdf", "queue": "bag-1", "stock": "bag"},
    ),
    "api.update_printer": Endpoint(
        "POST",
        "/printers/{printer}",
        ADMIN,
        body=lambda: {"name": "Tube 1", "kind": "zpl_tcp", "host": "127.0.0.1", "stock": "bag"},
    ),
    "api.add_print_rule": Endpoint(
        "POST",
        "/print-rules{ready}",
        ADMIN,
        201,
        body=lambda: {"printer_id": 1, "template": "location"},
    ),
    "api.remove_print_rule": Endpoint("POST", "/print-rules/{rule}/remove", ADMIN, body=dict),
    # {ready}: an emulated printer and a rule for any station and label (an empty string)
    "api.print_unit": Endpoint("POST", "/units/{id}/print{ready}", UNIT_PRINTERS, 201, body=dict),
    "api.print_patient": Endpoint(
        "POST", "/patients/{patient}/print{ready}", WRISTBAND_PRINTERS, 201, body=dict
    ),
    "api.print_location": Endpoint(
        "POST", "/locations/{location}/print{ready}", UNIT_PRINTERS, 201, body=dict
    ),
    "api.get_print_job": Endpoint("GET", "/print-jobs/{printjob}", EVERYONE),
    "api.retry_print_job": Endpoint("POST", "/print-jobs/{failedjob}/retry", EVERYONE, body=dict),
    "api.confirm_print_job": Endpoint(
        "POST", "/print-jobs/{printjob}/confirm", EVERYONE, body=lambda: {"scanned": "{barcode}"}
    ),
    "api.destroy_print_label": Endpoint(
        "POST",
        "/print-jobs/{printjob}/destroy",
        EVERYONE,
        body=lambda: {"reason": "smudged in the printer"},
    ),
    "api.label_report": Endpoint("GET", "/labels/report", READERS),
}
ROWS: dict = {
    "printer": a_printer,
    "rule": a_rule,
    "printjob": a_printjob,
    "failedjob": a_failedjob,
    "ready": _ready,
}
