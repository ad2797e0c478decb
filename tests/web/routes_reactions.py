"""The route × role table's rows for the adverse reaction pages (decision 113): endpoint ->
(method, url template, roles that get the page). A role the route refuses is refused before
any record is read, so its row names a reaction that need not exist; a role it admits gets a
product given to the patient and a real report."""

from __future__ import annotations

from datetime import UTC, datetime

VIEWERS = {"clinician", "qa", "admin"}
READERS = {"qa", "admin"}
NONE_SUCH = 999_999

ROUTES: dict[str, tuple] = {
    "reactions.report": ("GET", "/units/{administered}/adverse-reactions/new", {"clinician"}),
    "reactions.index": ("GET", "/audit/adverse-reactions?status=open", READERS),
    "reactions.detail": ("GET", "/audit/adverse-reactions/{reaction}", VIEWERS),
    # GET (a refused note's address opened again) is the reaction's page; POST adds the note.
    "reactions.investigate": ("GET", "/audit/adverse-reactions/{qareaction}/investigation", {"qa"}),
    "reactions.close": ("GET", "/audit/adverse-reactions/{qareaction}/close", {"qa"}),
    "reactions.report_pdf": ("GET", "/audit/adverse-reactions/{readreaction}/report.pdf", READERS),
}


def _given(users, unit):
    from tests.service.lab import walk

    return walk(unit, "administered", users)


def an_administered(users, owner, unit) -> int:
    return _given(users, unit).id if owner.role == "clinician" else NONE_SUCH


def a_reaction_for(allowed: set[str]):
    def make(users, owner, unit) -> int:
        if owner.role not in allowed:
            return NONE_SUCH
        from lims.extensions import db
        from lims.services.audit import adverse_reactions

        body = {
            "onset_at": datetime.now(UTC).isoformat(),
            "description": "Swelling at the injection sites",
            "severity": "mild",
            "relation": "possible",
        }
        found = adverse_reactions.report(_given(users, unit).id, body, users["clinician"])
        db.session.commit()
        return found.id

    return make


ROWS: dict = {
    "administered": an_administered,
    "reaction": a_reaction_for(VIEWERS),
    "qareaction": a_reaction_for({"qa"}),
    "readreaction": a_reaction_for(READERS),
}
