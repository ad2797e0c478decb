"""Booking, moving and cancelling appointments: times are typed in the site's local time
(the label names the zone) and sent to the service with that zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ..units.base_forms import aware, local_time_field

KINDS = [SelectChoice("collection", "Collection"), SelectChoice("injection", "Injection")]
ANY = SelectChoice("", "Any of the patient's products")


class BookingForm(FlaskForm):
    kind = RadioField("Appointment", choices=KINDS, validate_choice=False)
    scheduled_at = local_time_field("When")
    unit_id = SelectField(
        "Product to inject",
        choices=[ANY],
        validate_choice=False,
        description="Injection only; leave it to compare every live product with the date.",
    )
    notes = TextAreaField("Notes", render_kw={"maxlength": 500, "rows": 2})
    submit = SubmitField("Book appointment")

    def __init__(self, *args: Any, zone: str = "UTC", products=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.scheduled_at.label.text = f"When ({zone})"
        self.unit_id.choices = [("", "Any of the patient's products")] + [
            (
                str(u.id),
                f"{u.unit_type} · {u.product_code} {u.division} · {u.status.replace('_', ' ')}",
            )
            for u in products
        ]

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind.data,
            "scheduled_at": aware(self.scheduled_at.data, self.zone),
            "unit_id": int(self.unit_id.data) if (self.unit_id.data or "").isdigit() else None,
            "notes": (self.notes.data or "").strip() or None,
        }
        if self.unit_id.data and data["unit_id"] is None:
            data["unit_id"] = self.unit_id.data  # not a number: the service says so
        return {k: v for k, v in data.items() if v is not None}


class MoveForm(FlaskForm):
    scheduled_at = local_time_field("New time")
    submit = SubmitField("Move appointment")

    def __init__(self, *args: Any, zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.scheduled_at.label.text = f"New time ({zone})"

    def to_data(self) -> dict[str, Any]:
        moment = aware(self.scheduled_at.data, self.zone)
        return {"scheduled_at": moment} if moment else {}


class CancelForm(FlaskForm):
    submit = SubmitField("Cancel appointment")


class DoneForm(FlaskForm):
    submit = SubmitField("Mark as done")
