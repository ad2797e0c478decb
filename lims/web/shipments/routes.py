"""The shipments pages: the list (and the manifest's barcode scanned to open one), a new
shipment, the shipment's page with what its viewer may do next, the forms it posts, and the
manifest and packing list as PDFs.

The shipments service decides everything (roles, sites, states, what a scan names, whether a
note is needed); these views parse the forms, put its messages beside the fields (a refused
form is the page again, with what was typed or scanned kept), show a state that moved on
meanwhile (409: a second tap, another receiver) as a flash on the page, and redirect after a
change so that a reload sends nothing twice. A shipment the viewer may not see is the 404
page; one whose site they do not belong to, the service's 403 message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields import Field

from ...domain import codes
from ...domain.errors import Invalid, NotFound, ServiceError
from ...domain.roles import Role
from ...domain.shipments import CONDITIONS, Outcome, ShipmentStatus
from ...extensions import db
from ...models import Shipment, ShipmentItem, User
from ...models.types import utcnow
from ...pool import read_only
from ...security import TooManyAttempts, note_refusal, roles_required, signing_wait, too_many
from ...services.admin import sites
from ...services.station import shipment_pdf, shipments
from ...timefmt import local_time, site_zone
from ..printing.forms import refused
from ..units.base_forms import UNREADABLE
from . import bp
from .forms import (
    CancelForm,
    DispatchForm,
    ReceiveForm,
    RemoveItemForm,
    ScanItemForm,
    ShipmentForm,
    scanned_lines,
)

SHIPPERS = (Role.TECHNICIAN, Role.CLINICIAN)
ANYONE = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN)
STATUS_WORDS = {
    ShipmentStatus.PREPARING.value: "being packed",
    ShipmentStatus.DISPATCHED.value: "on its way",
    ShipmentStatus.RECEIVED.value: "received",
    ShipmentStatus.CANCELLED.value: "cancelled",
}
OUTCOME_WORDS = {
    Outcome.PACKED.value: "packed",
    Outcome.ACCEPTED.value: "accepted",
    Outcome.MISSING.value: "missing",
    Outcome.DAMAGED.value: "damaged",
    Outcome.UNEXPECTED.value: "unexpected (not on the manifest)",
}
_SEPARATORS = re.compile(r"[\s-]+")


def _actor() -> User:
    return current_user._get_current_object()


def _my_site_ids(actor: User) -> set[int]:
    return {s.id for s in actor.sites}  # type: ignore[attr-defined]


def normalized(code: str) -> str:
    """A code as the page's checklist compares it (the same as ``shipment_receive.js``):
    capitals, without the spaces and dashes a typed DIN may carry."""
    return _SEPARATORS.sub("", code).upper()


def _to_page(shipment_id: int, anchor: str | None = None) -> ResponseReturnValue:
    return redirect(url_for("shipments.detail", shipment_id=shipment_id, _anchor=anchor))


# ---------------------------------------------------------------------------- the list


def _unit_counts(found: list[Shipment]) -> dict[int, int]:
    """How many units each shipment's manifest holds, in one query."""
    if not found:
        return {}
    rows = db.session.execute(
        select(ShipmentItem.shipment_id, func.count())
        .where(
            ShipmentItem.shipment_id.in_([s.id for s in found]),
            ShipmentItem.on_manifest.is_(True),
        )
        .group_by(ShipmentItem.shipment_id)
    )
    return {shipment_id: count for shipment_id, count in rows}


def _list_page(
    status: str = "", *, find_error: str | None = None, http_status: int = 200
) -> ResponseReturnValue:
    actor = _actor()
    error = None
    try:
        found = shipments.list_shipments(actor, status or None)
    except Invalid as exc:
        error, found, http_status = exc.message, [], exc.http_status
    page = render_template(
        "shipments/index.html",
        shipments=found,
        counts=_unit_counts(found),
        status=status,
        statuses=STATUS_WORDS,
        error=error,
        find_error=find_error,
        may_create=actor.role in {r.value for r in SHIPPERS},
        now=utcnow(),
    )
    return page, http_status


@bp.get("/shipments")
@read_only
@roles_required(*ANYONE)
def index() -> ResponseReturnValue:
    """Newest first: QA and admin see every shipment, the others their sites'."""
    return _list_page(request.args.get("status", "").strip()[:40])


@bp.get("/shipments/find")
@read_only
@roles_required(*ANYONE)
def find() -> ResponseReturnValue:
    """The manifest's barcode scanned into the list's box: that shipment's page. A code that
    is not a shipment's, or names none this person may see, is said beside the box."""
    code = request.args.get("code", "").strip()
    try:
        shipment = shipments.by_code(code, _actor())
    except (Invalid, NotFound) as exc:
        scanned = f"{code[:40]}: " if code else ""
        return _list_page(find_error=f"{scanned}{exc.message}", http_status=exc.http_status)
    return redirect(url_for("shipments.detail", shipment_id=shipment.id))


