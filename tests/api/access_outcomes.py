"""The API route × role table's rows for the outcomes analysis (decision 114): clinicians (their
own patients) and QA (everyone's) read it; technicians and admins are refused."""

from __future__ import annotations

from .access import Endpoint

READERS = frozenset({"clinician", "qa"})

ENDPOINTS: dict[str, Endpoint] = {
    "api.outcomes": Endpoint("GET", "/outcomes?visit=month_6", READERS),
}
ROWS: dict = {}
