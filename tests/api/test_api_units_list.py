"""Finding units over the API: pages, filters, and a search box for codes, MRNs and names."""

from __future__ import annotations

import pytest

from lims.domain import identifiers

from .helpers import assert_error


@pytest.fixture
def three_collections(api, act, register):
    """Ada's adipose (received), Bob's marrow and Cleo's blood (both collected)."""
    ada = register("ADIPOSE", mrn="MRN-A1", name="Ada Lovelace")
    act(ada, "receive")
    bob = register("MARROW", mrn="MRN-B2", name="Bob O'Brien")
    cleo = register("BLOOD", mrn="MRN-C3", name="Cleo 100%_Sure")
    return {"ada": ada, "bob": bob, "cleo": cleo}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_the_list_shows_units_newest_first_with_a_total(api, three_collections):
    body = api.get("/units").get_json()
    units = three_collections
    assert [i["id"] for i in body["items"]] == [units[n].id for n in ("cleo", "bob", "ada")]
    assert (body["page"], body["per_page"], body["total"]) == (1, 25, 3)
    assert body["items"][0]["patient"]["name"] == "Cleo 100%_Sure"


def test_pages_split_the_list_without_overlap(api, register):
    made = [register("BLOOD", mrn=f"MRN-{n}", name=f"Patient {n}").id for n in range(7)]
    pages = [api.get(f"/units?per_page=3&page={page}").get_json() for page in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert {p["total"] for p in pages} == {7}
    seen = [item["id"] for p in pages for item in p["items"]]
    assert seen == sorted(made, reverse=True)


def test_per_page_may_be_a_hundred(api, register):
    register("ADIPOSE")
    assert api.get("/units?per_page=100").get_json()["per_page"] == 100


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=received", ["ada"]),
        ("status=collected", ["cleo", "bob"]),
        ("status=released", []),
        ("type=MARROW", ["bob"]),
        ("type=blood", ["cleo"]),
        ("type=ADIPOSE&status=collected", []),
        ("q=MRN-B2", ["bob"]),
        ("q=mrn-b2", ["bob"]),
        ("q=lovelace", ["ada"]),
        ("q=o'brien", ["bob"]),
        ("q=100%25_", ["cleo"]),
        ("q=%25", ["cleo"]),
        ("q=_", ["cleo"]),
        ("q=nobody", []),
        ("q=+++", ["cleo", "bob", "ada"]),
    ],
)
def test_filters_and_search_by_record_number_or_name(api, three_collections, query, expected):
    units = three_collections
    assert _ids(api.get(f"/units?{query}")) == [units[n].id for n in expected]


@pytest.mark.parametrize(
    "spelling",
    [
        lambda din: din,
        lambda din: din + identifiers.check_character(din),
        lambda din: f"{din[:5]} {din[5:7]} {din[7:]} {identifiers.check_character(din)}",
        lambda din: (din + identifiers.check_character(din)).lower(),
        identifiers.barcode_data,
    ],
    ids=["bare", "with-check", "eye-readable", "lower-case", "barcode"],
)
def test_search_by_identifier_as_typed_or_scanned(api, act, three_collections, spelling):
    ada = three_collections["ada"]
    act(ada, "start_processing")
    product = act(ada, "complete_processing").products[0]
    found = _ids(api.get("/units", query_string={"q": spelling(ada.din)}))
    assert found == [product.id, ada.id]


def test_a_wrong_check_character_is_refused_with_the_reason(api, three_collections):
    din = three_collections["bob"].din
    wrong = next(c for c in "ABC" if c != identifiers.check_character(din))
    error = assert_error(api.get("/units", query_string={"q": din + wrong}), 422)
    assert error["code"] == "bad_check_character"
    assert "expected" in error["message"]
    assert error["fields"] == {"q": error["message"]}


def test_search_by_part_of_an_identifier(api, three_collections):
    """The sequence digits of a label, as a technician reads them off a tube."""
    bob = three_collections["bob"]
    assert _ids(api.get("/units", query_string={"q": bob.din[-6:]})) == [bob.id]
    assert _ids(api.get("/units", query_string={"q": bob.din[:7].lower()})) == [
        three_collections[n].id for n in ("cleo", "bob", "ada")
    ]


def test_a_name_is_found_whatever_its_case_beyond_ascii(api, register):
    """Both backends fold case the same way (on SQLite the trigram index does, decision 95)."""
    unit = register("ADIPOSE", mrn="MRN-Z9", name="Zoë Ångström")
    assert _ids(api.get("/units", query_string={"q": "ångström"})) == [unit.id]
    assert _ids(api.get("/units", query_string={"q": "ZOË"})) == [unit.id]


@pytest.mark.parametrize(
    "mrn",
    ["ABCDE12345678", "ABCDE12345678Z"],
    ids=["like-a-bare-identifier", "like-one-with-a-wrong-check-character"],
)
def test_a_record_number_shaped_like_an_identifier_is_still_found(api, register, mrn):
    unit = register("ADIPOSE", mrn=mrn, name="Odd Number")
    assert _ids(api.get("/units", query_string={"q": mrn})) == [unit.id]


@pytest.mark.parametrize("role", ["technician", "clinician", "qa", "admin"])
def test_every_role_sees_the_list(api, three_collections, role):
    assert len(_ids(api.get("/units", as_=role))) == 3


def test_a_chain_of_identity_finds_every_unit_of_the_course(api, three_collections, register):
    ada = three_collections["ada"]
    again = register("BLOOD", mrn="MRN-A1", name="Ada Lovelace")  # a second session, same course
    body = api.get(f"/units/{again.id}").get_json()
    assert body["chain_of_identity"] == ada.chain_of_identity
    scanned = identifiers.coi_barcode_data(ada.chain_of_identity)
    assert sorted(_ids(api.get("/units", query_string={"q": scanned}))) == [ada.id, again.id]
