"""Single sign-on with OpenID Connect (docs/sso.md, decisions 105-106).

The authorisation code flow with PKCE (S256), state and nonce, by Authlib's Flask client:
``/login/sso`` sends the browser to the provider, ``/login/sso/callback`` takes the code,
has Authlib fetch the tokens and verify the ID token (signature by the provider's keys,
issuer, audience, nonce, expiry) and hands its claims to ``services.admin.sso``, which names
the account; the person is then signed in through the same session start as the password
form. The same callback finishes a re-authentication (``prompt=login``, ``max_age=0``) that
lets a signed-in person set their signing password.

Nothing of this is reachable without ``OIDC_ISSUER``: the pages send back to the sign-in
page, which shows no button.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

import requests
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...extensions import db
from ...models import User
from ...security import public, roles_required
from ...services.admin import sso
from ..redirects import local_target
from . import bp
from .forms import SigningPasswordForm
from .routes import _start_session

EXTENSION = "lims.oidc"
REAUTH = "sso_reauth"  # the re-authentication under way: its state, when it began, for whom
REAUTHENTICATED = "signing_reauth"  # a verified one: for whom, the provider's auth_time
NEXT = "sso_next"


# Authlib (and joserfc under it) is imported where single sign-on is used, not at start-up:
# about 17 MB in every worker of an installation that has no provider configured.


def _oauth_error() -> type[Exception]:
    from authlib.integrations.base_client import OAuthError

    return OAuthError


def _provider_errors() -> tuple[type[Exception], ...]:
    """What a provider's answer may raise: Authlib's refusals, a bad token, no answer."""
    from joserfc.errors import JoseError

    return (_oauth_error(), JoseError, requests.RequestException)


def _client():
    """Authlib's client for the configured provider, made once per configuration (its
    discovery document and keys are fetched at first use and kept)."""
    config = current_app.config
    key = (config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"])
    made = current_app.extensions.get(EXTENSION)
    if made is None or made[0] != key:
        from authlib.integrations.flask_client import OAuth

        oauth = OAuth(current_app._get_current_object())  # type: ignore[attr-defined]
        client = oauth.register(
            "lims",
            client_id=config["OIDC_CLIENT_ID"],
            client_secret=config["OIDC_CLIENT_SECRET"],
            server_metadata_url=f"{config['OIDC_ISSUER']}/.well-known/openid-configuration",
            client_kwargs={
                "scope": config["OIDC_SCOPES"],
                "code_challenge_method": "S256",
                "default_timeout": 10,
            },
        )
        made = (key, client)
        current_app.extensions[EXTENSION] = made
    return made[1]


@bp.app_context_processor
def _sign_in_choices() -> dict:
    """The sign-in page's button (none without a provider) and whether passwords are open."""
    return {"sso_provider": sso.provider, "local_passwords": sso.local_passwords}


def _callback_url() -> str:
    return url_for("auth.sso_callback", _external=True)


def _off() -> ResponseReturnValue:
    flash("Single sign-on is not configured here: sign in with your password.", "info")
    return redirect(url_for("auth.login"))


def _problem(status: int, message: str) -> ResponseReturnValue:
    return render_template("error.html", status=status, message=message), status


def _verified_claims() -> dict:
    """The ID token's claims, verified by Authlib; raises OAuthError / JoseError /
    requests' errors, which ``_failed`` words."""
    # No transaction waits on the provider (decision 117): a re-authentication has read the
    # person signed in, and on SQLite that read holds the write lock until it ends.
    db.session.commit()
    token = _client().authorize_access_token()
    claims = token.get("userinfo")
    refused = _oauth_error()
    if not claims:
        raise refused(description="the provider sent no ID token")
    if claims.get("iss") != current_app.config["OIDC_ISSUER"]:
        raise refused(description="the ID token comes from another issuer")
    return dict(claims)


def _failed(exc: Exception) -> ResponseReturnValue:
    OAuthError = _oauth_error()  # the class, imported where it is used
    if isinstance(exc, requests.RequestException):
        current_app.logger.warning("single sign-on: provider unreachable: %s", exc)
        return _problem(502, "The sign-in provider did not answer: try again in a moment.")
    if isinstance(exc, OAuthError) and exc.error == "mismatching_state":
        return _problem(
            400,
            "This sign-in was not started here, or was started in another browser or too "
            "long ago (its state does not match): start again from the sign-in page.",
        )
    if isinstance(exc, OAuthError) and request.args.get("error"):
        words = exc.description or exc.error
        return _problem(400, f"The sign-in provider refused the sign-in: {words}.")
    detail = getattr(exc, "description", None) or getattr(exc, "error", None) or str(exc)
    current_app.logger.warning("single sign-on: answer refused: %s", detail)
    return _problem(400, f"The sign-in provider's answer was refused: {detail}.")


