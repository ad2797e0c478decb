"""The route × role table's rows for the audit charts pages (issue 6): endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

ROUTES: dict[str, tuple] = {}
ROWS: dict = {}
