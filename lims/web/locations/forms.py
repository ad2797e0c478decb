"""The admin's form to create a location; the locations service checks the values."""

from __future__ import annotations

from typing import Any, ClassVar

from wtforms import IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...models import Location
from ...models.location import LOCATION_KINDS
from ..units.base_forms import ServiceForm

# Positions are made by their box (one per cell of its grid), never one by one.
KINDS = [k for k in LOCATION_KINDS if k != "position"]


class LocationForm(ServiceForm):
    ALIASES: ClassVar[dict[str, str]] = {"location": "parent"}

    name = StringField("Name", render_kw={"maxlength": 120, "autocomplete": "off"})
    kind = SelectField(
        "Kind",
        choices=[SelectChoice("", "Choose…")] + [SelectChoice(k, k.capitalize()) for k in KINDS],
        validate_choice=False,
    )
    parent = SelectField("Inside", validate_choice=False)
    rows = IntegerField(
        "Rows",
        validators=[Optional()],
        description="a box only: rows A, B, C …",
        render_kw={"inputmode": "numeric", "min": 1, "max": 26},
    )
    columns = IntegerField(
        "Columns",
        validators=[Optional()],
        description="a box only: columns 1, 2, 3 …",
        render_kw={"inputmode": "numeric", "min": 1, "max": 26},
    )
    # Where a top-level place is (decision 103); a place inside another is at its site.
    site = SelectField(
        "Site",
        choices=[],
        validate_choice=False,
        description="for a top-level place; one inside another is at its site",
    )
    submit = SubmitField("Create location")

    def __init__(
        self,
        *args: Any,
        places: list[Location],
        sites: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.site.choices = [SelectChoice(str(i), name) for i, name in (sites or [])]
        self.parent.choices = [SelectChoice("", "— nothing (a top-level place) —")] + [
            SelectChoice(p.code, f"{p.path} ({p.code})") for p in places if p.kind != "position"
        ]

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name.data or "",
            "kind": self.kind.data or "",
            "parent": self.parent.data or None,
            "rows": self.rows.data,
            "columns": self.columns.data,
            "site_id": int(self.site.data) if (self.site.data or "").isdigit() else None,
        }
