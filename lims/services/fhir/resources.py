"""Patients and units as FHIR R4 resources, JSON-ready dicts (docs/fhir.md has the tables).

- ``Patient``: MRN and wristband as identifiers, name, birth date.
- ``Specimen``: a source collection (lipoaspirate, marrow, blood).
- ``BiologicallyDerivedProduct``: a product or aliquot; R5's elements that R4 lacks (the DIN
  as ``biologicalSourceEvent``, ``division``, ``processingFacility``, ``productStatus``,
  ``expirationDate``, ``storageTempRequirements``) travel as the standard R5 cross-version
  extensions, so an R4 reader keeps them and an R5 one knows them.
- ``Procedure``: an administration, naming the product in ``usedReference`` (decision 107).

No patient name leaves in a unit's resource (a webhook carries it): a reference to
``Patient/<id>`` and identifiers only. Identifier systems are ours (decision 108).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from ...domain.catalogue import THAWED_STORAGE, Temperature
from ...domain.status import Status
from ...extensions import db
from ...models import LedgerEntry, Patient, Unit
from ...models.site import Site

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"

# Identifier and code systems (decision 108): URNs of this LIMS, the same in every installation.
BASE = "urn:cell-lims:"
MRN = f"{BASE}mrn"
WRISTBAND = f"{BASE}wristband"
DIN = f"{BASE}isbt128:din"  # ISBT 128 Donation Identification Number, 13 characters
UNIT = f"{BASE}isbt128:unit"  # DIN + product code + division: one container
PRODUCT_CODE = f"{BASE}product-code"  # the catalogue's product description codes
FACILITY = f"{BASE}isbt128:facility"  # ISBT 128 facility identification number
CHAIN_OF_IDENTITY = f"{BASE}isbt128:chain-of-identity"  # ST-028, one per therapy course
LEDGER_ENTRY = f"{BASE}ledger-entry"  # the custody ledger's sequence number
LIFECYCLE_STATUS = f"{BASE}fhir:StructureDefinition/lifecycle-status"  # our status, exactly
SOURCE_SPECIMEN = f"{BASE}fhir:StructureDefinition/source-specimen"  # the collection it came from
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
UCUM = "http://unitsofmeasure.org"
R5_BDP = "http://hl7.org/fhir/5.0/StructureDefinition/extension-BiologicallyDerivedProduct."
R5_PRODUCT_STATUS = "http://hl7.org/fhir/biologicallyderived-product-status"

# The lifecycle's statuses → R4's BiologicallyDerivedProduct.status (available | unavailable)
# and R5's productStatus (available | allocated | disposed | expired | unavailable).
PRODUCT_STATUS: dict[Status, tuple[str, str]] = {
    Status.COLLECTED: ("unavailable", "unavailable"),
    Status.IN_TRANSIT: ("unavailable", "unavailable"),
    Status.RECEIVED: ("unavailable", "unavailable"),
    Status.IN_PROCESSING: ("unavailable", "unavailable"),
    Status.PROCESSED: ("unavailable", "unavailable"),
    Status.QUARANTINE: ("unavailable", "unavailable"),
    Status.RELEASED: ("available", "available"),
    Status.DISPENSED: ("unavailable", "allocated"),
    Status.ADMINISTERED: ("unavailable", "unavailable"),
    Status.RETURNED: ("unavailable", "unavailable"),
    Status.REJECTED: ("unavailable", "disposed"),
    Status.DISCARDED: ("unavailable", "disposed"),
    Status.EXPIRED: ("unavailable", "expired"),
}
# The lifecycle's statuses → R4's Specimen.status.
SPECIMEN_STATUS: dict[Status, str] = {
    Status.COLLECTED: "available",
    Status.IN_TRANSIT: "available",
    Status.RECEIVED: "available",
    Status.IN_PROCESSING: "available",
    Status.PROCESSED: "unavailable",  # used up: its products carry on
    Status.QUARANTINE: "available",
    Status.RELEASED: "available",
    Status.DISPENSED: "unavailable",
    Status.ADMINISTERED: "unavailable",
    Status.RETURNED: "available",
    Status.REJECTED: "unsatisfactory",
    Status.DISCARDED: "unavailable",
    Status.EXPIRED: "unavailable",
}


def instant(moment: datetime | None) -> str | None:
    """A FHIR dateTime in UTC to the second (``2026-12-07T05:18:03Z``)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _drop_empty(resource: dict[str, Any]) -> dict[str, Any]:
    """FHIR forbids empty elements: no None, no [] and no {}."""
    return {k: v for k, v in resource.items() if v not in (None, [], {})}


