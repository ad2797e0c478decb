"""The sites register (admin) and an account's sites. The sites service checks the values
and the role and writes the ledger; these views show its messages beside the fields and
redirect after a change."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...models import Site, User
from ...security import roles_required
from ...services.admin import sites
from ..printing.forms import refused
from ..units.base_forms import UNREADABLE
from . import bp
from .forms import KIND_WORDS, MembershipForm, SiteForm


def _actor() -> User:
    return current_user._get_current_object()


def _form_page(form: SiteForm, site: Site | None, error: str | None = None) -> str:
    title = f"Edit site {site.code}" if site else "Register a site"
    return render_template("sites/form.html", form=form, site=site, title=title, error=error)


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    return render_template("sites/index.html", sites=sites.list_sites(), kind_words=KIND_WORDS)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new() -> ResponseReturnValue:
    form = SiteForm()
    if not form.is_submitted():
        return _form_page(form, None)
    if not form.validate():
        return _form_page(form, None, UNREADABLE), 422
    try:
        site = sites.register_site(form.to_data(new=True), _actor())
    except ServiceError as exc:
        return _form_page(form, None, refused(form, exc, "Nothing was saved")), exc.http_status
    flash(f"Registered site {site.code} ({site.name}).", "success")
    return redirect(url_for("sites.index"))


@bp.route("/<id:site_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(site_id: int) -> ResponseReturnValue:
    site = sites.get_site(site_id)
    form = SiteForm()
    form.submit.label.text = "Save changes"
    if not form.is_submitted():
        form.fill_from(site)
        return _form_page(form, site)
    if not form.validate():
        return _form_page(form, site, UNREADABLE), 422
    try:
        sites.update_site(site.id, form.to_data(new=False), _actor())
    except ServiceError as exc:
        if exc.code == "no_change":
            flash("Nothing changed.", "info")
            return redirect(url_for("sites.index"))
        return _form_page(form, site, refused(form, exc, "Nothing was saved")), exc.http_status
    flash(f"Saved site {site.code}.", "success")
    return redirect(url_for("sites.index"))


@bp.post("/members/<id:user_id>")
@roles_required(Role.ADMIN)
def set_user_sites(user_id: int) -> ResponseReturnValue:
    """The admin's user page carries this form; the answer is back on that page."""
    form = MembershipForm()
    back = redirect(url_for("admin.user", user_id=user_id, _anchor="sites"))
    if not form.validate():
        flash("Nothing was saved: the sites chosen could not be read.", "error")
        return back
    try:
        joined = sites.set_memberships(user_id, form.to_data()["site_ids"], _actor())
    except ServiceError as exc:
        if exc.code == "no_change":
            flash("Nothing changed.", "info")
            return back
        if exc.http_status == 404:
            raise
        flash(f"Nothing was saved: {exc.message}.", "error")
        return back
    flash("Sites saved: " + ", ".join(s.name for s in joined) + ".", "success")
    return back
