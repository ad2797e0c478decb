"""The API route × role table's rows for adverse reactions (decision 113). A role the route
refuses is refused before any record is read, so its row names a reaction that need not
exist; a role it admits gets a real product given to the patient and a real report."""

from __future__ import annotations

from datetime import UTC, datetime

from .access import Endpoint

VIEWERS = frozenset({"clinician", "qa", "admin"})
READERS = frozenset({"qa", "admin"})
PASSWORD = "test-pass-1234"
NONE_SUCH = 999_999  # refused by role first: never read


def _given(users, unit):
    from tests.service.lab import walk

    return walk(unit, "administered", users)


def reaction_body() -> dict:
    return {
        "onset_at": datetime.now(UTC).isoformat(),
        "description": "Swelling at the injection sites",
        "severity": "mild",
        "relation": "possible",
    }


def an_administered(users, role, unit) -> int:
    return _given(users, unit).id if role == "clinician" else NONE_SUCH


def a_reaction_for(allowed: frozenset[str]):
    def make(users, role, unit) -> int:
        if role not in allowed:
            return NONE_SUCH
        from lims.services.audit import adverse_reactions

        product = _given(users, unit)
        return adverse_reactions.report(product.id, reaction_body(), users["clinician"]).id

    return make


ENDPOINTS: dict[str, Endpoint] = {
    "api.report_adverse_reaction": Endpoint(
        "POST",
        "/units/{administered}/adverse-reactions",
        frozenset({"clinician"}),
        201,
        body=reaction_body,
    ),
    "api.unit_adverse_reactions": Endpoint("GET", "/units/{id}/adverse-reactions", VIEWERS),
    "api.list_adverse_reactions": Endpoint("GET", "/adverse-reactions?status=open", READERS),
    "api.get_adverse_reaction": Endpoint("GET", "/adverse-reactions/{reaction}", VIEWERS),
    "api.investigate_adverse_reaction": Endpoint(
        "POST",
        "/adverse-reactions/{qareaction}/investigation",
        frozenset({"qa"}),
        body=lambda: {"note": "lot records reviewed"},
    ),
    "api.close_adverse_reaction": Endpoint(
        "POST",
        "/adverse-reactions/{qareaction}/close",
        frozenset({"qa"}),
        body=lambda: {"outcome": "not related", "password": PASSWORD, "meaning": "reviewed"},
    ),
    "api.adverse_reaction_report": Endpoint(
        "GET", "/adverse-reactions/{readreaction}/report", READERS
    ),
}
ROWS: dict = {
    "administered": an_administered,
    "reaction": a_reaction_for(VIEWERS),
    "qareaction": a_reaction_for(frozenset({"qa"})),
    "readreaction": a_reaction_for(READERS),
}
