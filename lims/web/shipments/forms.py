"""The shipments pages' forms. They only read what was typed or scanned; the shipments
service checks the values, the role, the sites and the state (one set of rules for the pages
and the API)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from wtforms import (
    FloatField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain.shipments import CONDITIONS
from ...models import Site
from ..units.base_forms import (
    CHOOSE,
    ServiceForm,
    aware,
    code_input,
    compact,
    local_time_field,
    stripped,
    text_input,
)


def _site_id(value: str | None) -> int | str | None:
    """A chosen site's id as the service takes it; anything else as sent (it says why)."""
    text = stripped(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else text or None


def site_choices(sites: Iterable[Site]) -> list[SelectChoice]:
    return [SelectChoice(str(s.id), f"{s.name} ({s.code})") for s in sites]


def scanned_lines(text: str | None) -> list[str]:
    """The codes of a "one code per line" box, in the order scanned, blank lines left out."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ShipmentForm(ServiceForm):
    """A new shipment: where from (one of the user's sites), where to, and how it travels."""

    from_site = SelectField("From", validate_choice=False)
    to_site = SelectField("To", validate_choice=False, render_kw={"autofocus": True})
    container = StringField(
        "Container",
        description="what the units travel in, e.g. insulated box 12 L",
        render_kw=text_input(120),
    )
    courier = StringField("Courier", render_kw=text_input(120))
    tracking_number = StringField("Tracking number", render_kw=code_input(80))
    condition = SelectField(
        "Shipping condition",
        choices=[CHOOSE] + [SelectChoice(c.key, c.label) for c in CONDITIONS.values()],
        description="the temperature range the shipment must arrive in",
        validate_choice=False,
    )
    logger_id = StringField(
        "Temperature logger",
        description="the logger's id, if one travels in the box",
        render_kw=code_input(80),
    )
    note = TextAreaField("Note", render_kw={"maxlength": 2000, "rows": 3})
    submit = SubmitField("Create shipment")

    def __init__(
        self, *args: Any, senders: Sequence[Site], receivers: Sequence[Site], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.from_site.choices = site_choices(senders)
        if len(senders) != 1:
            self.from_site.choices = [CHOOSE, *self.from_site.choices]
        self.to_site.choices = [CHOOSE, *site_choices(receivers)]

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "from_site": _site_id(self.from_site.data),
                "to_site": _site_id(self.to_site.data),
                "container": stripped(self.container.data),
                "courier": stripped(self.courier.data),
                "tracking_number": stripped(self.tracking_number.data),
                "condition": self.condition.data,
                "logger_id": stripped(self.logger_id.data),
                "note": stripped(self.note.data),
            }
        )


class ScanItemForm(ServiceForm):
    """Scan one unit into the shipment being packed: its DIN barcode or its Data Matrix."""

    code = StringField(
        "Scan a unit into the shipment",
        description="its DIN barcode or the label's Data Matrix; or type the DIN with its "
        "check character",
        render_kw=code_input(200, autofocus=True, enterkeyhint="enter"),
    )
    submit = SubmitField("Add unit")

    def to_data(self) -> dict[str, Any]:
        return compact({"code": stripped(self.code.data)})


class RemoveItemForm(ServiceForm):
    submit = SubmitField("Remove")


class DispatchForm(ServiceForm):
    """The packer sends the shipment; a second person who checked the packing confirms with
    their own username and password."""

    checked_by = StringField(
        "Checked by (username)",
        description="the second person who checked what was packed",
        render_kw=text_input(80, autocapitalize="none", spellcheck="false"),
    )
    checked_by_password = PasswordField(
        "Their password",
        description="typed by them; never kept on this page",
        render_kw={
            "autocomplete": "off",
            "maxlength": 200,
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )
    expected_by = local_time_field(
        "Expected arrival", "optional; the configured transit time from now if left empty"
    )
    submit = SubmitField("Dispatch shipment")

    def __init__(self, *args: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "checked_by": stripped(self.checked_by.data),
                "checked_by_password": self.checked_by_password.data or "",
                "expected_by": aware(self.expected_by.data, self.zone),
            }
        )


class CancelForm(ServiceForm):
    reason = StringField(
        "Reason",
        description="why the shipment will not leave (kept in the ledger)",
        render_kw=text_input(500),
    )
    submit = SubmitField("Cancel shipment")

    def to_data(self) -> dict[str, Any]:
        return compact({"reason": stripped(self.reason.data)})


class ReceiveForm(ServiceForm):
    """Scan the shipment in: the arrival temperature, every unit's code (one per line; the
    page's scan box adds them), the units found damaged, and a note when anything is not as
    sent."""

    arrival_temperature_c = FloatField(
        "Arrival temperature (°C)",
        validators=[Optional()],
        description="read on opening the box (the logger's, or measured)",
        # no inputmode: a tablet's decimal keypad may lack the minus a frozen shipment needs
        render_kw={"step": "0.1", "autocomplete": "off"},
    )
    scanned = TextAreaField(
        "Scanned codes, one per line",
        description="each unit's DIN barcode or Data Matrix, as scanned",
        render_kw={
            "maxlength": 20000,
            "rows": 5,
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
        },
    )
    damaged = SelectMultipleField("Damaged", choices=[], validate_choice=False)
    note = TextAreaField(
        "Note",
        description="required when a unit is missing, damaged or not on the manifest, or the "
        "temperature is outside the shipping condition: what you found and what you did",
        render_kw={"maxlength": 2000, "rows": 3},
    )
    submit = SubmitField("Receive shipment")

    def codes(self) -> list[str]:
        return scanned_lines(self.scanned.data)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scanned": self.codes(),
            "damaged": [c for c in (self.damaged.data or []) if stripped(c)],
        }
        if self.arrival_temperature_c.data is not None:
            data["arrival_temperature_c"] = float(self.arrival_temperature_c.data)
        if stripped(self.note.data):
            data["note"] = stripped(self.note.data)
        return data
