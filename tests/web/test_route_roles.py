"""Every browser route × every role (and anonymous): allowed or refused as designed.

The table is written out here rather than read from the decorators, so a route that loses
its role check (or gains a wrong one) fails this test.
"""

from __future__ import annotations

import pytest

from lims.security import ROUTE_ROLES

ALL = {"technician", "clinician", "qa", "admin"}
COLLECTORS = {"technician", "clinician"}
PRINTERS = {"technician", "qa", "admin"}

# endpoint -> (method, url template, roles that get the page; None: public)
ROUTES = {
    "main.index": ("GET", "/", ALL),
    "units.index": ("GET", "/units/", ALL),
    "units.register": ("GET", "/units/register", COLLECTORS),
    "units.detail": ("GET", "/units/{id}", ALL),
    "units.act": ("GET", "/units/{id}/actions/dispatch", COLLECTORS),  # the service decides
    "scan.scan": ("GET", "/scan?code={code}", ALL),
    "labels.unit_dialog": ("GET", "/labels/units/{id}", PRINTERS),
    "labels.print_unit": ("POST", "/labels/units/{id}", PRINTERS),  # a PDF download
    "scan.station_page": ("GET", "/station", ALL),
    "scan.station_post": ("POST", "/station", ALL),  # an empty scan: the page again
    "scan.station_batch": ("GET", "/station/batch/discard", ALL),  # empty batch: back
    "auth.login": ("GET", "/login", None),
    "auth.logout": ("POST", "/logout", None),
}
ANSWERED = {200, 302}


def web_endpoints(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/api/") and rule.endpoint != "static"
    }


def test_the_table_covers_every_browser_route(app):
    assert web_endpoints(app) == set(ROUTES)


def test_every_browser_route_declares_who_may_use_it(app):
    for endpoint in web_endpoints(app):
        view = app.view_functions[endpoint]
        assert getattr(view, "allowed_roles", None) is not None or (
            f"{view.__module__}.{view.__qualname__}" in ROUTE_ROLES
        ), endpoint


@pytest.mark.parametrize("endpoint", ROUTES)
@pytest.mark.parametrize("role", [*sorted(ALL), "anonymous"])
def test_route_by_role(client, login, unit_in, endpoint, role):
    unit = unit_in("collected")
    method, template, allowed = ROUTES[endpoint]
    if role != "anonymous":
        login(role)
    url = template.format(id=unit.id, code=unit.barcode_data)

    response = client.open(url, method=method)

    if allowed is None:
        assert response.status_code in ANSWERED
    elif role == "anonymous":
        assert response.status_code == 302 and "/login" in response.location
    elif role in allowed:
        assert response.status_code in ANSWERED, response.get_data(as_text=True)[:300]
    else:
        assert response.status_code == 403
