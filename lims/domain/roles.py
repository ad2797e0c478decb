"""Who may do what is decided by role; these are the lab's roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TECHNICIAN = "technician"
    CLINICIAN = "clinician"
    QA = "qa"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {
            "technician": "Lab technician",
            "clinician": "Clinician",
            "qa": "QA",
            "admin": "Admin",
        }[self.value]


ALL_ROLES = frozenset(Role)
