"""The cast of the object-level access tables (decision 61): one patient, Pia Private, and a
person named on her in each way the rule knows, plus a clinician named nowhere. Shared by the
service, browser and API tables.

Made through the services, except the appointment row: a clinician books only for their own
patients, so a clinician other than the treating one is named on an appointment only after
the patient's care passed on; the row is written as such a handover would leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from lims.extensions import db
from lims.models import Appointment, Patient, Unit, User
from lims.models.types import utcnow
from lims.services.actions import units
from lims.services.admin import accounts
from tests.conftest import PASSWORD, registration
from tests.service.lab import walk

MRN, NAME = "MRN-PIA", "Pia Private"
# Who sees Pia: everyone in the cast but the stranger.
SEE = ("treating", "collector", "booked", "ward", "granted", "technician", "qa", "admin")
PERSONAS = (*SEE, "stranger")
CLINICIANS = ("treating", "collector", "booked", "ward", "granted", "stranger")
WHY = {
    "treating": "her treating clinician (Patient.clinician_id)",
    "collector": "took one of her collections (Unit.collected_by_id)",
    "booked": "named on her appointment",
    "ward": "the clinician a product of hers was dispensed to",
    "granted": "an admin granted every patient (users.all_patients)",
    "stranger": "a clinician named nowhere on her",
}


@dataclass
class Cast:
    patient: Patient
    source: Unit  # her first collection, registered by the treating clinician (processed)
    product: Unit  # its product: released, then dispensed to the ward clinician
    fresh: Unit  # a second collection, taken by another clinician (collected)
    spare: Unit  # a third, by the treating clinician (collected)
    appointment: Appointment
    people: dict[str, User]


def _register(user: User) -> Unit:
    return units.register(registration("ADIPOSE", mrn=MRN, name=NAME), user).unit


def make_cast(users: dict[str, User]) -> Cast:
    people = {
        "treating": users["clinician"],
        "technician": users["technician"],
        "qa": users["qa"],
        "admin": users["admin"],
    }
    for name in ("collector", "booked", "ward", "granted", "stranger"):
        people[name] = accounts.create_user(
            name, "clinician", PASSWORD, full_name=f"Dr {name.title()}"
        )
    accounts.set_all_patients(people["granted"], True, by=users["admin"])

    source = _register(people["treating"])
    product = walk(source, "released", users)
    units.perform_action(product.id, "dispense", {"clinician": "ward"}, users["technician"])
    fresh = _register(people["collector"])
    spare = _register(people["treating"])
    now = utcnow()
    appointment = Appointment(
        patient_id=source.patient_id,
        clinician_id=people["booked"].id,
        kind="injection",
        scheduled_at=now + timedelta(days=1),
        status="booked",
        created_by_id=people["booked"].id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(appointment)
    db.session.commit()
    return Cast(source.patient, source, product, fresh, spare, appointment, people)
