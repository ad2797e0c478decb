"""The route × role table's rows for the outcomes page and its CSV (decision 114): endpoint ->
(method, url template, roles that get the page)."""

from __future__ import annotations

READERS = {"clinician", "qa"}  # a clinician sees their own patients' courses, QA everyone's

ROUTES: dict[str, tuple] = {
    "outcomes.index": ("GET", "/outcomes?visit=month_3", READERS),
    "outcomes.csv": ("GET", "/outcomes/export.csv", READERS),
}
ROWS: dict = {}
