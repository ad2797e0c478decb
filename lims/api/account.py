"""The caller's own account on the ``api`` blueprint: end the bearer token in use (signing
out of the API) and change one's password. Both stay open while a password change is
required (an admin set the password), so the person can get out of that state."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from ..security import roles_required, signing_throttle
from ..services.admin import accounts
from . import bp
from .account_doc import PasswordChangedOut, PasswordChangeRequest, TokenRevokedOut
from .body import body_first, json_object, parse
from .respond import json_response
from .serialise import user_out


def _bearer_token() -> str:
    """The token this request signed in with (``roles_required`` let it in)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401)
    return token.strip()


@bp.post("/tokens/revoke")
@roles_required(during_password_change=True)
def revoke_token():
    revoked_at = accounts.revoke_token(_bearer_token(), current_user._get_current_object())
    return json_response(TokenRevokedOut(revoked_at=revoked_at))


@bp.post("/me/password")
@roles_required(during_password_change=True)
@body_first
@signing_throttle
def change_my_password():
    body = parse(PasswordChangeRequest, json_object())
    token = _bearer_token()
    me = current_user._get_current_object()
    revoked = accounts.change_own_password(
        me, body.current_password, body.new_password, keeping_token=token
    )
    return json_response(PasswordChangedOut(user=user_out(me), tokens_revoked=revoked))
