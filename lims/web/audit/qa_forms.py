"""The forms of QA's audit pages: a receipt pasted back in, and QA's signed decision that
closes a deviation (decision, note, the password again and the signature's meaning)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ...domain.deviations import NOTE_MAX, Decision
from ...domain.signatures import ACTION_MEANINGS
from ...services.audit.deviations import ACTION


class PastedReceiptForm(FlaskForm):
    receipt = TextAreaField(
        "Receipt (JSON)",
        description="Paste a receipt kept outside the database (printed, e-mailed or "
        "downloaded from this list), exactly as it was kept.",
        render_kw={"rows": 5, "maxlength": 4000, "spellcheck": "false", "autocomplete": "off"},
    )


class CloseDeviationForm(FlaskForm):
    """QA's decision and e-signature; the service judges every field (one set of rules)."""

    decision = RadioField(
        "Decision",
        choices=[SelectChoice(d.value, d.label) for d in Decision],
        validate_choice=False,
    )
    note = TextAreaField(
        "Note",
        description="What was decided and why; for an acceptance with conditions, the conditions.",
        render_kw={"rows": 4, "maxlength": NOTE_MAX, "autofocus": True},
    )
    password = PasswordField(
        "Your password",
        description="Your signature: enter your password again.",
        render_kw={
            "autocomplete": "current-password",
            "maxlength": 1024,
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )
    meaning = RadioField(
        "Meaning of your signature",
        choices=[SelectChoice(m.value, m.value) for m in ACTION_MEANINGS[ACTION]],
        validate_choice=False,
    )

    def prefill(self) -> None:
        self.meaning.data = self.meaning.choices[0].value

    def to_data(self) -> dict[str, Any]:
        return {
            "decision": self.decision.data or None,
            "note": self.note.data or "",
            "password": self.password.data or "",
            "meaning": self.meaning.data or None,
        }

    def show_errors(self, fields: dict[str, str]) -> None:
        """The service's messages beside their inputs; the first input to fix takes focus."""
        for name, message in fields.items():
            if name in self._fields:
                self[name].errors = [*self[name].errors, message]
        first = next((f for f in self if f.name in fields and f.name != "csrf_token"), None)
        if first is not None and first is not self.note:
            self.note.render_kw = {k: v for k, v in self.note.render_kw.items() if k != "autofocus"}
            first.render_kw = {**(first.render_kw or {}), "autofocus": True}
