"""SQLite alone, for a module whose tests cannot differ by database.

The suite runs every test on SQLite and on PostgreSQL (``tests/conftest.py``), because the two
differ in locking, types, constraints and SQL. A module that checks what the database does not
decide — which role reaches which route, the shape of the OpenAPI document, what a form or a
label shows — runs on SQLite only, so the matrix is spent where the backends can differ
(the rule itself is still tested on both, at the service layer). Such a module imports the
fixture::

    from tests.backends import backend  # noqa: F401  (SQLite alone: <why>)
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param
