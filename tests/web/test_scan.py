"""The scan box: a scanned barcode or a typed identifier goes to the unit; several units of
one collection are offered as a choice; a bad code is refused loudly and precisely."""

from __future__ import annotations

import pytest

from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: the scan pages; the scan service is tested on both in scan/test_scan_service)

from .conftest import SERVICE_DATA, text_of


def test_the_scan_page_is_one_focused_empty_input(login):
    html = login("technician").get("/scan").get_data(as_text=True)

    assert 'name="code"' in html
    assert "autofocus" in html and 'autocomplete="off"' in html
    assert 'value=""' in html


@pytest.mark.parametrize(
    "how", ["barcode", "typed", "typed with spaces", "typed lower case", "padded barcode"]
)
def test_a_good_code_goes_to_the_unit(login, unit_in, how):
    unit = unit_in("collected")
    code = {
        "barcode": unit.barcode_data,
        "typed": unit.din + unit.check_character,
        "typed with spaces": unit.eye_readable,
        "typed lower case": (unit.din + unit.check_character).lower(),
        "padded barcode": f"  {unit.barcode_data}\n",
    }[how]

    response = login("technician").get("/scan", query_string={"code": code})

    assert response.status_code == 302
    assert response.location.endswith(f"/units/{unit.id}")


def test_a_collection_with_products_offers_a_choice(login, unit_in, users):
    unit = unit_in("in_processing")
    product = units.perform_action(
        unit.id, "complete_processing", SERVICE_DATA["complete_processing"], users["technician"]
    ).products[0]

    response = login("technician").get("/scan", query_string={"code": unit.barcode_data})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'href="/units/{unit.id}"' in html and f'href="/units/{product.id}"' in html
    assert f"2 units share identifier {unit.eye_readable}" in text_of(response)


def test_a_wrong_check_character_names_the_expected_one(login, unit_in):
    unit = unit_in("collected")
    wrong = "B" if unit.check_character != "B" else "C"

    response = login("technician").get("/scan", query_string={"code": unit.din + wrong})

    assert response.status_code == 422
    assert (
        f"check character '{wrong}' is wrong for {unit.din}: expected '{unit.check_character}'"
        in text_of(response)
    )
    assert_loud_and_ready_again(response)


@pytest.mark.req("P11-12")
def test_a_barcode_with_wrong_check_flags_is_refused(login, unit_in):
    unit = unit_in("collected")
    flags = int(unit.barcode_data[-2:])
    damaged = unit.barcode_data[:-2] + str(60 + (flags - 60 + 1) % 37)

    response = login("technician").get("/scan", query_string={"code": damaged})

    assert response.status_code == 422
    assert "check flags" in text_of(response) and "misprinted" in text_of(response)


def test_an_unknown_identifier_is_404(login):
    from lims.domain import identifiers

    din = identifiers.make_din("T0001", 2026, 999_999)

    response = login("technician").get(
        "/scan", query_string={"code": din + identifiers.check_character(din)}
    )

    assert response.status_code == 404
    assert f"no unit has identifier {identifiers.eye_readable(din)}" in text_of(response)
    assert "Unknown unit" in text_of(response)
    assert_loud_and_ready_again(response)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "no code was scanned or typed"),
        ("   ", "no code was scanned or typed"),
        ("hello", "this one has 5"),
        ("T000126000001", "missing its check character"),
        ("=T00012600000199999", "this one has 18 characters after '='"),
        ("=T000126000001XY", "must be two digits"),
        ("T0001 26 00000! A", "not allowed"),
        ("x" * 5000, "this one has 5000"),
        ("<script>alert(1)</script>", "a typed identifier has 13 characters"),
    ],
)
def test_junk_is_refused_with_the_reason(login, code, message):
    response = login("technician").get("/scan", query_string={"code": code})

    assert response.status_code == 422
    assert message in text_of(response)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert_loud_and_ready_again(response)


def assert_loud_and_ready_again(response) -> None:
    """The reason is an alert; the input is focused again and empty for the next scan."""
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html
    box = html[html.index('id="code"') :].split(">")[0]
    assert 'value=""' in box and "autofocus" in box


def test_what_was_read_is_echoed_shortened(login):
    response = login("technician").get("/scan", query_string={"code": "Q" * 200})

    assert "Read: " + "Q" * 40 + "…" in text_of(response)


def test_the_top_bar_scan_box_submits_to_the_scan_page(login):
    html = login("clinician").get("/units/").get_data(as_text=True)

    assert '<form class="topscan" method="get" action="/scan"' in html
    assert 'id="topscan-code" name="code"' in html


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/scan?code=x")

    assert response.status_code == 302 and "/login" in response.location
