"""The import API: upload (multipart) → 201 with the preview, read it a page at a time,
confirm → 200 (or 202 with the job); every refusal a 4xx in the one error shape with nothing
stored, and every answer as the OpenAPI document says."""

from __future__ import annotations

import io
import time
from typing import Any

import jsonschema_rs
import pytest
from sqlalchemy import func, select

from lims.domain import instrument_files
from lims.domain.codes import make_equipment_code
from lims.domain.identifiers import make_wristband
from lims.extensions import db
from lims.models import QcImport, QcResult
from tests.api.test_api_openapi import conforms

from .conftest import KIT_LOT, sample_file

COUNTER_CSV = b"Sample Name,Live Cell Count (cells/mL),Viability (%)\n"


@pytest.fixture
def post(client, token):
    def _post(path: str, as_: str | None = "technician", **kwargs: Any):
        headers = token(as_) if as_ else {}
        return client.post(f"/api/v1{path}", headers=headers, **kwargs)

    return _post


@pytest.fixture
def get(client, token):
    def _get(path: str, as_: str = "technician"):
        return client.get(f"/api/v1{path}", headers=token(as_))

    return _get


def form(content: bytes, instrument: str, file_format: str = "cell_counter", **extra: Any):
    return {
        "file": (io.BytesIO(content), "nc200-run.csv"),
        "format": file_format,
        "instrument": instrument,
        "lot": KIT_LOT,
        **extra,
    }


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def doc(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def answer_conforms(doc, response, path: str, method: str) -> None:
    op = doc["paths"][f"/api/v1{path}"][method]
    schema = op["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    conforms(response.get_json(), schema, doc)


def test_upload_preview_and_confirm(post, get, doc, instruments, product):
    units = {1: product(), 2: product(), 3: product()}
    content = sample_file("nucleocounter_nc200.csv", units)

    uploaded = post(
        "/qc-imports",
        data=form(content, instruments["counter"]),
        content_type="multipart/form-data",
    )

    assert uploaded.status_code == 201, uploaded.get_json()
    body = uploaded.get_json()
    assert uploaded.headers["Location"].endswith(f"/api/v1/qc-imports/{body['id']}")
    answer_conforms(doc, uploaded, "/qc-imports", "post")
    assert body["status"] == "previewed" and body["filename"] == "nc200-run.csv"
    assert body["counts"] == {"ready": 6, "refused": 4, "skipped": 0, "imported": 0}
    assert body["instrument"]["code"] == instruments["counter"]
    first = body["rows"][0]
    assert first["unit_id"] == units[1].id and first["value"] == 21_500_000
    assert first["verdict"] == "pass" and first["lot"] == KIT_LOT
    assert body["summary"] == "Previewed: 6 results ready to import, 4 refused."

    page = get(f"/qc-imports/{body['id']}?status=refused&limit=3")
    assert page.status_code == 200
    answer_conforms(doc, page, "/qc-imports/{import_id}", "get")
    assert [r["line"] for r in page.get_json()["rows"]] == [13, 13, 14]
    assert page.get_json()["next_offset"] == 3
    rest = get(f"/qc-imports/{body['id']}?status=refused&offset=3").get_json()
    assert len(rest["rows"]) == 1 and rest["next_offset"] is None

    done = post(f"/qc-imports/{body['id']}/confirm")
    assert done.status_code == 200, done.get_json()
    answer_conforms(doc, done, "/qc-imports/{import_id}/confirm", "post")
    assert done.get_json()["status"] == "imported" and done.get_json()["imported_count"] == 6
    assert count(QcResult) == 6
    again = post(f"/qc-imports/{body['id']}/confirm")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_confirmed"
    assert count(QcResult) == 6


@pytest.mark.parametrize(
    ("role", "upload", "confirm"),
    [("qa", 201, 403), ("clinician", 403, 403), ("admin", 403, 403), (None, 401, 401)],
)
def test_who_may_upload_and_confirm(post, instruments, product, role, upload, confirm, users):
    content = COUNTER_CSV + f"{product().barcode_data},2150000,88\n".encode()
    response = post(
        "/qc-imports",
        as_=role,
        data=form(content, instruments["countess"]),
        content_type="multipart/form-data",
    )
    assert response.status_code == upload
    technician_upload = post(
        "/qc-imports",
        data=form(content, instruments["countess"]),
        content_type="multipart/form-data",
    ).get_json()["id"]

    assert post(f"/qc-imports/{technician_upload}/confirm", as_=role).status_code == confirm
    assert count(QcResult) == 0


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "field"),
    [
        ({"json": {"format": "cell_counter"}}, 415, "wrong_content_type", None),
        ({"data": {"format": "cell_counter", "instrument": "x"}}, 422, None, "file"),
        ({"data": "extra"}, 422, None, "colour"),
        ({"data": "twice"}, 422, None, "format"),
        ({"data": "binary"}, 422, "unreadable_file", "file"),
        ({"data": "unknown format"}, 422, None, "format"),
        ({"data": "no such instrument"}, 422, "unknown_equipment", "instrument"),
        ({"data": "a wristband"}, 422, "wrong_kind", "instrument"),
        ({"data": "mapping for a counter"}, 422, "unreadable_file", "mapping"),
        ({"data": "too large"}, 413, "too_large", None),
    ],
)
def test_refusals_are_4xx_and_store_nothing(
    post, instruments, product, users, kwargs, status, code, field
):
    good = COUNTER_CSV + b"=T00012600009974,2150000,88\n"
    code_of = instruments["countess"]
    cases = {
        "extra": {**form(good, code_of), "colour": "blue"},
        "twice": {**form(good, code_of), "format": ["cell_counter", "endotoxin"]},
        "binary": form(b"\x89PNG\r\n\x1a\n\x00\x00\x00", code_of),
        "unknown format": form(good, code_of, "spectro"),
        "no such instrument": form(good, make_equipment_code("T0001", 999_998)),
        "a wristband": form(good, make_wristband("T0001", 1)),
        "mapping for a counter": form(good, code_of, mapping='{"sample": "x"}'),
        "too large": form(COUNTER_CSV + b"x" * instrument_files.MAX_BYTES, code_of),
    }
    if isinstance(kwargs.get("data"), str):
        kwargs = {"data": cases[kwargs["data"]], "content_type": "multipart/form-data"}
    elif "data" in kwargs:
        kwargs = {**kwargs, "content_type": "multipart/form-data"}

    response = post("/qc-imports", **kwargs)

    assert response.status_code == status, response.get_data()[:300]
    error = response.get_json()["error"]
    if code:
        assert error["code"] == code, error
    if field:
        assert field in error["fields"], error
    assert count(QcImport) == 0


