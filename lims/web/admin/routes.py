"""Admin pages: the QC specifications in force per product type, each one's version history,
and publishing the next version through ``qc.publish_spec`` (which checks and records it;
results already recorded keep the version they were judged against)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain import qc as qc_rules
from ...domain.catalogue import CATALOGUE, PRODUCT_TYPES
from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...security import roles_required
from ...services.actions import qc
from . import bp
from .forms import SpecForm


@bp.route("/specs")
@roles_required(Role.ADMIN)
def specs() -> ResponseReturnValue:
    tables = []
    for product_type in PRODUCT_TYPES:
        in_force = qc.specs_in_force(product_type)
        specified = {s.test for s in in_force}
        others = [t for t in qc_rules.TESTS.values() if t.key not in specified]
        tables.append((CATALOGUE[product_type], in_force, others))
    return render_template("admin/specs.html", tables=tables)


@bp.route("/specs/<product_type>/<test>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def spec(product_type: str, test: str) -> ResponseReturnValue:
    if product_type not in PRODUCT_TYPES:
        abort(404, description=f"no product type {product_type!r}")
    qc_test = qc_rules.TESTS.get(test)
    if qc_test is None:
        abort(404, description=f"no QC test {test!r}")
    current = qc.spec_in_force(product_type, test)
    form = SpecForm(test=qc_test)
    page = {
        "kind": CATALOGUE[product_type],
        "qc_test": qc_test,
        "current": current,
        "history": qc.spec_history(product_type, test),
        "form": form,
    }
    if not form.is_submitted():
        form.prefill(current)
        return render_template("admin/spec.html", **page)
    if not form.validate():
        error = "Nothing was published: some entries could not be read; see the marked fields."
        return render_template("admin/spec.html", error=error, **page), 422
    try:
        published = qc.publish_spec(
            product_type,
            test,
            form.to_data(),
            form.reason.data or "",
            current_user._get_current_object(),
        )
    except ServiceError as exc:
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was published: see the marked fields."
            if placed and all(placed)
            else f"Nothing was published: {exc.message}."
        )
        return render_template("admin/spec.html", error=error, **page), exc.http_status
    flash(
        f"Published version {published.version} of {qc_test.name} for {product_type}: "
        f"{published.text}. Results already recorded keep the version they were judged against.",
        "success",
    )
    return redirect(url_for("admin.spec", product_type=product_type, test=test))
