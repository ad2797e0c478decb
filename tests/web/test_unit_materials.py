"""The unit page, the custody report (page and PDF) and QA's permit form: what touched a unit,
with each item's calibration at the time, and a permit a step then cites."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdfium2
from sqlalchemy import select

from lims.extensions import db
from lims.models import Deviation, Equipment
from lims.models.types import utcnow
from tests.service.lab import BENCH_EQUIPMENT, BENCH_LOTS, CABINET

from .conftest import text_of
from .test_action_forms import make_product


def test_the_unit_page_lists_the_equipment_and_lots_of_its_lineage(login, register, users):
    made = make_product(register, users)
    page = text_of(login("clinician").get(f"/units/{made.id}"))
    cabinet = db.session.scalar(select(Equipment).where(Equipment.code == CABINET))
    assert "Equipment and reagent lots" in page
    assert f"{CABINET} Bench biosafety cabinet (biosafety cabinet)" in page
    assert f"calibrated until {cabinet.calibration_valid_until.isoformat()}" in page
    assert f"{BENCH_LOTS['collagenase']} collagenase: Bench collagenase (Bench Supplies)" in page
    assert "Used at (Europe/Berlin)" in page


def test_the_custody_report_and_its_pdf_list_them_too(login, register, users):
    made = make_product(register, users)
    client = login("qa")
    page = text_of(client.get(f"/audit/units/{made.id}/report"))
    assert "Equipment and reagent lots used, as they stood then" in page
    assert BENCH_EQUIPMENT["centrifuge"] in page
    response = client.get(f"/audit/units/{made.id}/report.pdf")
    assert response.status_code == 200
    pdf = pypdfium2.PdfDocument(io.BytesIO(response.data))
    text = " ".join(page.get_textpage().get_text_range() for page in pdf)
    assert "Equipment and reagent lots used" in text
    assert BENCH_LOTS["collagenase"] in text.replace("\r", "").replace("\n", "")


def test_qa_permits_a_lapsed_centrifuge_and_the_step_form_cites_it(login, unit_in):
    unit = unit_in("in_processing")
    centrifuge = db.session.scalar(
        select(Equipment).where(Equipment.code == BENCH_EQUIPMENT["centrifuge"])
    )
    centrifuge.calibration_valid_until = utcnow().date() - timedelta(days=2)
    db.session.commit()
    client = login("qa")
    form = client.get(f"/units/{unit.id}/permit-equipment")
    assert form.status_code == 200
    assert f'value="{centrifuge.code}"' in form.get_data(as_text=True)  # offered: it is refused
    empty = client.post(f"/units/{unit.id}/permit-equipment", data={"equipment": centrifuge.code})
    assert empty.status_code == 422
    assert "say why the use is permitted" in text_of(empty)
    done = client.post(
        f"/units/{unit.id}/permit-equipment",
        data={"equipment": centrifuge.code, "reason": "one spin; calibration booked tomorrow"},
    )
    assert done.status_code == 302
    permit = db.session.scalar(select(Deviation).where(Deviation.unit_id == unit.id))
    assert permit.equipment_id == centrifuge.id and permit.is_open
    page = text_of(client.get(f"/units/{unit.id}"))
    assert "Use of refused equipment permitted" in page
