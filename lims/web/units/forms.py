"""Forms for registering a collection and for each lifecycle action.

The forms only collect and coerce input (a number is a number, a date is a date); the
service decides what is valid. Each form turns itself into the dict the service takes
(``to_data``) and knows which of its fields a service field name refers to (``field_for``),
so the service's messages land beside the input they are about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from ...domain.catalogue import CATALOGUE, SOURCE_TYPES, products_of

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
CHOOSE = SelectChoice("", "Choose…")
PRODUCT_ROWS = 3


def _number(**render) -> dict[str, Any]:
    return {"inputmode": "decimal", "autocomplete": "off", **render}


def _text(max_length: int, **render) -> dict[str, Any]:
    return {"maxlength": max_length, "autocomplete": "off", **render}


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the user left empty, so the service reports it as missing."""
    return {k: v for k, v in data.items() if _present(v)}


def _yes_no(value: str | None) -> bool | str | None:
    return {"yes": True, "no": False}.get(value or "", value)


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


def site_groups() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Every collection site in the catalogue, grouped by the source type it belongs to."""
    return [
        (key, CATALOGUE[key].name, [(s, s.capitalize()) for s in CATALOGUE[key].collection_sites])
        for key in SOURCE_TYPES
    ]


class RegisterForm(ServiceForm):
    ALIASES: ClassVar[dict[str, str]] = {
        "patient.mrn": "mrn",
        "patient.name": "name",
        "patient.birth_date": "birth_date",
        "patient": "mrn",
        "type": "unit_type",
    }

    mrn = StringField("Medical record number", render_kw=_text(32, autofocus=True))
    name = StringField("Patient name", render_kw=_text(120, autocomplete="off"))
    birth_date = DateField("Birth date", validators=[Optional()])
    unit_type = SelectField(
        "Material",
        choices=[CHOOSE] + [SelectChoice(k, CATALOGUE[k].name) for k in SOURCE_TYPES],
        validate_choice=False,
    )
    collection_site = SelectField("Collection site", choices=[CHOOSE], validate_choice=False)
    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=_number())
    collected_at = DateTimeLocalField(
        "Collected at", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()]
    )
    submit = SubmitField("Register collection")

    def __init__(self, *args, zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.site_groups = site_groups()
        self.collection_site.choices = [CHOOSE] + [
            SelectChoice(value, text, optgroup=name)
            for _, name, choices in self.site_groups
            for value, text in choices
        ]

    def collected_at_aware(self) -> datetime | None:
        """The entered wall-clock time, read in the site's zone (a form knows no zone)."""
        value = self.collected_at.data
        return value.replace(tzinfo=self.zone) if value else None

    def to_data(self) -> dict[str, Any]:
        collected = self.collected_at_aware()
        birth = self.birth_date.data
        return _compact(
            {
                "patient": _compact(
                    {
                        "mrn": self.mrn.data,
                        "name": self.name.data,
                        "birth_date": birth.isoformat() if birth else None,
                    }
                ),
                "type": self.unit_type.data,
                "collection_site": self.collection_site.data,
                "volume_ml": self.volume_ml.data,
                "collected_at": collected.isoformat() if collected else None,
            }
        )


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


class DispatchForm(VersionedForm):
    courier = StringField("Courier", render_kw=_text(120, autofocus=True))
    transport_condition = StringField(
        "Transport condition",
        render_kw=_text(120, list="transport-conditions", placeholder="e.g. cool box 2–8 °C"),
    )

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {"courier": self.courier.data, "transport_condition": self.transport_condition.data}
        )


class ReceiveForm(VersionedForm):
    temperature_c = FloatField(
        "Temperature at receipt (°C)",
        validators=[Optional()],
        render_kw=_number(autofocus=True, step="0.1"),
    )
    container_intact = RadioField("Container intact?", choices=YES_NO, validate_choice=False)
    label_matches = RadioField("Label matches the scan?", choices=YES_NO, validate_choice=False)
    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=_number())
    deviation_note = TextAreaField(
        "Deviation note",
        description="Only if something is outside acceptance and you accept it anyway.",
        render_kw={"maxlength": 2000, "rows": 3},
    )

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {
                "temperature_c": self.temperature_c.data,
                "container_intact": _yes_no(self.container_intact.data),
                "label_matches": _yes_no(self.label_matches.data),
                "volume_ml": self.volume_ml.data,
                "deviation_note": (self.deviation_note.data or "").strip(),
            }
        )


