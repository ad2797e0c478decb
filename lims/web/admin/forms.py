"""The form to publish the next version of a QC specification.

It only collects the values: a limit that is not a number is passed through as typed, so
the QC service refuses it with its own message (one set of rules for web and API).
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from ...domain import qc
from ..units.base_forms import ServiceForm


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _limit(text: str | None) -> float | str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return text


def _plain(number: float) -> str:
    """A limit as one types it: 1000000, 0.5 (never 1e+06)."""
    return f"{number:f}".rstrip("0").rstrip(".")


class SpecForm(ServiceForm):
    operator = SelectField(
        "Operator",
        choices=[SelectChoice(op, f"{text} ({op})") for op, text in qc.OPERATOR_TEXT.items()],
        validate_choice=False,
    )
    limit = StringField("Limit", render_kw={"inputmode": "decimal", "autocomplete": "off"})
    accept = CheckboxesField("Results that pass", validate_choice=False)
    required = BooleanField("Required before release")
    pending_at_release = BooleanField("A pending result may be released (the release is flagged)")
    reason = TextAreaField(
        "Reason for the change",
        description="kept with the version, e.g. a validation report or a regulator's letter",
        render_kw={"maxlength": 500},
    )
    submit = SubmitField("Publish new version")

    def __init__(self, *args: Any, test: qc.QcTest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.test = test
        self.limit.description = f"in {test.unit}" if test.unit else None
        self.accept.choices = [SelectChoice(w, w) for w in test.words if w != "pending"]

    @property
    def shown(self) -> list[str]:
        """The fields that make sense for this test."""
        fields = ["operator", "limit"] if self.test.is_numeric else ["accept"]
        fields.append("required")
        if "pending" in self.test.words:
            fields.append("pending_at_release")
        return fields

    def prefill(self, spec: qc.Spec | None) -> None:
        if spec is None:
            self.required.data = True
            return
        self.operator.data = spec.operator
        self.limit.data = _plain(spec.limit) if spec.limit is not None else ""
        self.accept.data = list(spec.accept)
        self.required.data = spec.required
        self.pending_at_release.data = spec.pending_at_release

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"required": bool(self.required.data)}
        if self.test.is_numeric:
            data.update(operator=self.operator.data or None, limit=_limit(self.limit.data))
        else:
            data["accept"] = list(self.accept.data or [])
        if "pending" in self.test.words:
            data["pending_at_release"] = bool(self.pending_at_release.data)
        return data
