"""A patient's page: their units as a tree (source → products → aliquots) with history, and
their appointments, which the treating clinician books, moves and cancels here.

Whoever may see the patient reads the page (``services.access``, decision 61: a clinician
their own patients, a technician those the lab holds units of, QA and admin all); to anyone
else it is "no such patient". Only the patient's own clinician sees and uses the booking
forms (the service refuses everyone else).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.readiness import ON_BOARD
from ...domain.roles import Role
from ...security import roles_required
from ...services.actions import courses
from ...services.audit import adverse_reactions
from ...services.audit.timeline import timeline
from ...services.clinic import appointments, readiness
from ...services.custody import ledger
from . import bp
from .forms import BookingForm, CancelForm, DoneForm, MoveForm

UNREADABLE = "Nothing was booked: some entries could not be read; see the marked fields."


def _me():
    return current_user._get_current_object()


def _zone() -> str:
    return current_app.config["TIMEZONE"]


def _products(units):
    """What an injection may name: the patient's live products."""
    return [u for u in units if not u.kind.is_source and u.status in {s.value for s in ON_BOARD}]


def _place(form, exc: ServiceError) -> None:
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors") and message not in field.errors:
            field.errors = [*field.errors, message]


def _collections(units):
    """The patient's units grouped by collection (DIN), newest collection first, each with
    its history newest first."""
    groups: dict[str, list] = {}
    for unit in units:
        groups.setdefault(unit.din, []).append(unit)
    result = []
    for members in groups.values():
        entries = ledger.history([u.id for u in members])
        result.append((members[0], list(reversed(timeline(entries, members)))))
    result.sort(key=lambda item: item[0].collected_at, reverse=True)
    return result


def _page(patient, form=None, error=None, status=200) -> ResponseReturnValue:
    units = readiness.patient_units(patient)
    mine = appointments.may_book(patient, _me())
    if form is None and mine:
        form = BookingForm(zone=_zone(), products=_products(units), formdata=None)
    return render_template(
        "patients/detail.html",
        patient=patient,
        tree=readiness.patient_tree(patient, units),
        collections=_collections(units),
        appointments=appointments.of_patient(patient),
        courses=courses.of_patient(patient.id),
        reactions=adverse_reactions.of_patient(patient.id),
        reaction_label=adverse_reactions.label,
        given=[u for u in units if u.status == "administered"],
        form=form if mine else None,
        cancel_form=CancelForm(formdata=None),
        mine=mine,
        error=error,
    ), status


@bp.route("/<id:patient_id>")
@roles_required()
def detail(patient_id: int) -> ResponseReturnValue:
    return _page(appointments.get_patient(patient_id, _me()))


@bp.route("/<id:patient_id>/appointments/new", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN)
def book(patient_id: int) -> ResponseReturnValue:
    patient = appointments.get_patient(patient_id, _me())
    appointments.require_own(patient, _me())
    units = readiness.patient_units(patient)
    form = BookingForm(zone=_zone(), products=_products(units))
    if not form.is_submitted():
        if request.args.get("kind") in ("collection", "injection"):
            form.kind.data = request.args["kind"]
        return render_template("patients/book.html", patient=patient, form=form)
    if not form.validate():
        return render_template(
            "patients/book.html", patient=patient, form=form, error=UNREADABLE
        ), 422
    try:
        booked = appointments.book(patient.id, form.to_data(), _me())
    except ServiceError as exc:
        _place(form, exc)
        return render_template(
            "patients/book.html", patient=patient, form=form, error=exc.message
        ), exc.http_status
    flash(
        f"Booked the {booked.kind} for {patient.name} on {readiness.when(booked.scheduled_at)}.",
        "success",
    )
    return redirect(url_for("patients.detail", patient_id=patient.id))


@bp.route("/<id:patient_id>/appointments/<id:appointment_id>", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN)
def appointment(patient_id: int, appointment_id: int) -> ResponseReturnValue:
    """Move (a new time) or cancel one booked appointment."""
    booked = appointments.get_appointment(appointment_id, _me(), patient_id)
    appointments.require_own(booked.patient, _me())
    move_form = MoveForm(zone=_zone())
    cancel_form = CancelForm()
    if request.method == "GET":
        return render_template(
            "patients/appointment.html",
            appointment=booked,
            move_form=MoveForm(zone=_zone(), formdata=None),
            cancel_form=CancelForm(formdata=None),
            done_form=DoneForm(formdata=None),
        )
    op = request.form.get("op")
    try:
        if op == "cancel":
            if not cancel_form.validate():
                raise ServiceError("the form expired; reload the page and try again")
            appointments.cancel(appointment_id, _me(), patient_id=patient_id)
            flash(
                f"Cancelled the {booked.kind} of {readiness.when(booked.scheduled_at)}.", "success"
            )
        elif op == "move":
            if not move_form.validate():
                return render_template(
                    "patients/appointment.html",
                    appointment=booked,
                    move_form=move_form,
                    cancel_form=cancel_form,
                    done_form=DoneForm(formdata=None),
                    error="Not moved: the new time could not be read.",
                ), 422
            moved = appointments.move(
                appointment_id, move_form.to_data(), _me(), patient_id=patient_id
            )
            flash(f"Moved the {moved.kind} to {readiness.when(moved.scheduled_at)}.", "success")
        elif op == "done":
            if not DoneForm().validate():
                raise ServiceError("the form expired; reload the page and try again")
            done = appointments.complete(appointment_id, _me(), patient_id=patient_id)
            flash(f"The {done.kind} of {readiness.when(done.scheduled_at)} is done.", "success")
        else:
            raise ServiceError("choose Move, Cancel or Mark as done", code="unknown_operation")
    except ServiceError as exc:
        _place(move_form, exc)
        return render_template(
            "patients/appointment.html",
            appointment=booked,
            move_form=move_form,
            cancel_form=cancel_form,
            done_form=DoneForm(formdata=None),
            error=exc.message,
        ), exc.http_status
    return redirect(url_for("patients.detail", patient_id=patient_id))
