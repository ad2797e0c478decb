"""The forms of the reagent-lot pages: a lot received, and QA's signed acceptance or
rejection. The reagents service judges every value (one set of rules with the API)."""

from __future__ import annotations

import contextlib
from typing import Any

from wtforms import DateField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain.materials import QUANTITY_UNITS, reagent_names
from ...services.materials.reagents import (
    APPROVED,
    REASON_MAX,
    REJECTED_MEANING,
    STORAGE_CONDITIONS,
)
from ..units.base_forms import CHOOSE, ServiceForm, number_input, text_input

PASSWORD_INPUT = {
    "autocomplete": "current-password",
    "maxlength": 1024,
    "autocapitalize": "none",
    "spellcheck": "false",
}


class ReceiveLotForm(ServiceForm):
    reagent = SelectField(
        "Reagent",
        choices=[CHOOSE, *(SelectChoice(r, r) for r in reagent_names())],
        validate_choice=False,
        description="what the protocol steps ask for",
    )
    product_name = StringField("Product", render_kw=text_input(120))
    manufacturer = StringField("Manufacturer", render_kw=text_input(120))
    lot_number = StringField(
        "Lot number",
        description="as printed on the container",
        render_kw=text_input(60, autocapitalize="characters", spellcheck="false"),
    )
    expires_on = DateField(
        "Use by",
        validators=[Optional()],
        description="the last day the lot may be used",
    )
    storage = SelectField(
        "Storage",
        choices=[CHOOSE, *(SelectChoice(s, s) for s in STORAGE_CONDITIONS)],
        validate_choice=False,
    )
    quantity = StringField("Quantity received", render_kw=number_input(maxlength=20))
    quantity_unit = SelectField(
        "Unit",
        choices=[CHOOSE, *(SelectChoice(u, u) for u in QUANTITY_UNITS)],
        validate_choice=False,
    )
    coa_ref = StringField(
        "Certificate of analysis",
        description="its number or reference",
        render_kw=text_input(120, spellcheck="false"),
    )

    def to_data(self) -> dict[str, Any]:
        """What was entered; an empty field is left out so the service names it missing, and a
        quantity that is no number is passed on as typed, for the service to say so."""
        quantity: Any = (self.quantity.data or "").strip().replace(",", ".")
        with contextlib.suppress(ValueError):
            quantity = float(quantity) if quantity else None
        data = {
            "reagent": self.reagent.data or None,
            "product_name": self.product_name.data or None,
            "manufacturer": self.manufacturer.data or None,
            "lot_number": self.lot_number.data or None,
            "expires_on": self.expires_on.data.isoformat() if self.expires_on.data else None,
            "storage": self.storage.data or None,
            "quantity": quantity,
            "quantity_unit": self.quantity_unit.data or None,
            "coa_ref": self.coa_ref.data or None,
        }
        return {k: v for k, v in data.items() if v is not None}


class AcceptLotForm(ServiceForm):
    password = PasswordField(
        "Your password",
        description="Your signature: enter your password again.",
        render_kw=PASSWORD_INPUT,
    )
    meaning = RadioField(
        "Meaning of your signature",
        choices=[SelectChoice(APPROVED, APPROVED)],
        validate_choice=False,
        default=APPROVED,
    )

    def to_data(self) -> dict[str, Any]:
        return {"password": self.password.data or "", "meaning": self.meaning.data or None}


class RejectLotForm(ServiceForm):
    """Beside the acceptance on one page: its inputs keep the names the signing throttle
    looks for (``password``) under ids of their own."""

    reason = TextAreaField(
        "Why the lot is rejected",
        render_kw={"rows": 3, "maxlength": REASON_MAX},
    )
    password = PasswordField(
        "Your password",
        description="Your signature: enter your password again.",
        render_kw=PASSWORD_INPUT,
        id="reject-password",
    )
    meaning = RadioField(
        "Meaning of your signature",
        choices=[SelectChoice(REJECTED_MEANING, REJECTED_MEANING)],
        validate_choice=False,
        default=REJECTED_MEANING,
        id="reject-meaning",
    )

    def to_data(self) -> dict[str, Any]:
        return {
            "reason": self.reason.data or "",
            "password": self.password.data or "",
            "meaning": self.meaning.data or None,
        }
