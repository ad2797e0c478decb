"""The performance qualification end to end, once: a served instance on a scratch SQLite
file, one unit from collection to administration through the HTTP API with ``requests``."""

from __future__ import annotations

import pytest

from lims import create_app
from lims.validation import pq

# Quick password hashing for the test (the PQ of `make validation` hashes as the site does).
FAST = {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


@pytest.mark.req("A11-3")
def test_one_unit_goes_from_collection_to_administration_through_the_http_api():
    outcome = pq.run(create_app, overrides=FAST)
    assert outcome["status"] == "passed", outcome["failure"]
    steps = outcome["steps"]
    assert all(isinstance(s["ms"], float) for s in steps)
    assert [s["status"] for s in steps[:4]] == [201, 201, 201, 201]  # tokens, registration
    assert steps[-1]["path"] == "/api/v1/ledger/verify"
    names = [s["step"] for s in steps]
    assert names.index("release (QA signs)") < names.index("administer (wristband checked)")
    actions = [e["action"] for e in outcome["ledger"]]
    assert actions[0] == "register" and actions[-1] == "administer"
    assert {"release", "dispense", "record_qc", "complete_processing"} <= set(actions)
    assert all(len(e["entry_hash"]) == 64 for e in outcome["ledger"])
    assert outcome["verification"]["intact"] is True
    assert outcome["database"] == "a temporary SQLite file"


def test_an_unexpected_answer_fails_the_qualification_with_its_step():
    """A refusal is reported as the step that met it, not raised: here the served app takes
    no request body over 16 bytes, so the first sign-in is refused (413)."""
    outcome = pq.run(
        create_app,
        overrides={"MAX_CONTENT_LENGTH": 16, **FAST},
    )
    assert outcome["status"] == "failed"
    failure = outcome["failure"]
    assert (
        failure["step"]
        == outcome["steps"][-1]
        == {
            **failure["step"],
            "step": "token for pq-doctor",
            "path": "/api/v1/tokens",
            "status": 413,
        }
    )
    assert "answered 413" in failure["message"]
    assert outcome["ledger"] == [] and outcome["verification"] is None
