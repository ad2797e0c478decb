"""The chain-of-custody report: the lineage from the source down (parent's history first),
names for custodians and locations, signatures' manifestations, hashes, the chain check at
generation; its CSV (local time and UTC) and its PDF."""

from __future__ import annotations

import csv
import io

import pypdfium2
import pytest
from sqlalchemy import select, text

from lims.extensions import db
from lims.models import LedgerEntry
from lims.services.actions import units
from lims.services.admin import locations
from lims.services.audit import custody_pdf, custody_report

from .lab import data_for, registration, triggers_off, walk


@pytest.fixture
def released(users):
    """A released SVF product, stored on a shelf: signed, moved, in custody."""
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    locations.create_location("Fridge 2", "freezer", None, users["admin"])
    units.perform_action(product.id, "store", data_for("store", "SVF"), users["technician"])
    return product


@pytest.mark.req("T-3")
def test_the_lineage_runs_from_the_source_down_parent_first(released, users):
    report = custody_report.build(released.id, users["qa"])
    source = released.parent
    assert [u.id for u in report.lineage] == [source.id, released.id]
    assert [s.unit.id for s in report.sections] == [source.id, released.id]
    own = list(
        db.session.scalars(select(LedgerEntry.seq).where(LedgerEntry.unit_id == released.id))
    )
    theirs = list(
        db.session.scalars(select(LedgerEntry.seq).where(LedgerEntry.unit_id == source.id))
    )
    assert [e.seq for e in report.entries] == sorted(theirs) + sorted(own)
    assert report.entries[0].action == "Register collection"


def test_each_entry_says_who_what_custody_and_location_in_words(released, users):
    report = custody_report.build(released.id, users["qa"])
    store = next(e for e in report.entries if e.action == "Store")
    assert store.location_change == "— → Fridge 2"
    assert store.actor_name == "Test Technician" and store.actor_role
    receive = next(e for e in report.entries if e.action == "Receive")
    assert receive.custody_change.endswith("Test Technician")
    assert receive.status_change == "collected → received"
    assert len(receive.entry_hash) == 64
    assert "Temperature" in receive.summary


@pytest.mark.req("P11-8")
def test_a_signature_reads_as_its_manifestation(released, users):
    report = custody_report.build(released.id, users["qa"])
    release = next(e for e in report.entries if e.action == "Release")
    (signature,) = release.signatures
    assert signature.startswith("Signed by Test Qa, ")
    assert signature.endswith(": approved for release")


def test_the_chain_check_passes_on_an_untouched_ledger(released, users):
    check = custody_report.build(released.id, users["qa"]).check
    assert check.intact and check.checked == len(
        custody_report.build(released.id, users["qa"]).entries
    )
    assert check.head_seq == db.session.scalar(
        select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc())
    )
    assert check.statement.startswith("Chain verified at generation")


def test_the_chain_check_names_an_altered_entry(released, users):
    seq = custody_report.build(released.id, users["qa"]).entries[2].seq
    with triggers_off() as session:
        session.execute(
            text("UPDATE ledger_entries SET reason = 'edited' WHERE seq = :s"), {"s": seq}
        )
    db.session.expire_all()
    check = custody_report.build(released.id, users["qa"]).check
    assert not check.intact
    assert check.problems == [f"entry #{seq}: content does not match its hash (altered)"]
    assert "CHAIN CHECK FAILED" in check.statement


def report_csv(product, viewer) -> tuple[dict[str, str], list[dict[str, str]]]:
    body = custody_report.report_csv(custody_report.build(product.id, viewer))
    head, table = body.split("\r\n\r\n", 1)
    facts = dict(csv.reader(io.StringIO(head)))
    return facts, list(csv.DictReader(io.StringIO(table)))


@pytest.mark.req("P11-3")
def test_the_csv_has_the_header_every_entry_and_the_manifestation(released, users):
    facts, rows = report_csv(released, users["qa"])
    assert facts["unit"] == f"{released.eye_readable} {released.product_code} {released.division}"
    assert "Pat Example (MRN MRN-1" in facts["patient"]
    assert facts["status"] == "released"
    assert facts["chain check"].startswith("Chain verified at generation")
    assert (
        facts["lineage"]
        == f"ADIPOSE · {released.parent.product_code} 00 › SVF · {released.product_code} 00"
    )
    assert len(rows) == len(custody_report.build(released.id, users["qa"]).entries)
    release = next(r for r in rows if r["action"] == "Release")
    assert release["signatures"].startswith("Signed by Test Qa, ")
    assert release["recorded at (UTC)"].endswith("Z")
    assert release["recorded at"][-3:] in ("UTC", "CET", "EST") or " " in release["recorded at"]
    assert len(release["entry hash"]) == 64


@pytest.mark.parametrize(
    "text",
    [
        "=HYPERLINK(1)",
        "@SUM(A1)",
        "+1+1",
        "-1+1",
        "-1+1+cmd|' /C calc'!A0",
        "-150 °C",  # text that starts like a number is text
        "-",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
    ],
)
def test_a_cell_that_could_start_a_formula_is_quoted(text):
    assert custody_report.cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "shown"),
    [(-150, "-150"), (-0.5, "-0.5"), ("-150", "-150"), ("-12.5", "-12.5"), (7, "7"), (None, "")],
)
def test_a_number_stays_a_number(value, shown):
    assert custody_report.cell(value) == shown


def test_plain_text_is_left_alone():
    assert custody_report.cell("Signed by A") == "Signed by A"
    assert custody_report.cell("stored at -150 °C") == "stored at -150 °C"


def test_a_reason_that_starts_a_formula_reaches_the_csv_quoted(users):
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    units.perform_action(
        unit.id, "discard", {"reason": "-1+1+cmd|' /C calc'!A0"}, users["technician"]
    )
    rows = list(
        csv.DictReader(
            io.StringIO(
                custody_report.entries_csv(
                    custody_report.collection_history(units.get_unit(unit.id))
                )
            )
        )
    )
    assert [r["reason"] for r in rows if r["reason"]] == ["'-1+1+cmd|' /C calc'!A0"]


@pytest.mark.req("P11-3", "P11-8")
def test_the_pdf_is_a4_numbered_and_carries_the_manifestation(released, users):
    report = custody_report.build(released.id, users["qa"])
    pdf = pypdfium2.PdfDocument(custody_pdf.render_pdf(report))
    width, height = pdf[0].get_size()
    assert sorted((round(width), round(height))) == [595, 842]  # A4 in points
    flat = " ".join(" ".join(page.get_textpage().get_text_range() for page in pdf).split())
    assert "Chain-of-custody report" in flat
    assert f"Page 1 of {len(pdf)}" in flat
    assert "Signed by Test Qa," in flat and "approved for release" in flat
    assert "Chain verified at generation" in flat
    assert "generated at" in flat
    assert report.entries[-1].entry_hash[:16] in flat
    last = report.entries[-1]
    local, _, zone = last.local_time.rpartition(" ")
    date, _, clock = last.utc_time.partition("T")
    assert f"{local} {zone} {date}T {clock}" in flat  # both times whole, each line in its column


def test_the_history_export_of_a_collection_uses_the_same_rows(released, users):
    rows = custody_report.collection_history(released)
    collection = [u.id for u in units.units_for_din(released.din)]
    expected = db.session.scalars(
        select(LedgerEntry.seq).where(LedgerEntry.unit_id.in_(collection)).order_by(LedgerEntry.seq)
    ).all()
    assert [r.seq for r in rows] == list(expected)
