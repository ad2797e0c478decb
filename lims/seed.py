"""Demo data: the four demo users, a small location tree with box grids, patients, eight
weeks of past lab work (``seed_history``: every product type from collection to injection,
for the readiness estimates and the audit charts), units spread over the lifecycle now:
collection and receipt, processing with its steps, QC, QA release with an electronic
signature, frozen MSC aliquots in the LN2 box, and the clinician's appointments. A second
clinician treats a patient of her own, whom ``doctor`` does not see (decision 61), and sees
none of his. Everything goes through the services, so the demo ledger is a real, verifiable
chain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from . import (
    seed_materials,
    seed_printing,
    seed_reactions,
    seed_shipments,
    seed_sites,
    seed_sso,
    seed_treatment,
)
from .db import transaction
from .domain.processing import batch_record, protocol_for
from .domain.qc import DEFAULT_SPECS
from .extensions import db
from .models import Location, Patient, User
from .models.types import utcnow
from .seed_history import HISTORY_PATIENTS, INSTRUMENT_OF, Staff, seed_history
from .seed_materials import DemoRegister
from .services.actions import units
from .services.admin import accounts, locations
from .services.clinic import appointments
from .services.materials import warnings as materials_warnings

DEMO_PASSWORD = "demo-pass-123"
DEMO_USERS = (
    ("tech", "technician", "Tara Technician"),
    ("doctor", "clinician", "Dr. Daniel Okafor"),
    ("doctor2", "clinician", "Dr. Lea Vogt"),
    ("qa", "qa", "Quinn Assurance"),
    ("admin", "admin", "Ada Admin"),
)
# (key, name, kind, parent key[, rows, columns]): site → room → refrigerator/freezer → rack
# → box (a grid of positions).
# Codes come from the location sequence (L + facility + number + check character).
LOCATIONS = (
    ("site", "Main clinic", "site", None),
    ("lab", "Cell lab", "room", "site"),
    ("bench", "Receiving bench", "bench", "lab"),
    ("fridge", "Refrigerator 1 (2–8 °C)", "refrigerator", "lab"),
    ("fridge-rack", "Rack A", "rack", "fridge"),
    ("fridge-box", "Box A1", "box", "fridge-rack", 4, 4),
    ("ln2", "LN2 freezer 1 (≤ −150 °C)", "freezer", "lab"),
    ("ln2-rack", "Rack 1", "rack", "ln2"),
    ("ln2-box", "Box 1-01", "box", "ln2-rack", 9, 9),
)
PATIENTS = (
    ("MRN-100231", "Maria Keller", "1984-03-12", "androgenetic alopecia", "Ludwig I"),
    ("MRN-100232", "Jonas Weber", "1979-11-02", "androgenetic alopecia", "Norwood IV"),
    ("MRN-100233", "Aisha Rahman", "1990-07-21", "telogen effluvium", "chronic"),
    ("MRN-100234", "Tomasz Nowak", "1971-01-30", "androgenetic alopecia", "Norwood III"),
)
# The second clinician's own patient: her collection is at the lab, her injection booked.
OTHER_PATIENT = ("MRN-100240", "Greta Lindqvist", "1986-06-15", "alopecia areata", "patchy")


PASSING = {
    "viable_cell_count": 25_000_000,
    "viability": 88.0,
    "gram_stain": "no organisms seen",
    "sterility": "no growth",
    "endotoxin": 0.12,
    "mycoplasma": "negative",
    "platelet_count": 1350,
    **dict.fromkeys(("cd73", "cd90", "cd105"), 98.2),
    **dict.fromkeys(("cd45", "cd34", "cd14", "cd19", "hla_dr"), 0.6),
}


def _batch(kind: str, now, materials: DemoRegister) -> list[dict]:
    """The batch record of a processing that ended five minutes ago, 15 minutes a step."""
    count = len(protocol_for(kind).steps)
    end = now - timedelta(minutes=5)
    return batch_record(
        kind,
        end - timedelta(minutes=15 * count),
        end,
        equipment=materials.equipment,
        lots=materials.lots,
        quantity=10.0,
    )


def _process(source, act, receipt: dict, product: str, volume: float, cells, now, materials):
    act(source, "receive", {**receipt, "volume_ml": source.volume_ml})
    cabinet = materials.equipment["biosafety_cabinet"]
    act(source, "start_processing", {"protocol": "standard", "equipment": cabinet})
    made = {"type": product, "volume_ml": volume}
    if cells:
        made["cell_count"] = cells
    return act(
        source,
        "complete_processing",
        {"products": [made], "steps": _batch(source.unit_type, now, materials)},
    ).products


def _qc(product, act, materials: DemoRegister, **values) -> None:
    for (product_type, test), spec in DEFAULT_SPECS.items():
        if product_type == product.unit_type and spec.required:
            value = values.get(test, PASSING[test])
            data = {"test": test, "value": value, "method": "SOP-QC", "lot": "QC-2611"}
            if test in INSTRUMENT_OF:
                data["equipment"] = materials.equipment[INSTRUMENT_OF[test]]
            act(product, "record_qc", data)


def _position(box: Location, name: str) -> str:
    return next(p.code for p in box.children if p.name == name)


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
    for key, name, kind, parent, *grid in LOCATIONS:
        rows, columns = grid or (None, None)
        by_key[key] = locations.create_location(
            name, kind, by_key.get(parent), users["admin"], rows=rows, columns=columns
        )
    tech, doctor, qa = users["tech"], users["doctor"], users["qa"]
    now = utcnow()
    # A year of treatment courses (decision 114): the first months before the register below.
    people = [p[:3] for p in PATIENTS]
    later_visits = seed_treatment.first_year(
        tech, doctor, qa, DEMO_PASSWORD, now, [*people, *HISTORY_PATIENTS]
    )
    materials = seed_materials.stock(qa, tech, DEMO_PASSWORD, now)
    seed_history(Staff(tech, doctor, qa, DEMO_PASSWORD), now, people, materials, extra=later_visits)
    cabinet = materials.equipment["biosafety_cabinet"]

    def register(
        index: int,
        kind: str,
        site: str,
        volume: float,
        hours_ago: float,
        testing: str | None = None,
        facility: str | None = None,
    ):
        """``testing``: the donor testing, None (not recorded) for the newest collections;
        ``facility``: the site that collects (default: the laboratory)."""
        mrn, name, birth, *_ = PATIENTS[index]
        data = {
            "patient": {"mrn": mrn, "name": name, "birth_date": birth},
            "type": kind,
            "collection_site": site,
            "volume_ml": volume,
            "collected_at": (now - timedelta(hours=hours_ago)).isoformat(),
        }
        return units.register({**data, "donor_testing": testing, "site": facility}, doctor).unit

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
    fat = register(2, "ADIPOSE", "thigh", 300, 5, "performed")
    act(fat, "receive", {**receipt_cold, "volume_ml": 295})  # received
    act(
        fat,
        "store",
        {"location": _position(by_key["fridge-box"], "B1"), "storage_temperature_c": 4.0},
    )
    fat2 = register(3, "ADIPOSE", "flank", 280, 6, "performed")
    act(fat2, "receive", {**receipt_cold, "volume_ml": 280})
    act(
        fat2,
        "start_processing",
        {"protocol": "SVF isolation (collagenase)", "equipment": cabinet},
    )  # in processing
    marrow2 = register(1, "MARROW", "posterior iliac crest", 55, 8, "performed")
    act(marrow2, "receive", {**receipt_room, "volume_ml": 55})
    act(
        marrow2,
        "start_processing",
        {"protocol": "BM-MNC density gradient", "equipment": cabinet},
    )
    (bm_mnc,) = act(
        marrow2,
        "complete_processing",
        {
            "products": [{"type": "BM-MNC", "volume_ml": 10, "cell_count": 180_000_000}],
            "steps": _batch("MARROW", now, materials),
        },
    ).products
    _qc(bm_mnc, act, materials, sterility="pending")  # in quarantine, QC complete: ready for QA

    fat3 = register(0, "ADIPOSE", "abdomen", 260, 4, "performed")
    (svf,) = _process(fat3, act, receipt_cold, "SVF", 12, 45_000_000, now, materials)
    _qc(svf, act, materials, sterility="pending")
    act(svf, "release", {"password": DEMO_PASSWORD, "meaning": "approved for release"}, qa)
    act(
        svf,
        "store",
        {"location": _position(by_key["fridge-box"], "A1"), "storage_temperature_c": 4.0},
    )
    # The sterility culture reads after release: certificate 2 replaces certificate 1.
    sterility = {"test": "sterility", "value": "no growth", "method": "SOP-QC", "lot": "QC-2611"}
    act(svf, "record_qc", sterility)

    blood2 = register(3, "BLOOD", "antecubital vein", 54, 1, "not_performed")
    (prp,) = _process(blood2, act, receipt_room, "PRP", 6, None, now, materials)
    _qc(prp, act, materials, platelet_count=640)  # out of specification: a deviation for QA

    fat4 = register(2, "ADIPOSE", "abdomen", 240, 7, "performed")
    (svf2,) = _process(fat4, act, receipt_cold, "SVF", 10, 30_000_000, now, materials)
    act(svf2, "start_processing", {"protocol": "MSC expansion", "equipment": cabinet})
    (msc,) = act(
        svf2,
        "complete_processing",
        {
            "products": [{"type": "MSC(AT)", "volume_ml": 6, "cell_count": 60_000_000}],
            "steps": _batch("SVF", now, materials),
        },
    ).products
    _qc(msc, act, materials)
    act(msc, "release", {"password": DEMO_PASSWORD, "meaning": "approved for release"}, qa)
    aliquots = act(msc, "split", {"aliquots": [{"volume_ml": 2}] * 3}).products
    for aliquot, position in zip(aliquots, ("A1", "A2", "A3"), strict=True):
        act(
            aliquot,
            "store",
            {"location": _position(by_key["ln2-box"], position), "storage_temperature_c": -185.0},
        )
    blood = register(0, "BLOOD", "antecubital vein", 60, 2, "not_performed")
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
    by_mrn = {p.mrn: p for p in db.session.scalars(select(Patient))}
    with transaction():
        for mrn, _, _, diagnosis, stage in PATIENTS:
            patient = by_mrn[mrn]
            patient.diagnosis, patient.stage, patient.clinician_id = diagnosis, stage, doctor.id
    _book_appointments(doctor, by_mrn, now)
    _second_clinician(users["doctor2"], tech, now)
    seed_printing.stock(users["admin"])
    seed_printing.prints(tech, fat, svf, bm_mnc)
    clinic = seed_sites.stock(users["admin"], doctor, tech, qa, users["admin"])  # the clinic too
    seed_printing.clinic_printer(users["admin"], clinic)
    seed_shipments.stock(
        doctor,
        tech,
        DEMO_PASSWORD,
        register,
        aliquots[0],
    )
    seed_reactions.stock(doctor, qa, DEMO_PASSWORD)  # one adverse reaction open, one closed
    seed_sso.stock()  # a newcomer from single sign-on waiting for a role
    _past_import(users["admin"])
    # What beat would have said by now: the centrifuge due tomorrow, the expired lot flagged.
    materials_warnings.run_checks()
    seed_treatment.finish()  # and the outcome visits due and overdue
    return True


DEMO_IMPORT = (
    b"code,name,kind,parent\r\n"
    b",Archive room,room,\r\n"
    b",Freezer -80 B (from the old lab),freezer,Archive room\r\n"
)


def _past_import(admin: User) -> None:
    """One past bulk import (docs/import.md): the old lab's archive room and its freezer,
    imported by the admin with their ledger entries citing the file."""
    from .services.station import data_import

    data = data_import.Upload(DEMO_IMPORT, "old-lab-locations.csv", "locations")
    data_import.import_file(data, admin)


def _second_clinician(doctor2: User, tech: User, now) -> None:
    """A patient ``doctor`` does not see: registered by the second clinician, who treats
    her; her blood is received at the lab and her injection booked."""
    mrn, name, birth, diagnosis, stage = OTHER_PATIENT
    blood = units.register(
        {
            "patient": {"mrn": mrn, "name": name, "birth_date": birth},
            "type": "BLOOD",
            "collection_site": "antecubital vein",
            "volume_ml": 54,
            "collected_at": (now - timedelta(hours=2)).isoformat(),
        },
        doctor2,
    ).unit
    units.perform_action(
        blood.id,
        "receive",
        {"temperature_c": 20.0, "container_intact": True, "label_matches": True, "volume_ml": 54},
        tech,
    )
    with transaction():
        blood.patient.diagnosis, blood.patient.stage = diagnosis, stage
    when = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=26, minutes=30)
    appointments.book(
        blood.patient_id, {"kind": "injection", "scheduled_at": when.isoformat()}, doctor2
    )


# (patient, kind, hours from now): Maria's SVF is ready before her injection; Tomasz's PRP
# expires before his (the board warns); Jonas waits for QA; Aisha's MSC is in the bank.
APPOINTMENTS = (
    ("MRN-100231", "injection", 5),
    ("MRN-100232", "injection", 22),
    ("MRN-100233", "injection", 70),
    ("MRN-100233", "collection", 7 * 24),
    ("MRN-100234", "injection", 6),
)


def _book_appointments(doctor: User, by_mrn: dict, now) -> None:
    start = now.replace(minute=0, second=0, microsecond=0)
    for mrn, kind, hours in APPOINTMENTS:
        when = start + timedelta(hours=hours, minutes=30)
        appointments.book(by_mrn[mrn].id, {"kind": kind, "scheduled_at": when.isoformat()}, doctor)