def reference(kind: str, ident: int) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def is_source(unit: Unit) -> bool:
    return unit.kind.is_source


def _chain(unit: Unit) -> list[dict[str, Any]]:
    """The therapy course's chain-of-identity identifier (decision 104), when it has one."""
    code = unit.chain_of_identity
    if not code:
        return []
    return [{"use": "secondary", "system": CHAIN_OF_IDENTITY, "value": code}]


def _lifecycle(unit: Unit) -> dict[str, Any]:
    return {"url": LIFECYCLE_STATUS, "valueCode": unit.status}


def _product_code(unit: Unit) -> dict[str, Any]:
    kind = unit.kind
    return {
        "coding": [{"system": PRODUCT_CODE, "code": unit.product_code, "display": kind.name}],
        "text": kind.name,
    }


def _milliliters(value: float | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": float(value), "unit": "mL", "system": UCUM, "code": "mL"}


# ---------------------------------------------------------------------------- resources


def patient(record: Patient) -> dict[str, Any]:
    return _drop_empty(
        {
            "resourceType": "Patient",
            "id": str(record.id),
            "identifier": [
                {
                    "use": "usual",
                    "type": {
                        "coding": [
                            {"system": V2_0203, "code": "MR", "display": "Medical record number"}
                        ]
                    },
                    "system": MRN,
                    "value": record.mrn,
                },
                {
                    "use": "secondary",
                    "type": {"text": "Wristband"},
                    "system": WRISTBAND,
                    "value": record.wristband,
                },
            ],
            "active": True,
            "name": [{"use": "official", "text": record.name}],
            "birthDate": _day(record.birth_date),
        }
    )


def specimen(unit: Unit) -> dict[str, Any]:
    """A source collection: where and when it was taken, how much, and its status."""
    status = Status(unit.status)
    return _drop_empty(
        {
            "resourceType": "Specimen",
            "id": str(unit.id),
            "extension": [_lifecycle(unit)],
            "identifier": [
                {"use": "official", "system": DIN, "value": unit.din},
                *_chain(unit),
            ],
            "accessionIdentifier": {"system": DIN, "value": unit.din},
            "status": SPECIMEN_STATUS[status],
            "type": _product_code(unit),
            "subject": reference("Patient", unit.patient_id),
            "receivedTime": instant(unit.received_at),
            "collection": _drop_empty(
                {
                    "collectedDateTime": instant(unit.collected_at),
                    "quantity": _milliliters(unit.volume_ml),
                    "bodySite": {"text": unit.collection_site} if unit.collection_site else None,
                    "collector": (
                        {"display": unit.collected_by.full_name} if unit.collected_by else None
                    ),
                }
            ),
        }
    )


def _storage(unit: Unit) -> Temperature:
    return THAWED_STORAGE if unit.thawed_at else unit.kind.storage


def _range(storage: Temperature) -> dict[str, Any]:
    def bound(value: float | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"value": value, "unit": "°C", "system": UCUM, "code": "Cel"}

    return _drop_empty({"low": bound(storage.low_c), "high": bound(storage.high_c)})


def _set_point(storage: Temperature) -> float:
    """R4's one storage temperature: the middle of a closed range, else its one bound."""
    if storage.low_c is not None and storage.high_c is not None:
        return (storage.low_c + storage.high_c) / 2
    return float(storage.high_c if storage.high_c is not None else storage.low_c or 0)


def _site(unit: Unit) -> Site | None:
    return db.session.get(Site, unit.site_id) if unit.site_id else None


def _source_collection(unit: Unit) -> Unit:
    return unit.lineage()[-1]


def product(unit: Unit) -> dict[str, Any]:
    """A product or aliquot (not a source collection: that is a ``Specimen``)."""
    status = Status(unit.status)
    r4_status, r5_status = PRODUCT_STATUS[status]
    storage = _storage(unit)
    site = _site(unit)
    source = _source_collection(unit)
    parent = unit.parent
    facility = (
        {"identifier": {"system": FACILITY, "value": site.code}, "display": site.name}
        if site
        else None
    )
    extensions = [
        {
            "url": R5_BDP + "biologicalSourceEvent",
            "valueIdentifier": {"system": DIN, "value": unit.din},
        },
        {"url": R5_BDP + "division", "valueString": unit.division},
        {
            "url": R5_BDP + "productStatus",
            "valueCodeableConcept": {"coding": [{"system": R5_PRODUCT_STATUS, "code": r5_status}]},
        },
        {"url": R5_BDP + "storageTempRequirements", "valueRange": _range(storage)},
        _lifecycle(unit),
    ]
    if facility:
        extensions.insert(2, {"url": R5_BDP + "processingFacility", "valueReference": facility})
    if unit.expires_at:
        extensions.append(
            {"url": R5_BDP + "expirationDate", "valueDateTime": instant(unit.expires_at)}
        )
    if source.id != unit.id:
        extensions.append(
            {"url": SOURCE_SPECIMEN, "valueReference": reference("Specimen", source.id)}
        )
    return _drop_empty(
        {
            "resourceType": "BiologicallyDerivedProduct",
            "id": str(unit.id),
            "extension": extensions,
            "identifier": [
                {"use": "official", "system": DIN, "value": unit.din},
                {
                    "system": UNIT,
                    "value": f"{unit.din} {unit.product_code} {unit.division}",
                },
                *_chain(unit),
            ],
            "productCategory": "cells",
            "productCode": _product_code(unit),
            "status": r4_status,
            "quantity": 1,
            "parent": (
                [reference("BiologicallyDerivedProduct", parent.id)]
                if parent is not None and not is_source(parent)
                else []
            ),
            "collection": {
                "source": reference("Patient", unit.patient_id),
                "collectedDateTime": instant(source.collected_at),
            },
            # made when its parent was processed or split (``created_at``: that moment)
            "processing": [
                _drop_empty(
                    {
                        "description": (
                            f"made from {parent.din} {parent.product_code} {parent.division}"
                            if parent is not None
                            else "made"
                        )
                        + (f" at {site.name}" if site else ""),
                        "timeDateTime": instant(unit.created_at),
                    }
                )
            ],
            "storage": [
                _drop_empty(
                    {
                        "description": f"{storage}" + (" (thawed)" if unit.thawed_at else ""),
                        "temperature": _set_point(storage),
                        "scale": "celsius",
                        "duration": {"end": instant(unit.expires_at)} if unit.expires_at else None,
                    }
                )
            ],
        }
    )


def unit_resource(unit: Unit) -> dict[str, Any]:
    """A collection as a Specimen, anything made from one as a BiologicallyDerivedProduct."""
    return specimen(unit) if is_source(unit) else product(unit)


def administration_entry(unit: Unit) -> LedgerEntry | None:
    """The ledger entry that recorded the unit's administration, if it was administered."""
    return db.session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.unit_id == unit.id, LedgerEntry.action == "administer")
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    )


