"""On the unit page: the processing record, QC against specification (corrections
visible), deviations, electronic signatures as their manifestation, release flags and the
QC alert, and ledger entries that read as sentences rather than JSON."""

from __future__ import annotations

import contextlib
import html as html_module
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pytest
import time_machine

from lims.models import Unit
from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: the QC panel; QC results are tested on both in service/test_qc_results)
from tests.service.lab import BENCH_EQUIPMENT, BENCH_LOTS, qc_data, sign

from .conftest import text_of
from .test_action_forms import make_product

SIGNED_AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # 10:30 in Berlin (CET)


@pytest.fixture
def product(register, users) -> Callable[..., Unit]:
    return partial(make_product, register, users)


def section(response, title_id: str) -> str:
    """The text of one panel of the page."""
    html = response.get_data(as_text=True)
    match = re.search(rf'<section[^>]*aria-labelledby="{title_id}".*?</section>', html, re.S)
    assert match, f"no section {title_id}"
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def test_a_product_shows_the_steps_of_the_unit_it_was_made_from(login, product):
    made = product()

    response = login("qa").get(f"/units/{made.id}")

    panel = section(response, "processing-title-1")
    assert "Processing record: how ADIPOSE · S1010 00 was processed into it" in panel
    assert "Protocol Adipose → SVF (enzymatic digestion)" in panel
    assert "Start – end (Europe/Berlin)" in panel
    lot, incubator = BENCH_LOTS["collagenase"], BENCH_EQUIPMENT["incubator"]
    assert re.search(
        r"Collagenase digestion, 37 °C Test Technician \d{4}-\d\d-\d\d \d\d:\d\d CES?T – "
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d CES?T collagenase · lot B-{lot[-7:]} \({lot}\) "
        rf"Bench incubator {incubator}",
        panel,
    )
    assert "Filter (100 µm) Test Technician" in panel


def test_an_aliquot_shows_the_processing_of_the_source_past_the_split(login, product, users):
    made = product(release=True)
    (aliquot,) = units.perform_action(
        made.id, "split", {"aliquots": [{"volume_ml": 2}]}, users["technician"]
    ).products

    response = login("qa").get(f"/units/{aliquot.id}")

    assert "how ADIPOSE · S1010 00 was processed into it" in section(response, "processing-title-1")
    signatures = section(response, "signatures-title")
    assert "approved for release QA · on SVF · S2010 00" in signatures


def test_a_unit_in_processing_shows_what_is_still_to_record(login, unit_in, users):
    unit = unit_in("in_processing")

    panel = section(login("technician").get(f"/units/{unit.id}"), "processing-title-1")

    assert "Processing record: this unit" in panel
    assert "No step recorded yet." in panel
    assert "Still to record: Wash lipoaspirate; Collagenase digestion, 37 °C;" in panel
    assert "Red-cell lysis" not in panel  # optional


def test_qc_shows_one_row_per_specified_test_with_spec_verdict_and_who(login, product):
    made = product(qc="pending")

    response = login("clinician").get(f"/units/{made.id}")

    html = response.get_data(as_text=True)
    tests = re.findall(r'<tr class="qc-row verdict-row-\w+" data-test="(\w+)"', html)
    assert tests == ["viable_cell_count", "viability", "gram_stain", "sterility", "endotoxin"]
    panel = section(response, "qc-title")
    assert re.search(
        r"Viability ≥ 70 % \(version 1\) 85 % ✓ pass validated method QC-LOT-1 "
        r"Test Technician, \d{4}-\d\d-\d\d \d\d:\d\d CES?T",
        panel,
    )
    assert "Sterility culture no growth (version 1) pending … pending" in panel
    assert 'class="verdict v-pass"' in html and 'class="verdict v-pending"' in html
    assert "Every required test is within specification" in panel
    assert "Correct" not in panel  # a clinician records no QC


def test_a_technician_may_correct_or_record_from_the_qc_table(login, product):
    made = product(qc=None)

    html = login("technician").get(f"/units/{made.id}").get_data(as_text=True)

    assert f'href="/units/{made.id}/actions/record_qc?test=viability"' in html
    assert html.count(">Record</a>") == 5


def test_a_repeated_test_keeps_the_earlier_value_struck_through(login, product, users):
    made = product(qc=None)
    tech = users["technician"]
    units.perform_action(made.id, "record_qc", qc_data("viability", 65.0), tech)
    units.perform_action(made.id, "record_qc", qc_data("viability", 81.0), tech)

    response = login("qa").get(f"/units/{made.id}")

    html = response.get_data(as_text=True)
    old = re.search(r'<tr class="qc-row superseded" data-test="viability">.*?</tr>', html, re.S)
    assert old and "<del>65 %</del>" in old.group(0) and "<del>fail</del>" in old.group(0)
    assert "superseded by a later result" in old.group(0)
    assert "81 % ✓ pass" in section(response, "qc-title")


