"""The admin's landing page and the accounts: the list, a new user, and one person's page
(role, deactivate or reactivate, a new password, and the ledger's record of each change).

Thin: read the form, call ``services.accounts`` (which guards and records every change), and
show its refusal beside the field it is about. Accounts are never deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...models import User
from ...security import roles_required
from ...services.admin import accounts, sites, sso
from ..units.base_forms import ServiceForm
from . import bp
from .user_forms import (
    ROLE_ORDER,
    ActiveForm,
    AllPatientsForm,
    DetailsForm,
    NewUserForm,
    PasswordForm,
    RoleForm,
)

ACTION_NAMES = {
    "user_created": "Account created",
    "role_changed": "Role changed",
    "user_deactivated": "Deactivated",
    "user_reactivated": "Reactivated",
    "password_reset": "Password reset",
    "user_details_changed": "Name or e-mail changed",
    "access_granted": "May see every patient",
    "access_revoked": "Own patients only",
    "password_changed": "Password changed by the person",
    "user_sites_changed": "Sites changed",
    "sso_linked": "Linked to single sign-on",
    "sso_unlinked": "Unlinked from single sign-on",
    "signing_password_set": "Signing password set by the person",
    "signing_password_changed": "Signing password changed by the person",
    "import": "Imported from a file",
}


def _admin() -> User:
    return current_user._get_current_object()


def _refusal(form, exc: ServiceError, nothing: str) -> str:
    """The service's message beside its field(s), or at the top of the form."""
    placed = [form.add_error(name, message) for name, message in exc.fields.items()]
    if placed and all(placed):
        return f"{nothing}: see the marked fields."
    return f"{nothing}: {exc.message}."


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    people = accounts.people()
    counts = {
        "active": sum(1 for u in people if u.active),
        "inactive": sum(1 for u in people if not u.active),
        "admins": sum(1 for u in people if u.active and u.role == Role.ADMIN.value),
    }
    return render_template("admin/index.html", counts=counts)


@bp.get("/users")
@roles_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    return render_template("admin/users.html", people=accounts.people(), roles=ROLE_ORDER)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> ResponseReturnValue:
    form = NewUserForm()
    if not form.is_submitted():
        return render_template("admin/user_new.html", form=form)
    nothing = "Nobody was created"
    if not form.validate():
        error = f"{nothing}: see the marked fields."
        return render_template("admin/user_new.html", form=form, error=error), 422
    data = form.to_data()
    try:
        user = accounts.create_user(
            data["username"],
            data["role"],
            data["password"],
            full_name=data["full_name"],
            email=data["email"],
            by=_admin(),
            reason=data["reason"],
        )
    except ServiceError as exc:
        error = _refusal(form, exc, nothing)
        return render_template("admin/user_new.html", form=form, error=error), exc.http_status
    flash(
        f"Created {user.username} ({Role(user.role).label}). Hand the initial password over "
        "in person; they choose their own at the first sign-in.",
        "success",
    )
    return redirect(url_for("admin.user", user_id=user.id))


def _user_page(user: User, status: int = 200, **forms_and_error) -> ResponseReturnValue:
    forms = {
        "details_form": DetailsForm(
            prefix="details", formdata=None, full_name=user.full_name, email=user.email or ""
        ),
        "role_form": RoleForm(prefix="role", formdata=None),
        "active_form": ActiveForm(prefix="active", formdata=None),
        "patients_form": AllPatientsForm(prefix="patients", formdata=None),
        "password_form": PasswordForm(prefix="pw", formdata=None),
        "sso_form": ActiveForm(prefix="sso", formdata=None),
    }
    forms.update(forms_and_error)
    page = render_template(
        "admin/user.html",
        person=user,
        history=accounts.account_history(user),
        all_sites=sites.list_sites(),
        action_names=ACTION_NAMES,
        is_me=user.id == current_user.id,
        **forms,
    )
    return page, status


@bp.get("/users/<id:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(accounts.get_person(user_id))


def _to_form(user: User, anchor: str) -> ResponseReturnValue:
    """A GET of a form's address (a bookmark, the login's way back): the form on the page."""
    return redirect(url_for("admin.user", user_id=user.id, _anchor=anchor))


def _after(user: User, message: str) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for("admin.user", user_id=user.id))


@dataclass(frozen=True)
class Change:
    """One of the person page's forms: its class and prefix, the anchor and page keys it
    answers under, and what a refusal says changed."""

    form: type[ServiceForm]
    prefix: str
    key: str  # the page's ``<key>_form`` and ``<key>_error``, and the anchor
    nothing: str
    validate: bool = False  # the form checks itself first (two passwords that must match)


