"""The scan box and the scan station.

The box (``/scan?code=``): a GET form, so the scanner's Enter submits it from any page and
the back button works; looking a unit up changes nothing.

The station (``/station``): one always-focused input for a keyboard-wedge scanner; what a
scan means depends on the step (``station.State``): unit then location moves it, wristband
then unit checks identity, batch mode collects units for one action.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain import codes, identifiers
from ...domain.errors import Conflict, Invalid, ServiceError
from ...domain.lifecycle import ACTIONS
from ...domain.roles import Role
from ...models import Equipment, ReagentLot, User
from ...models.types import utcnow
from ...security import roles_required
from ...services import access
from ...services.actions import units
from ...services.materials import reagents
from ...services.materials.equipment import READERS as EQUIPMENT_READERS
from ...services.materials.registry import equipment_by_code
from ...services.station import scan as scan_service
from ..units.base_forms import UNREADABLE, VersionedForm
from ..units.forms import ACTION_FORMS
from . import bp, station

ECHO_LENGTH = 40


def _echo(code: str) -> str:
    """What was read, shortened, so a user sees what the scanner actually sent."""
    code = code.strip()
    return code if len(code) <= ECHO_LENGTH else code[:ECHO_LENGTH] + "…"


def _example() -> str:
    """A well-formed identifier of this facility, to show how one is typed."""
    din = identifiers.make_din(current_app.config["FACILITY_CODE"], utcnow().year, 42)
    return identifiers.eye_readable(din)


def _only_units(code: str) -> None:
    """The box finds units; a wristband or location code is said to be one (not unreadable)."""
    try:
        scanned = codes.classify(code)
    except identifiers.CodeError:
        return  # the lookup says precisely what is wrong with it
    if not isinstance(scanned, codes.UnitCode):
        raise Invalid(
            f"this is a {codes.describe(scanned)} code; the scan station handles it",
            code="wrong_kind",
        )


def _equipment(code: str) -> Equipment | None:
    """The item an ``E…`` code names (for those who may read the register; an unknown one
    is 404), or None for other codes."""
    try:
        scanned = codes.classify(code)
    except identifiers.CodeError:
        return None
    readers = {r.value for r in EQUIPMENT_READERS}
    if not isinstance(scanned, codes.EquipmentCode) or _actor().role not in readers:
        return None
    return equipment_by_code(code)


def _reagent_lot(code: str) -> ReagentLot | None:
    """The lot an ``R…`` code names (for those who may see lots; an unknown one is 404), or
    None for other codes."""
    try:
        scanned = codes.classify(code)
    except identifiers.CodeError:
        return None
    readers = {r.value for r in reagents.READERS}
    if not isinstance(scanned, codes.ReagentLotCode) or _actor().role not in readers:
        return None
    return reagents.find_by_code(code, _actor())


@bp.route("/scan")
@roles_required()
def scan() -> ResponseReturnValue:
    code = request.args.get("code")
    if code is None:
        return render_template("scan/index.html", example=_example())
    try:
        item = _equipment(code)
        if item is not None:  # an equipment label: the item's page
            return redirect(url_for("equipment.detail", equipment_id=item.id))
        lot = _reagent_lot(code)
        if lot is not None:  # a reagent lot's label: its page
            return redirect(url_for("reagents.detail", lot_id=lot.id))
        _only_units(code)
        found = scan_service.lookup(code, _actor())
    except ServiceError as exc:
        return render_template(
            "scan/index.html",
            example=_example(),
            error=exc.message,
            not_found=exc.http_status == 404,
            other_kind=exc.code == "wrong_kind",
            scanned=_echo(code),
        ), exc.http_status
    if len(found) == 1:
        return redirect(url_for("units.detail", unit_id=found[0].id))
    return render_template(
        "scan/index.html", example=_example(), choices=found, scanned=_echo(code)
    )


# ---------------------------------------------------------------------------- the station

# Batch mode applies one form to many units; processing makes different products per unit.
# What a box of tubes gets at once. Not what is recorded unit by unit (processing, QC,
# splitting, dispensing to a patient's clinician) and never a signature, which binds to
# one unit's record.
BATCH_ACTIONS = ("dispatch", "receive", "store", "move", "discard")
ERROR_TITLES = {
    "not_found": "Unknown code",
    "unknown_identifier": "Unknown unit",
    "unknown_unit": "Unknown unit",
    "unknown_wristband": "Unknown wristband",
    "unknown_location": "Unknown location",
    "bad_check_character": "Wrong check character",
    "wrong_kind": "Wrong kind of code",
    "final_status": "Unit in a final status",
    "not_allowed_now": "Not allowed now",
    "role_not_allowed": "Not allowed for your role",
    "stale_version": "The unit changed meanwhile",
    "mismatch_open": "Identity mismatch open",
}


def _actor() -> User:
    return current_user._get_current_object()


def _error(exc: ServiceError, code: str | None = None) -> dict[str, str]:
    return {
        "title": ERROR_TITLES.get(exc.code, "Cannot use this code"),
        "message": exc.message,
        "code": exc.code,
        "scanned": _echo(code) if code else "",
    }


def _render(state: station.State, status: int = 200, **page: Any) -> ResponseReturnValue:
    actor = _actor()
    unit = station.current_unit(state, actor)
    state.save()
    allowed = units.allowed_actions(unit, actor) if unit else []
    return render_template(
        "scan/station.html",
        state=state,
        unit=unit,
        actions=allowed,
        batch=station.batch_units(state, actor),
        batch_actions=[a for a in BATCH_ACTIONS if Role(actor.role) in ACTIONS[a].roles],
        expects=station.EXPECTS,
        actions_table=ACTIONS,
        **page,
    ), status


@bp.get("/station")
@roles_required()
def station_page() -> ResponseReturnValue:
    return _render(station.State.load())


def _operate(state: station.State, op: str) -> str | None:
    """The station's buttons other than a scan; returns a message to show, if any."""
    if op == "dismiss":
        state.alert = None
        return "Mismatch acknowledged. The flow continues with a new scan."
    if state.alert:
        raise Conflict(
            "an identity mismatch is open: acknowledge it (Dismiss) first", code="mismatch_open"
        )
    if op == "move":
        station.start_move(state, _actor())
        return None
    if op == "cancel":
        state.cancel_step()
        return "Step cancelled."
    if op == "batch":
        state.batch = None if state.batch_mode else []
        return "Batch mode on: scan the units." if state.batch_mode else "Batch mode off."
    if op == "clear":
        state.cancel_step()
        state.unit = state.version = None
        return None
    raise Invalid(f"unknown station operation {op[:20]!r}", code="bad_request")


