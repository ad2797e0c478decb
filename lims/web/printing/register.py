"""The printer register and the print rules: technicians and QA read them (which printer will
my bench use?); an administrator registers and edits printers, takes one out of use, and adds
and removes rules. The printing service checks the values and the role and writes the ledger;
these views show its messages beside the fields and redirect after a change."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import NotFound, ServiceError
from ...domain.roles import Role
from ...models import Printer, PrintRule, User
from ...security import roles_required
from ...services.admin import sites
from ...services.station import printing
from ..units.base_forms import UNREADABLE
from . import bp
from .forms import KIND_WORDS, STOCK_WORDS, ConfirmForm, PrinterForm, RuleForm, refused

READERS = tuple(printing.READ_ROLES)
ADMINS = tuple(printing.ADMIN_ROLES)


def _actor() -> User:
    return current_user._get_current_object()


def _rule_form() -> RuleForm:
    return RuleForm(printers=printing.printers(_actor()))


def _register_page(rule_form: RuleForm | None = None) -> str:
    actor = _actor()
    is_admin = actor.role == Role.ADMIN.value
    return render_template(
        "printing/register.html",
        printers=printing.printers(actor),
        rules=printing.rules(actor),
        rule_form=rule_form or (_rule_form() if is_admin else None),
        is_admin=is_admin,
        kind_words=KIND_WORDS,
        stock_words=STOCK_WORDS,
    )


@bp.get("/admin/printers")
@roles_required(*READERS)
def printers() -> ResponseReturnValue:
    return _register_page()


# ---------------------------------------------------------------------------- printers


def _printer_page(form: PrinterForm, printer: Printer | None, error: str | None = None):
    title = f"Edit printer {printer.name}" if printer else "Register a printer"
    return render_template(
        "printing/printer_form.html", form=form, printer=printer, title=title, error=error
    )


def _sites() -> list[tuple[int, str]]:
    return [(s.id, f"{s.name} ({s.code})") for s in sites.list_sites(active_only=True)]


@bp.route("/admin/printers/new", methods=["GET", "POST"])
@roles_required(*ADMINS)
def new_printer() -> ResponseReturnValue:
    form = PrinterForm()
    form.offer_sites(_sites())
    if not form.is_submitted():
        form.port.data = 9100
        return _printer_page(form, None)
    if not form.validate():
        return _printer_page(form, None, UNREADABLE), 422
    try:
        made = printing.register_printer(form.to_data(), _actor())
    except ServiceError as exc:
        return _printer_page(form, None, refused(form, exc, "Nothing was saved")), exc.http_status
    flash(
        f"Registered printer {made.name} ({made.address}). Add a rule so stations use it.",
        "success",
    )
    return redirect(url_for("printing.printers"))


@bp.route("/admin/printers/<id:printer_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit_printer(printer_id: int) -> ResponseReturnValue:
    printer = printing.get_printer(printer_id)
    form = PrinterForm()
    form.offer_sites(_sites())
    form.submit.label.text = "Save changes"
    if not form.is_submitted():
        form.fill_from(printer)
        return _printer_page(form, printer)
    if not form.validate():
        return _printer_page(form, printer, UNREADABLE), 422
    try:
        changed = printing.update_printer(printer.id, form.to_data(), _actor())
    except ServiceError as exc:
        if exc.code == "no_change":
            flash("Nothing changed.", "info")
            return redirect(url_for("printing.printers"))
        page = _printer_page(form, printer, refused(form, exc, "Nothing was saved"))
        return page, exc.http_status
    words = "" if changed.active else " It is out of use: no rule chooses it."
    flash(f"Saved printer {changed.name}.{words}", "success")
    return redirect(url_for("printing.printers"))


# ---------------------------------------------------------------------------- rules


@bp.route("/admin/printers/rules/new", methods=["GET", "POST"])
@roles_required(*ADMINS)
def add_rule() -> ResponseReturnValue:
    """The register page carries this form; a refused one comes back on a page of its own."""
    form = _rule_form()
    if not form.is_submitted():
        return render_template("printing/rule_form.html", form=form)
    if not form.validate():
        return render_template("printing/rule_form.html", form=form, error=UNREADABLE), 422
    try:
        rule = printing.add_rule(form.to_data(), _actor())
    except ServiceError as exc:
        error = refused(form, exc, "No rule was added")
        return render_template("printing/rule_form.html", form=form, error=error), exc.http_status
    flash(f"Added the rule: {rule_words(rule)}.", "success")
    return redirect(url_for("printing.printers"))


def rule_words(rule: PrintRule) -> str:
    label = rule.template.replace("_", " ") + " labels" if rule.template else "any label"
    where = rule.workstation or rule.network or "any station"
    return f"{label} at {where} on {rule.printer.name}"


def _rule(rule_id: int) -> PrintRule:
    found = next((r for r in printing.rules(_actor()) if r.id == rule_id), None)
    if found is None:
        raise NotFound(f"no print rule with id {rule_id}")
    return found


@bp.route("/admin/printers/rules/<id:rule_id>/remove", methods=["GET", "POST"])
@roles_required(*ADMINS)
def remove_rule(rule_id: int) -> ResponseReturnValue:
    """Asks first (the page), then removes on the button (POST)."""
    rule = _rule(rule_id)
    form = ConfirmForm()
    words = rule_words(rule)
    if not form.is_submitted():
        return render_template("printing/rule_remove.html", form=form, rule=rule, words=words)
    try:
        printing.remove_rule(rule.id, _actor())
    except ServiceError as exc:
        if exc.http_status == 404:
            raise
        flash(f"Nothing was removed: {exc.message}.", "error")
        return redirect(url_for("printing.printers"))
    flash(f"Removed the rule: {words}.", "success")
    return redirect(url_for("printing.printers"))
