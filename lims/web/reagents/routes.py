"""Reagent lots: the register's list (by reagent; usable, awaiting QA or flagged), receiving a
lot, the lot page (facts, the flag, QA's signed acceptance or rejection, the label, the
ledger entries and the recall table) and the recall as CSV.

Thin: parse, call ``services.materials.reagents``, render. The service decides who may do
what and whether the values hold; its refusal is shown with its own words and status.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import Form

from ...domain.errors import Invalid, ServiceError
from ...domain.identifiers import eye_readable
from ...domain.ledger_chain import utc_iso
from ...domain.materials import reagent_names
from ...domain.roles import Role
from ...domain.signatures import manifestation
from ...models import LedgerEntry, ReagentLot, User
from ...security import note_refusal, roles_required, signing_throttle
from ...services.audit.custody_report import cell
from ...services.materials import reagents
from ...timefmt import local_time
from ..units.base_forms import UNREADABLE
from . import bp
from .forms import AcceptLotForm, ReceiveLotForm, RejectLotForm

READERS = (Role.TECHNICIAN, Role.QA, Role.ADMIN)
RECEIVERS = (Role.TECHNICIAN, Role.QA)
PER_PAGE = 25
RECALL_PER_PAGE = 50


def _viewer() -> User:
    return current_user._get_current_object()


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), reagents.MAX_PAGE))
    except ValueError:
        return 1


@bp.app_context_processor
def _reagent_helpers() -> dict:
    """What the lot templates (and a list elsewhere) need to show a lot's state."""
    return {
        "lot_state": reagents.state_of,
        "lot_state_label": reagents.STATE_LABELS,
        "lot_expiring": reagents.expiring_soon,
    }


# ---------------------------------------------------------------------------- the list


@bp.get("")
@roles_required(*READERS)
def index() -> ResponseReturnValue:
    reagent = request.args.get("reagent", "")
    state = request.args.get("state", "all") or "all"
    error, status = None, 200
    try:
        page = reagents.list_lots(
            _viewer(),
            reagent=reagent,
            state=state,
            page=_page_number(request.args.get("page")),
            per_page=PER_PAGE,
        )
    except Invalid as exc:
        error, status, page = exc.message, exc.http_status, None
    return render_template(
        "reagents/index.html",
        page=page,
        error=error,
        reagent=reagent if reagent in reagent_names() else "",
        state=state if state in reagents.STATES else "all",
        reagent_names=reagent_names(),
        counts=reagents.counts_by_state(_viewer()),
        may_receive=_viewer().role in {r.value for r in RECEIVERS},
        today=reagents.today(),
    ), status


# ---------------------------------------------------------------------------- receipt


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*RECEIVERS)
def receive() -> ResponseReturnValue:
    form = ReceiveLotForm()
    if not form.is_submitted():
        return render_template("reagents/new.html", form=form)
    if not form.validate():
        return render_template("reagents/new.html", form=form, error=UNREADABLE), 422
    try:
        lot = reagents.receive(form.to_data(), _viewer())
    except ServiceError as exc:
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was received: see the marked fields."
            if placed and all(placed)
            else f"Nothing was received: {exc.message}."
        )
        return render_template("reagents/new.html", form=form, error=error), exc.http_status
    flash(
        f"Lot {lot.lot_number} of {lot.product_name} received as {lot.code}. Label it; QA "
        "accepts it before it is used.",
        "success",
    )
    return redirect(url_for("reagents.detail", lot_id=lot.id))


# ---------------------------------------------------------------------------- the lot page


def _entry_signature(entry: LedgerEntry) -> str | None:
    """ "Signed by …, when: meaning" of a register entry that carries a signature."""
    signed = (json.loads(entry.data).get("signatures") or [None])[0]
    if not signed:
        return None
    when = local_time(datetime.fromisoformat(signed["signed_at"].replace("Z", "+00:00")))
    return manifestation(signed["name"], signed["meaning"], when)


def _lot_page(
    lot: ReagentLot,
    *,
    accept_form: AcceptLotForm | None = None,
    reject_form: RejectLotForm | None = None,
    error: str | None = None,
    deciding: str | None = None,
) -> str:
    viewer = _viewer()
    recall = reagents.recall(
        lot.id, viewer, page=_page_number(request.args.get("page")), per_page=RECALL_PER_PAGE
    )
    uses, used = reagents.use_summary(lot)
    history = reagents.lot_history(lot)
    preview = reagents.print_label(lot.id, viewer, "svg").content.decode()
    return render_template(
        "reagents/detail.html",
        lot=lot,
        state=reagents.state_of(lot),
        recall=recall,
        uses=uses,
        used=used,
        history=history,
        action_labels=reagents.ACTION_LABELS,
        signature_of=_entry_signature,
        preview=preview,
        may_decide=viewer.role == Role.QA.value,
        accept_form=accept_form or AcceptLotForm(formdata=None),
        reject_form=reject_form or RejectLotForm(formdata=None),
        error=error,
        deciding=deciding,
        eye_readable=eye_readable,
    )


