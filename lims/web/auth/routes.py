from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ...security import public, record_failed_sign_in, sign_in_throttle
from ...services.admin import accounts
from ..redirects import local_target
from . import bp
from .forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
@public
@sign_in_throttle
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is None:
            record_failed_sign_in()
            flash("Unknown username or wrong password.", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(local_target(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
