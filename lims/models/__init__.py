"""SQLAlchemy models, one module per aggregate."""

from .appointment import APPOINTMENT_KINDS, APPOINTMENT_STATUSES, Appointment
from .course import TherapyCourse
from .data_import import DataImport
from .documents import ReleaseCertificate, ValidationReport
from .job import Job
from .ledger import LEDGER_TABLES, LedgerEntry, LedgerReceipt
from .location import LOCATION_KINDS, Location
from .materials import Equipment, EquipmentRecord, MaterialUse, QcImport, ReagentLot
from .notify import Delivery, Notification, NotificationPreference, OutboxEvent
from .patient import Patient
from .printing import JOB_STATUSES, PRINTER_KINDS, Printer, PrintJob, PrintRule
from .qc import Deviation, QcResult, QcSpec, Signature
from .shipment import Shipment, ShipmentItem
from .site import SITE_KINDS, Site, user_sites
from .treatment import (
    AdverseReaction,
    AssessmentPhoto,
    OutcomeAssessment,
    OutcomeReminder,
    TreatmentPlan,
    TreatmentSession,
)
from .unit import IdentifierSequence, Unit
from .user import ApiToken, User

# Tables the database refuses to UPDATE or DELETE (triggers) and the app role may only append to.
APPEND_ONLY_TABLES = (
    *LEDGER_TABLES,
    "qc_specs",
    "qc_results",
    "signatures",
    "equipment_records",
    "material_uses",
    "release_certificates",
    "outcome_assessments",
    "assessment_photos",
)

__all__ = [
    "APPEND_ONLY_TABLES",
    "APPOINTMENT_KINDS",
    "APPOINTMENT_STATUSES",
    "JOB_STATUSES",
    "LEDGER_TABLES",
    "LOCATION_KINDS",
    "PRINTER_KINDS",
    "SITE_KINDS",
    "AdverseReaction",
    "ApiToken",
    "Appointment",
    "AssessmentPhoto",
    "DataImport",
    "Delivery",
    "Deviation",
    "Equipment",
    "EquipmentRecord",
    "IdentifierSequence",
    "Job",
    "LedgerEntry",
    "LedgerReceipt",
    "Location",
    "MaterialUse",
    "Notification",
    "NotificationPreference",
    "OutboxEvent",
    "OutcomeAssessment",
    "OutcomeReminder",
    "Patient",
    "PrintJob",
    "PrintRule",
    "Printer",
    "QcImport",
    "QcResult",
    "QcSpec",
    "ReagentLot",
    "ReleaseCertificate",
    "Shipment",
    "ShipmentItem",
    "Signature",
    "Site",
    "TherapyCourse",
    "TreatmentPlan",
    "TreatmentSession",
    "Unit",
    "User",
    "ValidationReport",
    "user_sites",
]
