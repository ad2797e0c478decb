"""Locations get scannable codes from one sequence; only admins create them."""

from __future__ import annotations

import pytest

from lims.domain.codes import LocationCode, classify, make_location_code
from lims.domain.errors import Forbidden, Invalid, NotFound
from lims.domain.identifiers import make_wristband
from lims.services.admin import locations


def test_codes_are_sequential_valid_location_codes(place):
    first, second = place("Freezer", "freezer"), place("Rack", "rack")
    assert (first.code, second.code) == (
        make_location_code("T0001", 1),
        make_location_code("T0001", 2),
    )
    assert classify(second.code) == LocationCode(second.code)


def test_a_child_is_created_under_its_parent_by_code(place):
    fridge = place("Refrigerator 1", "refrigerator")
    box = place("Box A1", "box", parent=fridge.code)
    assert box.parent == fridge
    assert box.path == "Refrigerator 1 › Box A1"


@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
def test_only_an_admin_creates_locations(users, role):
    with pytest.raises(Forbidden):
        locations.create_location("Shelf", "bench", None, users[role])


@pytest.mark.parametrize(("name", "kind"), [("", "box"), ("Shelf", "cupboard"), (None, "box")])
def test_a_location_needs_a_name_and_a_known_kind(users, name, kind):
    with pytest.raises(Invalid):
        locations.create_location(name, kind, None, users["admin"])


def test_by_code_refuses_unknown_and_other_kinds(place, users):
    place()
    with pytest.raises(NotFound):
        locations.by_code(make_location_code("T0001", 50))
    with pytest.raises(Invalid, match="patient wristband code, not a location"):
        locations.by_code(make_wristband("T0001", 1))


def test_the_cli_creates_a_location_and_prints_its_code(runner, users):
    parent = runner.invoke(args=["locations", "create", "LN2 freezer", "--kind", "freezer"])
    assert parent.exit_code == 0, parent.output
    code = parent.output.split()[0]
    child = runner.invoke(
        args=["locations", "create", "Rack 1", "--kind", "rack", "--parent", code]
    )
    assert child.exit_code == 0, child.output
    assert "LN2 freezer › Rack 1" in child.output


def test_the_cli_refuses_a_non_admin(runner, users):
    result = runner.invoke(args=["locations", "create", "Shelf", "--kind", "bench", "--as", "tech"])
    assert result.exit_code != 0 and "administrator" in result.output
