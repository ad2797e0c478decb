"""QA's permit to use equipment the register refuses, on one unit (a deviation the step
cites). ``services.materials.uses.open_permit`` decides; this page only asks."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ...domain.errors import Invalid, ServiceError
from ...domain.materials import EQUIPMENT_KINDS
from ...domain.roles import Role
from ...models.types import utcnow
from ...security import roles_required
from ...services import access
from ...services.materials import uses
from . import bp
from .base_forms import EQUIPMENT_LIST, register_input, stripped


class PermitForm(FlaskForm):
    equipment = StringField(
        "Equipment",
        description="Scan its label or pick it.",
        render_kw=register_input(EQUIPMENT_LIST),
    )
    reason = TextAreaField(
        "Why its use is acceptable for this unit",
        render_kw={"maxlength": 2000, "rows": 4},
    )


def _refused_items() -> list[tuple[str, str]]:
    """Items the register would refuse today: the ones a permit is for."""
    return [
        (item.code, f"{EQUIPMENT_KINDS.get(item.kind, item.kind)}: {problem}")
        for item, problem in uses.refused_equipment(uses.site_day(utcnow()))
    ]


@bp.route("/<id:unit_id>/permit-equipment", methods=["GET", "POST"])
@roles_required(Role.QA)
def permit_equipment(unit_id: int) -> ResponseReturnValue:
    actor = current_user._get_current_object()
    unit = access.require_unit(actor, unit_id)
    form = PermitForm()
    error = None
    if form.validate_on_submit():
        try:
            deviation = uses.open_permit(
                unit.id, stripped(form.equipment.data), stripped(form.reason.data), actor
            )
        except Invalid as exc:
            error = exc.message
            for name, message in (exc.fields or {}).items():
                if name in form:
                    form[name].errors = [message]
        except ServiceError as exc:
            error = exc.message
        else:
            flash(
                f"Deviation #{deviation.id} opened: cite it in the step that uses the item.",
                "success",
            )
            return redirect(url_for("units.detail", unit_id=unit.id))
    status = 422 if error else 200
    return (
        render_template(
            "units/permit.html", unit=unit, form=form, error=error, options=_refused_items()
        ),
        status,
    )
