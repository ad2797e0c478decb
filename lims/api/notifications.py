"""The caller's in-app inbox on the ``api`` blueprint: read it, mark one message read.

A caller only ever sees their own messages; another user's id answers 404 exactly like an
unknown one (``services.inbox`` decides that), in the one JSON error shape.
"""

from __future__ import annotations

from flask_login import current_user

from ..models import Notification
from ..security import roles_required
from ..services import inbox
from . import bp
from .body import query
from .respond import json_response
from .schemas import NotificationOut, NotificationPageOut, NotificationQuery


def notification_out(note: Notification) -> NotificationOut:
    return NotificationOut(
        id=note.id,
        event=note.event,
        unit_id=note.unit_id,
        urgency=note.urgency,
        created_at=note.created_at,
        read=note.read_at is not None,
        title=note.title,
        body=note.body,
    )


@bp.get("/notifications")
@roles_required()
def list_notifications():
    params = query(NotificationQuery)
    me = current_user._get_current_object()
    found = inbox.inbox(me, unread_only=params.unread, page=params.page, per_page=params.per_page)
    return json_response(
        NotificationPageOut(
            items=[notification_out(n) for n in found.items],
            page=found.page,
            per_page=found.per_page,
            total=found.total,
            unread=found.total if params.unread else inbox.unread_count(me),
        )
    )


@bp.post("/notifications/<id:notification_id>/read")
@roles_required()
def read_notification(notification_id: int):
    note = inbox.mark_read(current_user._get_current_object(), notification_id)
    return json_response(notification_out(note))
