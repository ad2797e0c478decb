"""One operation of the OpenAPI document: the list of them is the only hand-written part."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """A refusal (422) that schema-valid data may still meet, because no JSON Schema can
    state it: a time relative to now, one field against another or against the unit's
    record, a check character, a password. The document names each (``x-rules`` and the
    422 answer's words), so nothing a client is refused comes as a surprise."""

    field: str | None  # the field the refusal names ("a.b" inside an object)
    codes: tuple[str, ...]  # the error codes it answers with
    words: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: str
    summary: str
    response: str | None  # a schema name; None: any JSON object
    status: int = 200
    request: str | None = None
    request_media: str = "application/json"  # a file upload: multipart/form-data
    query: str | None = None
    errors: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    media: tuple[str, ...] = ()  # non-JSON answers (labels): their media types
    rules: tuple[Rule, ...] = ()  # refusals beyond the schema (422)
    also: tuple[int, ...] = ()  # other success statuses with the same answer (202: a job)
    # OpenAPI links of the success answer: target operationId → its path parameters, each
    # a runtime expression (``$response.body#/id``): what a client (or a fuzzer) does next.
    links: dict[str, dict[str, str]] = field(default_factory=dict)
