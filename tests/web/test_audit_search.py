"""QA's ledger search page and a unit's custody report on screen, as CSV and as PDF: what
the filters find, how a filter that names nothing reads, paging, and the report's parts."""

from __future__ import annotations

import csv
import io

import pytest

from lims.services.actions import units
from tests.service.lab import registration, walk

from .conftest import text_of


@pytest.fixture
def released(users):
    return walk(units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users)


def test_the_search_finds_a_units_entries_from_its_scanned_label(client, login, released):
    response = login("qa").get("/audit/ledger", query_string={"unit": released.barcode_data})
    assert response.status_code == 200
    page = text_of(response)
    assert "Entries for unit collection" in page
    assert "Release" in page and "Register collection" in page
    assert f"/audit/units/{released.id}/report" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"unit": "123456"}, 404, "no such unit"),
        ({"patient": "NOBODY"}, 404, "no such patient"),
        ({"user": "ghost"}, 404, "no such user"),
        ({"action": "teleport"}, 422, "unknown action"),
        ({"since": "last week"}, 422, "is not a date"),
        ({"cursor": "x"}, 422, "cursor"),
    ],
)
def test_a_filter_that_names_nothing_is_said_plainly(client, login, released, query, status, words):
    response = login("qa").get("/audit/ledger", query_string=query)
    assert response.status_code == status
    assert words in text_of(response)


def test_older_pages_follow_by_cursor_and_keep_the_filters(client, login, released, monkeypatch):
    from lims.web.audit import search as page_module

    login("qa")
    html = client.get("/audit/ledger", query_string={"user": "tech"}).get_data(as_text=True)
    assert 'rel="next"' not in html  # a few dozen entries: one page of 50
    monkeypatch.setattr(page_module, "PAGE_SIZE", 5)
    html = client.get("/audit/ledger", query_string={"user": "tech"}).get_data(as_text=True)
    assert 'rel="next"' in html
    link = html.split('rel="next" href="')[1].split('"')[0]
    assert "user=tech" in link and "cursor=" in link


def test_the_report_page_shows_lineage_signatures_and_the_check(client, login, released):
    response = login("admin").get(f"/audit/units/{released.id}/report")
    assert response.status_code == 200
    page = text_of(response)
    assert "Chain-of-custody report" in page
    assert "ADIPOSE" in page and "SVF" in page  # the source's section, then the product's
    assert page.index("1. ADIPOSE") < page.index("2. SVF")
    assert "Signed by Test Qa," in page and "approved for release" in page
    assert "Chain verified at generation" in page


@pytest.mark.parametrize("role, offered", [("qa", True), ("admin", True), ("technician", False)])
def test_the_unit_page_offers_the_report_to_those_who_may_read_it(login, released, role, offered):
    page = login(role).get(f"/units/{released.id}").get_data(as_text=True)
    assert (f'href="/audit/units/{released.id}/report"' in page) is offered


def test_the_report_downloads_as_csv_and_pdf(client, login, released):
    login("qa")
    as_csv = client.get(f"/audit/units/{released.id}/report.csv")
    assert as_csv.mimetype == "text/csv" and "attachment" in as_csv.headers["Content-Disposition"]
    table = as_csv.get_data(as_text=True).split("\r\n\r\n", 1)[1]
    rows = list(csv.DictReader(io.StringIO(table)))
    assert any(r["signatures"].startswith("Signed by Test Qa, ") for r in rows)
    as_pdf = client.get(f"/audit/units/{released.id}/report.pdf")
    assert as_pdf.mimetype == "application/pdf" and as_pdf.data.startswith(b"%PDF")


@pytest.mark.parametrize("suffix", ["", ".csv", ".pdf"])
def test_an_unknown_unit_has_no_report(client, login, users, suffix):
    assert login("qa").get(f"/audit/units/999999/report{suffix}").status_code == 404
    assert client.get(f"/audit/units/99999999999/report{suffix}").status_code == 404


@pytest.mark.req("P11-1", "P11-3")
def test_the_unit_pages_history_export_shows_custody_and_utc(client, login, released):
    response = login("technician").get(f"/units/{released.id}/history.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    receive = next(r for r in rows if r["action"] == "Receive")
    assert receive["custodian"].endswith("Test Technician")
    assert receive["recorded at (UTC)"].endswith("Z")


def _extract(response) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The extract's ``field,value`` lines, then its table."""
    head, _, table = response.get_data(as_text=True).partition("\r\n\r\n")
    facts = dict(row for row in csv.reader(io.StringIO(head)) if row)
    return facts, list(csv.DictReader(io.StringIO(table)))


@pytest.mark.req("P11-3")
def test_the_search_downloads_as_csv_with_what_was_asked(login, released, users):
    client = login("qa")
    page = client.get("/audit/ledger", query_string={"action": "release"})
    assert "/audit/ledger.csv?action=release" in page.get_data(as_text=True)

    response = client.get("/audit/ledger.csv", query_string={"action": "release"})

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    facts, rows = _extract(response)
    assert facts["filters"] == "action Release" and facts["complete"] == "yes"
    assert facts["entries"] == "1" and "Test Qa (qa)" in facts["generated by"]
    (row,) = rows
    assert row["action"] == "Release" and row["unit"] == released.label
    assert "Signed by Test Qa," in row["signatures"] and "approved for release" in row["signatures"]


def test_an_extract_past_its_limit_says_it_is_not_complete(login, released, monkeypatch):
    from lims.services.audit import ledger_search as audit

    monkeypatch.setattr(audit, "EXPORT_MAX", 3)
    response = login("admin").get("/audit/ledger.csv", query_string={"unit": released.id})

    facts, rows = _extract(response)
    assert [int(r["entry"]) for r in rows] == sorted((int(r["entry"]) for r in rows), reverse=True)
    assert len(rows) == 3 and facts["entries"] == "3"
    assert facts["complete"].startswith("no: the newest 3 matching entries")
    assert f"older than entry #{rows[-1]['entry']}" in facts["complete"]


def test_an_extract_of_a_filter_that_names_nothing_is_refused(login, released):
    response = login("qa").get("/audit/ledger.csv", query_string={"patient": "NOBODY"})
    assert response.status_code == 404 and "no such patient" in text_of(response)
