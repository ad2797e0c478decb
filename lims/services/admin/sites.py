"""The sites of the network and who belongs to them (decision 101).

A site is a place of the network — a clinic that collects, a laboratory that processes, or a
testing laboratory (inside the network or not, so that shipments can go to it later). Its
``code`` is its ISBT 128 facility identification number, fixed once registered: the
identifiers it prints begin with it. An account belongs to one or more sites.

Admins register and edit sites (``register_site``, ``update_site``) and set an account's
sites (``set_memberships``); everyone signed in reads the list. Each change is one ledger
entry without a unit: ``site_registered``, ``site_updated`` (the fields before and after) and
``user_sites_changed`` (the account and its sites before and after).

A new account joins the oldest active site, when there is one (``_join_first_site``, a hook
on the session's flush, so that ``accounts.create_user`` stays as it is); an admin moves it
afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from ...db import lock, transaction
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID, CodeError, validate_facility_code
from ...domain.roles import Role
from ...driver import DriverSelect, attach, column_keys
from ...extensions import db
from ...models import SITE_KINDS, Site, User, user_sites
from ...models.types import utcnow
from .. import access
from ..custody import ledger
from . import accounts

REGISTERED = "site_registered"
UPDATED = "site_updated"
MEMBERSHIPS = "user_sites_changed"
ACTIONS = (REGISTERED, UPDATED, MEMBERSHIPS)
NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)
MAX_SITES_PER_USER = 100

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline, return aside


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("may not contain a control character")
    return value


def _facility_code(value: str) -> str:
    try:
        return validate_facility_code(value)
    except CodeError as exc:
        raise ValueError(exc.message) from None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"{value!r} is not a time zone name this server knows (e.g. Europe/Paris)")
    return value


Plain = AfterValidator(_plain)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), Plain]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Plain
]
FacilityCode = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=16), AfterValidator(_facility_code)
]
Zone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_zone)
]
Kind = Literal[SITE_KINDS]  # type: ignore[valid-type]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SiteFields(_Fields):
    """A site as registered."""

    code: FacilityCode = Field(
        description="its ISBT 128 facility identification number: 5 characters, A-Z and 0-9; "
        "fixed once registered"
    )
    name: Name
    address: Address = Field(description="the postal address, one line or several")
    timezone: Zone = Field(description="an IANA time zone name, e.g. Europe/Paris")
    kind: Kind = Field(description="clinic, processing_lab or testing_lab")


class SiteChanges(_Fields):
    """What an edit changes; a field left out stays as it is. The code cannot change."""

    code: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        None, description="the site's code as it is (a different one is 409 code_fixed)"
    )
    name: Name | None = None
    address: Address | None = None
    timezone: Zone | None = None
    kind: Kind | None = None
    active: bool | None = Field(None, description="false: the site is no longer in use")


class MembershipFields(_Fields):
    site_ids: list[Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]] = Field(
        max_length=MAX_SITES_PER_USER,
        description="every site the account belongs to (at least one active site for an "
        "active account)",
    )


# ---------------------------------------------------------------------------- helpers


def _require_admin(actor: User, what: str) -> None:
    if actor.role != Role.ADMIN.value:
        raise Forbidden(f"{what}: only admin may; you are {actor.role}", code="role_not_allowed")


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("send the fields as an object", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _described(site: Site) -> dict[str, Any]:
    return {
        "name": site.name,
        "address": site.address,
        "timezone": site.timezone,
        "kind": site.kind,
        "active": site.active,
    }


def _append(action: str, actor: User, at: datetime, data: dict[str, Any]) -> None:
    ledger.append(unit=None, action=action, actor=actor, movement=NO_MOVEMENT, data=data, at=at)


# ---------------------------------------------------------------------------- reading


def list_sites(*, active_only: bool = False) -> list[Site]:
    """Every site, oldest first (the first is the installation's own, decision 101)."""
    stmt = select(Site).order_by(Site.id)
    if active_only:
        stmt = stmt.where(Site.active.is_(True))
    return list(db.session.scalars(stmt))


def get_site(site_id: int) -> Site:
    site = db.session.get(Site, site_id) if 0 < site_id <= MAX_ID else None
    if site is None:
        raise NotFound(f"no site with id {site_id}", code="unknown_site")
    return site


def sites_of(user: User) -> list[Site]:
    """The sites the account belongs to, by code."""
    return list(user.sites)  # type: ignore[attr-defined]


_SITE_KEYS = column_keys(Site)
_ACTIVE_SITES_OF = DriverSelect(
    select(*(getattr(Site, key) for key in _SITE_KEYS))
    .join(user_sites, user_sites.c.site_id == Site.id)
    .where(user_sites.c.user_id == bindparam("user_id"), Site.active.is_(True))
    .order_by(Site.code)
)


def active_sites_of(user: User) -> list[Site]:
    """The account's active sites, by code. Every registration asks: read on the driver
    (decision 116) unless the account's sites are loaded already; the ORM's lazy load of
    ``User.sites`` was a tenth of a registration (decision 122)."""
    if "sites" in user.__dict__:
        return [s for s in sites_of(user) if s.active]
    rows = _ACTIVE_SITES_OF.rows({"user_id": user.id})
    return [attach(Site, dict(zip(_SITE_KEYS, row, strict=True)), existing=True) for row in rows]  # type: ignore[misc]


def collecting_site(actor: User, code: str | None) -> Site:
    """Where ``actor`` registers a collection: the site ``code`` names, which must be one of
    theirs and active; without a code, their first active site (decision 103)."""
    mine = active_sites_of(actor)
    if code is not None:
        found = next((s for s in mine if s.code == code), None)
        if found is None:
            raise Invalid(
                f"{code} is not an active site of yours: choose one of "
                + (", ".join(s.code for s in mine) or "none"),
                code="not_your_site",
                fields={"site": "one of your sites"},
            )
        return found
    if mine:
        return min(mine, key=lambda s: s.id)
    found = first_site()
    if found is None:
        raise Conflict("no active site is registered", code="no_site")
    return found


def first_site() -> Site | None:
    """The oldest active site: where a new account starts."""
    return db.session.scalar(select(Site).where(Site.active.is_(True)).order_by(Site.id).limit(1))


# ---------------------------------------------------------------------------- register, edit


def register_site(data: Mapping[str, Any], actor: User, *, at: datetime | None = None) -> Site:
    """Register a site (admin); a code already registered is 409 ``duplicate_site``."""
    _require_admin(actor, "registering a site")
    fields: SiteFields = _validated(SiteFields, data)
    now = at or utcnow()
    with transaction():
        access.forget_site_scopes()  # who sees which site changes now
        lock("lims.sites")
        twin = db.session.scalar(select(Site).where(Site.code == fields.code))
        if twin is not None:
            raise Conflict(
                f"facility {fields.code} is already registered as {twin.name}; nothing was added",
                code="duplicate_site",
                fields={"code": f"already registered ({twin.name})"},
            )
        site = Site(
            code=fields.code,
            name=fields.name,
            address=fields.address,
            timezone=fields.timezone,
            kind=fields.kind,
            active=True,
            created_by_id=actor.id,
            created_at=now,
        )
        db.session.add(site)
        db.session.flush()
        _append(REGISTERED, actor, now, {"site_id": site.id, "site": site.code, **_described(site)})
    return site


def update_site(
    site_id: int, data: Mapping[str, Any], actor: User, *, at: datetime | None = None
) -> Site:
    """Change a site's name, address, time zone, kind or whether it is in use (admin).

    The code is fixed (409 ``code_fixed``): the identifiers the site printed carry it. The
    last active site stays active (409 ``last_active_site``); nothing changed is 409
    ``no_change``.
    """
    _require_admin(actor, "editing a site")
    now = at or utcnow()
    with transaction():
        access.forget_site_scopes()  # who sees which site changes now
        lock("lims.sites")
        site = get_site(site_id)
        fields: SiteChanges = _validated(SiteChanges, data)
        if fields.code is not None and fields.code.strip().upper() != site.code:
            raise Conflict(
                f"{site.code} is this site's facility identification number and cannot change: "
                "the identifiers it printed carry it; register the new number as a new site",
                code="code_fixed",
                fields={"code": "fixed once registered"},
            )
        before = _described(site)
        for name in ("name", "address", "timezone", "kind", "active"):
            value = getattr(fields, name)
            if value is not None:
                setattr(site, name, value)
        after = _described(site)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if not changes:
            raise Conflict(f"{site.code}: nothing changed", code="no_change")
        if "active" in changes and not site.active:
            others = db.session.scalar(
                select(Site.id).where(Site.active.is_(True), Site.id != site.id).limit(1)
            )
            if others is None:
                raise Conflict(
                    f"{site.code} is the only active site; the installation needs one",
                    code="last_active_site",
                )
        _append(UPDATED, actor, now, {"site_id": site.id, "site": site.code, "changes": changes})
    return site


# ---------------------------------------------------------------------------- memberships


def set_memberships(
    user_id: int, site_ids: Any, actor: User, *, at: datetime | None = None
) -> list[Site]:
    """The account belongs to exactly these sites (admin). An active account keeps at least
    one active site (422 ``no_site``); an unknown site is 422 on ``site_ids``; the sites it
    already has are 409 ``no_change``."""
    _require_admin(actor, "setting an account's sites")
    fields: MembershipFields = _validated(MembershipFields, {"site_ids": site_ids})
    now = at or utcnow()
    with transaction():
        access.forget_site_scopes()  # who sees which site changes now
        lock("lims.accounts")
        user = accounts.get_person(user_id)
        wanted = sorted(set(fields.site_ids))
        chosen = list(db.session.scalars(select(Site).where(Site.id.in_(wanted)))) if wanted else []
        unknown = sorted(set(wanted) - {s.id for s in chosen})
        if unknown:
            message = "no site with id " + ", ".join(str(i) for i in unknown)
            raise Invalid(message, code="invalid_fields", fields={"site_ids": message})
        if user.active and not any(s.active for s in chosen):
            message = "an active account belongs to at least one active site"
            raise Invalid(message, code="no_site", fields={"site_ids": message})
        before = sorted(s.code for s in user.sites)  # type: ignore[attr-defined]
        after = sorted(s.code for s in chosen)
        if before == after:
            raise Conflict(f"{user.username} already belongs to these sites", code="no_change")
        user.sites = sorted(chosen, key=lambda s: s.code)  # type: ignore[attr-defined]
        _append(
            MEMBERSHIPS,
            actor,
            now,
            {"user_id": user.id, "username": user.username, "before": before, "after": after},
        )
    return sites_of(user)


@event.listens_for(Session, "before_flush")
def _join_first_site(session: Session, _context: Any, _instances: Any) -> None:
    """A new account joins the oldest active site, if there is one and it was given none."""
    newcomers = [o for o in session.new if isinstance(o, User) and not o.sites]  # type: ignore[attr-defined]
    if not newcomers:
        return
    with session.no_autoflush:
        site = session.scalar(select(Site).where(Site.active.is_(True)).order_by(Site.id).limit(1))
    if site is not None:
        for user in newcomers:
            user.sites.append(site)  # type: ignore[attr-defined]
