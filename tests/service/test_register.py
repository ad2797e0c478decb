"""Registering a collection (docs/product.md §2, §4): the patient by record number, the DIN from
configuration, and bad input refused per field with nothing created."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden, Invalid
from lims.domain.identifiers import check_character, parse_din, parse_wristband
from lims.extensions import db
from lims.models import IdentifierSequence, LedgerEntry, Patient, Unit
from lims.services import sequences
from lims.services.actions.units import register

from .lab import registration


def counts() -> dict[str, int]:
    db.session.rollback()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Patient, Unit, LedgerEntry, IdentifierSequence)
    }


def patient(**overrides) -> dict:
    return {"mrn": "MRN-1", "name": "Pat Example", "birth_date": "1980-05-17", **overrides}


def test_a_new_patient_is_created_with_a_wristband(users):
    unit = register(registration(), users["clinician"]).unit
    made = unit.patient
    assert (made.mrn, made.name, str(made.birth_date)) == ("MRN-1", "Pat Example", "1980-05-17")
    assert parse_wristband(made.wristband) == made.wristband
    assert made.wristband.startswith("PT0001")
    assert made.clinician_id == users["clinician"].id


def test_the_patient_is_found_by_record_number_and_reused(users):
    first = register(registration(), users["clinician"]).unit
    second = register(
        registration("MARROW", patient=patient(name="  pat   EXAMPLE ")), users["technician"]
    ).unit
    assert second.patient_id == first.patient_id
    assert counts()["Patient"] == 1


@pytest.mark.parametrize(
    "differs", [{"name": "Another Person"}, {"birth_date": "1980-05-18"}], ids=["name", "birth"]
)
def test_same_record_number_for_another_person_is_refused_and_nothing_is_created(differs, users):
    register(registration(), users["clinician"])
    before = counts()
    with pytest.raises(Conflict) as refused:
        register(registration(patient=patient(**differs)), users["clinician"])
    assert refused.value.code == "patient_mismatch"
    assert counts() == before
    assert db.session.scalar(select(Patient.name)) == "Pat Example"


@pytest.mark.req("T-1", "I-1")
def test_din_is_facility_year_and_sequence_with_its_check_character(users):
    made = [register(registration(), users["clinician"]).unit for _ in range(3)]
    year = datetime.now(UTC).strftime("%y")
    assert [u.din for u in made] == [f"T0001{year}00000{n}" for n in (1, 2, 3)]
    for unit in made:
        assert unit.check_character == check_character(unit.din)
        assert parse_din(unit.barcode_data).din == unit.din
        assert (unit.product_code, unit.division) == ("S1010", "00")


def test_din_year_is_the_year_of_collection(users):
    collected = datetime.now(UTC) - timedelta(hours=2)
    unit = register(registration(collected_at=collected.isoformat()), users["clinician"]).unit
    assert unit.din[5:7] == collected.strftime("%y")


def test_the_din_is_the_collecting_sites_and_the_wristband_the_installations(app, users):
    """The DIN begins with the number of the site that collected (decision 103; the one site of
    an upgraded installation has the configuration's number); wristbands keep the
    configuration's."""
    app.config["FACILITY_CODE"] = "Z9999"
    unit = register(registration(), users["clinician"]).unit
    assert unit.din.startswith("T0001")
    assert unit.patient.wristband.startswith("PZ9999")


def test_sequences_are_per_facility_and_year(app):
    taken = [
        sequences.next_value("T0001", 2026),
        sequences.next_value("T0001", 2026),
        sequences.next_value("T0001", 2027),
        sequences.next_value("Z9999", 2026),
    ]
    assert taken == [1, 2, 1, 1]


@pytest.mark.req("T-2")
def test_identifiers_carry_no_name_or_record_number(users):
    data = registration(patient=patient(mrn="MRN-987654", name="Zelda Quist"))
    unit = register(data, users["clinician"]).unit
    for identifier in (unit.din, unit.barcode_data, unit.label, unit.patient.wristband):
        assert "987654" not in identifier
        assert "ZELDA" not in identifier.upper() and "QUIST" not in identifier.upper()


@pytest.mark.req("T-6")
def test_expiry_of_a_collection_counts_from_collection(users):
    collected = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    unit = register(
        registration("BLOOD", collected_at=collected.isoformat()), users["clinician"]
    ).unit
    assert unit.collected_at == collected
    assert unit.expires_at == collected + timedelta(hours=4)


@pytest.mark.parametrize("testing", ["performed", "not_performed", None])
def test_donor_testing_is_kept_on_the_unit_and_in_the_registration_entry(users, testing):
    data = registration() if testing is None else registration(donor_testing=testing)

    unit = register(data, users["technician"]).unit

    db.session.expire_all()
    assert db.session.get(Unit, unit.id).donor_testing == testing
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.unit_id == unit.id)).one()
    assert json.loads(entry.data)["donor_testing"] == testing  # None: not recorded


