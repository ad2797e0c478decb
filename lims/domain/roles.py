"""Who may do what is decided by role; these are the lab's roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TECHNICIAN = "technician"
    CLINICIAN = "clinician"
    QA = "qa"
    ADMIN = "admin"
    SYSTEM = "system"  # scheduled work (expiry); never signs in
    # An account single sign-on made for a person nobody knew yet: no access until an admin
    # gives it a role (decision 105); it never signs in meanwhile.
    PENDING = "pending"

    @property
    def label(self) -> str:
        return {
            "technician": "Lab technician",
            "clinician": "Clinician",
            "qa": "QA",
            "admin": "Admin",
            "system": "System",
            "pending": "Pending (no access)",
        }[self.value]


ALL_ROLES = frozenset(Role)
PEOPLE = frozenset(Role) - {Role.SYSTEM, Role.PENDING}  # roles a person may be given
