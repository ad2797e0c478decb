"""A real OpenID Connect provider on 127.0.0.1 for the single sign-on tests and the demo
(``DEMO_SSO=1 make run``): oidc-provider-mock's Flask app (authorisation code with PKCE,
signed ID tokens, discovery, keys) served by werkzeug on a thread.

The package leaves ``auth_time`` out of its ID tokens; a provider asked for ``max_age`` must
put it in (OpenID Connect Core 3.1.2.1), so this one stamps the moment the person submitted
the provider's sign-in form (the code is exchanged at once after). ``AUTH_AGE_SECONDS``
makes it claim an older sign-in, for the test of a stale one.

    python -m tests.oidc_provider --port 9400     # the demo's provider
"""

from __future__ import annotations

import argparse
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate  # noqa: F401  (imported first: it sets its warnings to "always")
import flask
import requests
import werkzeug.serving

with warnings.catch_warnings():
    # The package imports Authlib modules Authlib has deprecated (``authlib.jose``, its httpx
    # client); our own client, ``authlib.integrations.flask_client``, uses neither.
    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock
    from oidc_provider_mock import _storage

# Seconds subtracted from the stamped auth_time (0: the sign-in just now).
AUTH_AGE_SECONDS = [0]
# Called when a client exchanges a code at the token endpoint, before the provider answers:
# a test looks at what the client holds while it waits (decision 117).
ON_TOKEN_REQUEST: list[Callable[[], None]] = []


def _auth_time(self) -> int:
    return int(time.time()) - AUTH_AGE_SECONDS[0]


_storage.AuthorizationCode.get_auth_time = _auth_time  # type: ignore[method-assign]


@contextmanager
def serve(port: int = 0, users: Mapping[str, Mapping[str, object]] = ()) -> Iterator[str]:
    """The provider on 127.0.0.1 (a free port unless given) for the block; yields its issuer
    URL. ``users``: sub -> claims known from the start."""
    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[
            oidc_provider_mock.User(sub=sub, claims=dict(claims))
            for sub, claims in dict(users).items()
        ],
    )

    @app.before_request
    def _token_requested() -> None:
        if flask.request.path.endswith("/token"):
            for call in list(ON_TOKEN_REQUEST):
                call()

    server = werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def set_user(issuer: str, sub: str, claims: Mapping[str, object]) -> None:
    """Give a person at the provider these claims (its own API: PUT /users/<sub>)."""
    response = requests.put(f"{issuer}/users/{sub}", json=dict(claims), timeout=5)
    response.raise_for_status()


def sign_in_at_provider(authorize_url: str, sub: str) -> str:
    """What a person does on the provider's page: submit the sign-in form as ``sub``.
    Returns the address the provider sends the browser back to (our callback)."""
    response = requests.post(authorize_url, data={"sub": sub}, timeout=5, allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9400)
    args = parser.parse_args()
    # The demo's accounts, linked by username (the Makefile's OIDC_LINK_CLAIM).
    demo = {
        name: {"preferred_username": name, "name": full, "groups": groups}
        for name, full, groups in (
            ("tech", "Demo Technician", ["lims-lab"]),
            ("qa", "Demo QA", ["lims-qa"]),
            ("newcomer", "New Colleague", []),
        )
    }
    with serve(args.port, demo) as issuer:
        print(f"  demo OpenID provider at {issuer}: sign in as tech, qa or newcomer", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
