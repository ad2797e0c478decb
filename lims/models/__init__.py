"""SQLAlchemy models, one module per aggregate."""

from .ledger import LEDGER_TABLES, LedgerEntry, LedgerReceipt
from .location import LOCATION_KINDS, Location
from .patient import Patient
from .unit import IdentifierSequence, Unit
from .user import ApiToken, User

__all__ = [
    "LEDGER_TABLES",
    "LOCATION_KINDS",
    "ApiToken",
    "IdentifierSequence",
    "LedgerEntry",
    "LedgerReceipt",
    "Location",
    "Patient",
    "Unit",
    "User",
]
