"""Forms for registering a collection, for receipt and processing, and the form of each action.

The forms only collect and coerce input (a number is a number, a date is a date); the
service decides what is valid. The forms of the later actions live beside this module by
the part of the product's life they serve: ``qc_forms`` (recording QC), ``signature_forms``
(release, exceptional release, QA's signed rejection), ``storage_forms`` (split, store,
move, thaw) and ``bedside_forms`` (dispense, administer, return); all of them are built on
``base_forms``. ``ACTION_FORMS`` (an action's name → its form) gathers them here, where the
routes look for it: this module imports the others and none of them imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

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
from wtforms.validators import Optional

from ...domain.catalogue import CATALOGUE, SOURCE_TYPES, products_of
from ...domain.processing import Step
from .base_forms import (
    CHOOSE,
    EQUIPMENT_LIST,
    LOT_LIST,
    ServiceForm,
    VersionedForm,
    aware,
    compact,
    deviation_number,
    filled_rows,
    local_time_field,
    number_input,
    present,
    register_input,
    row_field,
    stripped,
    text_input,
)
from .bedside_forms import AdministerForm, DispenseForm, ReturnForm
from .qc_forms import RecordQcForm
from .signature_forms import ExceptionalReleaseForm, ReleaseForm, SignedRejectForm
from .storage_forms import MoveForm, SplitForm, StoreForm, ThawForm

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
PRODUCT_ROWS = 3


def _yes_no(value: str | None) -> bool | str | None:
    return {"yes": True, "no": False}.get(value or "", value)


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
        "site": "facility",
    }

    mrn = StringField("Medical record number", render_kw=text_input(32, autofocus=True))
    name = StringField("Patient name", render_kw=text_input(120, autocomplete="off"))
    birth_date = DateField("Birth date", validators=[Optional()])
    unit_type = SelectField(
        "Material",
        choices=[CHOOSE] + [SelectChoice(k, CATALOGUE[k].name) for k in SOURCE_TYPES],
        validate_choice=False,
    )
    collection_site = SelectField("Collection site", choices=[CHOOSE], validate_choice=False)
    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=number_input())
    collected_at = DateTimeLocalField(
        "Collected at", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()]
    )
    donor_testing = SelectField(
        "Donor testing (infectious disease)",
        choices=[
            SelectChoice("", "Not recorded"),
            SelectChoice("performed", "Performed"),
            SelectChoice("not_performed", "Not performed"),
        ],
        validate_choice=False,
        description='Unless performed, the labels say "NOT EVALUATED FOR INFECTIOUS SUBSTANCES"',
    )
    # Shown to a person working at more than one site (decision 103): where it was collected.
    facility = SelectField("Collected at site", choices=[], validate_choice=False)
    course = StringField(
        "Therapy course",
        render_kw=text_input(20, autocomplete="off", placeholder="CH… or new"),
        description="Leave empty to continue the patient's latest course (a new patient starts "
        "one); scan or type a course's chain-of-identity identifier, or type new to start another",
    )
    submit = SubmitField("Register collection")

    def __init__(
        self, *args, zone: str = "UTC", sites: list[tuple[str, str]] | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.facility.choices = [SelectChoice(code, name) for code, name in (sites or [])]
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
        return compact(
            {
                "patient": compact(
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
                "donor_testing": self.donor_testing.data,
                "site": self.facility.data if len(self.facility.choices) > 1 else None,
                "course": (self.course.data or "").strip() or None,
            }
        )


class DispatchForm(VersionedForm):
    courier = StringField("Courier", render_kw=text_input(120, autofocus=True))
    transport_condition = StringField(
        "Transport condition",
        render_kw=text_input(120, list="transport-conditions", placeholder="e.g. cool box 2–8 °C"),
    )

    def to_data(self) -> dict[str, Any]:
        return compact(
            {"courier": self.courier.data, "transport_condition": self.transport_condition.data}
        )


class ReceiveForm(VersionedForm):
    temperature_c = FloatField(
        "Temperature at receipt (°C)",
        validators=[Optional()],
        render_kw=number_input(autofocus=True, step="0.1"),
    )
    container_intact = RadioField("Container intact?", choices=YES_NO, validate_choice=False)
    label_matches = RadioField("Label matches the scan?", choices=YES_NO, validate_choice=False)
    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=number_input())
    deviation_note = TextAreaField(
        "Deviation note",
        description="Only if something is outside acceptance and you accept it anyway.",
        render_kw={"maxlength": 2000, "rows": 3},
    )

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "temperature_c": self.temperature_c.data,
                "container_intact": _yes_no(self.container_intact.data),
                "label_matches": _yes_no(self.label_matches.data),
                "volume_ml": self.volume_ml.data,
                "deviation_note": (self.deviation_note.data or "").strip(),
            }
        )


class StartProcessingForm(VersionedForm):
    protocol = StringField("Protocol", render_kw=text_input(120, autofocus=True))
    equipment = StringField(
        "Biosafety cabinet",
        description="Scan its label or pick it.",
        render_kw=register_input(EQUIPMENT_LIST),
    )
    deviation = StringField(
        "Deviation permitting its use",
        description="Only when QA permitted equipment the register refuses.",
        render_kw=text_input(12, inputmode="numeric"),
    )

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "protocol": self.protocol.data,
                "equipment": stripped(self.equipment.data),
                "deviation": deviation_number(self.deviation.data),
            }
        )


class ProductRow(Form):
    """One product made by processing; a row left empty is ignored."""

    type = SelectField("Product", choices=[SelectChoice("", "—")], validate_choice=False)
    volume_ml = FloatField("Volume (ml)", validators=[Optional()], render_kw=number_input())
    cell_count = IntegerField(
        "Cell count", validators=[Optional()], render_kw=number_input(inputmode="numeric")
    )

    def is_empty(self) -> bool:
        return not any(
            present(f.raw_data[0] if f.raw_data else None)
            for f in (self.type, self.volume_ml, self.cell_count)
        )

    def to_data(self) -> dict[str, Any]:
        return compact(
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
        self._rows = filled_rows(self.products)
        return compact(
            {
                "products": [self.products[i].form.to_data() for i in self._rows],
                "notes": (self.notes.data or "").strip(),
            }
        )

    def field_for(self, name: str) -> Field | None:
        parts = name.split(".")
        if parts[0] != "products":
            return super().field_for(name)
        return row_field(self.products, self._rows, parts, "type")


class ReasonForm(VersionedForm):
    reason = TextAreaField("Reason", render_kw={"maxlength": 500, "rows": 3, "autofocus": True})

    def to_data(self) -> dict[str, Any]:
        return compact({"reason": (self.reason.data or "").strip()})


class RecordStepForm(VersionedForm):
    step = SelectField(
        "Step", choices=[CHOOSE], validate_choice=False, render_kw={"autofocus": True}
    )
    started_at = local_time_field("Started at")
    ended_at = local_time_field("Ended at")
    reagent = StringField(
        "Reagent",
        description="Filled in from the step; change it if you used another.",
        render_kw=text_input(120),
    )
    lot = StringField(
        "Reagent lot", description="Scan its label or pick it.", render_kw=register_input(LOT_LIST)
    )
    quantity = FloatField(
        "Quantity used",
        validators=[Optional()],
        description="In the lot's unit; taken from its stock.",
        render_kw=number_input(step="any"),
    )
    equipment = StringField(
        "Equipment",
        description="Scan its label or pick it.",
        render_kw=register_input(EQUIPMENT_LIST),
    )
    deviation = StringField(
        "Deviation permitting the equipment",
        description="Only when QA permitted equipment the register refuses.",
        render_kw=text_input(12, inputmode="numeric"),
    )
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
        reagent = stripped(self.reagent.data)
        chosen, filled = (
            self.steps.get(self.step.data or ""),
            self.steps.get(self.prefilled_step.data or ""),
        )
        if chosen and filled and chosen is not filled and reagent == (filled.reagent or ""):
            return chosen.reagent or ""
        return reagent

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "step": self.step.data,
                "started_at": aware(self.started_at.data, self.zone),
                "ended_at": aware(self.ended_at.data, self.zone),
                "reagent": self._reagent(),
                "lot": stripped(self.lot.data),
                "quantity": self.quantity.data,
                "equipment": stripped(self.equipment.data),
                "deviation": deviation_number(self.deviation.data),
                "notes": stripped(self.notes.data),
            }
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