# ---------------------------------------------------------------------------- a new shipment


def _new_form(actor: User) -> ShipmentForm:
    senders = [s for s in actor.sites if s.active]  # type: ignore[attr-defined]
    only = senders[0].id if len(senders) == 1 else None
    receivers = [s for s in sites.list_sites(active_only=True) if s.id != only]
    return ShipmentForm(senders=senders, receivers=receivers)


def _new_page(form: ShipmentForm, error: str | None = None) -> str:
    return render_template("shipments/new.html", form=form, error=error, conditions=CONDITIONS)


@bp.route("/shipments/new", methods=["GET", "POST"])
@roles_required(*SHIPPERS)
def new() -> ResponseReturnValue:
    actor = _actor()
    form = _new_form(actor)
    if not form.is_submitted():
        return _new_page(form)
    if not form.validate():
        return _new_page(form, UNREADABLE), 422
    try:
        made = shipments.create(form.to_data(), actor)
    except ServiceError as exc:
        return _new_page(form, refused(form, exc, "Nothing was saved")), exc.http_status
    flash(
        f"Shipment {made.code} created: scan its units in, then dispatch it.",
        "success",
    )
    return _to_page(made.id)


# ---------------------------------------------------------------------------- the page


@dataclass
class Row:
    """One manifest item on the receive form's checklist: the codes that tick it (its DIN
    barcode, its Data Matrix, its DIN as typed), what "damaged" sends for it, and whether the
    codes scanned so far name it."""

    item: ShipmentItem
    codes: list[str]
    damaged_code: str
    ticked: bool = False


@dataclass
class Forms:
    scan: ScanItemForm | None = None
    dispatch: DispatchForm | None = None
    cancel: CancelForm | None = None
    receive: ReceiveForm | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _has_focus(field: Field) -> bool:
    return bool((field.render_kw or {}).get("autofocus"))


def _set_focus(field: Field, on: bool) -> None:
    """A new dict each time: a field's ``render_kw`` is shared by every form of its class."""
    rest = {k: v for k, v in (field.render_kw or {}).items() if k != "autofocus"}
    field.render_kw = {**rest, "autofocus": True} if on else rest


def _checklist(shipment: Shipment, scanned: list[str]) -> list[Row]:
    seen = {normalized(code) for code in scanned}
    rows = []
    for item in shipments.manifest(shipment):
        unit = item.unit
        matrix = codes.unit_datamatrix_data(unit.barcode_data, unit.product_code, unit.division)
        names = [normalized(c) for c in (unit.barcode_data, matrix, unit.eye_readable)]
        rows.append(Row(item, names, matrix, ticked=bool(seen & set(names))))
    return rows


def _page(shipment: Shipment, forms: Forms | None = None, status: int = 200) -> ResponseReturnValue:
    actor = _actor()
    forms = forms or Forms()
    mine = _my_site_ids(actor)
    shipper = actor.role in {r.value for r in SHIPPERS}
    may_pack = (
        shipper
        and shipment.status == ShipmentStatus.PREPARING.value
        and shipment.from_site_id in mine
    )
    may_receive = (
        shipper
        and shipment.status == ShipmentStatus.DISPATCHED.value
        and shipment.to_site_id in mine
    )
    scan = forms.scan or ScanItemForm(formdata=None)
    dispatching = forms.dispatch or DispatchForm(formdata=None, zone=site_zone())
    dispatching.expected_by.label.text = f"Expected arrival ({site_zone().key})"
    cancelling = forms.cancel or CancelForm(formdata=None)
    receive = forms.receive or ReceiveForm(formdata=None)
    refused_form = next(
        (
            form
            for key, form in (
                ("dispatch", dispatching),
                ("cancel", cancelling),
                ("receive", receive),
            )
            if key in forms.errors
        ),
        None,
    )
    if refused_form is not None:  # the cursor where the refusal is, not in the scan box
        _set_focus(scan.code, False)
        if not any(_has_focus(f) for f in refused_form):
            first = next((f for f in refused_form if f.errors), None)
            if first is not None:
                _set_focus(first, True)
    elif may_receive and not any(_has_focus(f) for f in receive):
        _set_focus(receive.arrival_temperature_c, True)
    condition = CONDITIONS.get(shipment.condition)
    temperature = shipment.arrival_temperature_c
    page = render_template(
        "shipments/detail.html",
        shipment=shipment,
        condition=condition,
        outside=(
            temperature is not None
            and condition is not None
            and not condition.contains(temperature)
        ),
        items=shipment.items,
        seen=shipments.visible_unit_ids(shipment, _actor()),
        manifest=shipments.manifest(shipment),
        checklist=_checklist(shipment, receive.codes()) if may_receive else [],
        may_pack=may_pack,
        may_receive=may_receive,
        scan_form=scan,
        remove_form=RemoveItemForm(formdata=None),
        dispatch_form=dispatching,
        cancel_form=cancelling,
        receive_form=receive,
        errors=forms.errors,
        statuses=STATUS_WORDS,
        outcomes=OUTCOME_WORDS,
        overdue=_overdue(shipment),
    )
    return page, status


