"""Who reads the audit workspace, for every page of it."""

from __future__ import annotations

from ...domain.roles import Role

AUDITORS = (Role.QA, Role.ADMIN)
