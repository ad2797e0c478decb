from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ...extensions import limiter
from ...security import public
from ...services import accounts
from .forms import LoginForm

bp = Blueprint("auth", __name__)


def _failed_login(response) -> bool:
    return bool(g.get("login_failed"))


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_THROTTLE"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    _login_limit,
    methods=["POST"],
    deduct_when=_failed_login,
    error_message="Too many failed sign-ins; wait a few minutes and try again.",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is None:
            g.login_failed = True
            flash("Unknown username or wrong password.", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        target = request.args.get("next", "")
        if not target.startswith("/") or urlsplit(target).netloc or target.startswith("//"):
            target = url_for("main.index")
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