def _change(
    user_id: int, change: Change, act: Callable[[User, Any], None], done: Callable[[User], str]
) -> ResponseReturnValue:
    """A GET shows the form on the person's page; a POST calls the service with the form,
    and a refusal shows the page again with the reasons beside the fields."""
    person = accounts.get_person(user_id)
    if request.method == "GET":
        return _to_form(person, change.key)
    form = change.form(prefix=change.prefix)
    page = {f"{change.key}_form": form}
    if change.validate and not form.validate():
        error = f"{change.nothing}: see the marked fields."
        return _user_page(person, 422, **page, **{f"{change.key}_error": error})
    try:
        act(person, form)
    except ServiceError as exc:
        error = _refusal(form, exc, change.nothing)
        return _user_page(person, exc.http_status, **page, **{f"{change.key}_error": error})
    return _after(person, done(person))


@bp.route("/users/<id:user_id>/details", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def change_details(user_id: int) -> ResponseReturnValue:
    return _change(
        user_id,
        Change(DetailsForm, "details", "details", "Nothing changed"),
        lambda person, form: accounts.change_details(
            person, form.full_name.data, form.email.data, by=_admin(), reason=form.reason.data
        ),
        lambda person: f"Saved: {person.full_name}, {person.email or 'no e-mail address'}.",
    )


@bp.route("/users/<id:user_id>/role", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def change_role(user_id: int) -> ResponseReturnValue:
    before = accounts.get_person(user_id).role
    return _change(
        user_id,
        Change(RoleForm, "role", "role", "The role was not changed"),
        lambda person, form: accounts.change_role(
            person, form.role.data or "", by=_admin(), reason=form.reason.data
        ),
        lambda person: (
            f"{person.username} is now {Role(person.role).label} (was {Role(before).label})."
        ),
    )


@bp.route("/users/<id:user_id>/sso-unlink", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def sso_unlink(user_id: int) -> ResponseReturnValue:
    """End the account's link to the single sign-on provider (decision 105)."""
    return _change(
        user_id,
        Change(ActiveForm, "sso", "sso", "The link was not ended"),
        lambda person, form: sso.unlink(person, by=_admin(), reason=form.reason.data),
        lambda person: (
            f"{person.username} is no longer linked to single sign-on: their next sign-in "
            "there links by the configured claim again."
        ),
    )


@bp.route("/users/<id:user_id>/deactivate", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def deactivate(user_id: int) -> ResponseReturnValue:
    return _change(
        user_id,
        Change(ActiveForm, "active", "active", "Nothing changed"),
        lambda person, form: accounts.deactivate(person, by=_admin(), reason=form.reason.data),
        lambda person: (
            f"{person.username} is deactivated: signed out everywhere, API tokens revoked. "
            "Their records stay theirs."
        ),
    )


@bp.route("/users/<id:user_id>/reactivate", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def reactivate(user_id: int) -> ResponseReturnValue:
    return _change(
        user_id,
        Change(ActiveForm, "active", "active", "Nothing changed"),
        lambda person, form: accounts.reactivate(person, by=_admin(), reason=form.reason.data),
        lambda person: f"{person.username} may sign in again.",
    )


@bp.route("/users/<id:user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def reset_password(user_id: int) -> ResponseReturnValue:
    return _change(
        user_id,
        Change(PasswordForm, "pw", "password", "The password was not changed", validate=True),
        lambda person, form: accounts.reset_password(
            person, form.password.data or "", by=_admin(), reason=form.reason.data
        ),
        lambda person: (
            f"New password set for {person.username}; their API tokens are revoked. Hand it "
            "over in person: they must choose their own at the next sign-in."
        ),
    )


def _all_patients(user_id: int, granted: bool) -> ResponseReturnValue:
    return _change(
        user_id,
        Change(AllPatientsForm, "patients", "patients", "Nothing changed"),
        lambda person, form: accounts.set_all_patients(
            person, granted, by=_admin(), reason=form.reason.data
        ),
        lambda person: (
            f"{person.username} may now see every patient."
            if granted
            else f"{person.username} now sees only the patients they are named on."
        ),
    )


@bp.route("/users/<id:user_id>/patients/grant", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def grant_all_patients(user_id: int) -> ResponseReturnValue:
    """A clinician may see every patient, not only those they are named on (decision 61)."""
    return _all_patients(user_id, True)


@bp.route("/users/<id:user_id>/patients/revoke", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def revoke_all_patients(user_id: int) -> ResponseReturnValue:
    return _all_patients(user_id, False)
