"""Rows with known times for the chart statistics, written straight into the tables (test
set-up): products with their milestone times, QC results, published spec versions."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

from lims.domain import qc
from lims.domain.catalogue import CATALOGUE
from lims.extensions import db
from lims.models import Patient, QcResult, QcSpec, Unit, User

_serial = itertools.count(1)


def a_patient() -> Patient:
    n = next(_serial)
    patient = Patient(mrn=f"MRN-S{n}", name=f"Pat {n}", wristband=f"PST{n:08d}")
    db.session.add(patient)
    db.session.flush()
    return patient


def a_unit(
    unit_type: str,
    collected_at: datetime,
    *,
    division: str = "00",
    patient: Patient | None = None,
    **times: datetime,
) -> Unit:
    """A unit of ``unit_type`` collected at ``collected_at``; ``times``: received_at,
    processing_started_at, processed_at, released_at."""
    n = next(_serial)
    unit = Unit(
        din=f"T000126{n:06d}",
        check_character="A",
        product_code=CATALOGUE[unit_type].product_code,
        division=division,
        unit_type=unit_type,
        patient_id=(patient or a_patient()).id,
        status="released" if not CATALOGUE[unit_type].is_source else "processed",
        volume_ml=10,
        collected_at=collected_at,
        # A product row is made when its processing completes.
        created_at=times.pop("created_at", None) or times.get("processed_at") or collected_at,
        **times,
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def a_product(unit_type: str, collected_at: datetime, hours: dict[str, float], **kw) -> Unit:
    """A product whose stages took ``hours`` (keys: transit, waiting, processing,
    qc_release), each starting when the one before ended."""
    received = collected_at + timedelta(hours=hours.get("transit", 1))
    started = received + timedelta(hours=hours.get("waiting", 1))
    processed = started + timedelta(hours=hours.get("processing", 1))
    released = processed + timedelta(hours=hours.get("qc_release", 1))
    return a_unit(
        unit_type,
        collected_at,
        received_at=received,
        processing_started_at=started,
        processed_at=processed,
        released_at=released,
        **kw,
    )


def a_result(
    unit: Unit,
    value: float,
    recorded_at: datetime,
    by: User,
    *,
    test: str = "viability",
    limit: float = 70,
    version: int = 1,
    corrects: QcResult | None = None,
) -> QcResult:
    """A numeric result judged against ``≥ limit`` (version ``version``)."""
    spec = qc.Spec(unit.unit_type, test, version=version, operator=">=", limit=limit)
    result = QcResult(
        unit_id=unit.id,
        test=test,
        value_number=value,
        method="trypan blue",
        lot="TB-1",
        spec_version=version,
        spec=json.dumps(spec.snapshot(), sort_keys=True),
        verdict=qc.judge(spec, value).value,
        recorded_by_id=by.id,
        recorded_at=recorded_at,
        corrects_id=corrects.id if corrects else None,
        reason="typo" if corrects else None,
    )
    db.session.add(result)
    db.session.flush()
    return result


def a_spec_version(
    product_type: str, test: str, limit: float, version: int, at: datetime, by: User
) -> QcSpec:
    row = QcSpec(
        product_type=product_type,
        test=test,
        version=version,
        operator=">=",
        limit=limit,
        accept="[]",
        required=True,
        pending_at_release=False,
        reason="tightened",
        created_by_id=by.id,
        created_at=at,
    )
    db.session.add(row)
    db.session.flush()
    return row
