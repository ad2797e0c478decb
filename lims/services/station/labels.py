"""Labels for units, patients and locations: what each label says (from the catalogue and the
records), who may print it, and the ledger entry for every print so QA can reconcile labels.

A preview (SVG) is not a print and is not recorded; a PDF or ZPL download is. The first print
of a template for a unit, patient or location is ``print_label``; any later one is
``reprint_label`` and needs a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select

from ...db import lock, transaction
from ...domain import codes, identifiers
from ...domain.catalogue import Temperature, unit_type
from ...domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
    from_validation_error,
)
from ...domain.identifiers import MAX_ID
from ...domain.lifecycle import Status
from ...domain.roles import Role
from ...extensions import db
from ...labels import MIMETYPES, STOCKS, Code128, Label, LabelDoesNotFit, render
from ...labels.symbols import DataMatrixUnavailable
from ...models import LedgerEntry, Location, Patient, Unit, User
from ...timefmt import local_time
from .. import access
from ..custody import ledger

UNIT_ROLES = frozenset({Role.TECHNICIAN, Role.QA, Role.ADMIN})
LOCATION_ROLES = UNIT_ROLES
WRISTBAND_ROLES = frozenset({Role.TECHNICIAN, Role.CLINICIAN, Role.QA})
DEFAULT_STOCK = {
    "source_tube": "tube",
    "product_bag": "bag",
    "wristband": "tube",
    "location": "tube",
}
PRINT, REPRINT = "print_label", "reprint_label"
AUTOLOGOUS = "FOR AUTOLOGOUS USE ONLY"
NOT_EVALUATED = "NOT EVALUATED FOR INFECTIOUS SUBSTANCES"
BIOHAZARD = "BIOHAZARD: human cells, handle as potentially infectious"


ZEBRA_DPI = (203, 300)  # the print heads a ZPL label is computed for
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline, return aside


class LabelOptions(BaseModel):
    """How to print: format, stock (default: the template's own), copies, the PDF's page,
    dpi, reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    format: Literal["svg", "pdf", "zpl"] = "svg"
    stock: Literal["tube", "bag"] | None = None
    copies: int = Field(1, ge=1, le=100)
    page: Literal["label", "letter", "a4"] | None = Field(
        None,
        description="the PDF's page: 'label' (the stock's size, one label a page, for a label "
        "printer), 'letter' or 'a4' (sheets); default: 'label' for one copy, 'letter' for more",
    )
    dpi: int = Field(203, json_schema_extra={"enum": list(ZEBRA_DPI)}, description="203 or 300")
    reason: str | None = Field(None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _storable_reason(cls, value: str | None) -> str | None:
        """A reprint's reason is written into the ledger: plain text only."""
        if value is not None and CONTROL_CHARACTER.search(value):
            raise ValueError("a reason may not contain a control character")
        return value

    @field_validator("dpi")
    @classmethod
    def _zebra_dpi(cls, value: int) -> int:
        if value not in ZEBRA_DPI:
            raise ValueError("dpi must be 203 or 300")
        return value

    @property
    def is_print(self) -> bool:
        return self.format != "svg"


@dataclass(frozen=True)
class PrintedLabel:
    content: bytes
    mimetype: str
    filename: str
    action: str | None  # the ledger action, None for a preview


def options_from(data: Mapping[str, Any] | LabelOptions | None) -> LabelOptions:
    if isinstance(data, LabelOptions):
        return data
    cleaned = {k: v for k, v in (data or {}).items() if v not in (None, "")}
    try:
        return LabelOptions.model_validate(cleaned)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _check_role(user: User, roles: frozenset[Role], what: str) -> None:
    if user.role not in {r.value for r in roles}:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"{what} labels are printed by {allowed}; you are {user.role}")


def _din(din: str) -> tuple[str, str]:
    body, _, check = identifiers.eye_readable(din).rpartition(" ")
    return body, check


def _quantity(unit: Unit) -> str:
    volume = f"Volume {unit.volume_ml:g} mL"
    if not unit.cell_count:
        return volume
    return f"{volume} / {unit.cell_count / 1e6:.3g} × 10^6 cells"


def storage_text(storage: Temperature) -> str:
    """The storage range in words ("at or below"): unambiguous, and no ≤ glyph needed on a printer."""
    text = str(storage)
    for sign, words in (("≤ ", "at or below "), ("≥ ", "at or above ")):
        if text.startswith(sign):
            return words + text[len(sign) :]
    return f"at {text}"


def unit_warnings(unit: Unit) -> tuple[str, ...]:
    """The warnings of 21 CFR 1271.90(c) for a unit, all of them autologous here: "NOT EVALUATED
    FOR INFECTIOUS SUBSTANCES" unless its collection's donor testing is recorded as performed.
    Not recorded (a unit registered before the field existed) is labelled as not performed:
    the label never claims a testing nobody recorded (decision 99)."""
    if unit.donor_testing == "performed":
        return (AUTOLOGOUS,)
    return (AUTOLOGOUS, NOT_EVALUATED)


def facility_lines() -> tuple[str, ...]:
    """Who processes and releases the product, and where (21 CFR 1271.370(c)(1))."""
    config = current_app.config
    name = f"Processed by {config['FACILITY_NAME']} ({config['FACILITY_CODE']})"
    address = (config.get("FACILITY_ADDRESS") or "").strip()
    return (name, address) if address else (name,)


def _course_line(unit: Unit) -> tuple[str, ...]:
    """The therapy course's chain-of-identity identifier (decision 104), when it has one."""
    return (f"Chain of identity {unit.chain_of_identity}",) if unit.chain_of_identity else ()


def source_tube(unit: Unit) -> Label:
    """Six lines at most fit a 2" × 1" tube at the smallest text: the facility's name and
    address are left to the product bag (the tube never leaves the facility); the warnings
    are not."""
    kind, patient = unit.kind, unit.patient
    lines = (
        kind.name,
        f"Collected {local_time(unit.collected_at)}  {_quantity(unit)}",
        f"{patient.name}, MRN {patient.mrn}",
        f"Site: {unit.collection_site or '—'}  Anticoagulant: {kind.anticoagulant or 'none'}",
    )
    return Label(
        "source_tube",
        lines,
        (Code128(unit.barcode_data),),
        _din(unit.din),
        warnings=unit_warnings(unit),
    )


def product_bag(unit: Unit) -> Label:
    kind, patient = unit_type(unit.unit_type), unit.patient
    birth = patient.birth_date.isoformat() if patient.birth_date else "—"
    lines = (
        f"Product {unit.product_code}  Division {unit.division}",
        kind.name,
        f"Patient: {patient.name}",
        f"MRN {patient.mrn}, born {birth}",
        f"Expires {local_time(unit.expires_at)}",
        f"Store {storage_text(kind.storage)}",
        _quantity(unit),
        *_course_line(unit),
        *facility_lines(),
    )
    product = codes.product_barcode_data(unit.product_code, unit.division)
    course = (
        (Code128(identifiers.coi_barcode_data(unit.chain_of_identity), unit.chain_of_identity),)
        if unit.chain_of_identity
        else ()
    )
    return Label(
        "product_bag",
        lines,
        (
            Code128(unit.barcode_data),
            Code128(product, f"{unit.product_code} {unit.division}"),
            *course,
        ),
        _din(unit.din),
        datamatrix=codes.unit_datamatrix_data(unit.barcode_data, unit.product_code, unit.division),
        warnings=(*unit_warnings(unit), BIOHAZARD),
    )


def wristband(patient: Patient) -> Label:
    birth = patient.birth_date.isoformat() if patient.birth_date else "—"
    lines = (patient.name, f"Born {birth}", f"ID {patient.wristband}")
    return Label("wristband", lines, (Code128(patient.wristband),))


def location_label(location: Location) -> Label:
    lines = (location.path, f"{location.kind}: {location.name}", location.code)
    return Label("location", lines, (Code128(location.code),))


def unit_label(unit: Unit) -> Label:
    return source_tube(unit) if unit.kind.is_source else product_bag(unit)


def _render(label: Label, options: LabelOptions, name: str) -> tuple[bytes, str]:
    stock_name = options.stock or DEFAULT_STOCK[label.kind]
    try:
        content = render(
            label,
            STOCKS[stock_name],
            options.format,
            copies=options.copies,
            dpi=options.dpi,
            page=options.page,
        )
    except LabelDoesNotFit as exc:
        raise Invalid(str(exc), code="label_does_not_fit", fields={"stock": str(exc)}) from None
    except DataMatrixUnavailable as exc:
        raise Unavailable(str(exc), code="datamatrix_unavailable") from None
    return content, f"{name}-{label.kind}-{stock_name}.{options.format}"


def _print_data(label: Label, options: LabelOptions, about: dict[str, int]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "template": label.kind,
        "stock": options.stock or DEFAULT_STOCK[label.kind],
        "format": options.format,
        "copies": options.copies,
        **about,
    }
    if options.format == "zpl":
        data["dpi"] = options.dpi
    return data


def _printed_before(unit: Unit | None, template: str, about: dict[str, int]) -> bool:
    """Has this template been printed for this unit (or patient/location) before?"""
    stmt = select(LedgerEntry.data).where(LedgerEntry.action.in_((PRINT, REPRINT)))
    if unit is not None:
        stmt = stmt.where(LedgerEntry.unit_id == unit.id)
    else:
        ((key, value),) = about.items()
        stmt = stmt.where(
            LedgerEntry.unit_id.is_(None), LedgerEntry.data.contains(f'"{key}":{value}')
        )
    for raw in db.session.scalars(stmt):
        data = json.loads(raw)
        if data.get("template") == template and all(data.get(k) == v for k, v in about.items()):
            return True
    return False


class JobDraft(Protocol):
    def add(self, action: str) -> dict[str, Any]:
        """Make the print job inside the print's transaction; what the entry says of it."""


def _record(
    unit: Unit | None,
    label: Label,
    options: LabelOptions,
    actor: User,
    about: dict[str, int],
    job: JobDraft | None = None,
) -> str:
    """One ledger entry per print job, in its own transaction; a job sent to a printer
    (``services.station.printing``) is made in it and named by the entry."""
    with transaction():
        lock("lims.labels")
        if unit is not None:
            db.session.refresh(unit)  # discarded meanwhile? then no print is recorded
            _refuse_final(unit)
        reprint = _printed_before(unit, label.kind, about)
        if reprint and not options.reason:
            raise Invalid(
                "this label was printed before; a reprint needs a reason",
                code="reason_required",
                fields={"reason": "required for a reprint"},
            )
        movement = ledger.movement_of(unit, before=_state(unit)) if unit else _nowhere()
        data = _print_data(label, options, about)
        if job is not None:
            data |= job.add(REPRINT if reprint else PRINT)
        ledger.append(
            unit=unit,
            action=REPRINT if reprint else PRINT,
            actor=actor,
            movement=movement,
            data=data,
            reason=options.reason,
        )
    return REPRINT if reprint else PRINT


def _state(unit: Unit) -> dict[str, Any]:
    return {
        "status": unit.status,
        "custodian_id": unit.custodian_id,
        "location_id": unit.location_id,
    }


def _nowhere() -> ledger.Movement:
    return ledger.Movement(None, None, None, None, None, None)


def _deliver(
    unit: Unit | None,
    label: Label,
    options: LabelOptions,
    actor: User,
    about: dict[str, int],
    name: str,
) -> PrintedLabel:
    content, filename = _render(label, options, name)
    action = _record(unit, label, options, actor, about) if options.is_print else None
    return PrintedLabel(content, MIMETYPES[options.format], filename, action)


def print_unit_label(
    unit_id: int | str, data: Mapping[str, Any] | LabelOptions | None, actor: User
) -> PrintedLabel:
    """The unit's label (source tube or product bag); refused for a unit in a final status."""
    _check_role(actor, UNIT_ROLES, "unit")
    unit = access.require_unit(actor, unit_id)
    options = options_from(data)
    _refuse_final(unit)
    return _deliver(unit, unit_label(unit), options, actor, {}, unit.din)


def _refuse_final(unit: Unit) -> None:
    if Status(unit.status).is_final:
        raise Conflict(
            f"unit {unit.label} is {Status(unit.status).label}: no label may be printed for it",
            code="final_status",
        )


def _get(model: type, ident: int | str, what: str):
    if isinstance(ident, str) and ident.isascii() and ident.isdigit():
        ident = int(ident)
    found = db.session.get(model, ident) if isinstance(ident, int) and 0 < ident <= MAX_ID else None
    if found is None:
        raise NotFound(f"no {what} with id {str(ident)[:40]!r}")
    return found


def print_patient_label(
    patient_id: int | str, data: Mapping[str, Any] | LabelOptions | None, actor: User
) -> PrintedLabel:
    _check_role(actor, WRISTBAND_ROLES, "wristband")
    patient = access.require_patient(actor, patient_id)  # a clinician: their own (decision 61)
    options = options_from(data)
    return _deliver(
        None, wristband(patient), options, actor, {"patient_id": patient.id}, patient.wristband
    )


def print_location_label(
    location_id: int | str, data: Mapping[str, Any] | LabelOptions | None, actor: User
) -> PrintedLabel:
    _check_role(actor, LOCATION_ROLES, "location")
    location = _get(Location, location_id, "location")
    options = options_from(data)
    return _deliver(
        None, location_label(location), options, actor, {"location_id": location.id}, location.code
    )
