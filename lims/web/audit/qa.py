"""QA's home in the audit workspace (the last verification, open deviations), the signed head receipts listed and checkable, and the deviations list with QA's signed decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.deviations import STATES, Decision, decision_label, kind_label
from ...domain.errors import Conflict, Invalid, ServiceError
from ...domain.roles import Role
from ...domain.signatures import manifestation
from ...models import LedgerReceipt, Signature, User
from ...security import note_refusal, roles_required, signing_throttle
from ...services.actions import qc, units
from ...services.audit import deviations
from ...services.custody import jobs, ledger, receipts
from ...timefmt import local_time
from . import bp
from .access import AUDITORS
from .qa_forms import CloseDeviationForm, PastedReceiptForm


def _viewer() -> User:
    return current_user._get_current_object()


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), receipts.MAX_PAGE))
    except ValueError:
        return 1


# ---------------------------------------------------------------------------- home


@dataclass(frozen=True)
class Home:
    last: jobs.JobView | None  # the last verification with a verdict
    failed_since: jobs.JobView | None  # a newer one that could not finish
    running: jobs.JobView | None
    receipt: LedgerReceipt | None
    receipt_check: receipts.ReceiptCheck | None
    open_deviations: int
    release_queue: int


def _home(viewer: User) -> Home:
    recent = jobs.recent_jobs(viewer, limit=25)
    last = next((j for j in recent if j.status == "done"), None)
    newer = recent[: recent.index(last)] if last else recent
    latest = receipts.latest()
    return Home(
        last=last,
        failed_since=next((j for j in newer if j.status == "failed"), None),
        running=next((j for j in recent if not j.finished), None),
        receipt=latest,
        receipt_check=receipts.check(ledger.receipt_payload(latest)) if latest else None,
        open_deviations=deviations.open_count(),
        release_queue=len(qc.release_queue()),
    )


@bp.get("/")
@roles_required(*AUDITORS)
def home() -> ResponseReturnValue:
    return render_template("audit/home.html", home=_home(_viewer()))


# ---------------------------------------------------------------------------- receipts


def _receipts_page(**extra) -> str:
    page = receipts.list_receipts(_viewer(), _page_number(request.args.get("page")))
    extra.setdefault("form", PastedReceiptForm())
    return render_template("audit/receipts.html", page=page, **extra)


@bp.get("/receipts")
@roles_required(*AUDITORS)
def receipts_list() -> ResponseReturnValue:
    return _receipts_page()


@bp.post("/receipts")
@roles_required(*AUDITORS)
def issue_receipt() -> ResponseReturnValue:
    try:
        issued = receipts.issue(_viewer())
    except Conflict as exc:  # the head is signed already, or the ledger was cut
        flash(exc.message, "info" if exc.code == "head_already_signed" else "error")
        return redirect(url_for("audit.receipts_list"))
    flash(
        f"Head receipt issued: entry #{issued['seq']}. Download it and keep it outside.", "success"
    )
    return redirect(url_for("audit.receipts_list"))


@bp.get("/receipts/<id:receipt_id>")
@roles_required(*AUDITORS)
def check_receipt(receipt_id: int) -> ResponseReturnValue:
    """The list's "Check": the stored receipt against the ledger as it is now."""
    receipt, found = receipts.check_stored(receipt_id, _viewer())
    return _receipts_page(checked=found, checked_receipt=receipt)


@bp.get("/receipts/<id:receipt_id>.json")
@roles_required(*AUDITORS)
def download_receipt(receipt_id: int) -> ResponseReturnValue:
    """The receipt as a file to keep outside the database."""
    receipt = receipts.get_receipt(receipt_id, _viewer())
    body = json.dumps(ledger.receipt_payload(receipt), indent=2) + "\n"
    name = f"ledger-receipt-{receipt.seq}-{receipt.id}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/receipts/check", methods=["GET", "POST"])
@roles_required(*AUDITORS)
def check_pasted() -> ResponseReturnValue:
    """A receipt kept outside, pasted back in: what catches a tail cut with its receipts."""
    form = PastedReceiptForm()
    if not form.is_submitted():
        return _receipts_page(form=form)
    try:
        found = receipts.check_pasted(form.receipt.data, _viewer())
    except Invalid as exc:
        form.receipt.errors = [exc.message]
        return _receipts_page(form=form), exc.http_status
    return _receipts_page(form=form, checked=found, pasted=True)


# ---------------------------------------------------------------------------- deviations


@bp.get("/deviations")
@roles_required(*AUDITORS)
def deviations_list() -> ResponseReturnValue:
    state = request.args.get("state", "open")
    kind = request.args.get("kind", "")
    page_number = _page_number(request.args.get("page"))
    error, status = None, 200
    try:
        page = deviations.list_deviations(_viewer(), state=state, kind=kind, page=page_number)
    except Invalid as exc:
        error, status, page = exc.message, exc.http_status, None
    return render_template(
        "audit/deviations.html",
        page=page,
        error=error,
        state=state if state in STATES else "open",
        kind=kind,
        kinds=deviations.kinds(),
        units_by_id=deviations.units_of(page.rows) if page else {},
        kind_label=kind_label,
        decision_label=decision_label,
        manifest=_manifest,
        may_close=_viewer().role == Role.QA,
    ), status


def _manifest(signature: Signature) -> str:
    return manifestation(signature.printed_name, signature.meaning, local_time(signature.signed_at))


@bp.route("/deviations/<id:deviation_id>/close", methods=["GET", "POST"])
@roles_required(Role.QA)
@signing_throttle
def close_deviation(deviation_id: int) -> ResponseReturnValue:
    deviation = deviations.get_deviation(deviation_id, _viewer())
    unit = units.get_unit(deviation.unit_id)
    form = CloseDeviationForm()
    page = {
        "deviation": deviation,
        "unit": unit,
        "kind_label": kind_label,
        "decision_label": decision_label,
        "manifest": _manifest,
        "form": form,
    }
    if not deviation.is_open:
        return render_template("audit/deviation_close.html", **page), 409
    if not form.is_submitted():
        form.prefill()
        return render_template("audit/deviation_close.html", **page)
    try:
        deviations.close(deviation.id, form.to_data(), _viewer())
    except Invalid as exc:
        note_refusal(exc.code)
        form.show_errors(exc.fields)
        return render_template("audit/deviation_close.html", error=exc.message, **page), 422
    except ServiceError as exc:
        return render_template(
            "audit/deviation_close.html", refusal=exc.message, **page
        ), exc.http_status
    flash(
        f"Deviation #{deviation_id} closed: {Decision(form.decision.data).label}, signed.",
        "success",
    )
    return redirect(url_for("audit.deviations_list", state="closed"))
