"""The register's forms. They only read what was typed; the equipment service checks the
values and the role (one set of rules for the pages and the API)."""

from __future__ import annotations

from typing import Any

from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain.materials import EQUIPMENT_KINDS
from ...models import Equipment, Location
from ..units.base_forms import CHOOSE, ServiceForm, compact, stripped, text_input

INTERVAL_INPUT = {"inputmode": "numeric", "min": 1, "max": 3650, "autocomplete": "off"}


def _interval(label: str, description: str) -> IntegerField:
    return IntegerField(
        label, validators=[Optional()], description=description, render_kw=INTERVAL_INPUT
    )


class EquipmentForm(ServiceForm):
    """Register an item, or edit one (the form then shows what the register holds)."""

    name = StringField("Name", render_kw=text_input(120, autofocus=True))
    kind = SelectField(
        "Kind",
        choices=[CHOOSE] + [SelectChoice(k, v) for k, v in EQUIPMENT_KINDS.items()],
        validate_choice=False,
    )
    model = StringField("Manufacturer and model", render_kw=text_input(120))
    serial_number = StringField("Serial number", render_kw=text_input(80))
    location = SelectField("Location", validate_choice=False)
    calibration_interval_days = _interval(
        "Calibration interval (days)",
        "how long a calibration or qualification is valid when its certificate gives no date",
    )
    maintenance_interval_days = _interval(
        "Maintenance every (days)", "the next maintenance falls due this many days after one"
    )
    submit = SubmitField("Register")

    def __init__(self, *args: Any, places: list[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location.choices = [SelectChoice("", "— not recorded —")] + [
            SelectChoice(p.code, f"{p.path} ({p.code})") for p in places if p.kind != "position"
        ]

    def fill_from(self, item: Equipment) -> None:
        self.name.data = item.name
        self.kind.data = item.kind
        self.model.data = item.model or ""
        self.serial_number.data = item.serial_number or ""
        self.location.data = item.location.code if item.location else ""
        self.calibration_interval_days.data = item.calibration_interval_days
        self.maintenance_interval_days.data = item.maintenance_interval_days

    def to_data(self) -> dict[str, Any]:
        return {
            "name": stripped(self.name.data),
            "kind": self.kind.data or "",
            "model": stripped(self.model.data) or None,
            "serial_number": stripped(self.serial_number.data) or None,
            "location": self.location.data or None,
            "calibration_interval_days": self.calibration_interval_days.data,
            "maintenance_interval_days": self.maintenance_interval_days.data,
        }


RECORD_KINDS = [
    SelectChoice("calibration", "Calibration"),
    SelectChoice("qualification", "Qualification (IQ/OQ/PQ)"),
    SelectChoice("maintenance", "Maintenance"),
]


class RecordForm(ServiceForm):
    kind = RadioField("What was done", choices=RECORD_KINDS, validate_choice=False)
    performed_on = DateField("Performed on", validators=[Optional()])
    performed_by = StringField(
        "Performed by", description="the person or service company", render_kw=text_input(120)
    )
    certificate_ref = StringField(
        "Certificate or report reference",
        description="required for a calibration or qualification",
        render_kw=text_input(120),
    )
    valid_until = DateField(
        "Valid until",
        validators=[Optional()],
        description="calibration or qualification: the last valid day (empty: the item's "
        "calibration interval counts from the day performed)",
    )
    notes = TextAreaField("Notes", render_kw={"maxlength": 2000, "rows": 3})
    submit = SubmitField("Record")

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "kind": self.kind.data,
                "performed_on": self.performed_on.data,
                "performed_by": stripped(self.performed_by.data),
                "certificate_ref": stripped(self.certificate_ref.data),
                "valid_until": self.valid_until.data,
                "notes": stripped(self.notes.data),
            }
        )


class StatusForm(ServiceForm):
    status = RadioField(
        "Status",
        choices=[
            SelectChoice("in_service", "In service"),
            SelectChoice("out_of_service", "Out of service"),
        ],
        validate_choice=False,
    )
    reason = TextAreaField(
        "Reason",
        description="required to take it out of service (kept in the ledger)",
        render_kw={"maxlength": 2000, "rows": 3},
    )
    submit = SubmitField("Change status")

    def to_data(self) -> dict[str, Any]:
        return compact({"status": self.status.data, "reason": stripped(self.reason.data)})
