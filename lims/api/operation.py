"""One operation of the OpenAPI document: the list of them is the only hand-written part."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: str
    summary: str
    response: str | None  # a schema name; None: any JSON object
    status: int = 200
    request: str | None = None
    query: str | None = None
    errors: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    media: tuple[str, ...] = ()  # non-JSON answers (labels): their media types
