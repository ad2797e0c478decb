"""Who may do what is decided by role; these are the lab's roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TECHNICIAN = "technician"
    CLINICIAN = "clinician"
    QA = "qa"
    ADMIN = "admin"
    SYSTEM = "system"  # scheduled work (expiry); never signs in

    @property
    def label(self) -> str:
        return {
            "technician": "Lab technician",
            "clinician": "Clinician",
            "qa": "QA",
            "admin": "Admin",
            "system": "System",
        }[self.value]


ALL_ROLES = frozenset(Role)
PEOPLE = frozenset(Role) - {Role.SYSTEM}  # roles a person may be given
