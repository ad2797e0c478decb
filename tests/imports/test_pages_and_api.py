"""The import pages and API (SQLite: the same service on both backends is tested below them):
templates download and read back; an upload's dry run marks each refused cell with its reason
and offers no Confirm; a clean file is confirmed, its job's bar shown, and over the API the
same file's dry run is all unchanged."""

from __future__ import annotations

import io

from lims.domain import import_files
from lims.services.station import data_import
from tests.api.helpers import assert_error
from tests.backends import backend  # noqa: F401  (SQLite alone: pages and API over the service)

from .conftest import PATIENTS, csv_file, finish_threads


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def test_templates_read_back_as_their_kind(login, client):
    login("admin")
    for key, kind in import_files.KINDS.items():
        for fmt in ("csv", "xlsx"):
            got = client.get(f"/admin/imports/templates/{key}.{fmt}")
            assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
            table = import_files.read(got.data, f"t.{fmt}", kind)
            assert table.format == fmt and table.headers == kind.names and table.rows
    assert client.get("/admin/imports/templates/units.pdf").status_code == 404


def test_the_templates_example_rows_import_in_order(users):
    """Locations, users, patients, then units: every example row is created, none refused."""
    for key in import_files.ORDER:
        content, name, _ = data_import.template(key, "csv")
        imp = data_import.import_file(data_import.Upload(content, name, key), users["admin"])
        assert imp.status == "imported", (key, data_import.refused_rows(imp))
        assert {row["status"] for row in imp.rows} == {"created"}


def test_refused_cells_are_marked_then_a_clean_file_is_confirmed(login, client):
    login("admin")
    bad = csv_file([*PATIENTS, ["MRN-3", "Cy Example", "2999-01-01", "nobody", ""]])
    sent = client.post(
        "/admin/imports/new",
        data={"kind": "patients", "file": (io.BytesIO(bad), "patients.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    page = text(client.get(sent.headers["Location"]))
    assert 'data-refused="birth_date"' in page and "not a plausible birth date" in page
    assert 'data-refused="clinician"' in page and "no active clinician &#39;nobody&#39;" in page
    assert "data-confirm-import" not in page and "fix the 1 refused row" in page

    unreadable = client.post(
        "/admin/imports/new",
        data={"kind": "patients", "file": (io.BytesIO(b"mrn;nome\n1;x\n"), "p.csv")},
        content_type="multipart/form-data",
    )
    assert unreadable.status_code == 422 and "unknown column &#39;nome&#39;" in text(unreadable)

    good = client.post(
        "/admin/imports/new",
        data={"kind": "patients", "file": (io.BytesIO(csv_file(PATIENTS)), "patients.csv")},
        content_type="multipart/form-data",
    )
    detail = good.headers["Location"]
    assert "Confirm: import 2 rows" in text(client.get(detail))
    confirmed = client.post(f"{detail}/confirm")
    assert confirmed.status_code == 302
    finish_threads()
    page = text(client.get(detail))
    assert 'data-job-poll="' in page and "Imported: 2 created, 0 updated, 0 unchanged." in page
    assert client.get(f"{detail}/progress.json").get_json()["finished"] is True
    again = client.post(f"{detail}/confirm")
    assert again.status_code == 302
    assert "was confirmed already" in text(client.get(detail))


def test_the_api_dry_run_confirm_and_the_same_file_again(token, client):
    headers = token("admin")
    body = {"kind": "patients", "file": (io.BytesIO(csv_file(PATIENTS)), "patients.csv")}
    made = client.post("/api/v1/imports", data=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "refused": 0}
    done = client.post(f"/api/v1/imports/{made.get_json()['id']}/confirm", headers=headers)
    assert done.status_code == 202 and done.get_json()["job"]["total"] == 2
    finish_threads()
    read = client.get(f"/api/v1/imports/{made.get_json()['id']}", headers=headers).get_json()
    assert read["status"] == "imported" and read["job"]["status"] == "done"

    body = {"kind": "patients", "file": (io.BytesIO(csv_file(PATIENTS)), "patients.csv")}
    again = client.post("/api/v1/imports", data=body, headers=headers).get_json()
    assert again["counts"]["unchanged"] == 2 and again["sha256"] == read["sha256"]
    nothing = client.post(f"/api/v1/imports/{again['id']}/confirm", headers=headers)
    assert nothing.status_code == 202
    finish_threads()
    body = {"kind": "samples", "file": (io.BytesIO(csv_file(PATIENTS)), "patients.csv")}
    wrong = client.post("/api/v1/imports", data=body, headers=headers)
    assert "kind" in assert_error(wrong, 422)["fields"]


def test_an_imported_unit_and_its_history_show(login, client, users):
    from .conftest import unit_rows

    admin = users["admin"]
    data_import.import_file(data_import.Upload(csv_file(PATIENTS), "p.csv", "patients"), admin)
    imp = data_import.import_file(
        data_import.Upload(csv_file(unit_rows(1)), "u.csv", "units"), admin
    )
    unit_id = imp.rows[0]["record_id"]
    login("admin")

    page = text(client.get(f"/units/{unit_id}"))
    history = client.get(f"/units/{unit_id}/history.csv").get_data(as_text=True)
    assert "Imported from a file" in page and "received" in page
    assert imp.sha256 in history


def test_an_imported_account_shows_its_import_in_its_history(login, client, users):
    rows = [["username", "full_name", "role"], ["jdoe", "Jane Doe", "technician"]]
    imp = data_import.import_file(
        data_import.Upload(csv_file(rows), "staff.csv", "users"), users["admin"]
    )
    login("admin")

    page = text(client.get(f"/admin/users/{imp.rows[0]['record_id']}"))

    assert "Imported from a file" in page and "created from staff.csv, row 2" in page
