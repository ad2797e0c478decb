"""Fuzzing the API from its own OpenAPI document, in process, with schemathesis.

For each demo role (a bearer token from ``POST /api/v1/tokens``) and every operation of
``/api/v1/openapi.json``: schemathesis' boundary cases (its coverage phase: each minimum,
maximum, enum value, missing and extra field, undeclared method), Hypothesis examples in
positive and negative mode, and state-machine scenarios that follow the document's links
(register → act on the unit → its products …). Every answer is checked:

- never a server error;
- the status code, content type, headers and body as documented;
- a request the document allows is never refused for its shape (400, 415, 422) — except by
  a rule the operation names in ``x-rules`` (a time relative to now, a guard, a password);
- an undeclared method is a 405 that says which methods the address takes (``Allow``).

Failures are collected (one example each), not raised at the first, so a run reports them
all; afterwards the custody ledger must still verify.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from flask import Flask, g
from hypothesis import HealthCheck, Phase, strategies
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.stateful.state_machine import StepOutput
from schemathesis.specs.openapi import checks as openapi_checks

from lims.extensions import db
from lims.models import User
from lims.seed import DEMO_PASSWORD, DEMO_USERS
from lims.services.admin import accounts
from lims.services.custody import ledger

DOCUMENT = "/api/v1/openapi.json"
USERNAMES: dict[str, str] = {}  # the first demo user of each role
for _username, _role, _ in DEMO_USERS:
    USERNAMES.setdefault(_role, _username)
ROLES = tuple(USERNAMES)  # technician, clinician, qa, admin
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass(frozen=True)
class Profile:
    """How much to generate. ``FUZZ_EXAMPLES`` (the long run, ``make fuzz``) sets the
    examples per operation, role and mode and turns on the whole coverage phase."""

    examples: int  # Hypothesis examples per operation, role and mode
    coverage: tuple[GenerationMode, ...]  # boundary cases: positive (and negative) mode
    scenarios: int  # state-machine runs per role
    steps: int  # steps per state-machine run
    derandomize: bool = False  # the same requests every time (the run in `make test`)

    @classmethod
    def from_environment(cls) -> Profile:
        examples = os.environ.get("FUZZ_EXAMPLES")
        if examples:  # the long run: new requests each time
            return cls(int(examples), MODES, scenarios=max(int(examples) // 2, 5), steps=10)
        # In `make test`: the same requests each time, so a failure there is never chance.
        return cls(2, (GenerationMode.POSITIVE,), scenarios=1, steps=12, derandomize=True)


@dataclass
class Report:
    requests: int = 0
    by_role: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    steps: int = 0  # state-machine steps …
    linked: int = 0  # … of which followed a link with the value it carried
    failures: dict[str, str] = field(default_factory=dict)  # one example per distinct failure
    ledger_intact: bool | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        roles = ", ".join(f"{role} {n}" for role, n in sorted(self.by_role.items()))
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"API fuzz: {self.requests} requests in {self.seconds:.0f} s ({roles})",
            f"  answers: {statuses}",
            f"  state-machine steps: {self.steps} ({self.linked} along a link of the document)",
            f"  failures: {len(self.failures)}",
            *(f"  - {key}\n      {example}" for key, example in sorted(self.failures.items())),
            f"  ledger verified intact afterwards: {self.ledger_intact}",
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- checks


def _x_rules(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each operation's refusals beyond its schema, by schemathesis' label ("POST /path")."""
    return {
        f"{method.upper()} {path}": op.get("x-rules", [])
        for path, item in document["paths"].items()
        for method, op in item.items()
    }


