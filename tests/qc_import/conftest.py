"""Instrument import fixtures: the instruments of the register (rows written here, as the
equipment service's tests would: test set-up), products in QC, and the sample files of
``tests/data`` pointed at this test's own units.

The sample files name units of facility T0001 collected in 2026 (``T0001 26 000001 T`` …,
written as the instruments got them: DIN barcodes, Data Matrix contents, typed with the check
character). ``sample_file`` puts the test's units where the file names its first, second …
collection, in the same form, so a file reads the same whatever year the test runs in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lims.db import transaction
from lims.domain import identifiers
from lims.extensions import db
from lims.models import Equipment, Unit, User
from lims.services.actions import units
from lims.services.materials import registry
from lims.services.station import qc_import
from tests.service.lab import data_for, walk

DATA = Path(__file__).resolve().parents[1] / "data"
ENCODINGS = {
    "nucleocounter_nc200.csv": "utf-8-sig",
    "endotoxin_nexgen.csv": "cp1252",
    "lab_sheet_de.csv": "cp1252",
}
KIT_LOT = "VIA1-2611-04"


def file_din(sequence: int) -> str:
    """The DIN the sample files give their ``sequence``-th collection."""
    return identifiers.make_din("T0001", 26, sequence)


def retarget(text: str, units_by_sequence: dict[int, Unit]) -> str:
    """The file's identifiers of each collection replaced, in one pass, by the unit's own
    (barcode data, typed DIN with check character, the eye-readable form)."""
    swaps: dict[str, str] = {}
    for sequence, unit in units_by_sequence.items():
        theirs, ours = file_din(sequence), unit.din
        swaps[identifiers.barcode_data(theirs)] = identifiers.barcode_data(ours)
        swaps[theirs + identifiers.check_character(theirs)] = ours + unit.check_character
        swaps[identifiers.eye_readable(theirs)] = identifiers.eye_readable(ours)
    if not swaps:
        return text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(swaps, key=len, reverse=True)))
    return pattern.sub(lambda m: swaps[m.group(0)], text)


def sample_file(name: str, units_by_sequence: dict[int, Unit] | None = None) -> bytes:
    encoding = ENCODINGS.get(name, "utf-8")
    text = (DATA / name).read_bytes().decode(encoding)
    return retarget(text, units_by_sequence or {}).encode(encoding)


def mapping_of(name: str) -> str:
    return (DATA / name).read_text("utf-8")


def register_instrument(
    by: User, name: str, kind: str, serial: str | None = None, **extra: Any
) -> str:
    today = datetime.now(UTC).date()
    values = {
        "status": "in_service",
        "calibration_interval_days": 365,
        "calibration_valid_until": today + timedelta(days=200),
        **extra,
    }
    with transaction():
        code = registry.new_equipment_code()
        db.session.add(
            Equipment(
                code=code,
                name=name,
                kind=kind,
                model=name,
                serial_number=serial,
                created_by_id=by.id,
                **values,
            )
        )
    return code


@pytest.fixture
def instruments(users) -> dict[str, str]:
    """The lab's instruments by nickname → register code. ``lapsed``: a counter past its
    calibration; ``broken``: one out of service."""
    admin = users["admin"]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return {
        "counter": register_instrument(
            admin, "NucleoCounter NC-200", "cell_counter", "NC200-1412-0087"
        ),
        "countess": register_instrument(admin, "Countess 3 FL", "cell_counter", "CA3-2119-0452"),
        "cytometer": register_instrument(admin, "FACSCanto II", "flow_cytometer", "V96300123"),
        "reader": register_instrument(
            admin, "Endosafe nexgen-MCS", "endotoxin_reader", "MCS-2024-0311"
        ),
        "analyzer": register_instrument(admin, "Sysmex XN-550", "other", "XN-550-10422"),
        "bench_counter": register_instrument(admin, "Neubauer chamber and microscope", "other"),
        "lapsed": register_instrument(
            admin, "NucleoCounter NC-200 (2)", "cell_counter", calibration_valid_until=yesterday
        ),
        "broken": register_instrument(
            admin,
            "NucleoCounter NC-202",
            "cell_counter",
            status="out_of_service",
            status_reason="cassette reader fault",
        ),
    }


@pytest.fixture
def product(users, register) -> Callable[..., Unit]:
    """``product(kind="ADIPOSE", status="quarantine", mrn=…)``: a fresh collection's product
    taken to ``status`` through the services (10 mL, as the test data completes it)."""
    count = [0]

    def _product(kind: str = "ADIPOSE", status: str = "quarantine", **overrides: Any) -> Unit:
        count[0] += 1
        overrides.setdefault("mrn", f"MRN-Q{count[0]}")
        overrides.setdefault("name", f"Patient {count[0]}")
        return walk(register(kind, **overrides), status, users)

    return _product


@pytest.fixture
def msc(users, product) -> Callable[[], Unit]:
    """An adipose MSC product in quarantine: SVF from quarantine cultured and completed."""

    def _msc() -> Unit:
        svf = product("ADIPOSE")
        units.perform_action(
            svf.id, "start_processing", data_for("start_processing", "SVF"), users["technician"]
        )
        done = units.perform_action(
            svf.id,
            "complete_processing",
            data_for("complete_processing", "SVF"),
            users["technician"],
        )
        return done.products[0]

    return _msc


@pytest.fixture
def upload(users) -> Callable[..., Any]:
    """``upload(content, instrument, format=…, as_=…, lot=…, mapping=…, filename=…)``."""

    def _upload(
        content: bytes,
        instrument: str,
        file_format: str = "cell_counter",
        *,
        as_: str = "technician",
        lot: str = KIT_LOT,
        mapping: str | None = None,
        filename: str = "export.csv",
    ):
        data = qc_import.Upload(content, filename, file_format, instrument, lot, mapping)
        return qc_import.upload(data, users[as_])

    return _upload


def by_line(imp) -> dict[tuple[int, str | None], dict[str, Any]]:
    """The preview's lines by (file line, test)."""
    return {(row["line"], row["test"]): row for row in imp.rows}
