"""The security headers of every answer, pages and API alike, set in this one place.

A strict Content-Security-Policy: scripts, styles, fonts, images and fetches from this site
only, and no inline script (the templates have none; ``tests/web/test_security_headers.py``
scans them). Two kinds of inline style are allowed, and nothing else inline: the label
preview's ``@font-face`` block (``labels.svg``), always the same text, by its hash (so the
SVG keeps its font inline in the print dialog and on its own from the API); and a chart's
``<style>`` (pygal writes one per chart, under a random id), by a nonce made for each
request that the ``inline_svg`` filter puts on the chart's ``<style>`` element. No other
site may frame a page (clickjacking). Every answer but a static file is ``no-store``: pages,
downloads and API answers carry patient data, and a shared workstation's cache must not keep
them. HSTS is sent where the configuration asks for it (production).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from functools import cache

from flask import Flask, Response, g, request
from markupsafe import Markup

from ..labels.svg import font_faces_css


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def style_nonce() -> str:
    """This request's nonce for inline ``<style>`` elements the app itself made."""
    if "style_nonce" not in g:
        g.style_nonce = secrets.token_urlsafe(18)
    return g.style_nonce


_STYLE_TAG = re.compile(r"<style\b", re.I)


def inline_svg(markup: str) -> Markup:
    """SVG the app drew (a chart, a label preview), to put into a page as it is: its
    ``<style>`` elements carry this request's nonce. Never for text from outside."""
    return Markup(_STYLE_TAG.sub(f'<style nonce="{style_nonce()}"', str(markup)))


@cache
def _font_faces() -> str:
    return _sha256(font_faces_css())


SANDBOX = "lims.csp_sandbox"


def sandbox() -> None:
    """This answer is a document the app keeps (a stored validation report): the browser
    opens it sandboxed (an origin of its own, no script, no forms, no plugins)."""
    request.environ[SANDBOX] = True  # this request's, not the app context's (tests keep one)


def content_security_policy() -> str:
    sandboxed = bool(request.environ.get(SANDBOX))
    if "style_nonce" in g:  # a page with a chart: this request's own policy
        return _policy(sandboxed, f" 'nonce-{g.style_nonce}'")
    return _policy_without_nonce(sandboxed)


@cache
def _policy_without_nonce(sandboxed: bool) -> str:
    """Written once: the policy of every answer without a chart (every API answer)."""
    return _policy(sandboxed, "")


def _policy(sandboxed: bool, nonce: str) -> str:
    return "; ".join(
        (
            *(("sandbox",) if sandboxed else ()),
            "default-src 'self'",
            "script-src 'self'",
            f"style-src 'self' {_font_faces()}{nonce}",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _secure(response: Response, hsts: str | None) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
    headers["Referrer-Policy"] = "same-origin"
    if hsts:
        headers["Strict-Transport-Security"] = hsts
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.add_template_filter(inline_svg, "inline_svg")

    @app.after_request
    def security_headers(response: Response) -> Response:
        return _secure(response, app.config.get("STRICT_TRANSPORT_SECURITY"))
