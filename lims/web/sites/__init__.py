"""The sites of the network (admin): the list, registering a site and editing one, and an
account's sites set from the admin's user page. The top bar names the signed-in person's
site(s) once the network has more than one.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import func, select

from ...extensions import db
from ...models import Site

bp = Blueprint("sites", __name__, url_prefix="/admin/sites")


@bp.app_context_processor
def _sites_line() -> dict:
    def my_sites() -> str | None:
        """ "Hair Clinic North" or "A, B" for the top bar; None while there is one site."""
        if not current_user.is_authenticated:
            return None
        if db.session.scalar(select(func.count()).select_from(Site)) < 2:
            return None
        return ", ".join(s.name for s in current_user.sites) or None

    return {"my_sites": my_sites}


from . import routes  # noqa: E402,F401  (views register on bp)
