"""A unit's certificates of release in the browser (decisions 85–86): the list of every
certificate the unit holds with the chosen (default: the current) one in full, and each as a
PDF, the travelling copy or the file copy. ``services.audit.certificate`` reads and checks
them; nothing here changes state."""

from __future__ import annotations

from datetime import datetime

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain import certificates as words
from ...security import roles_required
from ...services.audit import certificate, certificate_pdf
from ...timefmt import local_time
from . import bp


def when(value: str | None) -> str:
    """A UTC time of the certificate (ISO 8601) in the site's zone, zone named."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return local_time(moment)


@bp.route("/<id:unit_id>/certificate")
@roles_required()
def certificate_page(unit_id: int) -> ResponseReturnValue:
    actor = current_user._get_current_object()
    unit, listed = certificate.listing(actor, unit_id)
    shown = None
    if listed:
        shown = certificate.read(actor, unit.id, request.args.get("number") or None)
    return render_template(
        "units/certificate.html",
        unit=unit,
        listed=listed,
        cert=shown,
        may_file=certificate.may_print_file_copy(actor),
        when=when,
        words=words,
    )


@bp.route("/<id:unit_id>/certificate.pdf")
@roles_required()
def certificate_download(unit_id: int) -> ResponseReturnValue:
    cert = certificate.read(
        current_user._get_current_object(),
        unit_id,
        request.args.get("number") or None,
        request.args.get("copy") or words.TRAVELLING,
    )
    return Response(
        certificate_pdf.render_pdf(cert),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{cert.filename}"'},
    )
