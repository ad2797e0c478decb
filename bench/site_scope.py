"""What the site scope (decision 103) costs a look-up: ``access.require_unit`` with the scope
read in a query of its own (a request's first access check), already known, and read with the
person by the sign-in loader (``User.sites_missing``).

    python -m bench.site_scope postgresql+psycopg://postgres@127.0.0.1:5432/scratch

The database is migrated and given two accounts and one collection (use a scratch database).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import select

from lims import create_app
from lims.extensions import db
from lims.models import User
from lims.services import access
from lims.services.actions import units
from lims.services.admin import accounts

ROUNDS = 3000


def _person(username: str, role: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    return found or accounts.create_user(username, role, "bench-pass-1234")


def main(url: str) -> None:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        tech, doctor = _person("benchtech", "technician"), _person("benchdoc", "clinician")
        collected = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        unit = units.register(
            {
                "patient": {"mrn": "BENCH-1", "name": "Bench Patient"},
                "type": "ADIPOSE",
                "collection_site": "abdomen",
                "volume_ml": 100,
                "collected_at": collected,
            },
            doctor,
        ).unit
        unit_id, tech_id = unit.id, tech.id
        db.session.commit()

        def look_ups(load, forget: bool) -> float:
            started = time.perf_counter()
            for _ in range(ROUNDS):
                person = load()
                if forget:
                    access.forget_site_scopes()
                access.require_unit(person, unit_id)
                db.session.rollback()
            return (time.perf_counter() - started) / ROUNDS * 1000

        plain = lambda: db.session.get(User, tech_id)  # noqa: E731
        loaded = lambda: accounts.user_for_session(tech_id)  # noqa: E731
        for _ in range(2):
            print(f"scope read in a query of its own  {look_ups(plain, True):.2f} ms per look-up")
            print(f"scope already known               {look_ups(plain, False):.2f} ms per look-up")
            print(f"read with the person (sign-in)    {look_ups(loaded, True):.2f} ms per look-up")


if __name__ == "__main__":
    main(sys.argv[1])
