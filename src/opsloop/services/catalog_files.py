"""Applying and exporting catalog files (see :mod:`opsloop.services.documents` for what they
hold). Applying is all or nothing, idempotent and audited per entry that changes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy.orm import Session

from opsloop.core.auth import service as auth
from opsloop.core.auth.roles import Principal
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.services import service as catalog
from opsloop.services import teams
from opsloop.services.documents import CatalogFileError, Plan, PlannedTeam, parse_catalog
from opsloop.services.exporting import FORMATS, export_text

#: What applied files record as the origin of what they create.
FILE_SOURCE = "file"
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class AppliedEntry:
    kind: Literal["service", "team"]
    name: str
    outcome: Outcome
    implicit: bool = False


@dataclass
class ApplySummary:
    applied: list[AppliedEntry] = field(default_factory=list)
    #: Documents, and Backstage group members, that were not imported.
    skipped: list[str] = field(default_factory=list)
    #: Values reported and left out (a ``user:`` owner, an unknown lifecycle, ...).
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for entry in self.applied if entry.outcome == outcome)

    @property
    def changed(self) -> bool:
        return any(entry.outcome != "unchanged" for entry in self.applied)


def read_catalog(text: str, source: str) -> Plan:
    try:
        return parse_catalog(text)
    except CatalogFileError as exc:
        raise ValidationFailed(
            f"{source}: {exc} (nothing was applied)", field=exc.first_path
        ) from None


def _is_user(session: Session, username: str) -> bool:
    try:
        auth.get_user(session, username=username)
    except NotFound:
        return False
    return True


def _members_of(session: Session, planned: PlannedTeam, summary: ApplySummary) -> PlannedTeam:
    """Members with an opsloop user: a Backstage group's others are skipped, an opsloop
    file's refuse the file."""
    entry = planned.entry
    if "members" not in entry.fields:
        return planned
    current = teams.find_team(session, name=entry.name)
    kept: dict[str, str] = {}
    for username, role in entry.members.items():
        if _is_user(session, username):
            # Backstage has no team lead: a member keeps the role opsloop gave them.
            known = current.members.get(username) if current and planned.lenient else None
            kept[username] = known or role
        elif planned.lenient:
            summary.skipped.append(
                f"{planned.where}: spec.members: {username} has no opsloop user; not a member"
            )
        else:
            raise ValidationFailed(
                f"{planned.where}: spec.members: no opsloop user named {username!r} "
                "(nothing was applied)",
                field="spec.members",
            )
    return replace(planned, entry=replace(entry, members=kept))


def apply_catalog(
    session: Session, *, principal: Principal, text: str, source: str = "catalog file"
) -> ApplySummary:
    """Create or update every team and service of a catalog file, all or nothing."""
    auth.require(principal, catalog.WRITE_ROLE)
    plan = read_catalog(text, source)
    if not plan.services and not plan.teams:
        skipped = f"; skipped: {'; '.join(plan.skipped)}" if plan.skipped else ""
        raise ValidationFailed(
            f"{source}: holds no service or team (nothing was applied){skipped}", field="body"
        )
    summary = ApplySummary(skipped=list(plan.skipped), notes=list(plan.notes))
    for planned in plan.teams:
        planned = _members_of(session, planned, summary)
        outcome = teams.put_team(
            session, principal=principal, entry=planned.entry, source=FILE_SOURCE
        )
        summary.applied.append(AppliedEntry("team", planned.entry.name, outcome))
    owners = sorted(
        {
            s.entry.owner_team
            for s in plan.services
            if s.entry.owner_team and "owner_team" in s.entry.fields
        }
    )
    for owner in owners:
        if teams.ensure_team(session, principal=principal, name=owner, source=FILE_SOURCE):
            summary.applied.append(AppliedEntry("team", owner, "created", implicit=True))
    for service in plan.services:
        outcome = catalog.put_service(
            session, principal=principal, entry=service.entry, source=FILE_SOURCE
        )
        summary.applied.append(AppliedEntry("service", service.entry.name, outcome))
    return summary


def export_catalog(session: Session, *, fmt: str = "opsloop") -> str:
    if fmt not in FORMATS:
        raise ValidationFailed(
            f"unknown format {fmt!r}; use {' or '.join(FORMATS)}", field="format"
        )
    every_team = sorted(teams.list_teams(session), key=lambda t: t.name)
    services = catalog.list_services(session, offset=0)
    return export_text(fmt, every_team, services)
