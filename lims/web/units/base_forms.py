"""The pieces every unit form is built from: the service-facing form classes and field helpers.

``ServiceForm`` is what lets a form speak the service's language: it turns itself into the
dict the service takes (``to_data``) and knows which input a service field name refers to
(``field_for``), so the service's messages land beside the input they are about.
``VersionedForm`` adds the unit's version, for every lifecycle action's form.

This module imports none of its siblings; the action forms (``forms``, ``qc_forms``,
``signature_forms``, ``storage_forms``, ``bedside_forms``) import it, and ``forms`` gathers
them all into ``ACTION_FORMS``, so the imports run one way and never in a circle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, FieldList, HiddenField
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

CHOOSE = SelectChoice("", "Choose…")
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
# What an action's page says when its form cannot be read (each field says why); the unit
# page and the scan station's batch both show it.
UNREADABLE = "Nothing was saved: some entries could not be read; see the marked fields."


def number_input(**render) -> dict[str, Any]:
    return {"inputmode": "decimal", "autocomplete": "off", **render}


def text_input(max_length: int, **render) -> dict[str, Any]:
    return {"maxlength": max_length, "autocomplete": "off", **render}


def present(value: Any) -> bool:
    return value is not None and value != ""


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the user left empty, so the service reports it as missing."""
    return {k: v for k, v in data.items() if present(v)}


def local_time_field(label: str, description: str | None = None) -> DateTimeLocalField:
    return DateTimeLocalField(
        label, format=LOCAL_FORMATS, validators=[Optional()], description=description
    )


def aware(value: datetime | None, zone: ZoneInfo) -> str | None:
    """A wall-clock time from a datetime-local input, read in the site's zone, as ISO 8601."""
    return value.replace(tzinfo=zone).isoformat() if value else None


def code_input(max_length: int, **render) -> dict[str, Any]:
    """A scanned or typed code: no capitals fixed by the keyboard, no spell checking."""
    return text_input(max_length, autocapitalize="characters", spellcheck="false", **render)


# The pick lists of register codes the action page renders (``<datalist>``): a scanner types the
# code into the same box, or the user picks an item or lot by its name.
EQUIPMENT_LIST = "equipment-options"
LOT_LIST = "lot-options"


def register_input(list_id: str, **render) -> dict[str, Any]:
    return code_input(40, list=list_id, **render)


def deviation_number(value: str | None) -> int | str | None:
    """A cited deviation's number as typed; left as text when it is not one (the service says)."""
    text = (value or "").strip().lstrip("#")
    return int(text) if text.isdigit() else text or None


def stripped(value: str | None) -> str:
    return (value or "").strip()


def filled_rows(rows: FieldList) -> list[int]:
    return [i for i, row in enumerate(rows) if not row.form.is_empty()]


def row_field(rows: FieldList, filled: list[int], parts: list[str], first: str) -> Field | None:
    """The input a service message about ``<list>.<n>[.<field>]`` is about, if any.

    The service counts only the rows it was sent (the filled ones); a message about the list
    as a whole belongs at the top of the page, so it has no field.
    """
    if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= len(filled):
        return None
    row = rows[filled[int(parts[1])]].form
    return getattr(row, parts[2] if len(parts) > 2 else first, None)


class ServiceForm(FlaskForm):
    """A form whose fields are named as the service names them, unless ``ALIASES`` says."""

    ALIASES: ClassVar[dict[str, str]] = {}

    def to_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def field_for(self, name: str) -> Field | None:
        name = self.ALIASES.get(name, name)
        return getattr(self, name, None) if isinstance(getattr(self, name, None), Field) else None

    def add_error(self, name: str, message: str) -> bool:
        """Attach a service message to the field it is about; False if no field matches."""
        field = self.field_for(name)
        if field is None or isinstance(field, HiddenField):
            return False
        if message not in field.errors:
            field.errors = [*field.errors, message]
        return True


class VersionedForm(ServiceForm):
    """An action's form carries the unit's version from when it was shown."""

    version = HiddenField(validators=[InputRequired("the form lost the unit's version; reload")])

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

    def validate_version(self, field: HiddenField) -> None:
        if self.expected_version() is None:
            raise ValidationError("the form's unit version is not a number; reload the page")

    def prefill(self, args: Any) -> None:
        """Fill in a choice that can only be one way, or that a link asked for (``args``)."""
