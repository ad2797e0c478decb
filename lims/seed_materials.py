"""The demo's equipment register and reagent lots, made through the services at past moments
(so each change is a ledger entry of its time), and the codes the demo history uses.

What `make run` shows: a register in which one centrifuge is due for calibration tomorrow and
another is out of service, a collagenase lot that expired last week (used while it was good,
so its recall look-up lists patients), and lots of every reagent the protocols ask for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .domain.materials import reagent_names
from .models import User
from .models.types import clock_at
from .services.materials import equipment, reagents

D = timedelta(days=1)
H_DAY = timedelta(hours=3)  # calibration and maintenance three hours after registering

# (key, name, kind, model, calibration or qualification, valid for days (from now), interval)
ITEMS = (
    (
        "cabinet",
        "Biosafety cabinet BSC-1",
        "biosafety_cabinet",
        "Thermo Herasafe 2030i",
        "qualification",
        295,
        365,
    ),
    ("centrifuge", "Centrifuge C-01", "centrifuge", "Eppendorf 5810 R", "calibration", 1, 180),
    (
        "centrifuge2",
        "Centrifuge C-02",
        "centrifuge",
        "Hettich Rotanta 460 R",
        "calibration",
        200,
        180,
    ),
    ("incubator", "CO2 incubator I-01", "incubator", "Binder CB 170", "qualification", 150, 365),
    (
        "counter",
        "NucleoCounter NC-202",
        "cell_counter",
        "ChemoMetec NC-202",
        "calibration",
        100,
        365,
    ),
    ("cytometer", "Flow cytometer FC-1", "flow_cytometer", "BD FACSLyric", "calibration", 120, 365),
    (
        "endotoxin",
        "Endotoxin reader EN-1",
        "endotoxin_reader",
        "Charles River Endosafe nexgen-PTS",
        "calibration",
        240,
        365,
    ),
    (
        "freezer",
        "Controlled-rate freezer CRF-1",
        "controlled_rate_freezer",
        "Planer Kryo 560-16",
        "qualification",
        300,
        365,
    ),
    ("tank", "LN2 tank D-1", "ln2_tank", "Chart MVE 1536P", "qualification", 320, 365),
    (
        "fridge",
        "Reagent fridge F-1",
        "refrigerator",
        "Liebherr MKv 3910",
        "qualification",
        260,
        365,
    ),
    (
        "thermometer",
        "Reference thermometer T-1",
        "thermometer",
        "Testo 735-2",
        "calibration",
        45,
        365,
    ),
)
MANUFACTURERS = {
    "collagenase": ("Collagenase NB 6 GMP", "Nordmark", "mg"),
    "cryoprotectant": ("CryoStor CS10", "BioLife Solutions", "mL"),
    "culture medium": ("MSC NutriStem XF", "Sartorius", "mL"),
    "diluent": ("PBS without Ca/Mg", "Gibco", "mL"),
    "dissociation reagent": ("TrypLE Select", "Gibco", "mL"),
    "gradient medium": ("Ficoll-Paque PREMIUM", "Cytiva", "mL"),
    "lysis buffer": ("RBC lysis buffer", "BioLegend", "mL"),
    "neutralising medium": ("DMEM + 10 % human platelet lysate", "PL BioScience", "mL"),
    "resuspension medium": ("Ringer's lactate + 1 % HSA", "B. Braun", "mL"),
    "wash buffer": ("PBS + 2 mM EDTA", "Miltenyi", "mL"),
}


@dataclass
class DemoRegister:
    """The codes the demo history names: equipment by kind, lots by reagent (and the lot that
    expires, used only while it was good)."""

    equipment: dict[str, str] = field(default_factory=dict)
    lots: dict[str, str] = field(default_factory=dict)
    expiring: tuple[str, str, date] | None = None  # reagent, code, expiry

    def lots_on(self, moment: datetime) -> dict[str, str]:
        lots = dict(self.lots)
        if self.expiring:
            reagent, code, expires = self.expiring
            if moment.date() < expires - 2 * D:
                lots[reagent] = code
        return lots


def stock(qa: User, tech: User, password: str, now: datetime) -> DemoRegister:
    """Register the demo's equipment and lots, 70 days back, and their later history."""
    register = DemoRegister()
    start = now - 70 * D
    by_key = {}
    with clock_at(start):
        for key, name, kind, model, _record, _valid, interval in ITEMS:
            item = equipment.register_equipment(
                {
                    "name": name,
                    "kind": kind,
                    "model": model,
                    "calibration_interval_days": interval,
                    "maintenance_interval_days": 90,
                },
                qa,
            )
            by_key[key] = item
    with clock_at(start + H_DAY):
        for key, _name, _kind, _model, record, valid_days, _interval in ITEMS:
            equipment.record(
                by_key[key].id,
                {
                    "kind": record,
                    "performed_on": (start + H_DAY).date().isoformat(),
                    "performed_by": "Calibra Service GmbH",
                    "certificate_ref": f"CAL-{start.year}-{by_key[key].code[-4:]}",
                    "valid_until": (now + valid_days * D).date().isoformat(),
                },
                tech,
            )
            equipment.record(
                by_key[key].id,
                {
                    "kind": "maintenance",
                    "performed_on": (start + H_DAY).date().isoformat(),
                    "performed_by": "Lab technician",
                },
                tech,
            )
    for item in by_key.values():
        register.equipment.setdefault(item.kind, item.code)
    with clock_at(now - 2 * D):
        equipment.set_status(
            by_key["centrifuge2"].id,
            {
                "status": "out_of_service",
                "reason": "rotor imbalance alarm; service engineer booked",
            },
            tech,
        )
    received = start + 2 * H_DAY
    for index, reagent in enumerate(reagent_names()):
        product, maker, unit = MANUFACTURERS.get(reagent, (reagent.title(), "Lab supplier", "mL"))
        prefix = "".join(c for c in maker if c.isalpha())[:2].upper()
        with clock_at(received):
            lot = reagents.receive_lot(
                tech,
                reagent=reagent,
                product_name=product,
                manufacturer=maker,
                lot_number=f"{prefix}{26110 + index}",
                expires_on=(now + (120 + 10 * index) * D).date(),
                storage="2–8 °C" if reagent != "collagenase" else "at or below -20 °C",
                quantity=5000.0 if unit == "mL" else 2000.0,
                quantity_unit=unit,
                coa_ref=f"CoA-{prefix}-{26110 + index}",
            )
        with clock_at(received + 0.1 * D):
            reagents.accept_lot(lot.id, qa, password)
        register.lots[reagent] = lot.code
    expires = (now - 6 * D).date()
    with clock_at(received + 0.2 * D):
        old = reagents.receive_lot(
            tech,
            reagent="collagenase",
            product_name="Collagenase NB 6 GMP",
            manufacturer="Nordmark",
            lot_number="NO26098",
            expires_on=expires,
            storage="at or below -20 °C",
            quantity=1500.0,
            quantity_unit="mg",
            coa_ref="CoA-NOR-26098",
        )
    with clock_at(received + 0.3 * D):
        reagents.accept_lot(old.id, qa, password)
    register.expiring = ("collagenase", old.code, expires)
    return register
