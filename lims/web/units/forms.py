"""Forms for registering a collection and for each lifecycle action.

The forms only collect and coerce input (a number is a number, a date is a date); the
service decides what is valid. Each form turns itself into the dict the service takes
(``to_data``) and knows which of its fields a service field name refers to (``field_for``),
so the service's messages land beside the input they are about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    PasswordField,
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
from ...domain.lifecycle import METHODS, SCALP_SITES
from ...domain.processing import Step
from ...domain.qc import TESTS, Spec
from ...domain.signatures import ACTION_MEANINGS

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

    def prefill(self, args: Any) -> None:
        """Fill in a choice that can only be one way, or that a link asked for (``args``)."""


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


def _filled_rows(rows: FieldList) -> list[int]:
    return [i for i, row in enumerate(rows) if not row.form.is_empty()]


def _row_field(rows: FieldList, filled: list[int], parts: list[str], first: str) -> Field | None:
    """The input a service message about ``<list>.<n>[.<field>]`` is about, if any.

    The service counts only the rows it was sent (the filled ones); a message about the list
    as a whole belongs at the top of the page, so it has no field.
    """
    if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= len(filled):
        return None
    row = rows[filled[int(parts[1])]].form
    return getattr(row, parts[2] if len(parts) > 2 else first, None)


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

    def prefill(self, args: Any) -> None:
        self.suggest_product()

    def to_data(self) -> dict[str, Any]:
        self._rows = _filled_rows(self.products)
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
        return _row_field(self.products, self._rows, parts, "type")


class ReasonForm(VersionedForm):
    reason = TextAreaField("Reason", render_kw={"maxlength": 500, "rows": 3, "autofocus": True})

    def to_data(self) -> dict[str, Any]:
        return _compact({"reason": (self.reason.data or "").strip()})


# ---------------------------------------------------------------------------- steps, QC, signatures, storage, bedside

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
ALIQUOT_ROWS = 6


def _local_time(label: str, description: str | None = None) -> DateTimeLocalField:
    return DateTimeLocalField(
        label, format=LOCAL_FORMATS, validators=[Optional()], description=description
    )


def _aware(value: datetime | None, zone: ZoneInfo) -> str | None:
    """A wall-clock time from a datetime-local input, read in the site's zone, as ISO 8601."""
    return value.replace(tzinfo=zone).isoformat() if value else None


def _code(max_length: int, **render) -> dict[str, Any]:
    """A scanned or typed code: no capitals fixed by the keyboard, no spell checking."""
    return _text(max_length, autocapitalize="characters", spellcheck="false", **render)


def _strip(value: str | None) -> str:
    return (value or "").strip()


