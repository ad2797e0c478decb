"""Every refusal of an instrument import, on SQLite and PostgreSQL: rows shown with their
reason and never imported, and files refused whole (nothing kept)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lims.domain import instrument_files
from lims.domain.errors import Invalid
from lims.extensions import db
from lims.models import QcImport, QcResult, User
from lims.models.types import utcnow
from lims.services.actions import units
from lims.services.admin import accounts
from lims.services.materials import registry
from lims.services.station import qc_import
from tests.backends import backend  # noqa: F401  (SQLite alone: files refused before anything is written)
from tests.conftest import PASSWORD

from .conftest import by_line, sample_file

HEADER = "Sample Name,Live Cell Count (cells/mL),Viability (%)\n"


def counter_csv(*rows: str) -> bytes:
    """A Countess-style export with the given data rows."""
    return (HEADER + "\n".join(rows) + "\n").encode()


def din_of(unit) -> str:
    return unit.barcode_data


def datamatrix(unit) -> str:
    return f"{unit.barcode_data}=<{unit.product_code}{unit.division}"


def imports() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(QcImport)) or 0


def recorded() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(QcResult)) or 0


def refusal(imp, line: int, test: str = "viability") -> str:
    row = by_line(imp)[(line, test)]
    assert row["status"] == "refused", row
    assert row["unit_id"] is None or row["why"], row
    return row["why"]


# ---------------------------------------------------------------------------- rows


def test_an_unknown_sample_and_a_wrong_check_character_are_refused(instruments, upload, product):
    unit = product()
    typed_wrong = unit.din + ("A" if unit.check_character != "A" else "B")
    imp = upload(
        counter_csv(
            "=T00012600009974,2150000,88",  # no such unit
            f"{typed_wrong},2150000,88",
            f"{unit.barcode_data[:-2]}99,2150000,88",  # flags that carry no check value
            ",2150000,88",
            f"{unit.patient.wristband},2150000,88",  # a wristband, not a unit
        ),
        instruments["countess"],
    )

    assert refusal(imp, 2) == "no unit has identifier T0001 26 000099 E"
    assert "is wrong" in refusal(imp, 3) and f"expected {unit.check_character!r}" in refusal(imp, 3)
    assert "flag characters 99 carry no check value" in refusal(imp, 4)
    assert refusal(imp, 5) == "no sample id in this row"
    assert refusal(imp, 6) == "this is a patient wristband code, not a unit identifier"
    assert qc_import.summary(imp).counts["ready"] == 0


def test_a_din_naming_several_products_in_qc_is_ambiguous(instruments, upload, product, users):
    whole = product()
    split = units.perform_action(
        whole.id, "split", {"aliquots": [{"volume_ml": 1}]}, users["technician"]
    )
    (aliquot,) = split.products
    imp = upload(
        counter_csv(
            f"{din_of(whole)},2150000,88",
            f"{datamatrix(aliquot)},2150000,88",
        ),
        instruments["countess"],
    )

    why = refusal(imp, 2)
    assert "names 2 products in QC (S2010 00, S2010 A0)" in why
    assert "product code and division" in why
    assert by_line(imp)[(3, "viability")]["unit_id"] == aliquot.id  # the Data Matrix is exact


def test_the_same_unit_and_test_twice_in_a_file(instruments, upload, product, users):
    a, b = product(), product()
    imp = upload(
        counter_csv(
            f"{din_of(a)},2150000,88",
            f"{datamatrix(a)},2150000,88",  # the same again: a repeat
            f"{din_of(b)},2150000,88",
            f"{din_of(b)},2150000,91",  # another value: which is right?
        ),
        instruments["countess"],
    )

    assert by_line(imp)[(2, "viability")]["status"] == "ready"
    assert refusal(imp, 3) == "repeated within the file: line 2 gives the same"
    assert "line 5 gives 91 %" in refusal(imp, 4)
    assert "line 4 gives 88 %" in refusal(imp, 5)
    assert by_line(imp)[(4, "viable_cell_count")]["status"] == "ready"  # the same count
    assert "line 4 gives the same" in refusal(imp, 5, "viable_cell_count")
    done = qc_import.confirm(imp.id, users["technician"])
    assert done.imp.imported_count == 3  # line 2's count and viability, line 4's count
    assert recorded() == 3


@pytest.mark.parametrize(
    ("instrument", "reason"),
    [
        ("lapsed", "is past its calibration: valid until"),
        ("broken", "is out of service (cassette reader fault)"),
    ],
)
def test_an_instrument_out_of_calibration_or_service_refuses_every_row(
    instruments, upload, product, users, instrument, reason
):
    unit = product()
    imp = upload(counter_csv(f"{din_of(unit)},2150000,88"), instruments[instrument])

    for row in imp.rows:
        assert row["status"] == "refused"
        assert row["why"].startswith("instrument not usable: ") and reason in row["why"]
    done = qc_import.confirm(imp.id, users["technician"])
    assert done.imp.imported_count == 0 and recorded() == 0


def test_calibration_lapsing_between_preview_and_confirm_refuses_at_import(
    instruments, upload, product, users
):
    from datetime import timedelta

    from lims.db import transaction

    unit = product()
    imp = upload(counter_csv(f"{din_of(unit)},2150000,88"), instruments["countess"])
    with transaction():
        item = registry.equipment_by_code(instruments["countess"])
        item.calibration_valid_until = utcnow().date() - timedelta(days=1)

    done = qc_import.confirm(imp.id, users["technician"])

    assert done.imp.imported_count == 0 and recorded() == 0
    assert "past its calibration" in refusal(done.imp, 2)


def test_units_not_in_qc_are_refused(instruments, upload, product, register, users):
    received = register("ADIPOSE", mrn="MRN-R", name="Received Source")
    units.perform_action(
        received.id,
        "receive",
        {"temperature_c": 4.0, "container_intact": True, "label_matches": True, "volume_ml": 50},
        users["technician"],
    )
    released = product(status="released")
    discarded = product()
    units.perform_action(discarded.id, "discard", {"reason": "bag leaked"}, users["technician"])
    imp = upload(
        counter_csv(
            f"{din_of(received)},2150000,88",  # only a source so far
            f"{datamatrix(received)},2150000,88",
            f"{datamatrix(released)},2150000,88",  # released: sterility only
            f"{datamatrix(discarded)},2150000,88",
        ),
        instruments["countess"],
    )

    assert refusal(imp, 2).startswith("no product of ") and "is in QC" in refusal(imp, 2)
    assert refusal(imp, 3).startswith("the unit is received: QC is recorded in quarantine")
    assert refusal(imp, 4).startswith("only a sterility result may be recorded on a released")
    assert refusal(imp, 5).startswith("the unit is discarded")


def test_a_test_the_product_has_no_specification_for(instruments, upload, product):
    prp = product("BLOOD")
    imp = upload(counter_csv(f"{din_of(prp)},2150000,88"), instruments["countess"])

    assert refusal(imp, 2).startswith("viability is not a QC test of PRP; its tests:")
    assert refusal(imp, 2, "viable_cell_count").startswith("viable_cell_count is not a QC test")


def test_unreadable_and_impossible_values(instruments, upload, product):
    a, b, c = product(), product(), product()
    imp = upload(
        counter_csv(
            f"{din_of(a)},ERR,88",
            f"{din_of(b)},2150000,112",  # a percentage over 100
            f"{din_of(c)},>1.0E+07,88",  # above the counter's range
        ),
        instruments["countess"],
    )

    assert refusal(imp, 2, "viable_cell_count") == "cannot read 'ERR' as a number"
    assert by_line(imp)[(2, "viability")]["status"] == "ready"  # the row's other result
    assert refusal(imp, 3) == "Viability is a percentage (0–100)"
    assert "above the instrument's range" in refusal(imp, 4, "viable_cell_count")


def test_a_unit_the_viewer_may_not_see_is_not_matched_nor_revealed(
    app, instruments, product, users
):
    """The match reads units through the access policy: to a clinician not named on the
    patient the unit is exactly an unknown identifier. (Clinicians may not import: this is
    the policy the preview applies to whoever uploads.)"""
    unit = product()  # registered by "doctor", who took the collection
    stranger = accounts.create_user("doctor2", "clinician", PASSWORD, full_name="Other Doctor")
    text = HEADER + f"{din_of(unit)},2150000,88\n=T00012600009974,2150000,88\n"
    parsed = instrument_files.parse(text, "cell_counter")
    item = registry.equipment_by_code(instruments["countess"])

    def preview(viewer: User) -> list[dict]:
        return qc_import.Previewer(parsed, item, "LOT", "0" * 64, viewer, utcnow()).rows()

    hidden, unknown = preview(stranger)[1], preview(stranger)[3]
    assert hidden["unit_id"] is None and hidden["unit"] is None
    assert hidden["why"] == f"no unit has identifier {unit.eye_readable}"
    assert unknown["why"] == "no unit has identifier T0001 26 000099 E"  # the same words
    assert unit.label not in repr(preview(stranger))
    assert preview(users["clinician"])[1]["unit_id"] == unit.id  # named on the patient


# ---------------------------------------------------------------------------- whole files


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (b"", "file", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file", "not a text file"),
        (b"Sample Name,Viability (%)\n\x1b[31m,88\n", "file", "control characters"),
        (b"\xff\xfe\x00\xd8", "file", "UTF-16"),
        (b"Name;Value\nA;1\n", "file", "does not look like a cell counter export"),
        (b"Sample Name,Live cells,Viability (%)\nX,1,2\n", "file", "does not say its unit"),
    ],
)
def test_a_file_that_is_not_an_export_is_refused_whole(instruments, upload, content, field, words):
    before = imports()
    with pytest.raises(Invalid) as refused:
        upload(content, instruments["countess"])

    assert field in refused.value.fields and words in refused.value.fields[field]
    assert imports() == before


def test_a_file_over_the_size_cap_is_413(instruments, upload):
    too_big = HEADER.encode() + b"x" * instrument_files.MAX_BYTES

    with pytest.raises(qc_import.TooLarge) as refused:
        upload(too_big, instruments["countess"])

    assert refused.value.http_status == 413 and "larger than 5 MiB" in refused.value.message
    assert imports() == 0


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"file_format": "spectro"}, "format", "unknown format"),
        ({"instrument": "not-a-code"}, "instrument", ""),
        ({"instrument": "ET0001999998Z"}, "instrument", "no equipment has code"),  # no such item
        ({"instrument": "cytometer"}, "instrument", "is a flow cytometer"),
        ({"instrument": "countess", "lot": "  "}, "lot", "required"),
        ({"instrument": "countess", "lot": "L" * 41}, "lot", "at most 40"),
        ({"instrument": "countess", "mapping": '{"sample": "x"}'}, "mapping", "only a generic"),
        ({"file_format": "generic", "instrument": "analyzer"}, "mapping", "needs a mapping"),
        (
            {"file_format": "generic", "instrument": "analyzer", "mapping": "{nope"},
            "mapping",
            "not JSON",
        ),
        (
            {
                "file_format": "generic",
                "instrument": "analyzer",
                "mapping": '{"sample": "Sample Name", "columns": {"Viability (%)": "purity"}}',
            },
            "mapping",
            "unknown test",
        ),
        (
            {
                "file_format": "generic",
                "instrument": "analyzer",
                "mapping": '{"sample": "Sample Name", "columns": {"Viability (%)": '
                '{"test": "viability", "unit": "cells"}}}',
            },
            "mapping",
            "is not read in 'cells'",
        ),
        (
            {
                "file_format": "generic",
                "instrument": "analyzer",
                "mapping": '{"sample": "Sample", "columns": {"Viability (%)": "viability"}}',
            },
            "file",
            "no line of the file has the columns the mapping names",
        ),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(
    instruments, upload, product, changes, field, words
):
    unit = product()
    content = counter_csv(f"{din_of(unit)},2150000,88")
    args = {"instrument": "countess", **changes}
    code = instruments.get(args["instrument"], args["instrument"])
    kwargs = {k: v for k, v in args.items() if k in ("lot", "mapping")}

    with pytest.raises(Invalid) as refused:
        upload(content, code, args.get("file_format", "cell_counter"), **kwargs)

    assert field in refused.value.fields, refused.value.fields
    assert words in refused.value.fields[field]
    assert imports() == 0


@pytest.mark.req("P11-12")
def test_a_file_exported_by_another_instrument_than_the_one_named(instruments, three_counts):
    """The NC-200 file names its serial number; the Countess has another."""
    with pytest.raises(Invalid) as refused:
        three_counts(instruments["countess"])

    message = refused.value.fields["instrument"]
    assert "serial number NC200-1412-0087" in message and "CA3-2119-0452" in message


@pytest.fixture
def three_counts(product, upload):
    made = {1: product(), 2: product(), 3: product()}

    def _upload(code: str):
        return upload(sample_file("nucleocounter_nc200.csv", made), code)

    return _upload