@bp.post("/station")
@roles_required()
def station_post() -> ResponseReturnValue:
    """A scan (``code``) or a button (``op``); a refusal changes neither data nor state."""
    state = station.State.load()
    op = request.form.get("op", "scan")
    code = request.form.get("code", "")
    before = station.State(**asdict(state))
    try:
        if op == "scan" and not code.strip():
            return _render(state)  # Enter on an empty box: nothing to do
        if op == "scan":
            outcome = station.handle_scan(state, code, _actor())
            return _render(state, outcome=outcome)
        return _render(state, notice=_operate(state, op))
    except ServiceError as exc:
        return _render(before, exc.http_status, error=_error(exc, code if op == "scan" else None))


def _batch_form(name: str) -> VersionedForm:
    form = ACTION_FORMS[name]()
    form.version.data = "0"  # each unit is read afresh when the batch is applied
    return form


@bp.route("/station/batch/<name>", methods=["GET", "POST"])
@roles_required()
def station_batch(name: str) -> ResponseReturnValue:
    """The batch's one action: its form, then one transaction per unit and a result each."""
    state = station.State.load()
    if name not in BATCH_ACTIONS:
        abort(404, description=f"there is no batch form for {name!r}")
    action = ACTIONS[name]
    page = {"action": action, "batch": station.batch_units(state, _actor())}
    if not state.batch:
        flash("No units in the batch: turn batch mode on (0) and scan the units first.", "error")
        return redirect(url_for("scan.station_page"))
    form = _batch_form(name)
    if not form.is_submitted():
        return render_template("scan/batch.html", form=form, **page)
    if not form.validate():
        return render_template("scan/batch.html", form=form, error=UNREADABLE, **page), 422
    try:
        results = scan_service.apply_batch(list(state.batch), name, form.to_data(), _actor())
    except ServiceError as exc:
        return render_template("scan/batch.html", form=form, error=exc.message, **page), (
            exc.http_status
        )
    state.batch = None
    return _render(state, batch_results=_described(results), batch_action=action)


def _described(results: list[scan_service.BatchItem]) -> list[dict[str, Any]]:
    described = []
    for item in results:
        try:
            unit = item.unit or access.require_unit(_actor(), item.unit_id)
        except ServiceError:
            unit = None
        described.append({"item": item, "unit": unit})
    return described
