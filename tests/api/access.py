"""What a row of the API's route × role table says (``test_api_access``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PUBLIC = "public"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {id}: a freshly registered unit; {product}: a product made from it
    allowed: frozenset[str] | str  # roles, or PUBLIC
    success: int = 200
    body: Any = None
