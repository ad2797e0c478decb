"""The route × role table's rows for printing to the bench's printer: endpoint -> (method,
url template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

import socket

ALL = {"technician", "clinician", "qa", "admin"}
READERS = {"technician", "qa", "admin"}  # the register and the label report
ADMINS = {"admin"}  # register and edit printers, add and remove rules
PRINTERS = {"technician", "qa", "admin"}  # units' and locations' labels
WRISTBAND_PRINTERS = {"technician", "clinician", "qa"}

ROUTES: dict[str, tuple] = {
    "printing.printers": ("GET", "/admin/printers", READERS),
    # The forms; POST registers, saves, adds or removes.
    "printing.new_printer": ("GET", "/admin/printers/new", ADMINS),
    "printing.edit_printer": ("GET", "/admin/printers/{printer}/edit", ADMINS),
    "printing.add_rule": ("GET", "/admin/printers/rules/new", ADMINS),
    "printing.remove_rule": ("GET", "/admin/printers/rules/{printrule}/remove", ADMINS),
    "printing.workstation": ("GET", "/station/workstation", ALL),  # POST names it
    # The print pages; POST prints and goes to the job's page.
    "printing.print_unit": ("GET", "/print/units/{id}", PRINTERS),
    "printing.print_patient": ("GET", "/print/patients/{patient}", WRISTBAND_PRINTERS),
    "printing.print_location": ("GET", "/print/locations/{location}", PRINTERS),
    # A job of the unit (the service shows it to whoever may see the unit); the POSTs come
    # back to its page, refused or not (this one failed: no printer listens).
    "printing.job": ("GET", "/print/jobs/{printjob}", ALL),
    "printing.job_json": ("GET", "/print/jobs/{printjob}.json", ALL),
    "printing.retry": ("POST", "/print/jobs/{printjob}/retry", ALL),
    "printing.confirm": ("POST", "/print/jobs/{printjob}/confirm", ALL),  # not printed: back
    "printing.destroy": ("POST", "/print/jobs/{printjob}/destroy", ALL),  # no reason: back
    "printing.label_report": ("GET", "/labels/report", READERS),
    "printing.label_report_csv": ("GET", "/labels/report.csv", READERS),
}


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a print there fails at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def a_printer(users, owner, unit) -> int:
    """A ZPL printer the admin registered, with a rule for any station and any label."""
    from lims.services.station import printing

    made = printing.register_printer(
        {
            "name": "Tube 1",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": _closed_port(),
            "stock": "tube",
        },
        users["admin"],
    )
    printing.add_rule({"printer_id": made.id}, users["admin"])
    return made.id


def a_rule(users, owner, unit) -> int:
    from lims.services.station import printing

    a_printer(users, owner, unit)
    return printing.rules(users["admin"])[0].id


def a_print_job(users, owner, unit) -> int:
    """The unit's label, printed by a technician to a printer that is off: a failed job."""
    from lims.services.station import printing

    a_printer(users, owner, unit)
    tech = users["technician"]
    subject = printing.unit_subject(tech, unit.id)
    return printing.print_label(subject, {}, tech, printing.Station("bench-1", "127.0.0.1")).id


ROWS: dict = {"printer": a_printer, "printrule": a_rule, "printjob": a_print_job}