@pytest.mark.req("F-9")
def test_an_out_of_spec_result_is_a_deviation_and_blocks_release(login, product, users):
    made = product(qc=None)
    units.perform_action(made.id, "record_qc", qc_data("endotoxin", 0.5), users["technician"])

    response = login("qa").get(f"/units/{made.id}")

    assert "0.5 EU/mL ✗ fail" in section(response, "qc-title")
    assert "Not ready for release: no result for viable cell count" in section(response, "qc-title")
    assert re.search(
        r"QC out of specification: Endotoxin 0.5 EU/mL is outside specification "
        r"\(< 0.5 EU/mL, version 1\) — opened by Test Technician, \d{4}",
        section(response, "deviations-title"),
    )
    assert "⚠ deviation recorded" in text_of(response)


@pytest.mark.req("P11-8")
def test_a_release_signature_shows_its_manifestation_with_the_zone(login, product):
    with time_machine.travel(SIGNED_AT, tick=False):
        made = product(qc="pending", release=True)

        response = login("clinician").get(f"/units/{made.id}")

    signatures = section(response, "signatures-title")
    assert "Signed by Test Qa, 2026-11-26 10:30 CET: approved for release" in signatures
    assert "QA · bound to the signed record, SHA-256" in signatures
    assert "⚑ released with sterility culture pending" in text_of(response)


def test_the_ledger_reads_signatures_and_qc_as_sentences(login, product):
    with time_machine.travel(SIGNED_AT, tick=False):
        made = product(qc="pending", release=True)

        response = login("qa").get(f"/units/{made.id}")

    html = response.get_data(as_text=True)
    timeline = text_of(response).split("History", 1)[1]
    release = timeline.split("Release SVF · S2010 00", 1)[1]
    assert release.startswith(" quarantine → released Test Qa · QA")
    assert "Meaning approved for release" in release
    assert "Signed record SVF S2010 00; 5 QC results (4 pass, 1 pending)" in release
    assert "Signed by Test Qa, 2026-11-26 10:30 CET: approved for release" in release
    assert "Test Viability Value 85 % Verdict pass Specification ≥ 70 % (version 1)" in timeline
    history = html.split('class="timeline"', 1)[1]
    assert "{" not in re.sub(r"<[^>]+>", "", history)  # no raw JSON
    assert "signer_id" not in history and "record_hash" not in history


def test_exceptional_release_is_flagged(login, product, users):
    made = product(qc=None)
    units.perform_action(made.id, "record_qc", qc_data("viability", 60.0), users["technician"])
    units.perform_action(
        made.id,
        "exceptional_release",
        {
            **sign("approved exceptional release"),
            "justification": "no other product; physician accepts",
            "physician": "doctor",
            "physician_password": "test-pass-1234",
        },
        users["qa"],
    )

    response = login("clinician").get(f"/units/{made.id}")

    assert "⚑ exceptional release" in text_of(response)
    signatures = section(response, "signatures-title")
    assert signatures.count("approved exceptional release") == 2
    assert "Signed by Test Clinician" in signatures


def test_a_growth_after_release_raises_a_loud_alert(login, product, users):
    made = product(qc="pending", release=True)
    units.perform_action(made.id, "record_qc", qc_data("sterility", "growth"), users["technician"])

    response = login("clinician").get(f"/units/{made.id}")

    html = response.get_data(as_text=True)
    alert = re.search(r'<div class="qc-alert" role="alert" id="qc-alert">(.*?)</div>', html, re.S)
    assert alert and "QC ALERT — do not dispense or administer" in alert.group(1)
    assert "Sterility culture growth is outside specification" in alert.group(1)


def test_a_refused_bedside_check_stands_out_in_the_history(login, product, register, users):
    made = product(release=True, dispense=True)
    other = register("ADIPOSE", mrn="MRN-2", name="Other Patient").patient
    with contextlib.suppress(units.Conflict):
        units.perform_action(
            made.id,
            "administer",
            {
                "wristband": other.wristband,
                "site": "vertex",
                "method": "mesotherapy",
                "volume_ml": 1,
            },
            users["clinician"],
        )

    html = login("qa").get(f"/units/{made.id}").get_data(as_text=True)

    event = re.search(
        r'<li class="event event-alert" data-action="identity_check">.*?</li>', html, re.S
    )
    assert event
    text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", event.group(0))).split())
    assert "Bedside identity check" in text and "Result mismatch" in text
    assert "Refused action administer" in text
