"""The API route × role table's rows for the admin routes: endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own
({id}, {product}, {patient}, {location}, {job} …): name -> maker(users, role, unit)."""

from __future__ import annotations

from .access import Endpoint

ENDPOINTS: dict[str, Endpoint] = {}
ROWS: dict = {}
