"""What each lifecycle action must record: one pydantic model per action.

The models only say what a well-formed entry is (types, lengths, ranges, known words);
whether it is acceptable for this unit now is for the guards (``lims.domain.guards``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from .catalogue import CATALOGUE, SOURCE_TYPES
from .identifiers import MAX_ID, CodeError, parse_chain_of_identity
from .qc import TESTS
from .signatures import Meaning

# Registration's ``course`` value that starts a new therapy course.
NEW_COURSE = "new"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# Numbers and yes/no answers are strict: "250" or true is not a volume, 1 is not "yes".
# (Forms convert typed text to numbers before calling a service.)
# At least 0.01 ml: volumes are stored to the hundredth, so a smaller one would be kept as 0.
Volume = Annotated[float, Field(ge=0.01, le=5000, allow_inf_nan=False, strict=True)]
Temperature_C = Annotated[float, Field(ge=-200, le=60, allow_inf_nan=False, strict=True)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Passwords are taken exactly as typed and never recorded (excluded from every dump).
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=1024)]
Wristband = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# A birth date is sent as a date or a date and time (what the validator below accepts).
DATE_OR_TIME = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ]
}


class Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatientFields(Fields):
    mrn: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-/]+$"
        ),
    ]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
    birth_date: Annotated[datetime | None, WithJsonSchema(DATE_OR_TIME)] = None  # kept as a date

    @field_validator("birth_date", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) == 10:
            return value + "T00:00:00"
        return value

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.date() > (datetime.now(UTC) + timedelta(days=1)).date():
            raise ValueError("birth date is in the future")
        if value.year < 1900:
            raise ValueError("birth date is before 1900")
        return value


# Whether the donor's infectious disease screening and testing (21 CFR 1271.75, 1271.85) was
# performed for a collection. Not given: not recorded, which a label reads as not performed
# (decision 99).
DonorTesting = Literal["performed", "not_performed"]


class RegisterFields(Fields):
    patient: PatientFields
    type: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=20),
        Field(json_schema_extra={"enum": list(SOURCE_TYPES)}, description="a source type"),
    ]
    collection_site: Text
    volume_ml: Volume
    collected_at: datetime
    donor_testing: DonorTesting | None = Field(
        None,
        description="whether the donor's infectious disease testing was performed for this "
        "collection; left out: not recorded. Unless 'performed', its labels say "
        "'NOT EVALUATED FOR INFECTIOUS SUBSTANCES'",
    )
    site: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, to_upper=True, min_length=5, max_length=5),
        ]
        | None
    ) = Field(
        None,
        description="the facility number of the site that collected it (one of the "
        "registrant's sites); left out: the registrant's first site. The DIN begins with it",
    )
    course: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = Field(
        None,
        description="the therapy course the collection belongs to: the chain-of-identity "
        "identifier of one of the patient's courses (CH + facility + year + 6 characters), or "
        "'new' to start one; left out or empty: the patient's latest course, or a new one for "
        "a patient who has none",
    )

    @field_validator("type")
    @classmethod
    def _source_type(cls, value: str) -> str:
        value = value.upper()
        if value not in SOURCE_TYPES:
            raise ValueError(f"must be a source type: {', '.join(SOURCE_TYPES)}")
        return value

    @field_validator("course")
    @classmethod
    def _course(cls, value: str | None) -> str | None:
        if not value:  # left out, or empty: the patient's latest course
            return None
        if value.lower() == NEW_COURSE:
            return NEW_COURSE
        try:
            return parse_chain_of_identity(value)
        except CodeError as exc:
            raise ValueError(f"'new' or a chain-of-identity identifier: {exc.message}") from None


class DispatchFields(Fields):
    courier: Text
    transport_condition: Text


class ReceiveFields(Fields):
    temperature_c: Annotated[float, Field(ge=-200, le=60, allow_inf_nan=False, strict=True)]
    container_intact: StrictBool
    label_matches: StrictBool = True
    volume_ml: Volume
    deviation_note: Note | None = None


class ReasonFields(Fields):
    reason: Reason


# A register code (equipment ``E…``, reagent lot ``R…``), scanned or picked; the service looks
# it up and says what is wrong with it.
RegisterCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# A deviation QA opened to permit equipment the register would refuse, cited by the step.
DeviationId = Annotated[int, Field(gt=0, le=MAX_ID, strict=True)]
Quantity = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False, strict=True)]


class StartProcessingFields(Fields):
    """Processing starts in a biosafety cabinet of the register."""

    protocol: Text
    equipment: RegisterCode
    deviation: DeviationId | None = None


class ProductFields(Fields):
    type: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=20),
        Field(json_schema_extra={"enum": list(CATALOGUE)}, description="a catalogue type"),
    ]
    volume_ml: Volume
    cell_count: Annotated[int, Field(ge=0, le=10**13, strict=True)] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        value = value.upper()
        if value not in CATALOGUE:
            raise ValueError(f"unknown product type; known: {', '.join(CATALOGUE)}")
        return value


LocationCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class MoveFields(Fields):
    """Where a unit now is: a scanned or typed location code (the service resolves it)."""

    location: LocationCode
    storage_temperature_c: Temperature_C | None = None


class StoreFields(MoveFields):
    """Storing records the temperature the unit is kept at."""

    storage_temperature_c: Temperature_C


class ThawFields(Fields):
    location: LocationCode | None = None
    storage_temperature_c: Temperature_C | None = None


class StepFields(Fields):
    """One processing step, as the operator did it."""

    step: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    started_at: datetime
    ended_at: datetime
    reagent: Text | None = None  # what the lot is said to be; must agree with the register
    lot: RegisterCode | None = None
    quantity: Quantity | None = None  # taken from the lot's stock, in the lot's unit
    equipment: RegisterCode | None = None
    deviation: DeviationId | None = None
    notes: Note | None = None


QcValue = (
    Annotated[float, Field(strict=True, allow_inf_nan=False)]
    | Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
)


class QcFields(Fields):
    """A QC result; pass or fail is computed from the spec in force, never sent."""

    test: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=40),
        Field(json_schema_extra={"enum": list(TESTS)}, description="a QC test key"),
    ]
    value: QcValue
    method: Text
    lot: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    equipment: RegisterCode | None = None  # the instrument that measured it
    deviation: DeviationId | None = None
    corrects: Annotated[int, Field(gt=0, le=MAX_ID, strict=True)] | None = None
    reason: Reason | None = None
    # Where an imported result came from (file SHA-256, row, import, instrument). Only the
    # import service sets it (``units.perform_action(provenance=…)``); a request may not.
    provenance: SkipJsonSchema[dict[str, Any] | None] = None

    @field_validator("provenance", mode="before")
    @classmethod
    def _not_from_a_request(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("set by an instrument import only")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _number_or_word(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("a result is a number, or one of the test's words")
        return value

    @field_validator("test")
    @classmethod
    def _known_test(cls, value: str) -> str:
        value = value.lower().replace("-", "_")
        if value not in TESTS:
            raise ValueError(f"unknown test; known: {', '.join(TESTS)}")
        return value


class SignFields(Fields):
    """An electronic signature: the password again, and what the signature means."""

    password: Annotated[Password, Field(exclude=True)]
    meaning: Meaning


class ExceptionalReleaseFields(SignFields):
    justification: Reason
    physician: Username
    physician_password: Annotated[Password, Field(exclude=True)]


class RejectFields(ReasonFields):
    """A technician rejects at receipt with a reason; QA signs its rejection."""

    password: Annotated[Password | None, Field(exclude=True)] = None
    meaning: Meaning | None = None


class AliquotFields(Fields):
    volume_ml: Volume


class SplitFields(Fields):
    aliquots: Annotated[list[AliquotFields], Field(min_length=1, max_length=26)]


class DispenseFields(Fields):
    clinician: Username
    wristband: Wristband | None = None  # when given, checked against the unit's patient


SCALP_SITES = ("frontal", "mid-scalp", "vertex", "temporal", "parietal", "occipital", "whole scalp")
METHODS = ("micro-injection", "mesotherapy")


class AdministerFields(Fields):
    wristband: Wristband
    site: Literal[SCALP_SITES]  # type: ignore[valid-type]
    method: Literal[METHODS]  # type: ignore[valid-type]
    volume_ml: Volume
    administered_at: datetime | None = None  # default: now


class ReturnFields(Fields):
    condition: Text
    reason: Reason | None = None


class NoFields(Fields):
    pass


class CompleteProcessingFields(Fields):
    products: Annotated[list[ProductFields], Field(min_length=1, max_length=8)]
    # Steps not yet recorded one by one may be given here (from the paper batch record);
    # each becomes its own record_step entry before the completion.
    steps: Annotated[list[StepFields], Field(max_length=20, exclude=True)] = []
    notes: Note | None = None
