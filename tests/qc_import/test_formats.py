"""Each instrument's export from ``tests/data`` previewed and imported: a Countess export
(quoted thousands), a FACSDiva MSC panel, an Endosafe report with its standards, and two
generic files with their mappings (a haematology analyser for PRP; a hand-kept sheet with
decimal commas, fractions and millions per mL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import QcResult
from lims.services.station import qc_import

from .conftest import by_line, mapping_of, sample_file


def recorded_values() -> dict[tuple[int, str], float | str]:
    db.session.rollback()
    return {(r.unit_id, r.test): r.value for r in db.session.scalars(select(QcResult))}


def test_a_countess_export(instruments, product, upload, users):
    units = {1: product(), 2: product()}
    imp = upload(sample_file("countess_export.csv", units), instruments["countess"])

    rows = by_line(imp)
    assert rows[(7, "viable_cell_count")]["unit_id"] == units[1].id  # typed, with product
    assert rows[(7, "viable_cell_count")]["value"] == 21_500_000  # "2,150,000" cells/mL × 10
    assert rows[(8, "viability")]["verdict"] == "fail"
    qc_import.confirm(imp.id, users["technician"])
    assert recorded_values()[(units[2].id, "viability")] == 68.9


def test_a_flow_cytometry_panel(instruments, msc, upload, users):
    units = {1: msc(), 2: msc()}
    imp = upload(
        sample_file("facsdiva_msc_panel.csv", units), instruments["cytometer"], "flow_cytometry"
    )

    rows = by_line(imp)
    unstained = [r for r in imp.rows if r["line"] == 8]
    assert len(unstained) == 8 and {r["status"] for r in unstained} == {"skipped"}
    assert "control of the run" in unstained[0]["why"]
    first = [r for r in imp.rows if r["line"] == 9]
    assert [r["test"] for r in first] == [
        "cd73", "cd90", "cd105", "cd45", "cd34", "cd14", "cd19", "hla_dr"
    ]  # fmt: skip
    assert {r["unit_id"] for r in first} == {units[1].id}  # a DIN alone: the MSC in QC
    assert rows[(9, "cd73")]["spec"] == "≥ 95 % of cells"
    assert rows[(10, "cd45")]["verdict"] == "fail"  # 5.2 % > 2 %
    assert rows[(9, "hla_dr")]["test_name"] == "Flow cytometry HLA-DR"
    assert not [r for r in imp.rows if r["header"] and "CD44" in r["header"]]  # not a test
    done = qc_import.confirm(imp.id, users["technician"])
    assert done.imp.imported_count == 16
    assert recorded_values()[(units[2].id, "cd45")] == 5.2


def test_an_endotoxin_report(instruments, product, upload, users):
    units = {1: product(), 2: product(), 3: product()}
    imp = upload(
        sample_file("endotoxin_nexgen.csv", units), instruments["reader"], "endotoxin", lot=""
    )

    rows = by_line(imp)
    assert [rows[(line, "endotoxin")]["status"] for line in range(11, 16)] == ["skipped"] * 5
    assert rows[(11, "endotoxin")]["why"] == "a Standard of the run, not a sample"
    assert {r["lot"] for r in imp.rows} == {"2317954"}  # the cartridge lot the report names
    assert rows[(16, "endotoxin")]["value"] == 0.12 and rows[(16, "endotoxin")]["verdict"] == "pass"
    below = rows[(17, "endotoxin")]
    assert below["value"] == 0.05 and below["raw"] == "<0,050 EU/mL"
    assert "below the quantitation limit, recorded as the limit" in below["note"]
    spiked = rows[(18, "endotoxin")]
    assert spiked["status"] == "refused"
    assert spiked["why"] == "spike recovery 35 % is outside 50–200 %: the result is not valid"
    assert qc_import.summary(imp).counts == {"ready": 2, "refused": 1, "skipped": 5, "imported": 0}
    qc_import.confirm(imp.id, users["technician"])
    assert recorded_values() == {(units[1].id, "endotoxin"): 0.12, (units[2].id, "endotoxin"): 0.05}


def test_a_generic_file_from_a_haematology_analyser(instruments, product, upload, users):
    units = {1: product("BLOOD"), 2: product("BLOOD")}
    imp = upload(
        sample_file("sysmex_xn_prp.csv", units),
        instruments["analyzer"],
        "generic",
        mapping=mapping_of("sysmex_xn_prp.mapping.json"),
    )

    rows = by_line(imp)
    assert rows[(2, "platelet_count")]["value"] == 1385
    assert rows[(2, "platelet_count")]["verdict"] == "pass"
    assert rows[(3, "platelet_count")]["verdict"] == "fail"  # 912 < 1000 ×10³/µL
    assert len(imp.rows) == 2  # WBC, RBC and MPV are not mapped
    assert '"platelet_count"' in db.session.get(type(imp), imp.id).mapping
    qc_import.confirm(imp.id, users["technician"])
    assert recorded_values()[(units[1].id, "platelet_count")] == 1385


def test_a_generic_sheet_with_unit_conversions(instruments, product, upload, users):
    units = {1: product(), 2: product()}
    imp = upload(
        sample_file("lab_sheet_de.csv", units),
        instruments["bench_counter"],
        "generic",
        mapping=mapping_of("lab_sheet_de.mapping.json"),
    )

    rows = by_line(imp)
    count = rows[(5, "viable_cell_count")]
    assert count["value"] == 30_000_000  # 2,4 ×10⁶/mL × the file's 12,5 mL
    assert count["note"] == "2.4×10⁶ cells/mL × 12.5 mL (the file's volume) = 3.0×10⁷ cells"
    assert rows[(5, "viability")]["value"] == 91.2  # 0,912 as a fraction
    assert rows[(6, "viability")]["value"] == 71 and rows[(6, "viability")]["verdict"] == "pass"
    qc_import.confirm(imp.id, users["technician"])
    assert recorded_values()[(units[2].id, "viable_cell_count")] == 8_800_000


@pytest.mark.parametrize(
    ("name", "file_format"),
    [("countess_export.csv", "flow_cytometry"), ("facsdiva_msc_panel.csv", "endotoxin")],
)
def test_a_file_uploaded_as_another_format_is_refused_whole(instruments, upload, name, file_format):
    from lims.domain.errors import Invalid

    code = instruments["cytometer" if file_format == "flow_cytometry" else "reader"]
    with pytest.raises(Invalid) as refused:
        upload(sample_file(name), code, file_format)

    assert "does not look like" in refused.value.fields["file"]
