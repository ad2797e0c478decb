"""Least privilege for the application's own PostgreSQL role.

The triggers refuse UPDATE/DELETE/TRUNCATE on the ledger, but a table's owner may disable
triggers. So in production the migrations run as the owner and the application connects as
another role that may only SELECT and INSERT on the ledger tables: it can neither change a
ledger row nor switch the triggers off (only an owner may ALTER a table).
"""

from __future__ import annotations

import re

from sqlalchemy import text

from ...domain.errors import Invalid
from ...extensions import db
from ...models import APPEND_ONLY_TABLES

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_application_role(role: str) -> list[str]:
    """Grant ``role`` what the application needs, and no more; return the statements run.

    Run it as the owner after every migration that adds tables.
    """
    if db.engine.dialect.name != "postgresql":
        raise Invalid("database roles exist on PostgreSQL only; SQLite has no roles")
    if not _ROLE.match(role):
        raise Invalid(f"{role!r} is not a plain PostgreSQL role name (a-z, 0-9, _)")
    ledger = ", ".join(APPEND_ONLY_TABLES)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {ledger} FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    with db.engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            raise Invalid(f"PostgreSQL role {role!r} does not exist; create it first")
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements
