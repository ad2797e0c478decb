"""Printing to the bench's printer and the scan-back, against a ZPL printer emulator listening
on 127.0.0.1 (a real TCP peer: the bytes it received are decoded to check the label).

On both backends: the rules that choose a printer, the print job and its ledger entry, a
printer that refuses or hangs (a clear failure, then a retry of the same bytes), the
scan-back (confirmed, or a mismatch that must be destroyed before a reprint with a reason),
and the day's label reconciliation.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import LedgerEntry, Patient, PrintJob
from lims.printers.emulator import ZplPrinterEmulator, fields
from lims.services.station import printing

from .lab import idle_in_transaction

BENCH = printing.Station("bench-2", "10.1.2.30")


@pytest.fixture
def printer():
    with ZplPrinterEmulator() as emulator:
        yield emulator


@pytest.fixture
def tube_printer(users, printer):
    made = printing.register_printer(
        {
            "name": "Tube 1",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": printer.port,
            "stock": "tube",
            "place": "processing room",
        },
        users["admin"],
    )
    printing.add_rule({"printer_id": made.id}, users["admin"])  # any station, any label
    return made


def entries(action: str) -> list[LedgerEntry]:
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == action)))


def test_a_print_sends_the_unit_label_to_the_printer_and_cites_the_job(
    users, register, printer, tube_printer
):
    unit = register("ADIPOSE")
    job = printing.print_label(
        printing.unit_subject(users["technician"], unit.id), {}, users["technician"], BENCH
    )

    assert job.status == "sent" and job.attempts == 1 and job.error is None
    (received,) = printer.wait_for_jobs(1)
    assert received == job.content
    assert unit.barcode_data in fields(received)
    (entry,) = entries("print_label")
    data = json.loads(entry.data)
    assert entry.unit_id == unit.id
    assert data["job"] == job.id and data["printer"] == "Tube 1"
    assert data["format"] == "zpl" and data["stock"] == "tube"
    assert job.workstation == "bench-2" and job.client_address == "10.1.2.30"


def test_the_most_specific_rule_chooses_the_printer(users, printer):
    admin = users["admin"]

    def a_printer(name: str):
        return printing.register_printer(
            {
                "name": name,
                "kind": "zpl_tcp",
                "host": "127.0.0.1",
                "port": printer.port,
                "stock": "bag" if "bag" in name else "tube",
            },
            admin,
        )

    anywhere, lab, bench, bags = (
        a_printer(n) for n in ("anywhere", "lab net", "bench 2", "bag printer")
    )
    printing.add_rule({"printer_id": anywhere.id}, admin)
    printing.add_rule({"printer_id": lab.id, "network": "10.1.0.0/16"}, admin)
    printing.add_rule({"printer_id": bench.id, "workstation": "BENCH-2"}, admin)
    printing.add_rule(
        {"printer_id": bags.id, "network": "10.1.2.0/24", "template": "product_bag"}, admin
    )

    def chosen(template, station):
        return printing.choose(template, station)[0].name

    assert chosen("source_tube", printing.Station(None, "192.168.1.5")) == "anywhere"
    assert chosen("source_tube", printing.Station(None, "10.1.9.9")) == "lab net"
    assert chosen("source_tube", printing.Station("bench-2", "10.1.9.9")) == "bench 2"
    # a narrower network for the template outranks the wider one for any label
    assert chosen("product_bag", printing.Station(None, "10.1.2.7")) == "bag printer"
    assert chosen("source_tube", printing.Station(None, "10.1.2.7")) == "lab net"
    # a workstation name outranks a network
    assert chosen("product_bag", printing.Station("bench-2", "10.1.2.7")) == "bench 2"
    # a printer out of use is never chosen
    printing.update_printer(
        bench.id,
        {
            "name": "bench 2",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": printer.port,
            "stock": "tube",
            "active": False,
        },
        admin,
    )
    assert chosen("source_tube", printing.Station("bench-2", "10.1.9.9")) == "lab net"
    actions = [e.action for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]
    assert actions.count("printer_registered") == 4
    assert actions.count("print_rule_added") == 4
    assert actions.count("printer_updated") == 1


def test_no_rule_is_a_clear_refusal_and_records_nothing(users, register, printer):
    unit = register("ADIPOSE")
    with pytest.raises(Conflict) as refused:
        printing.print_label(
            printing.unit_subject(users["technician"], unit.id), {}, users["technician"], BENCH
        )
    assert refused.value.code == "no_printer" and "bench-2" in refused.value.message
    assert not entries("print_label") and not db.session.scalars(select(PrintJob)).all()


@pytest.mark.parametrize(
    "mode, words",
    [("refuse", "closed the connection"), ("hang", "did not answer"), ("paper_out", "paper out")],
)
def test_a_printer_that_fails_fails_the_job_with_its_words_then_a_retry_sends_the_same_bytes(
    users, register, printer, tube_printer, mode, words
):
    unit = register("ADIPOSE")
    tech = users["technician"]
    printer.mode = mode
    job = printing.print_label(printing.unit_subject(tech, unit.id), {}, tech, BENCH)
    assert job.status == "failed" and "Tube 1" in job.error
    assert words in job.error, job.error
    assert len(entries("print_label")) == 1  # the print was asked for: recorded once

    printer.mode = "ok"
    again = printing.retry(job.id, tech)
    assert again.status == "sent" and again.attempts == 2
    assert printer.wait_for_jobs(1)[-1] == job.content
    assert len(entries("print_label")) == 1 and not entries("reprint_label")
    with pytest.raises(Conflict) as twice:
        printing.retry(job.id, tech)
    assert twice.value.code == "not_failed"


def test_a_hanging_printer_holds_no_transaction_while_it_is_waited_for(
    app, users, register, printer, tube_printer
):
    """While a print job waits on a printer that does not answer, the database is free: on
    SQLite another writer gets the write lock, PostgreSQL has no connection of ours idle in a
    transaction."""
    unit_id = register("ADIPOSE").id
    tech_id = users["technician"].id
    printer.mode = "hang"
    app.config["PRINTER_TIMEOUT_SECONDS"] = 3.0

    def print_in_another_context() -> str:
        with app.app_context():
            try:
                tech = db.session.get(type(users["technician"]), tech_id)
                subject = printing.unit_subject(tech, unit_id)
                return printing.print_label(subject, {}, tech, BENCH).status
            finally:
                db.session.remove()

    db.session.remove()
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(print_in_another_context)
        deadline = time.monotonic() + 5
        while printer.connections < 1 and not job.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not job.done()  # the send is waiting on the printer now
        if db.engine.dialect.name == "postgresql":
            assert idle_in_transaction() == 0
        else:
            other = register("ADIPOSE", mrn="MRN-2")  # a write while the job waits
            assert other.id and not job.done()
        assert job.result(10) == "failed"


@pytest.mark.req("F-2")
def test_scan_back_confirms_the_label(users, register, printer, tube_printer):
    unit = register("ADIPOSE")
    tech = users["technician"]
    job = printing.print_label(printing.unit_subject(tech, unit.id), {}, tech, BENCH)
    scanned = fields(printer.wait_for_jobs(1)[0])
    assert unit.barcode_data in scanned

    done = printing.confirm(job.id, unit.barcode_data, tech)
    assert done.status == "confirmed" and done.scan_matched is True
    (entry,) = entries("label_confirmed")
    assert entry.unit_id == unit.id and json.loads(entry.data)["job"] == job.id
    with pytest.raises(Conflict):
        printing.confirm(job.id, unit.barcode_data, tech)  # checked once


@pytest.mark.req("F-2")
def test_a_wrong_scan_back_is_recorded_and_must_be_destroyed_before_a_reprint(
    users, register, printer, tube_printer
):
    unit = register("ADIPOSE")
    other = register("ADIPOSE", mrn="MRN-2", name="Other Patient")
    tech = users["technician"]
    job = printing.print_label(printing.unit_subject(tech, unit.id), {}, tech, BENCH)

    wrong = printing.confirm(job.id, other.barcode_data, tech)
    assert wrong.status == "mismatch" and wrong.scan_matched is False
    (entry,) = entries("label_mismatch")
    data = json.loads(entry.data)
    assert data["expected"] == unit.barcode_data and data["scanned"] == other.barcode_data

    subject = printing.unit_subject(tech, unit.id)
    with pytest.raises(Conflict) as blocked:
        printing.print_label(subject, {"reason": "wrong label"}, tech, BENCH)
    assert blocked.value.code == "mismatch_unresolved"

    with pytest.raises(Invalid):
        printing.destroy(job.id, {}, tech)  # a reason is required
    printing.destroy(job.id, {"reason": "label of another unit, shredded"}, tech)
    (destroyed,) = entries("label_destroyed")
    assert destroyed.reason == "label of another unit, shredded"

    with pytest.raises(Invalid) as needs_reason:
        printing.print_label(subject, {}, tech, BENCH)
    assert needs_reason.value.code == "reason_required"
    again = printing.print_label(subject, {"reason": "first label was wrong"}, tech, BENCH)
    assert again.action == "reprint_label" and again.status == "sent"
    printing.confirm(again.id, unit.barcode_data, tech)

    report = printing.label_report(users["qa"])
    (row,) = [r for r in report.rows if r.subject == unit.label]
    assert (row.printed, row.reprinted, row.confirmed, row.mismatched, row.destroyed) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert row.reasons == ("first label was wrong",) and row.unconfirmed == 0
    assert report.totals["mismatched"] == 1


def test_a_bag_label_confirms_by_its_data_matrix_and_refuses_the_product_code(
    users, register, act, printer
):
    admin, tech = users["admin"], users["technician"]
    bags = printing.register_printer(
        {
            "name": "Bag 1",
            "kind": "zpl_tcp",
            "host": "127.0.0.1",
            "port": printer.port,
            "stock": "bag",
        },
        admin,
    )
    printing.add_rule({"printer_id": bags.id, "template": "product_bag"}, admin)
    source = register("ADIPOSE")
    for action in ("receive", "start_processing", "complete_processing"):
        act(source, action)
    from lims.services.actions import units

    product = next(u for u in units.units_for_din(source.din) if u.id != source.id)
    job = printing.print_label(printing.unit_subject(tech, product.id), {}, tech, BENCH)
    assert job.printer.name == "Bag 1" and job.status == "sent"
    label = printing.unit_subject(tech, product.id).label
    with pytest.raises(Invalid) as refused:
        printing.confirm(job.id, f"=<{product.product_code}{product.division}", tech)
    assert refused.value.code == "product_code_scanned"
    assert printing.confirm(job.id, label.datamatrix, tech).status == "confirmed"


def test_wristbands_and_who_may_print(users, register, printer, tube_printer):
    unit = register("ADIPOSE")
    patient = db.session.get(Patient, unit.patient_id)
    job = printing.print_label(
        printing.patient_subject(users["clinician"], patient.id), {}, users["clinician"], BENCH
    )
    assert job.barcode_data == patient.wristband and job.status == "sent"
    assert patient.wristband in fields(printer.wait_for_jobs(1)[0])
    with pytest.raises(Forbidden):
        printing.unit_subject(users["clinician"], unit.id)  # unit labels: the lab's
    with pytest.raises(Forbidden):
        printing.register_printer(
            {"name": "x", "kind": "zpl_tcp", "host": "h", "stock": "tube"}, users["qa"]
        )
    with pytest.raises(NotFound):
        printing.get_job(10**6, users["technician"])


@pytest.mark.parametrize(
    "data, code",
    [
        ({"name": "x", "kind": "zpl_tcp", "stock": "tube"}, "host_required"),
        ({"name": "x", "kind": "cups_pdf", "stock": "tube"}, "queue_required"),
        (
            {"name": "x", "kind": "zpl_tcp", "host": "h", "stock": "tube", "dpi": 600},
            "invalid_fields",
        ),
        ({"name": "x", "kind": "zpl_tcp", "host": "h; rm -rf", "stock": "tube"}, "invalid_fields"),
    ],
)
def test_bad_printer_details_are_refused(users, data, code):
    with pytest.raises(Invalid) as refused:
        printing.register_printer(data, users["admin"])
    assert refused.value.code == code


def test_a_bad_rule_is_refused(users, printer, tube_printer):
    with pytest.raises(Invalid) as refused:
        printing.add_rule({"printer_id": tube_printer.id, "network": "10.1.2"}, users["admin"])
    assert refused.value.code == "bad_network"
    with pytest.raises(NotFound):
        printing.add_rule({"printer_id": 999}, users["admin"])


def test_two_scan_backs_at_once_record_one(app, users, register, printer, tube_printer):
    unit = register("ADIPOSE")
    tech = users["technician"]
    job_id = printing.print_label(printing.unit_subject(tech, unit.id), {}, tech, BENCH).id
    tech_id, unit_barcode = tech.id, unit.barcode_data
    db.session.remove()

    def scan_back(_):
        with app.app_context():
            from lims.models import User

            try:
                return printing.confirm(job_id, unit_barcode, db.session.get(User, tech_id)).status
            except Conflict:
                return "refused"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(scan_back, range(2)))
    assert results == ["confirmed", "refused"]
    assert len(entries("label_confirmed")) == 1


def test_a_cups_printer_gets_a_pdf_the_size_of_its_label(app, users, register, tmp_path):
    """``lp`` is CUPS's command, outside the app: a script in its place keeps what it was given."""
    import pypdfium2

    received = tmp_path / "job.pdf"
    lp = tmp_path / "lp"
    lp.write_text(f'#!/bin/sh\ncat > "{received}"\necho "request id is tubes-7 (1 file(s))"\n')
    lp.chmod(0o755)
    app.config["CUPS_LP_COMMAND"] = str(lp)
    admin, tech = users["admin"], users["technician"]
    made = printing.register_printer(
        {"name": "Tubes PDF", "kind": "cups_pdf", "queue": "tubes", "stock": "tube"}, admin
    )
    printing.add_rule({"printer_id": made.id}, admin)
    unit = register("ADIPOSE")

    job = printing.print_label(printing.unit_subject(tech, unit.id), {}, tech, BENCH)
    assert job.status == "sent" and job.format == "pdf"
    assert received.read_bytes() == job.content
    width, height = pypdfium2.PdfDocument(job.content)[0].get_size()
    assert (round(width), round(height)) == (144, 72)  # 2" x 1" in points

    lp.write_text('#!/bin/sh\necho "lp: The printer or class does not exist." >&2\nexit 1\n')
    again = printing.print_label(
        printing.unit_subject(tech, unit.id), {"reason": "test"}, tech, BENCH
    )
    assert again.status == "failed" and "does not exist" in again.error
