"""Each kind's own rules: units from XLSX with a product made from a collection of the same
file (chain of identity inherited, DIN sequence never handing the imported number out again),
locations under a parent named in the file, users who cannot sign in until an admin sets a
password, and what a file may not change (an account's role)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from lims.extensions import db
from lims.models import LedgerEntry, Location, Unit, User
from lims.services.actions import units as unit_service
from lims.services.admin import accounts
from lims.services.station import data_import

from .conftest import PATIENTS, csv_file, din, xlsx_file


def test_units_from_xlsx_a_product_takes_its_collections_course(admin, imported):
    imported("patients", csv_file(PATIENTS))
    header = ["din", "type", "mrn", "status", "collected_at", "volume_ml", "received_at",
              "processed_at", "released_at", "parent_product_code", "chain_of_identity"]  # fmt: skip
    collected = datetime(2025, 3, 2, 9, 15)
    rows = [
        header,
        [din(41, year=26), "ADIPOSE", "MRN-1", "processed", collected, 120, collected.replace(hour=13),
         collected.replace(hour=17), None, None, "new"],
        [din(41, year=26), "SVF", "MRN-1", "quarantine", collected, 8.5, None,
         collected.replace(hour=17), None, "S1010", None],
    ]  # fmt: skip
    done = imported("units", xlsx_file(rows), "units.xlsx")

    assert done.file_format == "xlsx" and done.imported_count == 2
    source, product = db.session.scalars(select(Unit).order_by(Unit.id)).all()
    assert product.parent_id == source.id and product.status == "quarantine"
    assert source.chain_of_identity and product.chain_of_identity == source.chain_of_identity
    assert product.processed_at.isoformat().startswith("2025-03-02T17:15")
    # A registration of this facility and year never gets the imported DIN's number again.
    assert unit_service.new_din(2026)[0] > din(41, year=26)[:13]


def test_locations_under_a_parent_named_in_the_file_and_kept_codes(admin, imported):
    from lims.domain.codes import make_location_code

    kept = make_location_code("C0001", 900)
    rows = [["code", "name", "kind", "parent"], ["", "Cryo room", "room", ""],
            [kept, "Freezer 2", "freezer", "Cryo room"], ["", "Rack A", "rack", kept]]  # fmt: skip
    done = imported("locations", csv_file(rows))

    assert done.imported_count == 3
    rack = db.session.scalar(select(Location).where(Location.name == "Rack A"))
    assert rack.parent.code == kept and rack.parent.parent.name == "Cryo room"
    again = data_import.upload(data_import.Upload(csv_file(rows), "l.csv", "locations"), admin)
    assert [r["status"] for r in again.rows] == ["unchanged"] * 3


def test_users_cannot_sign_in_until_a_password_is_set_and_a_file_never_changes_a_role(
    admin, imported
):
    rows = [["username", "full_name", "role", "email"], ["jdoe", "Jane Doe", "technician", ""]]
    imported("users", csv_file(rows))
    assert accounts.authenticate("jdoe", "anything-at-all-123") is None
    user = db.session.scalar(select(User).where(User.username == "jdoe"))
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.action == "import"))
    assert user.must_change_password and '"username":"jdoe"' in entry.data

    changed = [rows[0], ["jdoe", "Jane Q. Doe", "qa", "jdoe@example.org"]]
    imp = data_import.upload(data_import.Upload(csv_file(changed), "u.csv", "users"), admin)
    assert "a role is changed on the account's page" in imp.rows[0]["problems"]["role"]
    renamed = [rows[0], ["jdoe", "Jane Q. Doe", "technician", "jdoe@example.org"]]
    done = imported("users", csv_file(renamed))
    assert done.rows[0]["status"] == "updated" and done.rows[0]["changes"] == ["email", "full_name"]


def test_units_are_stored_by_the_storage_rules(admin, imported):
    from lims.services.admin import locations

    imported("patients", csv_file(PATIENTS))
    box = locations.create_location("Box 9", "box", None, admin, rows=1, columns=2)
    a1 = box.children[0].code
    header = ["din", "type", "mrn", "status", "collected_at", "volume_ml", "location"]
    row = ["ADIPOSE", "MRN-1", "collected", "2025-03-02 09:15", "120"]
    rows = [header, [din(51), *row, box.code], [din(52), *row, a1], [din(53), *row, a1]]
    imp = data_import.upload(data_import.Upload(csv_file(rows), "u.csv", "units"), admin)

    problems = [r["problems"].get("location") for r in imp.rows]
    assert problems[0] == "Box 9 is a box of positions: name the position"
    assert problems[1] is None and "already holds the unit of row 3" in problems[2]
    done = imported("units", csv_file(rows[:3:2]))
    again = data_import.upload(data_import.Upload(csv_file(rows[:3:2]), "u.csv", "units"), admin)
    assert done.imported_count == 1 and again.rows[0]["status"] == "unchanged"
    assert db.session.scalar(select(Unit.location_id)) == box.children[0].id
