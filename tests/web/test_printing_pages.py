"""Printing from the pages to a ZPL printer emulator on 127.0.0.1: the admin's register and
rules, one press of "Print label" on the unit page, the job's page (scan the new label,
confirmed or the loud wrong-label alert, destroy, reprint with its reason, a printer that is
off and the retry), this workstation's name, and the day's label report as a page and CSV."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import LedgerEntry, PrintJob
from lims.printers.emulator import ZplPrinterEmulator, fields
from lims.services.station import printing
from tests.backends import backend  # noqa: F401  (SQLite alone: the pages; the rules are tested on both in service/test_printing)
from tests.sites import a_clinic
from tests.web.conftest import text_of as tagged_text


def text_of(response) -> str:
    """What a person reads: no space a tag left before a comma, colon or bracket."""
    return re.sub(r"\( ", "(", re.sub(r" ([,.:;)])", r"\1", tagged_text(response)))


@pytest.fixture
def emulator():
    with ZplPrinterEmulator() as printer:
        yield printer


@pytest.fixture
def tube_printer(users, emulator):
    """Tube 1 on the emulator, chosen for any label at any station."""
    made = printing.register_printer(
        {"name": "Tube 1", "kind": "zpl_tcp", "host": "127.0.0.1", "port": emulator.port}
        | {"stock": "tube", "place": "processing room"},
        users["admin"],
    )
    printing.add_rule({"printer_id": made.id}, users["admin"])
    return made


def entries(action: str) -> list[LedgerEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == action)))


def job_id_of(response) -> int:
    match = re.fullmatch(r"/print/jobs/(\d+)", response.location)
    assert response.status_code == 302 and match, (response.status_code, response.location)
    return int(match[1])


def print_unit(client, unit_id: int, **form: str) -> int:
    return job_id_of(client.post(f"/print/units/{unit_id}", data=form))


# ---------------------------------------------------------------------------- the register


def test_an_admin_registers_a_printer_and_a_rule(login, emulator):
    client = login("admin")
    form = {"name": "Tube 1", "kind": "zpl_tcp", "host": "127.0.0.1", "port": str(emulator.port)}
    response = client.post(
        "/admin/printers/new", data=form | {"dpi": "203", "stock": "tube", "active": "y"}
    )
    assert response.status_code == 302 and response.location == "/admin/printers"
    (printer,) = printing.active_printers()

    response = client.post("/admin/printers/rules/new", data={"printer": str(printer.id)})
    assert response.status_code == 302

    page = text_of(client.get("/admin/printers"))
    assert f"Tube 1 ZPL over the network (raw TCP) 127.0.0.1:{emulator.port} 203 dpi" in page
    assert "Tube 1 any label any station" in page
    assert [e.action for e in entries("printer_registered") + entries("print_rule_added")] == [
        "printer_registered",
        "print_rule_added",
    ]


def test_an_admin_takes_a_printer_out_of_use_and_removes_a_rule(login, users, tube_printer):
    client = login("admin")
    edit = f"/admin/printers/{tube_printer.id}/edit"
    assert "checked" in client.get(edit).get_data(as_text=True)  # in use, as registered
    form = {"name": "Tube 1", "kind": "zpl_tcp", "host": "127.0.0.1", "port": tube_printer.port}
    response = client.post(edit, data=form | {"dpi": "203", "stock": "tube"})  # "In use" unticked
    assert response.status_code == 302
    assert "Tube 1 ZPL" in text_of(client.get("/admin/printers"))
    assert "out of use" in text_of(client.get("/admin/printers"))

    (rule,) = printing.rules(users["admin"])
    asked = client.get(f"/admin/printers/rules/{rule.id}/remove")
    assert "Remove this print rule?" in text_of(asked)
    assert "Any label at any station on Tube 1" in text_of(asked)
    assert client.post(f"/admin/printers/rules/{rule.id}/remove").status_code == 302
    assert printing.rules(users["admin"]) == []
    assert "No rule yet" in text_of(client.get("/admin/printers"))


def test_the_register_refuses_bad_details_beside_the_field(login):
    response = login("admin").post(
        "/admin/printers/new", data={"name": "Tube 1", "kind": "zpl_tcp", "stock": "tube"}
    )
    assert response.status_code == 422
    assert "Nothing was saved: a ZPL printer needs its network address." in text_of(response)
    assert re.search(r'id="host-error-1">required for a ZPL printer<', response.get_data(True))
    assert printing.active_printers() == []


def test_a_technician_reads_the_register_but_is_refused_its_forms(login, tube_printer):
    client = login("technician")
    page = client.get("/admin/printers")
    assert page.status_code == 200 and "Tube 1" in text_of(page)
    assert "Register a printer" not in text_of(page) and "/admin/printers/new" not in page.text
    assert client.get("/admin/printers/new").status_code == 403
    form = {"name": "Mine", "kind": "zpl_tcp", "host": "10.0.0.9", "stock": "tube"}
    assert client.post("/admin/printers/new", data=form).status_code == 403
    assert client.post("/admin/printers/rules/new", data={"printer": "1"}).status_code == 403
    assert [p.name for p in printing.active_printers()] == ["Tube 1"]


# ---------------------------------------------------------------------------- print, scan back


def test_print_label_on_the_unit_page_sends_it_and_lands_on_the_job_page(
    login, register, emulator, tube_printer
):
    unit = register("ADIPOSE")
    client = login("technician")
    unit_page = client.get(f"/units/{unit.id}").get_data(as_text=True)
    assert f'action="/print/units/{unit.id}"' in unit_page and 'accesskey="p"' in unit_page

    response = client.post(f"/print/units/{unit.id}")
    job_id = job_id_of(response)

    (received,) = emulator.wait_for_jobs(1)
    assert unit.barcode_data in fields(received)
    page = client.get(f"/print/jobs/{job_id}")
    assert "Printed on Tube 1: scan the new label now" in text_of(page)
    assert re.search(
        r'<input[^>]*autofocus[^>]*name="scanned"|<input[^>]*name="scanned"[^>]*autofocus',
        page.text,
    )
    assert client.get(f"/print/jobs/{job_id}.json").get_json()["status"] == "sent"
    (entry,) = entries("print_label")
    assert json.loads(entry.data)["job"] == job_id


def test_the_scan_back_of_the_right_label_confirms_it(login, register, tube_printer):
    unit = register("ADIPOSE")
    client = login("technician")
    job_id = print_unit(client, unit.id)

    response = client.post(f"/print/jobs/{job_id}/confirm", data={"scanned": unit.barcode_data})

    assert response.status_code == 302 and response.location == f"/print/jobs/{job_id}"
    page = text_of(client.get(f"/print/jobs/{job_id}"))
    assert "Label confirmed by scan" in page and "WRONG LABEL" not in page
    assert len(entries("label_confirmed")) == 1


def test_a_wrong_scan_is_a_loud_alert_then_destroyed_with_a_reason_and_reprinted(
    login, register, tube_printer
):
    unit = register("ADIPOSE")
    other = register("ADIPOSE", mrn="MRN-2", name="Other Patient")
    client = login("technician")
    job_id = print_unit(client, unit.id)

    client.post(f"/print/jobs/{job_id}/confirm", data={"scanned": other.barcode_data})

    page = client.get(f"/print/jobs/{job_id}")
    alert = re.search(r'<section class="print-wrong" role="alert".*?</section>', page.text, re.S)
    assert alert, page.text[:2000]
    assert (
        f"WRONG LABEL — scanned {other.barcode_data}, expected {unit.barcode_data}: "
        "destroy this label"
    ) in text_of(page)
    (mismatch,) = entries("label_mismatch")
    assert json.loads(mismatch.data)["scanned"] == other.barcode_data

    refused = client.post(f"/print/units/{unit.id}", data={"reason": "wrong label"})
    assert refused.status_code == 409
    assert f"the label of print job {job_id} did not scan back" in text_of(refused)

    client.post(f"/print/jobs/{job_id}/destroy", data={"reason": "shredded at the bench"})
    page = client.get(f"/print/jobs/{job_id}")
    assert "This label was destroyed" in text_of(page)
    assert f'href="/print/units/{unit.id}"' in page.text  # the reprint, with its reason
    (destroyed,) = entries("label_destroyed")
    assert destroyed.reason == "shredded at the bench"
    again = print_unit(client, unit.id, reason="first label was wrong")
    assert db.session.get(PrintJob, again).action == "reprint_label"


def test_a_reprint_asks_for_its_reason_on_the_print_form(login, register, tube_printer):
    unit = register("ADIPOSE")
    client = login("technician")
    print_unit(client, unit.id)

    response = client.post(f"/print/units/{unit.id}")

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "this label was printed before; a reprint needs a reason" in text_of(response)
    assert re.search(r'id="reason-error-1">required for a reprint<', html)
    assert re.search(
        r'<input[^>]*autofocus[^>]*name="reason"|<input[^>]*name="reason"[^>]*autofocus', html
    )
    assert len(entries("print_label")) == 1 and not entries("reprint_label")

    job_id = print_unit(client, unit.id, reason="label smudged", copies="2")
    job = db.session.get(PrintJob, job_id)
    assert (job.action, job.reason, job.copies) == ("reprint_label", "label smudged", 2)


def test_a_printer_that_is_off_shows_its_error_and_retry_sends_the_label(
    login, register, emulator, tube_printer
):
    unit = register("ADIPOSE")
    client = login("technician")
    emulator.mode = "refuse"
    job_id = print_unit(client, unit.id)

    page = client.get(f"/print/jobs/{job_id}")
    failed = re.search(r'<section class="print-failed" role="alert".*?</section>', page.text, re.S)
    assert failed and "closed the connection" in failed[0] and "Retry" in failed[0]

    emulator.mode = "ok"
    response = client.post(f"/print/jobs/{job_id}/retry")
    assert response.status_code == 302
    assert "Printed on Tube 1: scan the new label now" in text_of(client.get(response.location))
    (received,) = emulator.wait_for_jobs(1)
    assert unit.barcode_data in fields(received)


def test_an_unknown_job_is_the_404_page_and_an_empty_scan_a_message(login, register, tube_printer):
    unit = register("ADIPOSE")
    client = login("technician")
    assert client.get("/print/jobs/999999").status_code == 404
    assert client.post("/print/jobs/999999/confirm", data={"scanned": "x"}).status_code == 404
    job_id = print_unit(client, unit.id)

    response = client.post(f"/print/jobs/{job_id}/confirm", data={"scanned": "  "})

    assert response.status_code == 302
    page = text_of(client.get(response.location))
    assert "Not checked: scan the new label's barcode." in page
    assert "scan the new label now" in page  # still waiting for its scan
    assert not entries("label_confirmed") and not entries("label_mismatch")


def test_a_print_with_no_rule_says_to_choose_a_printer(login, register, emulator, users):
    printing.register_printer(
        {"name": "Tube 9", "kind": "zpl_tcp", "host": "127.0.0.1", "port": emulator.port}
        | {"stock": "tube"},
        users["admin"],
    )
    unit = register("ADIPOSE")
    client = login("technician")
    form = client.get(f"/print/units/{unit.id}")
    assert "No print rule names a printer for this label at this station" in text_of(form)

    response = client.post(f"/print/units/{unit.id}")
    assert response.status_code == 409
    assert "no print rule names a printer for source tube labels" in text_of(response)
    (printer,) = printing.active_printers()
    assert print_unit(client, unit.id, printer=str(printer.id))


# ---------------------------------------------------------------------------- the workstation


def test_a_named_workstation_prints_to_the_printer_its_rule_names(
    login, users, register, emulator, tube_printer
):
    bench = printing.register_printer(
        {"name": "Bench 2", "kind": "zpl_tcp", "host": "127.0.0.1", "port": emulator.port}
        | {"stock": "tube"},
        users["admin"],
    )
    printing.add_rule({"printer_id": bench.id, "workstation": "bench-2"}, users["admin"])
    client = login("technician")
    assert "this workstation has no name" in text_of(client.get("/station/workstation")).lower()

    refused = client.post("/station/workstation", data={"workstation": "bench/2"})
    assert refused.status_code == 422 and "a workstation name is 1–60 letters" in text_of(refused)
    response = client.post("/station/workstation", data={"workstation": "bench-2"})
    assert response.status_code == 302
    assert "lims_workstation=bench-2" in response.headers["Set-Cookie"]

    job_id = print_unit(client, register("ADIPOSE").id)
    page = text_of(client.get(f"/print/jobs/{job_id}"))
    assert "Workstation: bench-2 (change)" in page and "Printed on Bench 2" in page


# ---------------------------------------------------------------------------- the report


def test_the_label_report_and_its_csv_count_the_days_labels(login, register, tube_printer):
    right = register("ADIPOSE")
    wrong = register("ADIPOSE", mrn="MRN-2", name="Other Patient")
    client = login("technician")
    confirmed = print_unit(client, right.id)
    client.post(f"/print/jobs/{confirmed}/confirm", data={"scanned": right.barcode_data})
    mismatched = print_unit(client, wrong.id)
    client.post(f"/print/jobs/{mismatched}/confirm", data={"scanned": right.barcode_data})
    client.post(f"/print/jobs/{mismatched}/destroy", data={"reason": "shredded"})
    reprinted = print_unit(client, wrong.id, reason="first one was wrong")

    page = client.get("/labels/report")
    assert page.status_code == 200
    totals = dict(re.findall(r'data-total="(\w+)"><dt>\w+</dt><dd>(\d+)</dd>', page.text))
    assert totals == {
        "printed": "2",
        "reprinted": "1",
        "confirmed": "1",
        "mismatched": "1",
        "destroyed": "1",
        "failed": "0",
        "unconfirmed": "1",
    }
    assert "first one was wrong" in text_of(page)
    assert f'href="/print/jobs/{reprinted}"' in page.text

    day = re.search(r'name="day" type="date" value="([\d-]+)"', page.text)[1]
    exported = client.get(f"/labels/report.csv?day={day}")
    assert exported.mimetype == "text/csv"
    rows = {r["subject"]: r for r in csv.DictReader(io.StringIO(exported.get_data(as_text=True)))}
    row = rows[wrong.label]
    assert (row["printed"], row["reprinted"], row["mismatched"], row["destroyed"]) == (
        "1",
        "1",
        "1",
        "1",
    )
    assert row["reprint_reasons"] == "first one was wrong"
    assert row["jobs"] == f"{mismatched} {reprinted}"
    assert rows[right.label]["confirmed"] == "1"

    assert client.get("/labels/report?day=2024-13-40").status_code == 422
    assert client.get("/labels/report?day=1999-01-01").status_code == 200


def test_with_two_sites_a_printer_is_registered_at_the_site_chosen(login, users):
    from lims.models import Printer

    clinic = a_clinic(users["admin"])
    client = login("admin")
    assert "Hair Clinic North (C0002)" in text_of(client.get("/admin/printers/new"))

    response = client.post(
        "/admin/printers/new",
        data={
            "name": "Clinic tubes",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": "9100",
            "dpi": "203",
            "stock": "tube",
            "site": str(clinic.id),
            "active": "y",
        },
    )

    assert response.status_code == 302, text_of(response)[:300]
    printer = db.session.scalars(select(Printer).where(Printer.name == "Clinic tubes")).one()
    assert printer.site_id == clinic.id
