"""A cell counter's export, end to end through the service: the preview names each result's
unit, value as written and as recorded, and verdict; confirming records each ready result
through ``record_qc`` (same rules, same ledger), citing the file; the same file twice records
nothing twice."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden
from lims.extensions import db
from lims.models import Deviation, LedgerEntry, MaterialUse, QcImport, QcResult
from lims.services.station import qc_import

from .conftest import KIT_LOT, by_line, sample_file


@pytest.fixture
def three(product):
    """SVF products of the first three collections, in quarantine (10 mL each)."""
    return {1: product(), 2: product(), 3: product()}


def results() -> list[QcResult]:
    db.session.rollback()
    return list(db.session.scalars(select(QcResult).order_by(QcResult.id)))


def test_the_preview_matches_each_result_to_its_unit_and_judges_it(instruments, three, upload):
    imp = upload(sample_file("nucleocounter_nc200.csv", three), instruments["counter"])

    assert imp.status == "previewed" and imp.format == "cell_counter"
    assert imp.row_count == 5 and len(imp.sha256) == 64
    rows = by_line(imp)
    first = rows[(10, "viable_cell_count")]
    assert first["unit_id"] == three[1].id and first["unit"] == three[1].label
    assert first["raw"] == "2,15E+06 cells/ml"
    assert first["value"] == 21_500_000  # 2.15×10⁶ cells/mL × the unit's 10 mL
    assert "× 10 mL (the unit's volume)" in first["note"]
    assert first["verdict"] == "pass" and first["spec"] == "≥ 1.0×10⁶ cells"
    assert first["status"] == "ready" and first["row"] == "10:5"
    assert rows[(10, "viability")]["value"] == 87.4
    # A DIN alone names the one product of the collection in QC.
    assert rows[(11, "viability")]["unit_id"] == three[2].id
    assert rows[(11, "viability")]["verdict"] == "fail"  # 68.9 % < 70 %: recorded, judged
    assert rows[(12, "viability")]["unit_id"] == three[3].id  # typed with its check character
    # Refused, each with its reason.
    wrong = rows[(13, "viability")]
    assert wrong["status"] == "refused" and wrong["unit_id"] is None
    assert "check character 'X' is wrong" in wrong["why"]
    unknown = rows[(14, "viable_cell_count")]
    assert unknown["status"] == "refused"
    assert unknown["why"] == "no unit has identifier T0001 26 000099 E"
    assert qc_import.summary(imp).counts == {"ready": 6, "refused": 4, "skipped": 0, "imported": 0}
    assert results() == []  # nothing recorded by a preview


@pytest.mark.req("P11-12")
def test_confirming_records_each_result_through_record_qc_citing_the_file(
    instruments, three, upload, users
):
    imp = upload(sample_file("nucleocounter_nc200.csv", three), instruments["counter"])

    done = qc_import.confirm(imp.id, users["technician"])

    assert done.job_id is None  # a small file: in the request
    assert done.imp.status == "imported" and done.imp.imported_count == 6
    assert done.imp.confirmed_by_id == users["technician"].id
    recorded = results()
    assert len(recorded) == 6
    by_source = {r.source: r for r in recorded}
    viability = by_source[f"{imp.sha256}:10:7"]
    assert viability.unit_id == three[1].id and viability.test == "viability"
    assert viability.value_number == 87.4 and viability.verdict == "pass"
    assert viability.lot == KIT_LOT and viability.recorded_by_id == users["technician"].id
    counter = db.session.scalar(select(QcImport.equipment_id).where(QcImport.id == imp.id))
    assert viability.equipment_id == counter
    assert by_source[f"{imp.sha256}:10:5"].value_number == 21_500_000
    lines = {(r["line"], r["test"]): r for r in done.imp.rows}
    assert lines[(10, "viability")]["status"] == "imported"
    assert lines[(10, "viability")]["result_id"] == viability.id
    # The same ledger entry a typed result gets, citing the file.
    entry = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.action == "record_qc", LedgerEntry.unit_id == three[1].id)
        .order_by(LedgerEntry.seq)
    ).all()[-1]
    data = json.loads(entry.data)
    assert data["equipment"] == instruments["counter"]
    assert json.dumps(imp.sha256) in entry.data  # the provenance: the file's SHA-256
    assert f"{imp.id}" in json.dumps(data)
    assert (
        db.session.scalar(
            select(func.count()).select_from(MaterialUse).where(MaterialUse.equipment_id == counter)
        )
        == 6
    )
    # The failing viability opened a deviation, as a typed one does.
    deviation = db.session.scalar(select(Deviation).where(Deviation.unit_id == three[2].id))
    assert deviation is not None and "Viability 68.9 %" in deviation.description


def test_the_same_file_twice_imports_nothing_twice(instruments, three, upload, users):
    content = sample_file("nucleocounter_nc200.csv", three)
    first = upload(content, instruments["counter"])
    qc_import.confirm(first.id, users["technician"])

    again = upload(content, instruments["counter"], as_="qa")

    assert again.sha256 == first.sha256
    refused = [r for r in again.rows if r["status"] == "refused"]
    assert len(refused) == 10 and not [r for r in again.rows if r["status"] == "ready"]
    assert by_line(again)[(10, "viability")]["why"].startswith("already imported")
    done = qc_import.confirm(again.id, users["technician2"])
    assert done.imp.imported_count == 0
    assert len(results()) == 6


def test_an_import_is_confirmed_once(instruments, three, upload, users):
    imp = upload(sample_file("nucleocounter_nc200.csv", three), instruments["counter"])
    qc_import.confirm(imp.id, users["technician"])

    with pytest.raises(Conflict) as refused:
        qc_import.confirm(imp.id, users["technician2"])

    assert refused.value.code == "already_confirmed"
    assert len(results()) == 6


def test_qa_may_upload_and_preview_but_only_who_records_qc_confirms(
    instruments, three, upload, users
):
    imp = upload(sample_file("nucleocounter_nc200.csv", three), instruments["counter"], as_="qa")

    assert qc_import.get_import(imp.id, users["qa"]).id == imp.id
    with pytest.raises(Forbidden):
        qc_import.confirm(imp.id, users["qa"])
    for role in ("clinician", "admin"):
        with pytest.raises(Forbidden):
            qc_import.get_import(imp.id, users[role])
        with pytest.raises(Forbidden):
            upload(sample_file("nucleocounter_nc200.csv", three), instruments["counter"], as_=role)
    db.session.rollback()
    assert db.session.scalar(select(QcImport.status).where(QcImport.id == imp.id)) == "previewed"
    assert results() == []


def test_a_unit_that_moved_on_after_the_preview_is_refused_when_importing(
    instruments, three, upload, users
):
    from lims.services.actions import units

    imp = upload(sample_file("nucleocounter_nc200.csv", three), instruments["counter"])
    units.perform_action(three[3].id, "discard", {"reason": "bag leaked"}, users["technician"])

    done = qc_import.confirm(imp.id, users["technician"])

    assert done.imp.imported_count == 4
    moved = by_line(done.imp)[(12, "viability")]
    assert moved["status"] == "refused" and moved["why"].startswith("refused when importing:")
    assert "discarded" in moved["why"].lower()
    assert {r.unit_id for r in results()} == {three[1].id, three[2].id}
