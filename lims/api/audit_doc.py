"""The OpenAPI operations and schemas of the audit workspace (ledger search, unit reports) (issue 6); ``openapi`` joins them to the rest."""

from __future__ import annotations

from pydantic import BaseModel

from .operation import Operation

OPERATIONS: tuple[Operation, ...] = ()
INPUTS: tuple[type[BaseModel], ...] = ()  # query and body models
OUTPUTS: tuple[type[BaseModel], ...] = ()  # response models
