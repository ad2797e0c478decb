"""The route × role table's rows for the audit charts pages: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

AUDITORS = {"qa", "admin"}  # the audit workspace's readers; technicians work from worklists

ROUTES: dict[str, tuple] = {
    "audit.charts": ("GET", "/audit/charts?type=SVF&test=viability&weeks=8", AUDITORS),
}
ROWS: dict = {}
