"""The OpenAPI operations and schemas of adverse reactions (decision 113); ``openapi`` joins
them to the rest. The request bodies are the service's own models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..domain import treatment as rules
from ..services.audit.adverse_reactions import ReactionCloseIn, ReactionNoteIn, ReactionReportIn
from .operation import Operation, Rule
from .schemas import PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)
Severity = Literal[rules.SEVERITIES]  # type: ignore[valid-type]
Relation = Literal[rules.RELATIONS]  # type: ignore[valid-type]


class ReactionProductOut(Response):
    id: int
    din: str
    product_code: str
    division: str
    unit_type: str
    chain_of_identity: str | None
    administered_at: UtcTime | None


class ReactionPatientOut(Response):
    id: int
    mrn: str = Field(description="the hospital's identifier; the report sent on names no one")


class ReactionNoteOut(Response):
    at: UtcTime
    by: str
    text: str


class ReactionSignatureOut(Response):
    name: str
    meaning: str
    signed_at: UtcTime
    record_hash: str = Field(description="SHA-256 of the signed record")
    intact: bool = Field(description="the stored decision still matches what was signed")


class AdverseReactionOut(Response):
    id: int
    status: Literal["open", "closed"]
    product: ReactionProductOut
    patient: ReactionPatientOut
    onset_at: UtcTime
    description: str
    severity: Severity
    relation: Relation = Field(description="the reporter's judgement")
    reported_by: PersonOut
    reported_at: UtcTime
    investigation: list[ReactionNoteOut]
    outcome: str | None = Field(description="QA's conclusion, once closed")
    closed_by: PersonOut | None
    closed_at: UtcTime | None
    signature: ReactionSignatureOut | None


class AdverseReactionsOut(Response):
    items: list[AdverseReactionOut]
    open_count: int = Field(description="open reactions in all (not only those listed)")


class AdverseReactionsQuery(Request):
    status: Literal["open", "closed", "all"] = Field("all", description="open first in any case")
    severity: Severity | None = Field(None, description="only reactions of this severity")


CLOSED = Rule(None, ("already_closed",), "an open reaction: a closed one is read-only (409)")
LINKS = {
    name: {"reaction_id": "$response.body#/id"}
    for name in ("get_adverse_reaction", "investigate_adverse_reaction", "close_adverse_reaction")
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/units/{unit_id}/adverse-reactions",
        "report_adverse_reaction",
        "A clinician who may see the patient reports an adverse reaction on a product given to "
        "them (21 CFR 1271.350): report_adverse_reaction on the unit, QA told at once (urgent)",
        "AdverseReactionOut",
        201,
        request="ReactionReportIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule(
                "onset_at",
                ("invalid_fields",),
                "with its zone; not in the future, nor before the product was given",
            ),
            Rule("patient_id", ("other_patients_product",), "the product's own patient"),
            Rule(None, ("not_administered",), "a product administered (409)"),
            Rule(None, ("already_reported",), "the same report once (409)"),
        ),
        links=LINKS,
    ),
    Operation(
        "get",
        "/units/{unit_id}/adverse-reactions",
        "unit_adverse_reactions",
        "The reactions on this product and on every other unit of its collection (same DIN)",
        "AdverseReactionsOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "get",
        "/adverse-reactions",
        "list_adverse_reactions",
        "QA's list of adverse reactions: open first, then the most severe, then the newest",
        "AdverseReactionsOut",
        query="AdverseReactionsQuery",
        errors=(401, 403, 422),
    ),
    Operation(
        "get",
        "/adverse-reactions/{reaction_id}",
        "get_adverse_reaction",
        "One adverse reaction with its investigation and QA's signed decision",
        "AdverseReactionOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/adverse-reactions/{reaction_id}/investigation",
        "investigate_adverse_reaction",
        "QA adds an investigation note to an open reaction: investigate_adverse_reaction",
        "AdverseReactionOut",
        request="ReactionNoteIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(CLOSED,),
        links=LINKS,
    ),
    Operation(
        "post",
        "/adverse-reactions/{reaction_id}/close",
        "close_adverse_reaction",
        "QA closes an open reaction with a signed decision (password again, meaning reviewed), "
        "bound to the hash of the record: close_adverse_reaction. The reporter may not close it",
        "AdverseReactionOut",
        request="ReactionCloseIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409, 429),
        rules=(
            Rule("password", ("wrong_password",), "the signer's own password"),
            Rule(None, ("two_person_rule",), "someone other than the reporter (409)"),
            CLOSED,
        ),
    ),
    Operation(
        "get",
        "/adverse-reactions/{reaction_id}/report",
        "adverse_reaction_report",
        "The report QA sends on, as a PDF: the product's identity, the patient's identifiers "
        "(MRN, chain of identity; no name), the reaction, the investigation and the decision",
        None,
        errors=(401, 403, 404),
        media=("application/pdf",),
    ),
)
INPUTS = (ReactionReportIn, ReactionNoteIn, ReactionCloseIn, AdverseReactionsQuery)
OUTPUTS = (
    ReactionProductOut,
    ReactionPatientOut,
    ReactionNoteOut,
    ReactionSignatureOut,
    AdverseReactionOut,
    AdverseReactionsOut,
)
