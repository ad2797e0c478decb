"""The OpenAPI operations and schemas of the caller's own account (ending the token in use,
changing the password); ``openapi`` joins them to the rest."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from ..domain import passwords
from . import rules_doc
from .operation import Operation
from .schemas import Request, Response, UserOut, UtcTime


class PasswordChangeRequest(Request):
    """The current password (as when signing) and the new one; the rules for the new one
    are the same as everywhere (at least 12 characters, not the username, not a common
    password)."""

    current_password: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=False)
    ]
    new_password: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=passwords.MAX_LENGTH * 4, strip_whitespace=False
        ),
    ] = Field(
        description=f"at least {passwords.MIN_LENGTH} characters",
        json_schema_extra={"minLength": passwords.MIN_LENGTH, "maxLength": passwords.MAX_LENGTH},
    )


class PasswordChangedOut(Response):
    user: UserOut
    tokens_revoked: int = Field(
        description="the caller's other API tokens ended by the change (this one goes on)"
    )


class TokenRevokedOut(Response):
    revoked_at: UtcTime = Field(description="from this moment the token is refused (401)")


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/tokens/revoke",
        "revoke_token",
        "Sign out of the API: end the bearer token this request carries",
        "TokenRevokedOut",
        errors=(401,),
    ),
    Operation(
        "post",
        "/me/password",
        "change_my_password",
        "Change one's own password (the current one required); the caller's other API "
        "tokens and web sessions end, this token goes on. Open while a password change is "
        "required; a wrong current password draws on the caller's signing budget",
        "PasswordChangedOut",
        request="PasswordChangeRequest",
        errors=(400, 401, 403, 415, 422, 429),
        rules=rules_doc.PASSWORD_CHANGE,
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (PasswordChangeRequest,)
OUTPUTS: tuple[type[BaseModel], ...] = (PasswordChangedOut, TokenRevokedOut)
