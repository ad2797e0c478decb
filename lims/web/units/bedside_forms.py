"""Forms for the product's way to the patient: dispense, administer, return.

These are used at or near the bedside: the patient's wristband is scanned and checked
against the unit, and the clinician records where on the scalp, how and how much was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from wtforms import FloatField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain.lifecycle import METHODS, SCALP_SITES
from .base_forms import (
    CHOOSE,
    VersionedForm,
    aware,
    code_input,
    compact,
    local_time_field,
    number_input,
    stripped,
    text_input,
)


class DispenseForm(VersionedForm):
    clinician = SelectField(
        "Receiving clinician",
        choices=[CHOOSE],
        validate_choice=False,
        render_kw={"autofocus": True},
    )
    wristband = StringField(
        "Patient's wristband (optional)",
        description="Scan it if the patient is here: it is checked against the unit.",
        render_kw=code_input(40),
    )

    def __init__(self, *args, clinicians: Sequence[tuple[str, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinician.choices = [CHOOSE] + [
            SelectChoice(username, f"{name} ({username})") for username, name in clinicians
        ]

    def to_data(self) -> dict[str, Any]:
        return compact(
            {"clinician": self.clinician.data, "wristband": stripped(self.wristband.data)}
        )


class AdministerForm(VersionedForm):
    wristband = StringField(
        "Patient's wristband",
        description="Scan the wristband on the patient's arm; it must match the unit.",
        render_kw=code_input(40, autofocus=True, enterkeyhint="next"),
    )
    site = SelectField(
        "Site on the scalp",
        choices=[CHOOSE] + [SelectChoice(s, s.capitalize()) for s in SCALP_SITES],
        validate_choice=False,
    )
    method = RadioField(
        "Method", choices=[SelectChoice(m, m.capitalize()) for m in METHODS], validate_choice=False
    )
    volume_ml = FloatField(
        "Volume given (ml)", validators=[Optional()], render_kw=number_input(step="any")
    )
    administered_at = local_time_field("Time given")

    def __init__(self, *args, zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.administered_at.description = f"Local time, {zone}; leave empty for now."

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "wristband": stripped(self.wristband.data),
                "site": self.site.data,
                "method": self.method.data,
                "volume_ml": self.volume_ml.data,
                "administered_at": aware(self.administered_at.data, self.zone),
            }
        )


class ReturnForm(VersionedForm):
    condition = StringField(
        "Condition",
        render_kw=text_input(120, autofocus=True, list="return-conditions"),
    )
    reason = TextAreaField("Reason (optional)", render_kw={"maxlength": 500, "rows": 3})

    def to_data(self) -> dict[str, Any]:
        return compact(
            {"condition": stripped(self.condition.data), "reason": stripped(self.reason.data)}
        )