def administration(unit: Unit, entry: LedgerEntry) -> dict[str, Any]:
    """The administration of ``unit`` as recorded by ``entry`` (decision 107: a Procedure)."""
    data = json.loads(entry.data or "{}")  # the action's fields and what it recorded
    site, method, volume = data.get("site"), data.get("method"), data.get("volume_ml")
    details = "; ".join(
        part
        for part in (
            f"method: {method}" if method else "",
            f"volume: {volume:g} mL" if isinstance(volume, int | float) else "",
            "wristband matched" if data.get("identity_check", {}).get("result") == "match" else "",
        )
        if part
    )
    return _drop_empty(
        {
            "resourceType": "Procedure",
            "id": str(unit.id),
            "identifier": [{"system": LEDGER_ENTRY, "value": str(entry.seq)}],
            "status": "completed",
            "code": {"text": f"Administration of {unit.kind.name}"},
            "subject": reference("Patient", unit.patient_id),
            "performedDateTime": instant(unit.administered_at or entry.recorded_at),
            "recorder": {"display": entry.actor_name},
            "performer": [{"actor": {"display": entry.actor_name}}],
            "bodySite": [{"text": f"scalp, {site}"}] if site else [],
            "usedReference": [reference("BiologicallyDerivedProduct", unit.id)],
            "note": [{"text": details}] if details else [],
        }
    )


def outcome(status: int, message: str, code: str) -> dict[str, Any]:
    """An OperationOutcome: FHIR's error body (``code`` is FHIR's issue type)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": code,
                "diagnostics": message,
            }
        ],
    }


# HTTP status → FHIR issue type (http://hl7.org/fhir/issue-type).
ISSUE_TYPE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    422: "processing",
    429: "throttled",
}


def issue_type(status: int) -> str:
    return ISSUE_TYPE.get(status, "exception")
