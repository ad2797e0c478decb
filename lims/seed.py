"""Demo data: the four demo users, a small location tree, patients, and units spread
over the statuses built so far. Everything goes through the services, so the demo
ledger is a real, verifiable chain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from .extensions import db
from .models import Location, Patient, User
from .models.types import utcnow
from .services import accounts, locations, units
from .services.db import transaction

DEMO_PASSWORD = "demo-pass-123"
DEMO_USERS = (
    ("tech", "technician", "Tara Technician"),
    ("doctor", "clinician", "Dr. Daniel Okafor"),
    ("qa", "qa", "Quinn Assurance"),
    ("admin", "admin", "Ada Admin"),
)
# (key, name, kind, parent key): site → room → refrigerator/freezer → rack → box.
# Codes come from the location sequence (L + facility + number + check character).
LOCATIONS = (
    ("site", "Main clinic", "site", None),
    ("lab", "Cell lab", "room", "site"),
    ("bench", "Receiving bench", "bench", "lab"),
    ("fridge", "Refrigerator 1 (2–8 °C)", "refrigerator", "lab"),
    ("fridge-rack", "Rack A", "rack", "fridge"),
    ("fridge-box", "Box A1", "box", "fridge-rack"),
    ("ln2", "LN2 freezer 1 (≤ −150 °C)", "freezer", "lab"),
    ("ln2-rack", "Rack 1", "rack", "ln2"),
    ("ln2-box", "Box 1-01", "box", "ln2-rack"),
)
PATIENTS = (
    ("MRN-100231", "Maria Keller", "1984-03-12", "androgenetic alopecia", "Ludwig I"),
    ("MRN-100232", "Jonas Weber", "1979-11-02", "androgenetic alopecia", "Norwood IV"),
    ("MRN-100233", "Aisha Rahman", "1990-07-21", "telogen effluvium", "chronic"),
    ("MRN-100234", "Tomasz Nowak", "1971-01-30", "androgenetic alopecia", "Norwood III"),
)


def is_empty() -> bool:
    return (db.session.scalar(select(func.count()).select_from(User)) or 0) == 0


def seed_demo() -> bool:
    """Load demo data into an empty database; return False (and do nothing) otherwise."""
    if not is_empty():
        return False
    users = {
        name: accounts.create_user(name, role, DEMO_PASSWORD, full_name=full)
        for name, role, full in DEMO_USERS
    }
    by_key: dict[str, Location] = {}
    for key, name, kind, parent in LOCATIONS:
        by_key[key] = locations.create_location(name, kind, by_key.get(parent), users["admin"])
    tech, doctor = users["tech"], users["doctor"]
    now = utcnow()

    def register(index: int, kind: str, site: str, volume: float, hours_ago: float):
        mrn, name, birth, *_ = PATIENTS[index]
        return units.register(
            {
                "patient": {"mrn": mrn, "name": name, "birth_date": birth},
                "type": kind,
                "collection_site": site,
                "volume_ml": volume,
                "collected_at": (now - timedelta(hours=hours_ago)).isoformat(),
            },
            doctor,
        ).unit

    def act(unit, action, data, user=tech):
        return units.perform_action(unit.id, action, data, user)

    receipt_cold = {"temperature_c": 4.5, "container_intact": True, "label_matches": True}
    receipt_room = {"temperature_c": 20.0, "container_intact": True, "label_matches": True}

    register(0, "ADIPOSE", "abdomen", 250, 1)  # collected
    marrow = register(1, "MARROW", "posterior iliac crest", 60, 3)
    act(
        marrow,
        "dispatch",
        {"courier": "In-house courier", "transport_condition": "15–25 °C box"},
        doctor,
    )  # in transit
    fat = register(2, "ADIPOSE", "thigh", 300, 5)
    act(fat, "receive", {**receipt_cold, "volume_ml": 295})  # received
    act(fat, "move", {"location": by_key["fridge-box"].code, "storage_temperature_c": 4.0})
    fat2 = register(3, "ADIPOSE", "flank", 280, 6)
    act(fat2, "receive", {**receipt_cold, "volume_ml": 280})
    act(
        fat2,
        "start_processing",
        {"protocol": "SVF isolation (collagenase)", "equipment": "Centrifuge C-02, incubator I-01"},
    )  # in processing
    marrow2 = register(1, "MARROW", "posterior iliac crest", 55, 8)
    act(marrow2, "receive", {**receipt_room, "volume_ml": 55})
    act(
        marrow2,
        "start_processing",
        {"protocol": "BM-MNC density gradient", "equipment": "Centrifuge C-01"},
    )
    act(
        marrow2,
        "complete_processing",
        {"products": [{"type": "BM-MNC", "volume_ml": 10, "cell_count": 180_000_000}]},
    )  # product in quarantine
    blood = register(0, "BLOOD", "antecubital vein", 60, 2)
    act(
        blood,
        "receive",
        {
            "temperature_c": 31.0,
            "container_intact": True,
            "volume_ml": 60,
            "deviation_note": "Cool pack missing in transport box",
        },
    )
    act(blood, "reject", {"reason": "Receipt temperature 31 °C; not suitable for PRP"})
    doctor_patients = db.session.scalars(select(Patient)).all()
    with transaction():
        for patient, (_, _, _, diagnosis, stage) in zip(doctor_patients, PATIENTS, strict=False):
            patient.diagnosis, patient.stage, patient.clinician_id = diagnosis, stage, doctor.id
    return True
