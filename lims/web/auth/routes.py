"""Signing in and out, and changing one's own password.

Sign-in goes through ``security.sign_in`` (throttled per account and per address, like the
API's token endpoint). The session is emptied before a sign-in is written into it, so
nothing planted in a browser's cookie before (a session fixation) survives into the
signed-in session; changing the password renews it the same way.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from ...domain.errors import ServiceError
from ...models import User
from ...security import (
    TooManyAttempts,
    note_refusal,
    public,
    roles_required,
    sign_in,
    signing_throttle,
    too_many,
)
from ...services.admin import accounts, sso
from ..redirects import local_target
from . import bp
from .forms import ChangePasswordForm, LoginForm


def _start_session(user: User) -> None:
    """A new session for a sign-in: nothing from before it is kept, the CSRF token included
    (Flask-WTF makes a new one for the next form; the copy it keeps for this request goes
    too). It stays permanent: it ends when idle."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    session.permanent = True
    login_user(user)


def _local_target() -> str:
    return local_target(request.args.get("next")) or url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = sign_in(form.username.data, form.password.data)
        except TooManyAttempts as exc:
            return too_many(
                exc, lambda message: render_template("auth/login.html", form=form, error=message)
            )
        if user is None:
            message = "Unknown username or wrong password."
            provider = sso.provider()
            if provider is not None and not sso.local_passwords():
                message += f" Passwords are for emergency admin accounts only: sign in with {provider.name}."
            flash(message, "error")
            return render_template("auth/login.html", form=form), 401
        _start_session(user)
        if user.must_change_password:
            return redirect(url_for("auth.change_password"))
        return redirect(_local_target())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(during_password_change=True)
@signing_throttle
def change_password() -> ResponseReturnValue:
    """Every signed-in person changes their own password here; a person whose password an
    admin set is sent here until they do."""
    me: User = current_user._get_current_object()
    form = ChangePasswordForm()
    page = {"form": form, "required": me.must_change_password}
    if not form.is_submitted():
        return render_template("auth/change_password.html", **page)
    if not form.validate():
        error = "Your password was not changed: see the marked fields."
        return render_template("auth/change_password.html", error=error, **page), 422
    try:
        accounts.change_own_password(me, form.current_password.data, form.new_password.data)
    except ServiceError as exc:
        note_refusal(exc.code)
        for name, message in exc.fields.items():
            getattr(form, name).errors.append(message)
        error = f"Your password was not changed: {exc.message}."
        return render_template("auth/change_password.html", error=error, **page), exc.http_status
    _start_session(me)
    flash(
        "Your password is changed. Any other session and API token of yours has ended.", "success"
    )
    return redirect(url_for("main.index"))