def _overdue(shipment: Shipment) -> bool:
    return (
        shipment.status == ShipmentStatus.DISPATCHED.value
        and shipment.expected_by is not None
        and shipment.expected_by < utcnow()
    )


@bp.get("/shipments/<id:shipment_id>")
@read_only
@roles_required(*ANYONE)
def detail(shipment_id: int) -> ResponseReturnValue:
    return _page(shipments.get(shipment_id, _actor()))  # not theirs to see: the 404 page


def _refusal_flash(exc: ServiceError, nothing: str) -> None:
    """A refusal that is no form's: on top of the page, which shows the state as it is now.
    A shipment this person may not see, or at a site they do not belong to, is the error
    page with the service's message (403, 404)."""
    if exc.http_status in (403, 404):
        raise exc
    flash(f"{nothing}: {exc.message.rstrip('.')}.", "error")


# ---------------------------------------------------------------------------- packing


@bp.post("/shipments/<id:shipment_id>/items")
@roles_required(*SHIPPERS)
def add_item(shipment_id: int) -> ResponseReturnValue:
    """One scan into the shipment being packed; the page again, its box ready for the next."""
    actor = _actor()
    form = ScanItemForm()
    scanned = (form.code.data or "").strip()
    if not scanned:  # an Enter on an empty box
        shipments.get(shipment_id, actor)
        flash("Nothing was scanned: scan a unit's barcode into the box.", "info")
        return _to_page(shipment_id, "scan")
    try:
        item = shipments.add_item(shipment_id, form.to_data(), actor)
    except Invalid as exc:
        # One message, beside the box, naming what was scanned; the box empty for the next.
        form.code.data = ""
        form.code.errors = [f"Not added ({scanned[:40]}): {exc.message.rstrip('.')}."]
        return _page(shipments.get(shipment_id, actor), Forms(scan=form), exc.http_status)
    except ServiceError as exc:
        _refusal_flash(exc, f"Not added ({scanned[:40]})")
        return _to_page(shipment_id, "scan")
    unit = item.unit
    count = len(shipments.manifest(shipments.get(shipment_id, actor)))
    flash(
        f"Added {unit.eye_readable} {unit.product_code} {unit.division}: "
        f"{count} unit{'' if count == 1 else 's'} in the shipment.",
        "success",
    )
    return _to_page(shipment_id, "scan")


@bp.post("/shipments/<id:shipment_id>/items/<id:item_id>/remove")
@roles_required(*SHIPPERS)
def remove_item(shipment_id: int, item_id: int) -> ResponseReturnValue:
    actor = _actor()
    shipment = shipments.get(shipment_id, actor)  # not theirs to see: the 404 page
    item = next((i for i in shipment.items if i.id == item_id), None)
    name = (
        f"{item.unit.eye_readable} {item.unit.product_code}"
        if item and item.unit
        else f"item {item_id}"
    )
    try:
        shipments.remove_item(shipment.id, item_id, actor)
    except ServiceError as exc:
        if exc.http_status == 404:  # removed already (a second tap)
            flash(f"Nothing was removed: {exc.message.rstrip('.')}.", "info")
            return _to_page(shipment.id, "items")
        _refusal_flash(exc, "Nothing was removed")
        return _to_page(shipment.id, "items")
    flash(f"Removed {name} from the shipment.", "success")
    return _to_page(shipment.id, "items")


