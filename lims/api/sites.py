"""The sites of the network on the ``api`` blueprint: the list (everyone signed in),
registering and editing a site and setting an account's sites (admin). Same service and rules
as the pages (``services.admin.sites``)."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from ..domain.roles import Role
from ..models import Site, User
from ..security import roles_required
from ..services.admin import accounts, sites
from ..services.admin.sites import MembershipFields
from . import bp
from .body import json_object, parse
from .respond import json_response
from .sites_doc import MembershipsOut, SiteOut, SitesOut


def _actor() -> User:
    return current_user._get_current_object()


def site_out(site: Site) -> SiteOut:
    return SiteOut(
        id=site.id,
        code=site.code,
        name=site.name,
        address=site.address,
        timezone=site.timezone,
        kind=site.kind,
        active=site.active,
        created_at=site.created_at,
    )


@bp.get("/sites")
@roles_required()
def list_sites():
    return json_response(SitesOut(items=[site_out(s) for s in sites.list_sites()]))


@bp.post("/sites")
@roles_required(Role.ADMIN)
def register_site():
    site = sites.register_site(json_object(), _actor())
    return json_response(site_out(site), 201, Location=url_for("api.list_sites"))


@bp.post("/sites/<id:site_id>")
@roles_required(Role.ADMIN)
def update_site(site_id: int):
    return json_response(site_out(sites.update_site(site_id, json_object(), _actor())))


@bp.post("/users/<id:user_id>/sites")
@roles_required(Role.ADMIN)
def set_user_sites(user_id: int):
    body = parse(MembershipFields, json_object())
    joined = sites.set_memberships(user_id, body.site_ids, _actor())
    user = accounts.get_person(user_id)
    return json_response(
        MembershipsOut(user_id=user.id, username=user.username, sites=[site_out(s) for s in joined])
    )
