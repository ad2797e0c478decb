"""Certificates of release are issued by the actions that call for them, frozen, and replaced
by number (decisions 85–86): release and exceptional release issue one; a late QC result,
a correction, a split of a released unit and a deviation closed after release issue the next;
each with its ``certificate_issued`` ledger entry carrying the digest of the stored content."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from lims.domain import certificates as words
from lims.domain.errors import Conflict, Forbidden, NotFound
from lims.extensions import db
from lims.models import Deviation, QcResult
from lims.services.actions import units
from lims.services.audit import certificate, deviations
from lims.services.custody import ledger
from lims.services.station import labels
from tests.conftest import PASSWORD
from tests.service.lab import data_for, entries_of, qc_data, triggers_off

from .lab import (
    INITIALS,
    PATIENT,
    certificates,
    collect,
    content_of,
    ledger_data,
    record_qc,
    release,
    released,
    sha256,
)


@pytest.mark.req("T-5", "T-10")
def test_release_issues_certificate_1_with_its_ledger_entry(app, users):
    product = collect(users)
    record_qc(product, users)
    result = release(product, users)

    (row,) = certificates(product.id)
    assert (row.number, row.replaces_id, row.reason) == (1, None, "released")
    assert row.issued_by_id == users["qa"].id
    # The entry is the action's last; it carries the digest of exactly what is stored.
    assert [e.action for e in result.entries] == ["release", "certificate_issued"]
    assert result.entries[-1].id == row.ledger_entry_id
    assert sha256(row.content) == row.sha256 == ledger_data(row)["sha256"]
    assert ledger_data(row) == {
        "number": 1,
        "sha256": row.sha256,
        "replaces": None,
        "reason": "released",
    }
    content = content_of(row)
    assert content["certificate"]["number"] == 1 and content["certificate"]["replaces"] is None
    assert content["facility"] == {
        "name": app.config["FACILITY_NAME"],
        "address": app.config["FACILITY_ADDRESS"],
        "code": "T0001",
    }
    assert content["product"]["din"] == product.eye_readable
    assert (content["product"]["product_code"], content["product"]["division"]) == (
        "S2010",
        "00",
    )
    assert content["status"]["status"] == "released"
    assert content["release"]["released_by"] == "Test Qa"
    assert ledger.verify().intact


@pytest.mark.req("T-10")
def test_the_frozen_content_names_the_patient_by_initials_only(users):
    product = released(users)
    stored = certificates(product.id)[0].content
    assert json.loads(stored)["patient"] == {
        "initials": INITIALS,
        "birth_date": PATIENT["birth_date"],
    }
    assert PATIENT["mrn"] not in stored
    # canonical JSON escapes non-ASCII letters: neither spelling of the name is there
    for part in ("Wi\\u015bniewska", "Wiśniewska", "Zofia", "Kowal"):
        assert part not in stored


@pytest.mark.req("T-5", "P11-8")
def test_exceptional_release_issues_a_certificate_with_both_signatures(users):
    product = collect(users)
    record_qc(product, users, viability=50.0)  # out of specification
    result = units.perform_action(
        product.id, "exceptional_release", data_for("exceptional_release"), users["qa"]
    )
    assert [e.action for e in result.entries] == ["exceptional_release", "certificate_issued"]
    (row,) = certificates(product.id)
    assert row.reason == "exceptional release"
    content = content_of(row)
    assert content["release"]["exceptional"] is True
    assert content["release"]["justification"] == data_for("exceptional_release")["justification"]
    assert content["release"]["physician"] == "Test Clinician"
    signed = [(s["printed_name"], s["role"], s["meaning"]) for s in content["signatures"]]
    assert signed == [
        ("Test Qa", "QA", "approved exceptional release"),
        ("Test Clinician", "Clinician", "approved exceptional release"),
    ]
    for s in content["signatures"]:
        assert s["signed_at"].endswith("Z")
        assert s["manifestation"] == (
            f"Signed by {s['printed_name']}, {s['signed_at'][:19].replace('T', ' ')} UTC: "
            f"{s['meaning']}"
        )
    failing = [r for r in content["qc"] if r["test"] == "viability"]
    assert [(r["value"], r["verdict"], r["spec_version"]) for r in failing] == [("50 %", "fail", 1)]
    assert content["qc_summary"]["complete"] is False


def test_a_late_sterility_result_issues_certificate_2_replacing_1(users):
    product = released(users, sterility="pending")  # SVF: pending allowed at release
    (first,) = certificates(product.id)
    first_content, first_digest = first.content, first.sha256
    assert content_of(first)["release"]["flags"] == ["sterility pending at release"]

    result = units.perform_action(
        product.id, "record_qc", qc_data("sterility", "no growth"), users["technician"]
    )

    assert [e.action for e in result.entries] == ["record_qc", "certificate_issued"]
    one, two = certificates(product.id)
    assert (two.number, two.replaces_id) == (2, one.id)
    assert two.reason == "QC result after release: Sterility culture — no growth (pass)"
    assert ledger_data(two) == {
        "number": 2,
        "sha256": two.sha256,
        "replaces": 1,
        "reason": two.reason,
    }
    content = content_of(two)
    assert content["certificate"]["replaces"] == {
        "number": 1,
        "issued_at": content_of(one)["certificate"]["issued_at"],
        "sha256": first_digest,
    }
    sterility = [
        (r["value"], r["verdict"], r["current"]) for r in content["qc"] if r["test"] == "sterility"
    ]
    assert sterility == [("pending", "pending", False), ("no growth", "pass", True)]
    # a later result is a new fact, not a change of an entry
    assert content["changes_after_first_entry"] == []
    # certificate 1 is unchanged and still retrievable
    assert (one.content, one.sha256) == (first_content, first_digest)
    read = certificate.read(users["qa"], product.id, 1)
    assert read.number == 1 and read.content == json.loads(first_content) and read.intact
    assert certificate.read(users["qa"], product.id).number == 2


@pytest.mark.req("A11-1")
def test_a_correction_before_release_is_listed_with_its_reason(users):
    product = collect(users)
    record_qc(product, users)
    viability = db.session.scalar(
        select(QcResult).where(QcResult.unit_id == product.id, QcResult.test == "viability")
    )
    units.perform_action(
        product.id,
        "record_qc",
        qc_data("viability", 91.0, corrects=viability.id, reason="transcription error: 85 for 91"),
        users["technician2"],
    )
    release(product, users)
    content = content_of(certificates(product.id)[0])
    (change,) = content["changes_after_first_entry"]
    assert change["what"] == f"Viability (QC result #{viability.id})"
    assert (change["original"], change["corrected"]) == ("85 %", "91 %")
    assert (change["corrected_by"], change["reason"]) == (
        "Second Technician",
        "transcription error: 85 for 91",
    )
    assert change["original_by"] == "Test Technician"
    assert content["changes_statement"] == words.changes_statement(1)
    assert "changed after first entry" in content["changes_statement"]


@pytest.mark.req("A11-1")
def test_a_correction_after_release_issues_the_next_certificate_listing_it(users):
    product = released(users)
    assert content_of(certificates(product.id)[0])["changes_statement"] == words.NO_CHANGES
    sterility = db.session.scalar(
        select(QcResult).where(QcResult.unit_id == product.id, QcResult.test == "sterility")
    )
    units.perform_action(
        product.id,
        "record_qc",
        qc_data("sterility", "no growth", corrects=sterility.id, reason="wrong culture lot keyed"),
        users["technician"],
    )
    one, two = certificates(product.id)
    assert two.reason == (
        "QC correction after release: Sterility culture no growth → no growth (pass); "
        "reason: wrong culture lot keyed"
    )
    (change,) = content_of(two)["changes_after_first_entry"]
    assert change["reason"] == "wrong culture lot keyed"
    assert change["corrects"] == sterility.id
    assert content_of(one)["changes_after_first_entry"] == []


def test_a_result_in_quarantine_issues_nothing(users):
    product = collect(users)
    record_qc(product, users)
    assert certificates(product.id) == []
    with pytest.raises(Conflict) as refused:
        certificate.read(users["qa"], product.id)
    assert refused.value.code == "no_certificate"


def test_a_split_released_unit_gives_each_aliquot_its_certificate_and_qc_reaches_them(users):
    product = released(users, sterility="pending")
    aliquots = units.perform_action(
        product.id, "split", data_for("split"), users["technician"]
    ).products
    (aliquot,) = aliquots
    (own,) = certificates(aliquot.id)
    assert own.reason == "aliquot of SVF · S2010 00, released under its certificate 1"
    content = content_of(own)
    assert content["product"]["division"] == "A0"
    assert content["release"]["unit"] is not None  # released as the unit it was split from
    assert [s["meaning"] for s in content["signatures"]] == ["approved for release"]

    result = units.perform_action(
        product.id, "record_qc", qc_data("sterility", "no growth"), users["technician"]
    )
    issued = [e for e in result.entries if e.action == "certificate_issued"]
    assert {e.unit_id for e in issued} == {product.id, aliquot.id}
    assert [c.number for c in certificates(aliquot.id)] == [1, 2]
    assert [c.number for c in certificates(product.id)] == [1, 2]


def test_a_failing_late_result_and_its_closed_deviation_reach_the_certificate(users):
    product = released(users, sterility="pending")
    units.perform_action(
        product.id, "record_qc", qc_data("sterility", "growth"), users["technician"]
    )
    second = content_of(certificates(product.id)[-1])
    (deviation,) = second["deviations"]
    assert deviation["state"] == "open" and second["status"]["qc_alert"]

    row = db.session.scalar(select(Deviation).where(Deviation.unit_id == product.id))
    deviations.close(
        row.id,
        {
            "decision": "product_rejected",
            "note": "positive culture: the product is not to be used",
            "password": PASSWORD,
            "meaning": "reviewed",
        },
        users["qa"],
    )
    third = certificates(product.id)[-1]
    assert third.number == 3
    assert third.reason == (
        f"Deviation #{row.id} (QC out of specification) closed after release: product rejected"
    )
    (closed,) = content_of(third)["deviations"]
    assert (closed["state"], closed["closed_by"], closed["decision"]) == (
        "closed",
        "Test Qa",
        "product rejected",
    )
    assert closed["signature"].startswith("Signed by Test Qa, ")
    assert closed["signature"].endswith(" UTC: reviewed")
    assert [e.action for e in entries_of(product.id)][-2:] == [
        "close_deviation",
        "certificate_issued",
    ]


def test_the_statements_are_the_product_labels_own(users):
    assert words.AUTOLOGOUS == labels.AUTOLOGOUS and words.BIOHAZARD == labels.BIOHAZARD
    content = content_of(certificates(released(users).id)[0])
    assert content["statements"][:2] == [labels.AUTOLOGOUS, labels.BIOHAZARD]
    assert content["storage"]["storage"] == "Store at 2–8 °C"
    assert content["storage"]["transport"].startswith("Transport at 2–8 °C")


def test_a_changed_certificate_no_longer_matches_its_ledger_entry(users):
    product = released(users)
    with triggers_off() as session:
        session.execute(
            text("UPDATE release_certificates SET content = replace(content, :a, :b)"),
            {"a": '"initials":"Z.W.K."', "b": '"initials":"A.B."'},
        )
    read = certificate.read(users["qa"], product.id)
    assert read.content["patient"]["initials"] == "A.B."
    assert read.intact is False


def test_the_database_refuses_to_change_or_remove_a_certificate(users):
    product = released(users)
    db.session.commit()
    for statement in (
        "UPDATE release_certificates SET reason = 'edited'",
        "DELETE FROM release_certificates",
    ):
        with pytest.raises(Exception):  # noqa: B017 (the backends raise their own errors)
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert certificates(product.id)[0].reason == "released"


def test_reading_refuses_what_it_must(users):
    product = released(users)
    with pytest.raises(NotFound) as unknown:
        certificate.read(users["qa"], product.id, 7)
    assert unknown.value.code == "unknown_certificate"
    with pytest.raises(Forbidden):
        certificate.read(users["admin"], product.id, copy=words.FILE)
    assert certificate.read(users["admin"], product.id).copy == words.TRAVELLING
    file_copy = certificate.read(users["technician"], product.id, copy=words.FILE)
    assert (file_copy.patient.name, file_copy.patient.mrn) == (PATIENT["name"], PATIENT["mrn"])
    with pytest.raises(NotFound):
        certificate.read(users["qa"], 2**31 - 1)