@bp.get("/<id:lot_id>")
@roles_required(*READERS)
def detail(lot_id: int) -> ResponseReturnValue:
    return _lot_page(reagents.find_lot(lot_id, _viewer()))


def _decide(lot_id: int, kind: str) -> ResponseReturnValue:
    """QA's signed acceptance or rejection; a GET shows the lot page with the form."""
    lot = reagents.find_lot(lot_id, _viewer())
    form_class = AcceptLotForm if kind == "accept" else RejectLotForm
    form: Form = form_class()
    forms = {f"{kind}_form": form}
    if not form.is_submitted():
        return _lot_page(lot, deciding=kind, **forms)
    decide = reagents.accept if kind == "accept" else reagents.reject
    try:
        decide(lot.id, form.to_data(), _viewer())
    except ServiceError as exc:
        note_refusal(exc.code)
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was signed: see the marked fields."
            if placed and all(placed)
            else f"Nothing was signed: {exc.message}."
        )
        return _lot_page(lot, error=error, deciding=kind, **forms), exc.http_status
    done = "accepted: it may be used" if kind == "accept" else "rejected: it is never used"
    flash(f"Lot {lot.code} {done}. Signed.", "success")
    return redirect(url_for("reagents.detail", lot_id=lot.id))


@bp.route("/<id:lot_id>/accept", methods=["GET", "POST"])
@roles_required(Role.QA)
@signing_throttle
def accept(lot_id: int) -> ResponseReturnValue:
    return _decide(lot_id, "accept")


@bp.route("/<id:lot_id>/reject", methods=["GET", "POST"])
@roles_required(Role.QA)
@signing_throttle
def reject(lot_id: int) -> ResponseReturnValue:
    return _decide(lot_id, "reject")


@bp.get("/<id:lot_id>/label")
@roles_required(*READERS)
def label(lot_id: int) -> ResponseReturnValue:
    """The label to print: ``?format=pdf`` (a sheet), ``zpl`` or ``svg``; ``copies``."""
    fmt = request.args.get("format", "pdf")
    try:
        copies = int(request.args.get("copies", "1"))
    except ValueError:
        copies = 0  # the service says what it must be
    printed = reagents.print_label(lot_id, _viewer(), fmt, copies)
    disposition = "inline" if fmt == "svg" else "attachment"
    return Response(
        printed.content,
        mimetype=printed.mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{printed.filename}"'},
    )


# ---------------------------------------------------------------------------- recall CSV

CSV_HEADER = (
    "unit id",
    "identifier",
    "product code",
    "division",
    "type",
    "status",
    "patient",
    "MRN",
    "wristband",
    "touched",
    "made from",
    "steps",
    "quantity used",
    "quantity unit",
    "first use",
    "first use (UTC)",
)


def _csv_rows(lot: ReagentLot, viewer: User) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        writer.writerow([cell(v) for v in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(CSV_HEADER)
    for row in reagents.recall_rows(lot.id, viewer):
        unit, first = row.unit, reagents.first_use(row)
        via = row.via
        yield line(
            (
                unit.id,
                f"{eye_readable(unit.din)} {unit.check_character}",
                unit.product_code,
                unit.division,
                unit.unit_type,
                unit.status,
                unit.patient.name,
                unit.patient.mrn,
                unit.patient.wristband,
                "used on it" if row.direct else "made from a unit it was used on",
                f"{eye_readable(via.din)} {via.product_code} {via.division}" if via else "",
                "; ".join(sorted({u.step or u.action for u in row.uses})),
                sum(u.quantity or 0 for u in row.uses) if row.uses else "",
                lot.quantity_unit if row.uses else "",
                local_time(first) if first else "",
                utc_iso(first) if first else "",
            )
        )


@bp.get("/<id:lot_id>/units.csv")
@roles_required(*READERS)
def recall_csv(lot_id: int) -> ResponseReturnValue:
    """Every unit the lot touched, with its patient: a file for the recall."""
    viewer = _viewer()
    lot = reagents.find_lot(lot_id, viewer)
    reagents.recall(lot.id, viewer, per_page=1)  # refuse before the file starts
    return Response(
        stream_with_context(_csv_rows(lot, viewer)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="recall-{lot.code}.csv"'},
    )
