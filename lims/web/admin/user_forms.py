"""The admin's forms for accounts: a new user, another role, deactivate or reactivate, and a
new password. They only collect what was typed; ``services.accounts`` checks every value
(one set of rules for the form, the command line and the tests)."""

from __future__ import annotations

from typing import Any

from wtforms import PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ...domain.roles import PEOPLE, Role
from ...services.admin import accounts
from ..units.base_forms import ServiceForm, text_input

ROLE_ORDER = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN)
assert set(ROLE_ORDER) == PEOPLE


def role_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Choose…")] + [SelectChoice(r.value, r.label) for r in ROLE_ORDER]


def _reason(label: str = "Reason (kept in the ledger)") -> TextAreaField:
    return TextAreaField(
        label,
        description="optional, e.g. the ticket or the person who asked",
        render_kw={"maxlength": accounts.MAX_REASON, "rows": 2},
    )


def _printed_name(description: str) -> StringField:
    return StringField(
        "Printed name", description=description, render_kw=text_input(accounts.MAX_NAME)
    )


def _email() -> StringField:
    return StringField(
        "E-mail",
        description="optional; without one the person gets in-app notifications only",
        render_kw=text_input(accounts.MAX_EMAIL, type="email", inputmode="email"),
    )


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        description=(
            f"at least {accounts.MIN_PASSWORD} characters, not the username, not a common "
            "password; hand it over in person (they choose their own at the next sign-in)"
        ),
        render_kw={"autocomplete": "new-password", "maxlength": accounts.MAX_PASSWORD},
    )


class _PasswordTwice(ServiceForm):
    """A new password typed twice: a typo would lock the person out."""

    password_again = PasswordField(
        "Password again",
        render_kw={"autocomplete": "new-password", "maxlength": accounts.MAX_PASSWORD},
    )

    def validate_password_again(self, field: PasswordField) -> None:
        if (field.data or "") != (self.password.data or ""):  # type: ignore[attr-defined]
            raise ValidationError("the two passwords differ")


class NewUserForm(_PasswordTwice):
    username = StringField(
        "Username",
        description="2-64 characters: lower-case letters, digits, . _ - (cannot change later)",
        render_kw=text_input(64, autocapitalize="none", spellcheck="false"),
    )
    full_name = _printed_name("as it appears on signatures and in the ledger")
    email = _email()
    role = SelectField("Role", choices=role_choices(), validate_choice=False)
    password = _new_password("Initial password")
    reason = _reason()
    submit = SubmitField("Create user")

    def to_data(self) -> dict[str, Any]:
        return {
            "username": self.username.data or "",
            "full_name": self.full_name.data or "",
            "email": self.email.data or "",
            "role": self.role.data or "",
            "password": self.password.data or "",
            "reason": self.reason.data or "",
        }


class DetailsForm(ServiceForm):
    full_name = _printed_name(
        "on signatures and ledger entries from now on; earlier ones keep theirs"
    )
    email = _email()
    reason = _reason()
    submit = SubmitField("Save name and e-mail")


class RoleForm(ServiceForm):
    role = SelectField("New role", choices=role_choices(), validate_choice=False)
    reason = _reason()
    submit = SubmitField("Change role")


class ActiveForm(ServiceForm):
    """Deactivate or reactivate: a reason and the button."""

    reason = _reason()
    submit = SubmitField("Confirm")


class AllPatientsForm(ServiceForm):
    """Grant a clinician every patient, or take it back (decision 61): a reason and the button."""

    reason = _reason()
    submit = SubmitField("Confirm")


class PasswordForm(_PasswordTwice):
    password = _new_password("New password")
    reason = _reason()
    submit = SubmitField("Set new password")
