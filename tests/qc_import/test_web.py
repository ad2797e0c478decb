"""The import pages: upload a file through the form, read its preview, confirm; a refused
upload shows the form again with the reason beside its field and stores nothing."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from lims.domain import instrument_files
from lims.extensions import db
from lims.models import QcImport, QcResult

from .conftest import sample_file

COUNTER_CSV = b"Sample Name,Live Cell Count (cells/mL),Viability (%)\n"


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def upload_form(content: bytes, instrument: str, **extra: Any) -> dict[str, Any]:
    return {
        "file": (io.BytesIO(content), "nc200-run.csv"),
        "format": "cell_counter",
        "instrument": instrument,
        "lot": "VIA1-2611-04",
        **extra,
    }


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def test_upload_preview_and_confirm_in_the_browser_pages(
    login, client, instruments, product, users
):
    units = {1: product(), 2: product(), 3: product()}
    login("technician")
    form_page = client.get("/qc-imports/new")
    assert form_page.status_code == 200
    page = text(form_page)
    assert 'enctype="multipart/form-data"' in page
    assert f'<option value="{instruments["counter"]}">NucleoCounter NC-200 · Cell counter' in page
    assert instruments["broken"] not in page and instruments["lapsed"] in page  # in service

    sent = client.post(
        "/qc-imports/new",
        data=upload_form(sample_file("nucleocounter_nc200.csv", units), instruments["counter"]),
        content_type="multipart/form-data",
    )

    assert sent.status_code == 302
    preview = client.get(sent.location)
    page = text(preview)
    assert preview.status_code == 200
    assert "Previewed: 6 results ready to import, 4 refused." in page
    assert units[1].label in page and "2,15E+06 cells/ml" in page
    assert "2.2×10⁷ cells" in page  # converted: 2.15×10⁶ cells/mL × 10 mL
    assert "check character &#39;X&#39; is wrong" in page
    assert "Confirm: record 6 results" in page
    refused = text(client.get(f"{sent.location}?status=refused"))
    assert refused.count('data-status="refused"') == 4 and 'data-status="ready"' not in refused

    done = client.post(f"{sent.location}/confirm")
    assert done.status_code == 302
    after = text(client.get(done.location))
    assert "6 results recorded." in after
    assert "Imported: 6 results recorded, 4 refused." in after
    assert "Confirm: record" not in after
    assert count(QcResult) == 6
    listing = text(client.get("/qc-imports"))
    assert "nc200-run.csv" in listing and "imported" in listing


def test_qa_previews_but_a_technician_confirms(login, client, instruments, product):
    unit = product()
    login("qa")
    sent = client.post(
        "/qc-imports/new",
        data=upload_form(
            COUNTER_CSV + f"{unit.barcode_data},2150000,88\n".encode(), instruments["countess"]
        ),
        content_type="multipart/form-data",
    )
    page = text(client.get(sent.location))

    assert "A technician confirms the import" in page and "Confirm: record" not in page
    assert client.post(f"{sent.location}/confirm").status_code == 403
    assert count(QcResult) == 0


@pytest.mark.parametrize(
    ("changes", "words", "status"),
    [
        ({"file": None}, "choose the file the instrument exported", 422),
        ({"format": ""}, "unknown format", 422),
        ({"instrument": "ET0001999998Z"}, "no equipment has code ET0001999998Z", 422),
        ({"instrument": "broken"}, None, 302),  # uploaded: every row refused (next test)
        ({"file": b"\x00\x01binary"}, "not a text file", 422),
    ],
)
def test_a_refused_upload_keeps_the_form_and_says_why(
    login, client, instruments, product, changes, words, status
):
    unit = product()
    login("technician")
    data = upload_form(
        COUNTER_CSV + f"{unit.barcode_data},2150000,88\n".encode(), instruments["countess"]
    )
    if changes.get("instrument") in instruments:
        changes = {"instrument": instruments[changes["instrument"]]}
    data.update(changes)
    if isinstance(data.get("file"), bytes):
        data["file"] = (io.BytesIO(data["file"]), "x.xls")
    data = {k: v for k, v in data.items() if v is not None}

    response = client.post("/qc-imports/new", data=data, content_type="multipart/form-data")

    assert response.status_code == status
    if words:
        page = text(response)
        assert "Nothing was uploaded" in page and words in page
        assert 'value="VIA1-2611-04"' in page  # what was typed stays
        assert count(QcImport) == 0


def test_an_instrument_out_of_service_refuses_every_row_and_offers_no_confirm(
    login, client, instruments, product
):
    unit = product()
    login("technician")
    sent = client.post(
        "/qc-imports/new",
        data=upload_form(
            COUNTER_CSV + f"{unit.barcode_data},2150000,88\n".encode(), instruments["broken"]
        ),
        content_type="multipart/form-data",
    )
    page = text(client.get(sent.location))

    assert page.count("instrument not usable:") == 2
    assert "is out of service (cassette reader fault)" in page
    assert "Nothing in this file can be imported." in page and "Confirm: record" not in page


def test_a_file_over_the_cap_is_413_with_the_form_and_a_message(login, client, instruments):
    login("technician")
    too_big = COUNTER_CSV + b"x" * (instrument_files.MAX_BYTES + 300 * 1024)

    response = client.post(
        "/qc-imports/new",
        data=upload_form(too_big, instruments["countess"]),
        content_type="multipart/form-data",
    )

    assert response.status_code == 413
    assert "the file is larger than 5 MiB" in text(response)
    assert count(QcImport) == 0


def test_a_file_between_the_apps_body_cap_and_the_files_is_taken(
    app, login, client, instruments, monkeypatch
):
    """The app takes bodies up to 1 MiB; the upload page takes a file up to 5 MiB, also with
    CSRF protection on (it reads the form before any view)."""
    login("technician")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', text(client.get("/qc-imports/new"))
    )
    assert token
    header = b"Sample Name,Live Cell Count (cells/mL),Viability (%),Comment\n"
    row = b"=T00012600009974,2150000,88," + b"c" * 60 + b"\n"
    content = header + row * 16_000
    assert 1024 * 1024 < len(content) < instrument_files.MAX_BYTES

    response = client.post(
        "/qc-imports/new",
        data=upload_form(content, instruments["countess"], csrf_token=token.group(1)),
        content_type="multipart/form-data",
    )

    assert response.status_code == 302, text(response)[:500]
    assert count(QcImport) == 1


def test_a_job_shows_its_progress_and_the_page_polls_it(
    app, login, client, instruments, product, monkeypatch
):
    monkeypatch.setitem(app.config, "QC_IMPORT_JOB_RESULTS", 1)
    units = [product(), product()]
    login("technician")
    content = COUNTER_CSV + b"".join(f"{u.barcode_data},2150000,88\n".encode() for u in units)
    sent = client.post(
        "/qc-imports/new",
        data=upload_form(content, instruments["countess"]),
        content_type="multipart/form-data",
    )
    db.session.rollback()
    client.post(f"{sent.location}/confirm")
    db.session.rollback()

    page = text(client.get(sent.location))
    db.session.rollback()
    poll = re.search(r'data-job-poll="([^"]+)"', page)
    assert poll and "js/progress.js" in page
    deadline = time.monotonic() + 60
    while True:
        state = client.get(poll.group(1)).get_json()
        db.session.rollback()
        if state["finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert state["status"] == "done" and state["progress"] == state["total"] == 4
    assert state["summary"] == "Imported: 4 results recorded, 0 refused."
