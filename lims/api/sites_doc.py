"""The OpenAPI operations and schemas of the sites and an account's sites; ``openapi`` joins
them to the rest. The request bodies are the sites service's own models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..models import SITE_KINDS
from ..services.admin.sites import MembershipFields, SiteChanges, SiteFields
from .operation import Operation, Rule
from .schemas import Response, UtcTime

BODY_ERRORS = (400, 415, 422)


class SiteOut(Response):
    id: int
    code: str = Field(description="the ISBT 128 facility identification number (5 characters)")
    name: str
    address: str
    timezone: str = Field(description="the IANA time zone its local times are shown in")
    kind: str = Field(description=", ".join(SITE_KINDS))
    active: bool
    created_at: UtcTime


class SitesOut(Response):
    items: list[SiteOut] = Field(description="oldest first: the first is the installation's own")


class MembershipsOut(Response):
    user_id: int
    username: str
    sites: list[SiteOut] = Field(description="the sites the account belongs to, by code")


ZONE = Rule("timezone", ("invalid_fields",), "an IANA time zone name this server knows")
SITE_RULES = (
    Rule("code", ("invalid_fields",), "5 characters, A-Z and 0-9 (the facility number)"),
    ZONE,
)
MEMBERSHIP_RULES = (
    Rule("site_ids", ("invalid_fields",), "the ids of registered sites"),
    Rule("site_ids", ("no_site",), "an active account keeps at least one active site"),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/sites",
        "list_sites",
        "The sites of the network (clinics, processing and testing laboratories), oldest first",
        "SitesOut",
        errors=(401, 403),
    ),
    Operation(
        "post",
        "/sites",
        "register_site",
        "Register a site by its facility identification number; a number already registered "
        "is 409 duplicate_site",
        "SiteOut",
        201,
        request="SiteFields",
        errors=(*BODY_ERRORS, 401, 403, 409),
        rules=SITE_RULES,
        links={"update_site": {"site_id": "$response.body#/id"}},
    ),
    Operation(
        "post",
        "/sites/{site_id}",
        "update_site",
        "Change a site's name, address, time zone, kind or whether it is in use. The facility "
        "number is fixed (409 code_fixed); the last active site stays active (409 "
        "last_active_site); nothing changed is 409 no_change",
        "SiteOut",
        request="SiteChanges",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(ZONE,),
    ),
    Operation(
        "post",
        "/users/{user_id}/sites",
        "set_user_sites",
        "Set the sites an account belongs to (all of them); the sites it has already are 409 "
        "no_change",
        "MembershipsOut",
        request="MembershipFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=MEMBERSHIP_RULES,
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (SiteFields, SiteChanges, MembershipFields)
OUTPUTS: tuple[type[BaseModel], ...] = (SiteOut, SitesOut, MembershipsOut)
