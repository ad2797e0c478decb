"""The form for recording a QC result, or correcting an earlier one.

One form serves every test: the specs in force say which tests may be chosen and whether
a test is read as a number or as a word; the results already recorded are what a
correction may point at. Kept apart because it is the one form built from the QC specs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wtforms import FloatField, SelectField, StringField, TextAreaField
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain.qc import TESTS, Spec
from .base_forms import (
    CHOOSE,
    EQUIPMENT_LIST,
    LOT_LIST,
    VersionedForm,
    compact,
    deviation_number,
    number_input,
    register_input,
    stripped,
    text_input,
)


@dataclass(frozen=True)
class Earlier:
    """A QC result one may correct, as the correction form offers it."""

    id: int
    test: str
    label: str


class RecordQcForm(VersionedForm):
    """One form for every test: a number input and a select of words; the test says which."""

    test = SelectField(
        "Test", choices=[CHOOSE], validate_choice=False, render_kw={"autofocus": True}
    )
    value_number = FloatField(
        "Result (a number)",
        validators=[Optional()],
        description="For a measured test, in the unit its specification names.",
        render_kw=number_input(step="any"),
    )
    value_word = SelectField(
        "Result (a word)",
        choices=[CHOOSE],
        validate_choice=False,
        description="For a test read as a word (stain, culture, mycoplasma).",
    )
    method = StringField("Method", render_kw=text_input(120))
    lot = StringField(
        "Reagent or kit lot",
        description="A lot of the register (scan or pick), or the kit's own lot number.",
        render_kw=register_input(LOT_LIST),
    )
    equipment = StringField(
        "Instrument",
        description="Scan its label or pick it.",
        render_kw=register_input(EQUIPMENT_LIST),
    )
    deviation = StringField(
        "Deviation permitting the instrument",
        description="Only when QA permitted an instrument the register refuses.",
        render_kw=text_input(12, inputmode="numeric"),
    )
    corrects = SelectField(
        "Corrects an earlier result?",
        choices=[SelectChoice("", "No — a new result")],
        validate_choice=False,
    )
    reason = TextAreaField(
        "Reason for the correction",
        description="Only with a correction; the earlier value stays on record.",
        render_kw={"maxlength": 500, "rows": 2},
    )

    def __init__(
        self, *args, specs: Sequence[Spec], earlier: Sequence[Earlier] = (), **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.specs = {s.test: s for s in specs}
        self.earlier = {str(e.id): e for e in earlier}
        self.test.choices = [CHOOSE] + [
            SelectChoice(
                s.test,
                f"{s.qc_test.name} — spec {s.text} (version {s.version})",
                render_kw={
                    "data-kind": "number" if s.qc_test.is_numeric else "word",
                    "data-group": s.qc_test.name,
                },
            )
            for s in specs
        ]
        self.value_word.choices = [CHOOSE] + [
            SelectChoice(word, word, optgroup=s.qc_test.name)
            for s in specs
            for word in s.qc_test.words
        ]
        self.corrects.choices = [self.corrects.choices[0]] + [
            SelectChoice(str(e.id), e.label, render_kw={"data-test": e.test}) for e in earlier
        ]

    def prefill(self, args: Any) -> None:
        """A link may name the test to record or the result to correct."""
        corrected = self.earlier.get(args.get("corrects", ""))
        if corrected is not None:
            self.corrects.data = str(corrected.id)
        test = corrected.test if corrected else args.get("test", "")
        if test in self.specs:
            self.test.data = test

    def chosen_test(self) -> str:
        """The test chosen, or (when left unchosen) the test of the result being corrected."""
        corrected = self.earlier.get(self.corrects.data or "")
        return self.test.data or (corrected.test if corrected else "")

    def _words(self) -> bool:
        test = TESTS.get(self.chosen_test())
        return test is not None and not test.is_numeric

    def field_for(self, name: str) -> Field | None:
        if name == "value":
            return self.value_word if self._words() else self.value_number
        return super().field_for(name)

    def to_data(self) -> dict[str, Any]:
        corrects = stripped(self.corrects.data)
        return compact(
            {
                "test": self.chosen_test(),
                "value": self.value_word.data if self._words() else self.value_number.data,
                "method": stripped(self.method.data),
                "lot": stripped(self.lot.data),
                "equipment": stripped(self.equipment.data),
                "deviation": deviation_number(self.deviation.data),
                "corrects": int(corrects) if corrects.isdigit() else corrects,
                "reason": stripped(self.reason.data),
            }
        )
