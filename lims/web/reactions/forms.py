"""The forms of adverse reactions; the service judges every field (one set of rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain import treatment as rules
from ...domain.signatures import ACTION_MEANINGS
from ...services.audit.adverse_reactions import CLOSE, TEXT_MAX, label

SEVERITY_HINTS = {
    "mild": " (no treatment)",
    "moderate": " (treated)",
    "severe": " (intervention or lasting harm)",
    "life_threatening": "",
    "fatal": "",
}


class _ServiceForm(FlaskForm):
    def show_errors(self, fields: dict[str, str]) -> bool:
        """The service's messages beside their inputs; True if every one found its input."""
        placed = True
        for name, message in fields.items():
            if name in self._fields and name != "csrf_token":
                self[name].errors = [*self[name].errors, message]
            else:
                placed = False
        return placed


class ReportReactionForm(_ServiceForm):
    onset_at = DateTimeLocalField(
        "Onset",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description="When the reaction began (the site's local time).",
    )
    severity = RadioField(
        "Severity",
        choices=[SelectChoice(s, f"{label(s)}{SEVERITY_HINTS[s]}") for s in rules.SEVERITIES],
        validate_choice=False,
    )
    relation = RadioField(
        "Relation to the product (your judgement)",
        choices=[SelectChoice(r, label(r)) for r in rules.RELATIONS],
        validate_choice=False,
    )
    description = TextAreaField(
        "What happened",
        description="Signs, symptoms, treatment given. Do not write the patient's name: the "
        "report QA sends on carries this text.",
        render_kw={"rows": 5, "maxlength": TEXT_MAX},
    )
    patient_id = HiddenField()

    def __init__(self, *args: Any, zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)

    def prefill(self, patient_id: int, now: datetime) -> None:
        """The product's patient, and now (the site's wall clock) as the onset to correct."""
        self.patient_id.data = str(patient_id)
        self.onset_at.data = now.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)

    def to_data(self) -> dict[str, Any]:
        onset = self.onset_at.data
        patient = self.patient_id.data or ""
        return {
            "onset_at": onset.replace(tzinfo=self.zone).isoformat() if onset else None,
            "severity": self.severity.data or None,
            "relation": self.relation.data or None,
            "description": self.description.data or "",
            "patient_id": int(patient) if patient.isdigit() else None,
        }


class NoteForm(_ServiceForm):
    note = TextAreaField(
        "Investigation note",
        description="What was looked into and found. Each note is kept as written.",
        render_kw={"rows": 3, "maxlength": TEXT_MAX},
    )

    def to_data(self) -> dict[str, Any]:
        return {"note": self.note.data or ""}


class CloseReactionForm(_ServiceForm):
    outcome = TextAreaField(
        "QA's conclusion",
        description="The cause found, the relation to the product, what follows (the report "
        "sent on, the lot).",
        render_kw={"rows": 4, "maxlength": TEXT_MAX, "autofocus": True},
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
        choices=[SelectChoice(m.value, m.value) for m in ACTION_MEANINGS[CLOSE]],
        validate_choice=False,
    )

    def prefill(self) -> None:
        self.meaning.data = self.meaning.choices[0].value

    def to_data(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.data or "",
            "password": self.password.data or "",
            "meaning": self.meaning.data or None,
        }
