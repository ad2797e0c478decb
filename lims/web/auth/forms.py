from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from ...domain import passwords


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in")


class ChangePasswordForm(FlaskForm):
    """The current password (proof it is the person), the new one twice (a typo would lock
    them out). The rules for the new one are the domain's, checked by the service."""

    current_password = PasswordField(
        "Current password",
        render_kw={"autocomplete": "current-password", "maxlength": 1024, "autofocus": True},
    )
    new_password = PasswordField(
        "New password",
        description=(
            f"at least {passwords.MIN_LENGTH} characters, not your username and not a common "
            "password; a few unrelated words make a good one"
        ),
        render_kw={"autocomplete": "new-password", "maxlength": passwords.MAX_LENGTH},
    )
    new_password_again = PasswordField(
        "New password again",
        render_kw={"autocomplete": "new-password", "maxlength": passwords.MAX_LENGTH},
    )
    submit = SubmitField("Change password")

    def validate_new_password_again(self, field: PasswordField) -> None:
        if (field.data or "") != (self.new_password.data or ""):
            raise ValidationError("the two new passwords differ")


class SigningPasswordForm(FlaskForm):
    """The password a person who signs in at the provider types to sign (decision 106),
    twice; set only just after signing in again there."""

    new_password = PasswordField(
        "Signing password",
        description=(
            f"at least {passwords.MIN_LENGTH} characters, not your username and not a common "
            "password; not the one you use at the provider"
        ),
        render_kw={"autocomplete": "new-password", "maxlength": passwords.MAX_LENGTH},
    )
    new_password_again = PasswordField(
        "Signing password again",
        render_kw={"autocomplete": "new-password", "maxlength": passwords.MAX_LENGTH},
    )
    submit = SubmitField("Set signing password")

    def validate_new_password_again(self, field: PasswordField) -> None:
        if (field.data or "") != (self.new_password.data or ""):
            raise ValidationError("the two passwords differ")
