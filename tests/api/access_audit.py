"""The API route × role table's rows for the audit routes: endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own
({id}, {product}, {patient}, {location}, {job} …): name -> maker(users, role, unit)."""

from __future__ import annotations

from .access import Endpoint

AUDITORS = frozenset({"qa", "admin"})

ENDPOINTS: dict[str, Endpoint] = {
    "api.search_ledger": Endpoint("GET", "/ledger?unit={id}", AUDITORS),
    "api.unit_report": Endpoint("GET", "/units/{id}/report?format=csv", AUDITORS),
}
ROWS: dict = {}
