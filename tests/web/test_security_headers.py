"""Every answer carries the security headers (set in one place, lims/web/headers.py): a
strict Content-Security-Policy, no framing, no sniffing, same-origin referrers, ``no-store``
on pages, downloads and API answers (static files keep caching), HSTS in production. The
templates hold no inline script, event handler or style the policy would block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lims import create_app
from lims.extensions import db
from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: the response headers)
from tests.service.lab import registration, walk

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    parts = (p.strip().partition(" ") for p in policy.split(";") if p.strip())
    return {name: value for name, _, value in parts}


def assert_secured(response, *, cached: bool = False) -> None:
    csp = directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # not in testing
    if not cached:
        assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def product(users):
    return walk(units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users)


def test_a_page_carries_the_headers(client, login, product):
    response = login("qa").get(f"/units/{product.id}")
    assert response.status_code == 200
    assert_secured(response)


def test_the_sign_in_page_and_an_error_page_carry_them_too(client, users):
    assert_secured(client.get("/login"))
    assert_secured(client.get("/no-such-page"))


def test_a_csv_download_carries_the_headers(client, login, product):
    response = login("qa").get(f"/units/{product.id}/history.csv")
    assert response.mimetype == "text/csv"
    assert_secured(response)


def test_a_pdf_download_carries_the_headers(client, login, product):
    response = login("qa").get(f"/audit/units/{product.id}/report.pdf")
    assert response.mimetype == "application/pdf"
    assert_secured(response)


def test_an_api_answer_carries_the_headers(client, token, product):
    response = client.get(f"/api/v1/units/{product.id}", headers=token("qa"))
    assert response.status_code == 200
    assert_secured(response)
    refused = client.get("/api/v1/units")
    assert refused.status_code == 401
    assert_secured(refused)


def test_a_static_file_keeps_caching(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert_secured(response, cached=True)


def test_the_label_previews_font_faces_are_the_one_inline_style_allowed(client, login, product):
    """The preview's ``<style>`` is allowed by its hash; nothing else inline is."""
    import base64
    import hashlib

    page = login("qa").get(f"/labels/units/{product.id}").get_data(as_text=True)
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    response = client.get(f"/labels/units/{product.id}")
    assert directives(response)["style-src"] == f"'self' 'sha256-{digest}'"


def test_a_chart_s_style_carries_the_pages_nonce(client, login, product):
    response = login("qa").get("/audit/charts")
    page = response.get_data(as_text=True)
    nonces = set(re.findall(r'<style nonce="([^"]+)"', page))
    assert len(nonces) == 1 and page.count("<style") == page.count("<style nonce=")
    (nonce,) = nonces
    assert f"'nonce-{nonce}'" in directives(response)["style-src"]
    assert " style=" not in page


def test_production_sends_hsts(postgres_url):
    app = create_app(
        "production",
        SECRET_KEY="production-secret",
        LEDGER_KEY="production-ledger-key",
        SQLALCHEMY_DATABASE_URI=postgres_url,
        EMBEDDED_BEAT=False,  # no clock thread outliving this test on the shared database
    )
    try:
        response = app.test_client().get("/login")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        with app.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------------------- templates

INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def every_template() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


# A document kept as a file, not a page: the validation report carries its one <style> inline
# (self-contained); shown in the app it is served sandboxed with the answer's nonce on it.
DOCUMENTS = {"style element": {"validation/report.html"}}


@pytest.mark.parametrize("kind", INLINE)
def test_no_template_holds_what_the_policy_blocks(kind):
    found = [
        f"{path.relative_to(TEMPLATES)}:{text[: m.start()].count(chr(10)) + 1}"
        for path in every_template()
        if str(path.relative_to(TEMPLATES)) not in DOCUMENTS.get(kind, ())
        for text in [path.read_text()]
        for m in INLINE[kind].finditer(text)
    ]
    assert found == [], f"{kind} in templates: {found}"


def test_the_template_scan_sees_what_it_looks_for():
    samples = {
        "inline script": '<script>alert(1)</script> <script defer src="/x.js"></script>',
        "event handler": '<a href="#" onclick="go()">',
        "style attribute": '<div class="a"\n     style="color: red">',
        "style element": "<style>.a{}</style>",
        "javascript: URL": '<a href="javascript:go()">',
    }
    for kind, sample in samples.items():
        assert len(INLINE[kind].findall(sample)) == 1, kind
