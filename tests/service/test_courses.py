"""The chain-of-identity identifier (ISBT 128 ST-028, decision 104): one per therapy course,
on every collection and product of the course, never shared between two patients."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from lims.domain.errors import Conflict, Invalid
from lims.domain.identifiers import CodeError, parse_chain_of_identity
from lims.labels import STOCKS, render
from lims.models import TherapyCourse, Unit
from lims.services.actions import courses, units
from lims.services.search import search_units
from lims.services.station import labels
from tests.conftest import registration
from tests.labels.conftest import linear_codes, pdf_image
from tests.service.lab import entries_of, walk

YEAR = datetime.now(UTC).year % 100


def _register(users, **overrides):
    return units.register(registration(**overrides), users["clinician"]).unit


@pytest.mark.req("I-3")
def test_a_first_collection_starts_a_course_and_the_next_ones_join_it(users):
    first = _register(users)
    assert re.fullmatch(rf"CHT0001{YEAR:02d}\d{{6}}", first.chain_of_identity)
    recorded = json.loads(entries_of(first.id)[0].data)
    assert recorded["chain_of_identity"] == first.chain_of_identity
    assert recorded["course_started"] is True

    session = _register(users, type="BLOOD", collection_site="antecubital vein", volume_ml=60)
    named = _register(users, course=f"&/{first.chain_of_identity}")  # scanned from its barcode
    assert session.chain_of_identity == named.chain_of_identity == first.chain_of_identity
    assert json.loads(entries_of(session.id)[0].data)["course_started"] is False

    another = _register(users, course="NEW")
    assert another.chain_of_identity != first.chain_of_identity
    assert int(another.chain_of_identity[-6:]) == int(first.chain_of_identity[-6:]) + 1
    # left out, the latest course continues
    assert _register(users).chain_of_identity == another.chain_of_identity
    assert [c.code for c, _ in courses.of_patient(first.patient_id)] == [
        another.chain_of_identity,
        first.chain_of_identity,
    ]


@pytest.mark.req("I-3")
def test_products_and_aliquots_carry_their_collection_s_course(users):
    source = _register(users)
    product = walk(source, "quarantine", users)
    aliquots = units.perform_action(
        product.id, "split", {"aliquots": [{"volume_ml": 2}, {"volume_ml": 3}]}, users["technician"]
    ).products
    assert {u.chain_of_identity for u in (product, *aliquots)} == {source.chain_of_identity}
    found = search_units(source.chain_of_identity, viewer=users["qa"])
    assert {u.id for u in found.items} == {source.id, product.id, *(a.id for a in aliquots)}


def test_another_patient_s_course_is_refused_and_nothing_is_registered(users):
    theirs = _register(users, mrn="MRN-OTHER", name="Other Person").chain_of_identity
    before = Unit.query.count()
    with pytest.raises(Conflict) as refused:
        _register(users, course=theirs)
    assert refused.value.code == "course_of_another_patient"
    assert "course" in refused.value.fields
    with pytest.raises(Invalid) as unknown:
        _register(users, course=f"CHT0001{YEAR:02d}999999")
    assert unknown.value.code == "unknown_course"
    with pytest.raises(Invalid) as malformed:
        _register(users, course="CH12")
    assert "course" in malformed.value.fields
    assert Unit.query.count() == before
    assert TherapyCourse.query.count() == 1  # the other patient's only


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("CHT000126", "wrong_length"),
        ("CHT00012600000!", "wrong_format"),
        ("XXT0001260000001", "wrong_length"),
        ("XXT000126000001", "wrong_format"),
    ],
)
def test_a_malformed_identifier_says_what_is_wrong(text, code):
    with pytest.raises(CodeError) as refused:
        parse_chain_of_identity(text)
    assert refused.value.code == code


def test_the_bag_label_prints_the_course_readable_and_bar_coded(users):
    product = walk(_register(users), "quarantine", users)
    label = labels.product_bag(product)
    assert f"Chain of identity {product.chain_of_identity}" in label.lines
    pdf = render(label, STOCKS["bag"], "pdf")
    assert f"&/{product.chain_of_identity}" in linear_codes(pdf_image(pdf))


def test_an_empty_course_is_the_same_as_none_given(users):
    first = _register(users)
    assert _register(users, course="  ").chain_of_identity == first.chain_of_identity
