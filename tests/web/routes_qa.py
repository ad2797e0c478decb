"""The route × role table's rows for the QA home, head receipts and deviations pages: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Deviation, LedgerReceipt
from lims.models.types import utcnow
from lims.services.custody import ledger

AUDITORS = {"qa", "admin"}

ROUTES: dict[str, tuple] = {
    "audit.home": ("GET", "/audit/", AUDITORS),
    "audit.receipts_list": ("GET", "/audit/receipts", AUDITORS),
    "audit.issue_receipt": ("POST", "/audit/receipts", AUDITORS),  # issues one: to the list
    "audit.check_receipt": ("GET", "/audit/receipts/{receipt}", AUDITORS),
    "audit.download_receipt": ("GET", "/audit/receipts/{receipt}.json", AUDITORS),
    "audit.check_pasted": ("GET", "/audit/receipts/check", AUDITORS),  # the form; POST checks
    "audit.deviations_list": ("GET", "/audit/deviations", AUDITORS),
    "audit.close_deviation": ("GET", "/audit/deviations/{deviation}/close", {"qa"}),  # the form
}


def a_receipt(users, owner, unit) -> int:
    """A signed head receipt of the ledger as it stands."""
    ledger.issue_receipt()
    return db.session.scalar(select(func.max(LedgerReceipt.id)))


def a_deviation(users, owner, unit) -> int:
    """An open deviation on the unit, opened by the technician."""
    deviation = Deviation(
        unit_id=unit.id,
        kind="receipt_outside_acceptance",
        description="Accepted at receipt outside acceptance: temperature 9 °C",
        opened_by_id=users["technician"].id,
        opened_at=utcnow(),
    )
    db.session.add(deviation)
    db.session.commit()
    return deviation.id


ROWS: dict = {"receipt": a_receipt, "deviation": a_deviation}