@bp.get("/login/sso")
@public
def sso_start() -> ResponseReturnValue:
    """Off to the provider (authorisation code, PKCE S256, state and nonce kept in the
    session by Authlib)."""
    if sso.provider() is None:
        return _off()
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    session[NEXT] = local_target(request.args.get("next")) or ""
    try:
        return _client().authorize_redirect(_callback_url())
    except requests.RequestException as exc:
        return _failed(exc)


@bp.get("/login/sso/callback")
@public
def sso_callback() -> ResponseReturnValue:
    if sso.provider() is None:
        return _off()
    reauth = session.get(REAUTH)
    if reauth and request.args.get("state") == reauth.get("state"):
        return _reauth_callback(reauth)
    try:
        claims = _verified_claims()
    except _provider_errors() as exc:
        return _failed(exc)
    try:
        user = sso.account_for_claims(claims)
    except ServiceError as exc:
        return _problem(exc.http_status, f"You are not signed in: {exc.message}.")
    target = session.get(NEXT) or url_for("main.index")
    _start_session(user)
    return redirect(target)


# ---------------------------------------------------------------------------- signing


def _me() -> User:
    return current_user._get_current_object()


@bp.post("/account/signing-password/reauth")
@roles_required()
def signing_reauth() -> ResponseReturnValue:
    """Sign in again at the provider (``prompt=login``, ``max_age=0``) before setting a
    signing password."""
    if sso.provider() is None or not _me().sso_linked:
        return redirect(url_for("auth.signing_password"))
    state = secrets.token_urlsafe(24)
    session[REAUTH] = {"state": state, "started": time.time(), "user": _me().id}
    session.pop(REAUTHENTICATED, None)
    try:
        return _client().authorize_redirect(_callback_url(), state=state, prompt="login", max_age=0)
    except requests.RequestException as exc:
        return _failed(exc)


def _reauth_callback(reauth: dict) -> ResponseReturnValue:
    session.pop(REAUTH, None)
    if not current_user.is_authenticated or current_user.id != reauth.get("user"):
        return _problem(
            403,
            "Sign in first: a re-authentication sets the signing password of the person "
            "signed in here.",
        )
    try:
        claims = _verified_claims()
    except _provider_errors() as exc:
        return _failed(exc)
    started = datetime.fromtimestamp(float(reauth.get("started", 0)), UTC)
    try:
        at = sso.check_reauthentication(_me(), claims, started)
    except ServiceError as exc:
        return _signing_page(error=f"Not re-authenticated: {exc.message}.", status=exc.http_status)
    session[REAUTHENTICATED] = {"user": _me().id, "auth_time": at.timestamp()}
    flash("Signed in again at the provider: choose your signing password now.", "success")
    return redirect(url_for("auth.signing_password"))


def _fresh_reauth() -> datetime | None:
    done = session.get(REAUTHENTICATED)
    if not done or done.get("user") != _me().id:
        return None
    return datetime.fromtimestamp(float(done["auth_time"]), UTC)


def _signing_page(*, error: str | None = None, status: int = 200, form=None):
    me = _me()
    page = {
        "form": form or SigningPasswordForm(),
        "provider": sso.provider(),
        "me": me,
        "reauthenticated": _fresh_reauth(),
        "error": error,
    }
    return render_template("auth/signing_password.html", **page), status


@bp.route("/account/signing-password", methods=["GET", "POST"])
@roles_required()
def signing_password() -> ResponseReturnValue:
    """A person who signs in at the provider sets the password they sign with here, within a
    few minutes of signing in again there (decision 106)."""
    form = SigningPasswordForm()
    if not form.is_submitted():
        return _signing_page(form=form)
    at = _fresh_reauth()
    if at is None:
        error = "Sign in again at the provider first (the button below), then set it."
        return _signing_page(error=error, status=409, form=form)
    if not form.validate():
        error = "Your signing password was not set: see the marked fields."
        return _signing_page(error=error, status=422, form=form)
    try:
        sso.set_signing_password(_me(), form.new_password.data, reauthenticated_at=at)
    except ServiceError as exc:
        for name, message in exc.fields.items():
            getattr(form, name).errors.append(message)
        error = f"Your signing password was not set: {exc.message}."
        return _signing_page(error=error, status=exc.http_status, form=form)
    session.pop(REAUTHENTICATED, None)
    flash(
        "Your signing password is set: type it wherever a signature asks for your password.",
        "success",
    )
    return redirect(url_for("main.index"))
