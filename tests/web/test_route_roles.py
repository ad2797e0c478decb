"""Every browser route × every role (and anonymous): allowed or refused as designed.

The table is written out here rather than read from the decorators, so a route that loses
its role check (or gains a wrong one) fails this test.
"""

from __future__ import annotations

import pytest

from lims.security import ROUTE_ROLES
from tests.backends import backend  # noqa: F401  (SQLite alone: which role reaches which route)
from tests.rows import a_job, a_notification

from . import (
    routes_admin,
    routes_audit,
    routes_certificates,
    routes_charts,
    routes_equipment,
    routes_imports,
    routes_outcomes,
    routes_printing,
    routes_qa,
    routes_qc_imports,
    routes_reactions,
    routes_readiness,
    routes_reagents,
    routes_shipments,
    routes_sites,
    routes_sso,
    routes_treatment,
    routes_validation,
)

ALL = {"technician", "clinician", "qa", "admin"}
COLLECTORS = {"technician", "clinician"}
PRINTERS = {"technician", "qa", "admin"}
WRISTBAND_PRINTERS = {"technician", "clinician", "qa"}
KEEPERS = {"technician", "qa", "admin"}  # who looks after stored units
AUDITORS = {"qa", "admin"}  # who verifies the ledger

# endpoint -> (method, url template, roles that get the page; None: public)
ROUTES = {
    "main.index": ("GET", "/", ALL),
    "units.index": ("GET", "/units/", ALL),
    "units.register": ("GET", "/units/register", COLLECTORS),
    "units.detail": ("GET", "/units/{id}", ALL),
    "units.history_export": ("GET", "/units/{id}/history.csv", ALL),
    "units.act": ("GET", "/units/{id}/actions/dispatch", COLLECTORS),  # the service decides
    "units.permit_equipment": ("GET", "/units/{id}/permit-equipment", {"qa"}),  # POST opens
    "scan.scan": ("GET", "/scan?code={code}", ALL),
    "labels.unit_dialog": ("GET", "/labels/units/{id}", PRINTERS),
    "labels.print_unit": ("POST", "/labels/units/{id}", PRINTERS),  # a PDF download
    "labels.patient_dialog": ("GET", "/labels/patients/{patient}", WRISTBAND_PRINTERS),
    "labels.print_patient": ("POST", "/labels/patients/{patient}", WRISTBAND_PRINTERS),
    "labels.location_dialog": ("GET", "/labels/locations/{location}", PRINTERS),
    "labels.print_location": ("POST", "/labels/locations/{location}", PRINTERS),
    "scan.station_page": ("GET", "/station", ALL),
    "scan.station_post": ("POST", "/station", ALL),  # an empty scan: the page again
    "scan.station_batch": ("GET", "/station/batch/discard", ALL),  # empty batch: back
    "release.queue": ("GET", "/release", {"qa"}),
    "locations.index": ("GET", "/locations/", KEEPERS),
    "locations.detail": ("GET", "/locations/{location}", KEEPERS),
    "locations.create": ("GET", "/locations/new", {"admin"}),  # the form; POST creates
    "admin.specs": ("GET", "/admin/specs", {"admin"}),
    "admin.spec": ("GET", "/admin/specs/SVF/viability", {"admin"}),  # history; POST publishes
    "notifications.inbox_page": ("GET", "/notifications", ALL),
    "notifications.mark_read": ("POST", "/notifications/{notification}/read", ALL),  # own
    "notifications.mark_all_read": ("POST", "/notifications/read-all", ALL),
    "notifications.settings": ("GET", "/notifications/settings", ALL),  # POST saves
    "notifications.deliveries": ("GET", "/admin/deliveries", {"admin"}),
    "notifications.retry_delivery": ("POST", "/admin/deliveries/{delivery}/retry", {"admin"}),
    "audit.verify": ("GET", "/audit/verify", AUDITORS),
    "audit.start_verify": ("POST", "/audit/verify", AUDITORS),  # starts a job: to its page
    # Runs here: nothing to start from in this table's database, so back to /audit/verify
    "audit.quick_verify": ("POST", "/audit/verify/quick", AUDITORS),
    "audit.job": ("GET", "/audit/jobs/{job}", AUDITORS),
    "audit.job_json": ("GET", "/audit/jobs/{job}.json", AUDITORS),
    "auth.login": ("GET", "/login", None),
    "auth.logout": ("POST", "/logout", None),
    "auth.change_password": ("GET", "/account/password", ALL),  # one's own; POST changes
    # Each area keeps its rows in a module of its own.
    **routes_readiness.ROUTES,
    **routes_audit.ROUTES,
    **routes_certificates.ROUTES,
    **routes_qa.ROUTES,
    **routes_charts.ROUTES,
    **routes_admin.ROUTES,
    **routes_equipment.ROUTES,
    **routes_printing.ROUTES,
    **routes_reagents.ROUTES,
    **routes_qc_imports.ROUTES,
    **routes_imports.ROUTES,
    **routes_outcomes.ROUTES,
    **routes_validation.ROUTES,
    **routes_sites.ROUTES,
    **routes_shipments.ROUTES,
    **routes_sso.ROUTES,
    **routes_treatment.ROUTES,
    **routes_reactions.ROUTES,
}
# Placeholders an area's URLs name, beyond the ones below: name -> maker(users, owner, unit).
ROWS = {
    **routes_readiness.ROWS,
    **routes_audit.ROWS,
    **routes_certificates.ROWS,
    **routes_qa.ROWS,
    **routes_charts.ROWS,
    **routes_admin.ROWS,
    **routes_equipment.ROWS,
    **routes_printing.ROWS,
    **routes_reagents.ROWS,
    **routes_qc_imports.ROWS,
    **routes_imports.ROWS,
    **routes_outcomes.ROWS,
    **routes_validation.ROWS,
    **routes_sites.ROWS,
    **routes_shipments.ROWS,
    **routes_sso.ROWS,
    **routes_treatment.ROWS,
    **routes_reactions.ROWS,
}
ANSWERED = {200, 302}