class StartProcessingForm(VersionedForm):
    protocol = StringField("Protocol", render_kw=_text(120, autofocus=True))
    equipment = StringField("Equipment", render_kw=_text(120))

    def to_data(self) -> dict[str, Any]:
        return _compact({"protocol": self.protocol.data, "equipment": self.equipment.data})


class MoveForm(VersionedForm):
    location = StringField(
        "Location code",
        description="Scan the location's label (L…) or type its code.",
        render_kw=_text(40, autofocus=True, autocapitalize="characters", spellcheck="false"),
    )
    storage_temperature_c = FloatField(
        "Storage temperature (°C)",
        validators=[Optional()],
        render_kw=_number(step="0.1"),
    )

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {
                "location": self.location.data,
                "storage_temperature_c": self.storage_temperature_c.data,
            }
        )


class ProductRow(Form):
    """One product made by processing; a row left empty is ignored."""

    type = SelectField("Product", choices=[SelectChoice("", "—")], validate_choice=False)
    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=_number())
    cell_count = IntegerField(
        "Cell count", validators=[Optional()], render_kw=_number(inputmode="numeric")
    )

    def is_empty(self) -> bool:
        return not any(
            _present(f.raw_data[0] if f.raw_data else None)
            for f in (self.type, self.volume_ml, self.cell_count)
        )

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {
                "type": self.type.data,
                "volume_ml": self.volume_ml.data,
                "cell_count": self.cell_count.data,
            }
        )


class CompleteProcessingForm(VersionedForm):
    products = FieldList(FormField(ProductRow), min_entries=PRODUCT_ROWS, max_entries=PRODUCT_ROWS)
    notes = TextAreaField("Notes", render_kw={"maxlength": 2000, "rows": 3})

    def __init__(self, *args, source_type: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.product_types = products_of(source_type)
        choices = [
            SelectChoice("", "—"),
            *(SelectChoice(k, f"{k} · {CATALOGUE[k].name}") for k in self.product_types),
        ]
        for row in self.products:
            row.form.type.choices = choices
        self._rows: list[int] = []  # filled rows, in the order the service sees them

    def suggest_product(self) -> None:
        """When the source makes exactly one product type, choose it in the first row."""
        if len(self.product_types) == 1:
            self.products[0].form.type.data = self.product_types[0]

    def to_data(self) -> dict[str, Any]:
        self._rows = [i for i, row in enumerate(self.products) if not row.form.is_empty()]
        return _compact(
            {
                "products": [self.products[i].form.to_data() for i in self._rows],
                "notes": (self.notes.data or "").strip(),
            }
        )

    def field_for(self, name: str) -> Field | None:
        parts = name.split(".")
        if parts[0] != "products":
            return super().field_for(name)
        if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= len(self._rows):
            return None  # about the list as a whole: the message at the top says it
        index = int(parts[1])
        row = self.products[self._rows[index]].form
        if len(parts) == 2:
            return row.type
        return getattr(row, parts[2], None)


class ReasonForm(VersionedForm):
    reason = TextAreaField("Reason", render_kw={"maxlength": 500, "rows": 3, "autofocus": True})

    def to_data(self) -> dict[str, Any]:
        return _compact({"reason": (self.reason.data or "").strip()})


ACTION_FORMS: dict[str, type[VersionedForm]] = {
    "dispatch": DispatchForm,
    "receive": ReceiveForm,
    "start_processing": StartProcessingForm,
    "complete_processing": CompleteProcessingForm,
    "reject": ReasonForm,
    "move": MoveForm,
    "discard": ReasonForm,
}