def in_future() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


def naive() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()


BAD = {
    "future collection": ({"collected_at": in_future()}, "collected_at"),
    "naive datetime": ({"collected_at": naive()}, "collected_at"),
    "too long ago": ({"collected_at": "2020-01-01T08:00:00+00:00"}, "collected_at"),
    "not a time": ({"collected_at": "yesterday"}, "collected_at"),
    "wrong site for type": ({"collection_site": "posterior iliac crest"}, "collection_site"),
    "unknown type": ({"type": "PLASMA"}, "type"),
    "product type": ({"type": "SVF"}, "type"),
    "zero volume": ({"volume_ml": 0}, "volume_ml"),
    "negative volume": ({"volume_ml": -5}, "volume_ml"),
    "huge volume": ({"volume_ml": 10**9}, "volume_ml"),
    "volume as text": ({"volume_ml": "250"}, "volume_ml"),
    "oversize site": ({"collection_site": "abdomen" * 40}, "collection_site"),
    "oversize name": ({"patient": patient(name="N" * 121)}, "patient.name"),
    "oversize record number": ({"patient": patient(mrn="M" * 33)}, "patient.mrn"),
    "record number with spaces": ({"patient": patient(mrn="MRN 1; DROP")}, "patient.mrn"),
    "missing patient": ({"patient": None}, "patient"),
    "born in the future": ({"patient": patient(birth_date="2999-01-01")}, "patient.birth_date"),
    "born before 1900": ({"patient": patient(birth_date="1850-01-01")}, "patient.birth_date"),
    "not a birth date": ({"patient": patient(birth_date="17/05/1980")}, "patient.birth_date"),
    "donor testing as a yes": ({"donor_testing": True}, "donor_testing"),
    "donor testing in other words": ({"donor_testing": "tested"}, "donor_testing"),
    "extra field": ({"colour": "red"}, "colour"),
    "extra patient field": ({"patient": patient(ward="B")}, "patient.ward"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_invalid_per_field_and_creates_nothing(case, users):
    changes, field = BAD[case]
    with pytest.raises(Invalid) as refused:
        register(registration(**changes), users["clinician"])
    assert field in refused.value.fields, refused.value.fields
    assert refused.value.fields[field]
    assert counts() == dict.fromkeys(("Patient", "Unit", "LedgerEntry", "IdentifierSequence"), 0)


def test_unknown_field_is_called_unknown(users):
    with pytest.raises(Invalid) as refused:
        register(registration(colour="red"), users["clinician"])
    assert refused.value.fields == {"colour": "unknown field"}


@pytest.mark.parametrize("data", [None, [], "ADIPOSE"])
def test_registration_that_is_not_an_object_is_invalid(data, users):
    with pytest.raises(Invalid):
        register(data, users["clinician"])


@pytest.mark.parametrize("role", ["qa", "admin"])
def test_only_clinicians_and_technicians_register(role, users):
    with pytest.raises(Forbidden):
        register(registration(), users[role])
    assert counts()["Unit"] == 0