@bp.route("/shipments/<id:shipment_id>/dispatch", methods=["GET", "POST"])
@roles_required(*SHIPPERS)
def dispatch(shipment_id: int) -> ResponseReturnValue:
    """The packer sends it, a second person confirming with their password. GET (a refused
    form's address opened again) is the shipment's page."""
    if request.method == "GET":
        return _to_page(shipment_id, "dispatch")
    actor = _actor()
    shipment = shipments.get(shipment_id, actor)
    wait = signing_wait()  # a wrong password of the checker counts against the packer
    if wait:
        message = (
            "Too many wrong passwords: dispatching is paused for your account; try again "
            f"in {max(1, round(wait / 60))} minute(s)."
        )
        return too_many(TooManyAttempts(message, wait))
    form = DispatchForm(zone=site_zone())
    if not form.validate():
        forms = Forms(dispatch=form, errors={"dispatch": UNREADABLE})
        return _page(shipment, forms, 422)
    try:
        sent = shipments.dispatch(shipment.id, form.to_data(), actor)
    except Invalid as exc:
        note_refusal(exc.code)
        error = refused(form, exc, "Not dispatched")
        return _page(
            shipments.get(shipment_id, actor), Forms(dispatch=form, errors={"dispatch": error}), 422
        )
    except ServiceError as exc:
        _refusal_flash(exc, "Not dispatched")
        return _to_page(shipment.id)
    count = len(shipments.manifest(sent))
    flash(
        f"Shipment {sent.code} dispatched to {sent.to_site.name}: {count} "
        f"unit{'' if count == 1 else 's'}, expected by {local_time(sent.expected_by)}.",
        "success",
    )
    return _to_page(sent.id)


@bp.route("/shipments/<id:shipment_id>/cancel", methods=["GET", "POST"])
@roles_required(*SHIPPERS)
def cancel(shipment_id: int) -> ResponseReturnValue:
    if request.method == "GET":
        return _to_page(shipment_id, "cancel")
    actor = _actor()
    shipment = shipments.get(shipment_id, actor)
    form = CancelForm()
    try:
        done = shipments.cancel(shipment.id, form.to_data(), actor)
    except Invalid as exc:
        error = refused(form, exc, "Not cancelled")
        return _page(shipment, Forms(cancel=form, errors={"cancel": error}), exc.http_status)
    except ServiceError as exc:
        _refusal_flash(exc, "Not cancelled")
        return _to_page(shipment.id)
    flash(f"Shipment {done.code} cancelled: its units stay where they are.", "success")
    return _to_page(done.id)


# ---------------------------------------------------------------------------- receipt


@bp.route("/shipments/<id:shipment_id>/receive", methods=["GET", "POST"])
@roles_required(*SHIPPERS)
def receive(shipment_id: int) -> ResponseReturnValue:
    """The receipt scan. Refused, the page again with every code scanned kept; when the
    shipment is not as sent, the message lists what and the note is asked for."""
    if request.method == "GET":
        return _to_page(shipment_id, "receive")
    actor = _actor()
    shipment = shipments.get(shipment_id, actor)
    form = ReceiveForm()
    form.scanned.data = "\n".join(scanned_lines(form.scanned.data))
    if not form.validate():
        return _page(shipment, Forms(receive=form, errors={"receive": UNREADABLE}), 422)
    try:
        got = shipments.receive(shipment.id, form.to_data(), actor)
    except Invalid as exc:
        if exc.code == "note_required":
            _set_focus(form.note, True)
        error = refused(form, exc, "Not received yet")
        current = shipments.get(shipment_id, actor)
        return _page(current, Forms(receive=form, errors={"receive": error}), exc.http_status)
    except ServiceError as exc:
        _refusal_flash(exc, "Not received")
        return _to_page(shipment.id)
    found: dict[str, int] = {}
    for item in got.items:
        found[item.outcome] = found.get(item.outcome, 0) + 1
    summary = ", ".join(
        f"{found[o.value]} {OUTCOME_WORDS[o.value]}"
        for o in (Outcome.ACCEPTED, Outcome.MISSING, Outcome.DAMAGED, Outcome.UNEXPECTED)
        if found.get(o.value)
    )
    told = " QA is told of the discrepancies." if got.discrepancies else ""
    flash(f"Shipment {got.code} received: {summary}.{told}", "success")
    return _to_page(got.id)


# ---------------------------------------------------------------------------- the papers


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@bp.get("/shipments/<id:shipment_id>/manifest.pdf")
@read_only
@roles_required(*ANYONE)
def manifest_pdf(shipment_id: int) -> ResponseReturnValue:
    shipment = shipments.get(shipment_id, _actor())
    return _pdf(shipment_pdf.manifest_pdf(shipment), f"manifest-{shipment.code}")


@bp.get("/shipments/<id:shipment_id>/packing-list.pdf")
@read_only
@roles_required(*ANYONE)
def packing_list_pdf(shipment_id: int) -> ResponseReturnValue:
    shipment = shipments.get(shipment_id, _actor())
    return _pdf(shipment_pdf.packing_list_pdf(shipment), f"packing-list-{shipment.code}")
