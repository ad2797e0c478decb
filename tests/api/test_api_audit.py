"""GET /api/v1/ledger (filters, cursor paging, errors) and GET /api/v1/units/<id>/report."""

from __future__ import annotations

import csv
import io

import pypdfium2
import pytest

from .helpers import assert_error, product_through_api, record_required_qc


@pytest.fixture
def released(api):
    source, product = product_through_api(api)
    record_required_qc(api, product)
    api.act(product, "release", as_="qa", password="test-pass-1234", meaning="approved for release")
    return source, product


def test_the_ledger_filters_by_unit_and_pages_by_cursor(api, released):
    _, product = released
    whole = api.get(f"/ledger?unit={product['id']}&limit=200", as_="qa").get_json()
    assert whole["next_cursor"] is None
    assert {e["unit_id"] for e in whole["items"]} == {product["id"]}
    seen, cursor = [], ""
    while True:
        page = api.get(f"/ledger?unit={product['id']}&limit=2{cursor}", as_="qa").get_json()
        seen += [e["seq"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [e["seq"] for e in whole["items"]] == sorted(seen, reverse=True)


def test_the_ledger_filters_by_patient_user_action_and_status(api, released):
    source, product = released
    by_patient = api.get("/ledger?patient=MRN-1&limit=200", as_="qa").get_json()
    assert {e["unit_id"] for e in by_patient["items"]} == {source["id"], product["id"]}
    assert "Pat Example" in by_patient["filters"]["patient"]
    releases = api.get("/ledger?action=release&user=qa", as_="admin").get_json()["items"]
    assert [e["action"] for e in releases] == ["release"]
    assert releases[0]["data"]["signatures"][0]["meaning"] == "approved for release"
    to_released = api.get("/ledger?status=released", as_="qa").get_json()["items"]
    assert [e["to_status"] for e in to_released] == ["released"]


def test_a_time_window_needs_a_zone_and_is_inclusive(api, released):
    everything = api.get("/ledger?since=2000-01-01T00:00:00Z&limit=200", as_="qa").get_json()
    assert len(everything["items"]) > 10
    newest = everything["items"][0]["recorded_at"]
    up_to = api.get(f"/ledger?until={newest}&limit=200", as_="qa").get_json()["items"]
    assert up_to[0]["recorded_at"] == newest
    assert_error(api.get("/ledger?since=2026-11-20T10:00", as_="qa"), 422)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("unit=999999", 404, "unknown_unit"),
        ("patient=NOBODY", 404, "unknown_patient"),
        ("user=ghost", 404, "unknown_user"),
        ("action=teleport", 422, "unknown_action"),
        ("status=melted", 422, "unknown_status"),
        ("cursor=abc", 422, "bad_cursor"),
        ("cursor=0", 422, "bad_cursor"),
        ("limit=0", 422, None),
        ("limit=1000", 422, None),
        ("limit=x", 422, None),
        ("colour=red", 422, None),
        ("user=qa&user=tech", 422, None),
        ("since=tomorrow", 422, None),
        ("unit=" + "9" * 100, 422, None),
    ],
)
def test_bad_or_unknown_filters_are_4xx_with_the_error_shape(api, released, query, status, code):
    assert_error(api.get(f"/ledger?{query}", as_="qa"), status, code)


def test_the_report_as_csv_names_the_signature(api, released):
    _, product = released
    response = api.get(f"/units/{product['id']}/report?format=csv", as_="qa")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["X-Chain-Check"] == "intact"
    table = response.get_data(as_text=True).split("\r\n\r\n", 1)[1]
    release = next(r for r in csv.DictReader(io.StringIO(table)) if r["action"] == "Release")
    assert release["signatures"].startswith("Signed by Test Qa, ")
    assert release["signatures"].endswith(": approved for release")


def test_the_report_as_pdf(api, released):
    _, product = released
    response = api.get(f"/units/{product['id']}/report?format=pdf", as_="admin")
    assert response.mimetype == "application/pdf"
    document = pypdfium2.PdfDocument(response.data)
    text = " ".join(" ".join(p.get_textpage().get_text_range() for p in document).split())
    assert "Signed by Test Qa," in text and "Chain verified at generation" in text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/units/999999/report?format=csv", 404),
        ("/units/{id}/report?format=docx", 422),
        ("/units/{id}/report?format=csv&x=1", 422),
    ],
)
def test_a_report_that_cannot_be_made_is_a_clear_error(api, released, path, status):
    _, product = released
    assert_error(api.get(path.format(id=product["id"]), as_="qa"), status)
