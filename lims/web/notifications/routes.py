"""The in-app inbox, each user's notification preferences, and (admins) the deliveries
parked after their last retry. Thin: read the request, call ``services.inbox``, render."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ... import dispatch
from ...domain.errors import Conflict, ServiceError
from ...domain.notifications import EVENTS
from ...domain.roles import Role
from ...security import roles_required
from ...services import inbox
from . import bp
from .forms import PreferencesForm

PER_PAGE = 50
MAX_PAGE = 1_000_000  # beyond it an offset would not fit the database's integers


def _me():
    return current_user._get_current_object()


def _filters(source) -> dict[str, str | int]:
    """The inbox view to return to: its page and whether it shows unread messages only."""
    page = min(max(source.get("page", type=int) or 1, 1), MAX_PAGE)
    filters: dict[str, str | int] = {"page": page} if page > 1 else {}
    if source.get("unread") == "1":
        filters["unread"] = "1"
    return filters


@bp.route("/notifications")
@roles_required()
def inbox_page() -> ResponseReturnValue:
    filters = _filters(request.args)
    page = inbox.inbox(
        _me(),
        unread_only="unread" in filters,
        page=int(filters.get("page", 1)),
        per_page=PER_PAGE,
    )
    return render_template(
        "notifications/inbox.html",
        page=page,
        links=inbox.links(page.items),
        filters=filters,
        unread_only="unread" in filters,
        events=EVENTS,
    )


@bp.post("/notifications/<id:notification_id>/read")
@roles_required()
def mark_read(notification_id: int) -> ResponseReturnValue:
    """Another user's message (or none) is a 404 and nothing changes."""
    inbox.mark_read(_me(), notification_id)
    return redirect(url_for("notifications.inbox_page", **_filters(request.form)))


@bp.post("/notifications/read-all")
@roles_required()
def mark_all_read() -> ResponseReturnValue:
    count = inbox.mark_all_read(_me())
    flash(
        f"Marked {count} notification{'' if count == 1 else 's'} read."
        if count
        else "Nothing was unread.",
        "success" if count else "info",
    )
    return redirect(url_for("notifications.inbox_page"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@roles_required()
def settings() -> ResponseReturnValue:
    form = PreferencesForm()
    shown = inbox.preferences(_me())
    if not form.is_submitted():
        return render_template("notifications/settings.html", form=form, prefs=shown)
    if not form.validate():
        return render_template(
            "notifications/settings.html",
            form=form,
            prefs=shown,
            error="Nothing was saved: the form could not be read; reload the page and try again.",
        ), 400
    try:
        inbox.save_preferences(_me(), form.choices(shown, request.form))
    except ServiceError as exc:
        return render_template(
            "notifications/settings.html",
            form=form,
            prefs=shown,
            error=f"Nothing was saved: {exc.message}.",
        ), exc.http_status
    flash("Your notification preferences are saved.", "success")
    return redirect(url_for("notifications.settings"))


# ---------------------------------------------------------------------------- admins


@bp.get("/admin/deliveries")
@roles_required(Role.ADMIN)
def deliveries() -> ResponseReturnValue:
    admin = _me()
    return render_template(
        "notifications/deliveries.html",
        counts=inbox.delivery_counts(admin),
        failed=inbox.failed_deliveries(admin),
        events=EVENTS,
        channel_names=inbox.CHANNEL_NAMES,
        celery=dispatch.broker_configured(),
    )


RETRY_MESSAGES = {
    "sent": ("Delivery {id} was sent.", "success"),
    "queued": ("Delivery {id} is pending again; a worker sends it now.", "success"),
    "deferred": (
        "Delivery {id} is pending again, but the queue (Redis) cannot be reached: "
        "the sweep will send it when the queue is back.",
        "info",
    ),
    "retry": (
        "Delivery {id} failed again ({error}); it will be retried automatically.",
        "error",
    ),
    "failed": ("Delivery {id} failed again and is parked: {error}", "error"),
    "skipped": ("Delivery {id} is being sent by a worker already.", "info"),
}


@bp.post("/admin/deliveries/<id:delivery_id>/retry")
@roles_required(Role.ADMIN)
def retry_delivery(delivery_id: int) -> ResponseReturnValue:
    try:
        result = inbox.retry_delivery(_me(), delivery_id)
    except Conflict as exc:
        flash(f"{exc.message[0].upper()}{exc.message[1:]}.", "info")
        return redirect(url_for("notifications.deliveries"))
    text, category = RETRY_MESSAGES.get(result.outcome, ("Delivery {id}: {outcome}.", "info"))
    error = result.last_error or "no error recorded"
    flash(text.format(id=delivery_id, error=error, outcome=result.outcome), category)
    return redirect(url_for("notifications.deliveries"))
