"""Forms for what happens to a product in the lab's custody: split, store, move, thaw.

Each says where the unit goes (a location code, scanned or typed) or into what it is
divided; the storage service checks the location and its grid position.
"""

from __future__ import annotations

from typing import Any

from wtforms import FieldList, FloatField, Form, FormField, StringField
from wtforms.fields import Field
from wtforms.validators import Optional

from .base_forms import (
    VersionedForm,
    code_input,
    compact,
    filled_rows,
    number_input,
    present,
    row_field,
    text_input,
)

ALIQUOT_ROWS = 6


class MoveForm(VersionedForm):
    location = StringField(
        "Location code",
        description="Scan the location's label (L…) or type its code.",
        render_kw=text_input(40, autofocus=True, autocapitalize="characters", spellcheck="false"),
    )
    storage_temperature_c = FloatField(
        "Storage temperature (°C)",
        validators=[Optional()],
        render_kw=number_input(step="0.1"),
    )

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "location": self.location.data,
                "storage_temperature_c": self.storage_temperature_c.data,
            }
        )


class AliquotRow(Form):
    """One aliquot's volume; a row left empty is ignored."""

    volume_ml = FloatField(
        "Volume (ml)", validators=[Optional()], render_kw=number_input(step="any")
    )

    def is_empty(self) -> bool:
        raw = self.volume_ml.raw_data
        return not present(raw[0] if raw else None)


class SplitForm(VersionedForm):
    aliquots = FieldList(FormField(AliquotRow), min_entries=ALIQUOT_ROWS, max_entries=ALIQUOT_ROWS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        first = self.aliquots[0].form.volume_ml
        first.render_kw = {**first.render_kw, "autofocus": True}
        self._rows: list[int] = []

    def to_data(self) -> dict[str, Any]:
        self._rows = filled_rows(self.aliquots)
        return {
            "aliquots": [{"volume_ml": self.aliquots[i].form.volume_ml.data} for i in self._rows]
        }

    def field_for(self, name: str) -> Field | None:
        parts = name.split(".")
        if parts[0] != "aliquots":
            return super().field_for(name)
        return row_field(self.aliquots, self._rows, parts, "volume_ml")


class StoreForm(MoveForm):
    storage_temperature_c = FloatField(
        "Storage temperature (°C)",
        validators=[Optional()],
        description="The temperature the unit is kept at there.",
        render_kw=number_input(step="0.1"),
    )


class ThawForm(MoveForm):
    location = StringField(
        "Location code (optional)",
        description="Where the thawed unit waits, if it is put somewhere.",
        render_kw=code_input(40),
    )
    storage_temperature_c = FloatField(
        "Temperature after thawing (°C)",
        validators=[Optional()],
        description="Thawed units are kept at 2–25 °C until injection (4 h).",
        render_kw=number_input(step="0.1"),
    )