def test_the_documented_upload_takes_what_the_api_takes(doc):
    schema = doc["paths"]["/api/v1/qc-imports"]["post"]["requestBody"]["content"]
    body = schema["multipart/form-data"]["schema"]
    validator = jsonschema_rs.validator_for(
        {**body, "components": doc["components"]}, validate_formats=True
    )
    good = {"file": "…", "format": "cell_counter", "instrument": "ET0001000002G", "lot": "L"}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "format": "spectro"})
    assert not validator.is_valid({**good, "colour": "blue"})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "file"})
    assert {r["field"] for r in doc["paths"]["/api/v1/qc-imports"]["post"]["x-rules"]} == {
        "file",
        "mapping",
        "instrument",
        "lot",
    }
    confirm = doc["paths"]["/api/v1/qc-imports/{import_id}/confirm"]["post"]["responses"]
    assert {"200", "202", "409"} <= set(confirm)


def test_a_large_import_answers_202_with_its_job(
    app, post, get, doc, instruments, product, monkeypatch
):
    monkeypatch.setitem(app.config, "QC_IMPORT_JOB_RESULTS", 3)  # four results: a job
    made = [product(), product()]
    content = COUNTER_CSV + b"".join(f"{u.barcode_data},2150000,88\n".encode() for u in made)
    imp = post(
        "/qc-imports",
        data=form(content, instruments["countess"]),
        content_type="multipart/form-data",
    ).get_json()
    db.session.rollback()

    accepted = post(f"/qc-imports/{imp['id']}/confirm")
    db.session.rollback()

    assert accepted.status_code == 202
    answer_conforms(doc, accepted, "/qc-imports/{import_id}/confirm", "post")
    assert accepted.get_json()["job"]["total"] == 4
    deadline = time.monotonic() + 60
    while True:
        state = get(f"/qc-imports/{imp['id']}").get_json()
        db.session.rollback()
        if state["status"] == "imported" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert state["status"] == "imported" and state["job"]["status"] == "done"
    assert state["job"]["progress"] == 4 and state["imported_count"] == 4
