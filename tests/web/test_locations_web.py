"""Locations in the browser: the tree with codes, a box's map with occupancy after a unit is
stored into a position, what a plain location holds, and the admin's create form."""

from __future__ import annotations

import re

import pytest

from lims.services.actions import units
from lims.services.admin import locations
from tests.backends import backend  # noqa: F401  (SQLite alone: the location pages; storage is tested on both in service/test_processing_storage)
from tests.sites import a_clinic
from tests.web.conftest import text_of


def store(unit, place, users):
    units.perform_action(
        unit.id,
        "store",
        {"location": place.code, "storage_temperature_c": 4.0},
        users["technician"],
    )


def cell(html: str, position: str) -> str:
    match = re.search(rf'<td class="cell (\w+)" data-position="{position}">(.*?)</td>', html, re.S)
    assert match, position
    return f"{match.group(1)}: {' '.join(re.sub(r'<[^>]+>', ' ', match.group(2)).split())}"


def test_the_box_map_shows_a_stored_unit_in_its_position(
    login, make_box, product_in_quarantine, users
):
    box = make_box("Box 7", rows=2, columns=3)
    a2 = next(p for p in box.children if p.name == "A2")
    product = product_in_quarantine("ADIPOSE")
    store(product, a2, users)

    response = login("technician").get(f"/locations/{box.id}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "1 of 6 positions occupied · 5 free" in text_of(response)
    assert re.findall(r'data-position="(\w+)"', html) == ["A1", "A2", "A3", "B1", "B2", "B3"]
    assert cell(html, "A1").startswith("free: A1 free")
    assert cell(html, "A2") == (
        f"occupied: A2 {product.eye_readable} SVF · {product.product_code} 00 quarantine"
    )
    assert f'href="/units/{product.id}"' in html


def test_the_tree_lists_places_with_codes_and_box_occupancy(
    login, make_box, product_in_quarantine, users
):
    freezer = locations.create_location("Freezer 2", "freezer", None, users["admin"])
    box = make_box("Box 1", rows=1, columns=2, parent=freezer)
    store(product_in_quarantine("ADIPOSE"), box.children[0], users)

    response = login("qa").get("/locations/")

    text = text_of(response)
    assert f"Freezer 2 freezer {freezer.code}" in text
    assert f"Box 1 box {box.code} 1 of 2 positions occupied" in text
    assert "A1" not in text  # positions are counted in their box, not listed
    assert "New location" not in text  # the create form is for admins


def test_a_plain_location_lists_the_units_kept_there(login, product_in_quarantine, users):
    fridge = locations.create_location("Fridge 1", "refrigerator", None, users["admin"])
    product = product_in_quarantine("ADIPOSE")
    store(product, fridge, users)

    text = text_of(login("technician").get(f"/locations/{fridge.id}"))

    assert "Units kept here" in text and product.eye_readable in text and "Pat Example" in text


def test_an_unknown_location_is_not_found(login, users):
    assert login("technician").get("/locations/999").status_code == 404


def test_an_admin_creates_a_box_with_a_grid(login, users):
    freezer = locations.create_location("Freezer 1", "freezer", None, users["admin"])
    client = login("admin")
    assert "New location" in text_of(client.get("/locations/"))

    response = client.post(
        "/locations/new",
        data={"name": "Box 9", "kind": "box", "parent": freezer.code, "rows": "2", "columns": "2"},
    )

    assert response.status_code == 302
    box = next(p for p in locations.all_locations() if p.name == "Box 9")
    assert (box.name, box.parent_id, box.grid_rows, box.grid_columns) == ("Box 9", freezer.id, 2, 2)
    assert response.location.endswith(f"/locations/{box.id}")
    assert "0 of 4 positions occupied" in text_of(client.get(response.location))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "kind": "box"}, "name", "1 to 120 characters"),
        ({"name": "Shelf", "kind": "rack", "rows": "2", "columns": "2"}, "kind", "kind box"),
        ({"name": "Box", "kind": "box", "rows": "30", "columns": "2"}, "rows", "1 to 26"),
        ({"name": "Box", "kind": "box", "rows": "two", "columns": "2"}, "rows", "integer"),
    ],
    ids=["no name", "grid on a rack", "too many rows", "rows not a number"],
)
def test_a_bad_location_is_shown_beside_its_field_and_nothing_is_made(
    login, users, data, field, message
):
    before = len(locations.all_locations())

    response = login("admin").post("/locations/new", data=data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error-1">[^<]*{message}', html), html[:2000]
    assert "Nothing was created" in html
    assert len(locations.all_locations()) == before


@pytest.mark.parametrize("role", ["technician", "qa", "clinician"])
def test_only_an_admin_creates_locations(login, users, role):
    response = login(role).post("/locations/new", data={"name": "Box", "kind": "box"})

    assert response.status_code == 403
    assert locations.all_locations() == []


def test_a_clinician_has_no_location_pages(login, users):
    assert login("clinician").get("/locations/").status_code == 403


def test_with_two_sites_a_top_level_place_is_created_at_the_site_chosen_and_seen_there(
    login, users
):
    from lims.services.admin import sites

    (lab,) = sites.list_sites()
    clinic = a_clinic(users["admin"])
    admin = login("admin")
    assert "Hair Clinic North (C0002)" in text_of(admin.get("/locations/"))

    response = admin.post(
        "/locations/new", data={"name": "Clinic fridge", "kind": "refrigerator", "site": clinic.id}
    )

    assert response.status_code == 302
    fridge = next(p for p in locations.all_locations() if p.name == "Clinic fridge")
    assert fridge.site_id == clinic.id
    admin.post("/logout")
    page = text_of(login("technician").get("/locations/"))  # the technician works at the lab
    assert "Clinic fridge" not in page
    sites.set_memberships(users["technician"].id, [lab.id, clinic.id], users["admin"])
    assert "Clinic fridge" in text_of(login("technician").get("/locations/"))