def web_endpoints(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(("/api/", "/fhir/")) and rule.endpoint != "static"
    }  # FHIR takes bearer tokens as the API does: tests/api/test_fhir_access.py


def a_location() -> int:
    from lims.domain.codes import make_location_code
    from lims.extensions import db
    from lims.models import Location

    box = Location(code=make_location_code("C0001", 1), name="Box 1", kind="box")
    db.session.add(box)
    db.session.commit()
    return box.id


@pytest.mark.req("P11-5")
def test_the_table_covers_every_browser_route(app):
    assert web_endpoints(app) == set(ROUTES)


@pytest.mark.req("P11-5")
def test_every_browser_route_declares_who_may_use_it(app):
    for endpoint in web_endpoints(app):
        view = app.view_functions[endpoint]
        assert getattr(view, "allowed_roles", None) is not None or (
            f"{view.__module__}.{view.__qualname__}" in ROUTE_ROLES
        ), endpoint


@pytest.mark.req("P11-5")
@pytest.mark.parametrize("endpoint", ROUTES)
@pytest.mark.parametrize("role", [*sorted(ALL), "anonymous"])
def test_route_by_role(client, login, unit_in, users, endpoint, role):
    unit = unit_in("collected")
    method, template, allowed = ROUTES[endpoint]
    if role != "anonymous":
        login(role)
    location = a_location() if "{location}" in template else None
    owner = users["technician" if role == "anonymous" else role]
    _, notification = a_notification(owner) if "{notification}" in template else (0, 0)
    delivery, _ = a_notification(owner, "failed") if "{delivery}" in template else (0, 0)
    job = a_job(users["qa"]) if "{job}" in template else None
    extra = {
        name: make(users, owner, unit) for name, make in ROWS.items() if f"{{{name}}}" in template
    }
    url = template.format(
        **extra,
        id=unit.id,
        code=unit.barcode_data,
        patient=unit.patient.id,
        location=location,
        notification=notification,
        delivery=delivery,
        job=job,
    )

    response = client.open(url, method=method)

    if allowed is None:
        assert response.status_code in ANSWERED
    elif role == "anonymous":
        assert response.status_code == 302 and "/login" in response.location
    elif role in allowed:
        assert response.status_code in ANSWERED, response.get_data(as_text=True)[:300]
    else:
        assert response.status_code == 403
