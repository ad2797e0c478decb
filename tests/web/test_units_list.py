"""The units list: search by identifier, record number or name; filter by status and type;
newest first; paginated (five per page in these tests)."""

from __future__ import annotations

import re

import pytest

from lims.services.actions import units

from .conftest import SERVICE_DATA, text_of


def listed_ids(response) -> list[int]:
    return [
        int(i)
        for i in re.findall(
            r'class="row-link" href="/units/(\d+)"', response.get_data(as_text=True)
        )
    ]


@pytest.fixture
def three_patients(register, users):
    """Maria (adipose, received), Jonas (marrow, collected), Aisha (blood, collected)."""
    maria = register("ADIPOSE", mrn="MRN-100231", name="Maria Keller")
    units.perform_action(maria.id, "receive", SERVICE_DATA["receive"], users["technician"])
    jonas = register("MARROW", mrn="MRN-200", name="Jonas Weber")
    aisha = register("BLOOD", mrn="MRN-300", name="Aisha Rahman")
    return {"maria": maria, "jonas": jonas, "aisha": aisha}


def test_the_list_shows_each_unit_newest_first(login, three_patients):
    response = login("qa").get("/units/")

    assert response.status_code == 200
    p = three_patients
    assert listed_ids(response) == [p["aisha"].id, p["jonas"].id, p["maria"].id]
    page = text_of(response)
    maria = p["maria"]
    assert f"{maria.din[:5]} {maria.din[5:7]} {maria.din[7:]} {maria.check_character}" in page
    assert "S1010 00" in page and "Adipose tissue, lipoaspirate" in page
    assert "Maria Keller MRN-100231" in page
    assert "received" in page
    assert "CET" in page or "CEST" in page  # expiry in the site's zone, named
    assert "left" in page  # and the time left
    assert "Test Technician" in page  # the custodian


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("maria", ["maria"]),
        ("KELLER", ["maria"]),
        ("MRN-200", ["jonas"]),
        ("mrn-3", ["aisha"]),
        ("{din}", ["jonas"]),
        ("{din}{check}", ["jonas"]),
        ("{spaced}", ["jonas"]),
        ("={din}{flags}", ["jonas"]),
        ("nobody", []),
        ("100%", []),
        ("_", []),
    ],
)
def test_search_by_identifier_record_number_or_name(login, three_patients, query, who):
    jonas = three_patients["jonas"]
    barcode = jonas.barcode_data
    query = query.format(
        din=jonas.din,
        check=jonas.check_character,
        spaced=jonas.eye_readable,
        flags=barcode[-2:],
    )

    response = login("clinician").get("/units/", query_string={"q": query})

    assert response.status_code == 200
    assert listed_ids(response) == [three_patients[name].id for name in who]


def test_an_identifier_with_a_wrong_check_character_is_refused_not_guessed(login, three_patients):
    jonas = three_patients["jonas"]
    wrong = "A" if jonas.check_character != "A" else "B"

    response = login("clinician").get("/units/", query_string={"q": jonas.din + wrong})

    assert response.status_code == 422
    assert f"expected '{jonas.check_character}'" in text_of(response)
    assert listed_ids(response) == []


@pytest.mark.parametrize(
    ("filters", "who"),
    [
        ({"status": "received"}, ["maria"]),
        ({"status": "collected"}, ["aisha", "jonas"]),
        ({"type": "MARROW"}, ["jonas"]),
        ({"type": "BLOOD", "status": "collected"}, ["aisha"]),
        ({"type": "BLOOD", "status": "received"}, []),
        ({"status": "collected", "q": "weber"}, ["jonas"]),
    ],
)
def test_filter_by_status_and_type(login, three_patients, filters, who):
    response = login("technician").get("/units/", query_string=filters)

    assert listed_ids(response) == [three_patients[name].id for name in who]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": "lost"}, "unknown status 'lost'"),
        ({"type": "PLASMA"}, "unknown type 'PLASMA'"),
        ({"q": "x" * 101}, "at most 100 characters"),
    ],
)
def test_bad_filters_are_explained_not_a_500(login, three_patients, filters, message):
    response = login("technician").get("/units/", query_string=filters)

    assert response.status_code == 422
    assert message in text_of(response)


def test_pages_of_five_newest_first(login, register):
    made = [register("ADIPOSE", mrn=f"MRN-{i}", name=f"Patient {i}").id for i in range(12)]
    client = login("technician")
    newest_first = made[::-1]

    first = client.get("/units/")
    second = client.get("/units/?page=2")
    third = client.get("/units/?page=3")

    assert listed_ids(first) == newest_first[:5]
    assert listed_ids(second) == newest_first[5:10]
    assert listed_ids(third) == newest_first[10:]
    assert "12 units · page 1 of 3" in text_of(first)
    assert 'href="/units/?page=2"' in first.get_data(as_text=True)


@pytest.mark.parametrize(("page", "shown"), [("0", 1), ("-3", 1), ("junk", 1), ("99", 3)])
def test_page_numbers_out_of_range_show_the_nearest_page(login, register, page, shown):
    made = [register("ADIPOSE", mrn=f"MRN-{i}", name=f"Patient {i}").id for i in range(12)]

    response = login("technician").get("/units/", query_string={"page": page})

    assert response.status_code == 200
    assert listed_ids(response) == made[::-1][(shown - 1) * 5 : shown * 5]


def test_paging_keeps_the_search_and_filters(login, register):
    for i in range(7):
        register("ADIPOSE", mrn=f"MRN-{i}", name=f"Keller {i}")

    html = login("technician").get("/units/?q=keller&status=collected").get_data(as_text=True)

    assert 'href="/units/?page=2&amp;q=keller&amp;status=collected"' in html


def test_an_empty_list_says_so(login):
    assert "No units match." in text_of(login("technician").get("/units/"))
