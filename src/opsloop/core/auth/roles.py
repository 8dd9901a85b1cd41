"""Roles are ordered: each one can do everything the ones below it can."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    viewer = "viewer"
    responder = "responder"
    approver = "approver"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.viewer: 0, Role.responder: 1, Role.approver: 2, Role.admin: 3}


@dataclass(frozen=True)
class Principal:
    """Who is acting. ``actor`` is what the audit trail records."""

    actor: str
    role: Role
    user_id: int | None = None

    def allows(self, needed: Role) -> bool:
        return self.role.allows(needed)


SYSTEM = Principal(actor="system", role=Role.admin)