def _named_by_a_rule(rules: list[dict[str, Any]], response: Any) -> bool:
    """A 422 whose code an ``x-rules`` entry of the operation lists, for the fields it names
    (a rule on ``steps`` names ``steps.0.ended_at`` too)."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    named = {rule["field"] for rule in rules if error.get("code") in rule["codes"]}
    if not named or None in named:
        return bool(named)
    return all(
        any(name == field or name.startswith(f"{field}.") for field in named)
        for name in error.get("fields") or ()
    )


def positive_data_accepted(rules: dict[str, list[dict[str, Any]]]) -> Callable:
    """schemathesis' ``positive_data_acceptance``, except for a 422 the operation names as a
    rule beyond its schema."""

    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        if response.status_code == 422 and _named_by_a_rule(rules[case.operation.label], response):
            return None
        return openapi_checks.positive_data_acceptance(ctx, response, case)

    check.__name__ = "positive_data_acceptance_beyond_x_rules"
    return check


def checks(document: dict[str, Any]) -> list[Callable]:
    """Not ``negative_data_rejection``: the API is deliberately lenient where a schema is
    strict (white space around a text is trimmed before its length is checked; a number is
    read as a time), so it would report what is by design."""
    return [
        not_a_server_error,
        openapi_checks.status_code_conformance,
        openapi_checks.content_type_conformance,
        openapi_checks.response_headers_conformance,
        openapi_checks.response_schema_conformance,
        positive_data_accepted(_x_rules(document)),
        openapi_checks.unsupported_method,
        openapi_checks.allow_header_conformance,
    ]


# ---------------------------------------------------------------------------- the run


class Tokens:
    """A bearer token per role. A fuzzed ``POST /tokens/revoke`` or password change ends the
    one in use; then the next comes from the service (failed fuzzed sign-ins may have
    paused ``POST /tokens`` for the demo usernames)."""

    def __init__(self, client: Any) -> None:
        self.current: dict[str, str] = {}
        for role in ROLES:
            response = client.post(
                "/api/v1/tokens", json={"username": USERNAMES[role], "password": DEMO_PASSWORD}
            )
            assert response.status_code == 201, response.get_json()
            self.current[role] = response.get_json()["token"]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current[role]}"}

    def renew(self, role: str) -> None:
        user = db.session.query(User).filter_by(username=USERNAMES[role]).one()
        self.current[role], _ = accounts.issue_token(user)


class Fuzz:
    def __init__(self, app: Flask, profile: Profile) -> None:
        self.app, self.profile, self.report = app, profile, Report()
        self.tokens = Tokens(app.test_client())
        self.schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
        # Requests carry the role's token (added at each call); the generator adds none.
        self.schema.config.generation.update(with_security_parameters=False)
        document = app.test_client().get(DOCUMENT).get_json()
        self.checks = checks(document)

    def operations(self) -> Iterator[Any]:
        for result in self.schema.get_all_operations():
            yield result.ok()

    def send(self, case: Any, role: str) -> Any:
        """One request as ``role``; its answer checked, any failure recorded (not raised)."""
        headers = self.tokens.headers(role)
        for name in ("_login_user", "login_failed"):  # as tests.conftest.FreshRequestClient
            g.pop(name, None)
        try:
            response = case.call(headers=headers)
        finally:
            db.session.remove()  # each request in a fresh session, as a server would
        self.report.requests += 1
        self.report.by_role[role] += 1
        self.report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=self.checks, headers=headers)
        except (FailureGroup, Failure) as exc:
            self.record(case, role, response, getattr(exc, "exceptions", [exc]))
        finally:
            db.session.remove()
        if response.status_code == 401:
            self.tokens.renew(role)  # the fuzzer ended its own token (revoke, password change)
        return response

    def record(self, case: Any, role: str, response: Any, failures: list[Failure]) -> None:
        request = case.as_curl_command(headers={"Authorization": "Bearer …"})
        answer = f"{response.status_code} {response.text[:300]}"
        for failure in failures:
            key = f"{case.operation.label}: {failure.title} ({role})"
            message = " ".join(failure.message.split())
            self.report.failures.setdefault(key, f"{request}\n      → {answer}\n      {message}")

    def boundaries(self, operation: Any, role: str) -> None:
        config = self.schema.config.generation_for(operation=operation, phase="coverage")
        for case in self.schema.iter_coverage_cases(
            operation, generation_modes=list(self.profile.coverage), generation_config=config
        ):
            self.send(case, role)

    def examples(self, operation: Any, role: str) -> None:
        drawn = strategies.one_of(*(operation.as_strategy(mode) for mode in MODES))

        @hypothesis.settings(
            max_examples=self.profile.examples * len(MODES),
            deadline=None,
            database=None,
            derandomize=self.profile.derandomize,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=drawn)
        def run(case: Any) -> None:
            self.send(case, role)

        run()

    def scenarios(self, role: str) -> None:
        """State machines over the document's links: a registered unit is acted on, its
        products too, a booked appointment moved or cancelled, a job polled."""
        fuzz = self

        class Scenario(self.schema.as_state_machine()):  # type: ignore[misc]
            def step(self, input: Any) -> StepOutput:
                fuzz.report.steps += 1
                fuzz.report.linked += input.transition is not None and input.is_applied
                return StepOutput(fuzz.send(input.case, role), input.case)

        # One scenario per run: the API's answers (and so which links can be followed)
        # change as the database does, which Hypothesis would take for a flaky strategy if
        # it replayed a prefix of choices in a later example of the same run.
        settings = hypothesis.settings(
            max_examples=1,
            stateful_step_count=self.profile.steps,
            deadline=None,
            database=None,
            derandomize=self.profile.derandomize,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        for _ in range(self.profile.scenarios):
            run_state_machine_as_test(Scenario, settings=settings)

    def run(self) -> Report:
        started = time.monotonic()
        for role in ROLES:
            for operation in self.operations():
                if self.profile.coverage:
                    self.boundaries(operation, role)
                if self.profile.examples:
                    self.examples(operation, role)
            if self.profile.scenarios:
                self.scenarios(role)
        self.report.seconds = time.monotonic() - started
        self.report.ledger_intact = ledger.verify().intact
        return self.report


def fuzz(app: Flask, profile: Profile | None = None) -> Report:
    return Fuzz(app, profile or Profile.from_environment()).run()