def _password(label: str, description: str | None = None) -> PasswordField:
    """A signature's password: never prefilled and never sent back after a refusal."""
    return PasswordField(
        label,
        description=description,
        render_kw={
            "autocomplete": "current-password",
            "maxlength": 1024,
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )


@dataclass(frozen=True)
class Earlier:
    """A QC result one may correct, as the correction form offers it."""

    id: int
    test: str
    label: str


class RecordStepForm(VersionedForm):
    step = SelectField(
        "Step", choices=[CHOOSE], validate_choice=False, render_kw={"autofocus": True}
    )
    started_at = _local_time("Started at")
    ended_at = _local_time("Ended at")
    reagent = StringField(
        "Reagent",
        description="Filled in from the step; change it if you used another.",
        render_kw=_text(120),
    )
    lot = StringField("Reagent lot", render_kw=_code(40))
    equipment = StringField("Equipment", render_kw=_text(120))
    notes = TextAreaField("Notes", render_kw={"maxlength": 2000, "rows": 3})
    # The step whose reagent the form filled in: if the user picks another step and leaves
    # the reagent as it was, the new step's reagent is meant (without scripts running).
    prefilled_step = HiddenField()

    def __init__(
        self,
        *args,
        steps: Sequence[Step],
        done: Sequence[str] = (),
        zone: str = "UTC",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.started_at.description = self.ended_at.description = f"Local time, {zone}"
        self.steps = {s.key: s for s in steps}
        self.done = set(done)
        self.step.choices = [CHOOSE] + [
            SelectChoice(s.key, self._label(s), render_kw={"data-reagent": s.reagent or ""})
            for s in steps
        ]

    def _label(self, step: Step) -> str:
        text = step.name + (f" · {step.reagent}" if step.reagent else "")
        if not step.required:
            text += " (optional)"
        if step.key in self.done:
            text += " — recorded"
        return text

    def prefill(self, args: Any) -> None:
        """Preselect the step a link asked for, else the next required one not yet recorded."""
        key = args.get("step")
        if key not in self.steps:
            key = next(
                (k for k, s in self.steps.items() if s.required and k not in self.done), None
            )
        if key is None:
            return
        self.step.data = key
        self.reagent.data = self.steps[key].reagent or ""
        self.prefilled_step.data = key

    def _reagent(self) -> str:
        reagent = _strip(self.reagent.data)
        chosen, filled = (
            self.steps.get(self.step.data or ""),
            self.steps.get(self.prefilled_step.data or ""),
        )
        if chosen and filled and chosen is not filled and reagent == (filled.reagent or ""):
            return chosen.reagent or ""
        return reagent

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {
                "step": self.step.data,
                "started_at": _aware(self.started_at.data, self.zone),
                "ended_at": _aware(self.ended_at.data, self.zone),
                "reagent": self._reagent(),
                "lot": _strip(self.lot.data),
                "equipment": _strip(self.equipment.data),
                "notes": _strip(self.notes.data),
            }
        )


class RecordQcForm(VersionedForm):
    """One form for every test: a number input and a select of words; the test says which."""

    test = SelectField(
        "Test", choices=[CHOOSE], validate_choice=False, render_kw={"autofocus": True}
    )
    value_number = FloatField(
        "Result (a number)",
        validators=[Optional()],
        description="For a measured test, in the unit its specification names.",
        render_kw=_number(step="any"),
    )
    value_word = SelectField(
        "Result (a word)",
        choices=[CHOOSE],
        validate_choice=False,
        description="For a test read as a word (stain, culture, mycoplasma).",
    )
    method = StringField("Method", render_kw=_text(120))
    lot = StringField("Reagent or kit lot", render_kw=_code(40))
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
        corrects = _strip(self.corrects.data)
        return _compact(
            {
                "test": self.chosen_test(),
                "value": self.value_word.data if self._words() else self.value_number.data,
                "method": _strip(self.method.data),
                "lot": _strip(self.lot.data),
                "corrects": int(corrects) if corrects.isdigit() else corrects,
                "reason": _strip(self.reason.data),
            }
        )


class SignatureForm(VersionedForm):
    """An electronic signature: the password again, and what the signature means."""

    ACTION: ClassVar[str] = "release"
    SIGNATURE_FIELDS: ClassVar[tuple[str, ...]] = ("password", "meaning")

    password = _password("Your password", "Your signature: enter your password again.")
    meaning = RadioField("Meaning of your signature", choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meaning.choices = [
            SelectChoice(m.value, m.value) for m in ACTION_MEANINGS[self.ACTION]
        ]

    def prefill(self, args: Any) -> None:
        self.meaning.data = self.meaning.choices[0].value

    def other_fields(self) -> list[Field]:
        """What the form records besides the signature, in the order it is filled in."""
        skip = {"csrf_token", "version", *self.SIGNATURE_FIELDS}
        return [f for f in self if f.name not in skip]

    def signature_fields(self) -> list[Field]:
        return [self[name] for name in self.SIGNATURE_FIELDS]

    def to_data(self) -> dict[str, Any]:
        return _compact({"password": self.password.data, "meaning": self.meaning.data})


class ReleaseForm(SignatureForm):
    ACTION = "release"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.password.render_kw = {**self.password.render_kw, "autofocus": True}


class ExceptionalReleaseForm(SignatureForm):
    ACTION = "exceptional_release"
    SIGNATURE_FIELDS = ("physician", "physician_password", "password", "meaning")

    justification = TextAreaField(
        "Justification",
        description="Why this product is released although its QC is incomplete or out "
        "of specification.",
        render_kw={"maxlength": 500, "rows": 4, "autofocus": True},
    )
    physician = SelectField("Physician who co-signs", choices=[CHOOSE], validate_choice=False)
    physician_password = _password(
        "Physician's password", "The physician enters their own password: their signature."
    )

    def __init__(self, *args, clinicians: Sequence[tuple[str, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.physician.choices = [CHOOSE] + [
            SelectChoice(username, f"{name} ({username})") for username, name in clinicians
        ]

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {
                **super().to_data(),
                "justification": _strip(self.justification.data),
                "physician": self.physician.data,
                "physician_password": self.physician_password.data,
            }
        )


class SignedRejectForm(SignatureForm):
    """QA rejects with a reason and signs it; a technician's form asks the reason only."""

    ACTION = "reject"

    reason = TextAreaField("Reason", render_kw={"maxlength": 500, "rows": 3, "autofocus": True})

    def to_data(self) -> dict[str, Any]:
        return _compact({**super().to_data(), "reason": _strip(self.reason.data)})


class AliquotRow(Form):
    """One aliquot's volume; a row left empty is ignored."""

    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=_number(step="any"))

    def is_empty(self) -> bool:
        raw = self.volume_ml.raw_data
        return not _present(raw[0] if raw else None)


class SplitForm(VersionedForm):
    aliquots = FieldList(FormField(AliquotRow), min_entries=ALIQUOT_ROWS, max_entries=ALIQUOT_ROWS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        first = self.aliquots[0].form.volume_ml
        first.render_kw = {**first.render_kw, "autofocus": True}
        self._rows: list[int] = []

    def to_data(self) -> dict[str, Any]:
        self._rows = _filled_rows(self.aliquots)
        return {
            "aliquots": [{"volume_ml": self.aliquots[i].form.volume_ml.data} for i in self._rows]
        }

    def field_for(self, name: str) -> Field | None:
        parts = name.split(".")
        if parts[0] != "aliquots":
            return super().field_for(name)
        return _row_field(self.aliquots, self._rows, parts, "volume_ml")


class StoreForm(MoveForm):
    storage_temperature_c = FloatField(
        "Storage temperature (°C)",
        validators=[Optional()],
        description="The temperature the unit is kept at there.",
        render_kw=_number(step="0.1"),
    )


class ThawForm(MoveForm):
    location = StringField(
        "Location code (optional)",
        description="Where the thawed unit waits, if it is put somewhere.",
        render_kw=_code(40),
    )
    storage_temperature_c = FloatField(
        "Temperature after thawing (°C)",
        validators=[Optional()],
        description="Thawed units are kept at 2–25 °C until injection (4 h).",
        render_kw=_number(step="0.1"),
    )


class DispenseForm(VersionedForm):
    clinician = SelectField(
        "Receiving clinician",
        choices=[CHOOSE],
        validate_choice=False,
        render_kw={"autofocus": True},
    )
    wristband = StringField(
        "Patient's wristband (optional)",
        description="Scan it if the patient is here: it is checked against the unit.",
        render_kw=_code(40),
    )

    def __init__(self, *args, clinicians: Sequence[tuple[str, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinician.choices = [CHOOSE] + [
            SelectChoice(username, f"{name} ({username})") for username, name in clinicians
        ]

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {"clinician": self.clinician.data, "wristband": _strip(self.wristband.data)}
        )


class AdministerForm(VersionedForm):
    wristband = StringField(
        "Patient's wristband",
        description="Scan the wristband on the patient's arm; it must match the unit.",
        render_kw=_code(40, autofocus=True, enterkeyhint="next"),
    )
    site = SelectField(
        "Site on the scalp",
        choices=[CHOOSE] + [SelectChoice(s, s.capitalize()) for s in SCALP_SITES],
        validate_choice=False,
    )
    method = RadioField(
        "Method", choices=[SelectChoice(m, m.capitalize()) for m in METHODS], validate_choice=False
    )
    volume_ml = FloatField(
        "Volume given (ml)", validators=[Optional()], render_kw=_number(step="any")
    )
    administered_at = _local_time("Time given")

    def __init__(self, *args, zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.administered_at.description = f"Local time, {zone}; leave empty for now."

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {
                "wristband": _strip(self.wristband.data),
                "site": self.site.data,
                "method": self.method.data,
                "volume_ml": self.volume_ml.data,
                "administered_at": _aware(self.administered_at.data, self.zone),
            }
        )


class ReturnForm(VersionedForm):
    condition = StringField(
        "Condition",
        render_kw=_text(120, autofocus=True, list="return-conditions"),
    )
    reason = TextAreaField("Reason (optional)", render_kw={"maxlength": 500, "rows": 3})

    def to_data(self) -> dict[str, Any]:
        return _compact(
            {"condition": _strip(self.condition.data), "reason": _strip(self.reason.data)}
        )


ACTION_FORMS: dict[str, type[VersionedForm]] = {
    "dispatch": DispatchForm,
    "receive": ReceiveForm,
    "start_processing": StartProcessingForm,
    "record_step": RecordStepForm,
    "complete_processing": CompleteProcessingForm,
    "record_qc": RecordQcForm,
    "release": ReleaseForm,
    "exceptional_release": ExceptionalReleaseForm,
    "reject": ReasonForm,
    "split": SplitForm,
    "store": StoreForm,
    "move": MoveForm,
    "thaw": ThawForm,
    "dispense": DispenseForm,
    "administer": AdministerForm,
    "return": ReturnForm,
    "discard": ReasonForm,
}
SIGNED_FORMS: dict[str, type[VersionedForm]] = {"reject": SignedRejectForm}
"""The form of an action whose signature depends on the role (QA signs a rejection)."""
