"""What a service or a team should look like, as people write it: pure, no I/O.

The API, the forms and the YAML import all build these and check them here, so a rule is
stated once; problems are ``(field, reason)`` with fields named as in the API
(``links[0].url``, ``labels.team``), which each caller maps to its own paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsloop.services.vocabulary import (
    MAX_CHAT_CHANNEL,
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    MAX_LINKS,
    Lifecycle,
    TeamRole,
    email_problem,
    label_problems,
    lifecycle_problem,
    link_name_problem,
    name_problem,
    text_problem,
    tier_problem,
    url_problem,
)

Problem = tuple[str, str]

#: Every field a service document can set; a format that lacks one leaves it as it is.
SERVICE_FIELDS = frozenset(
    {"display_name", "description", "owner_team", "tier", "lifecycle", "links", "labels"}
)
TEAM_FIELDS = frozenset({"display_name", "description", "chat_channel", "email", "members"})


@dataclass(frozen=True)
class Link:
    name: str
    url: str


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    display_name: str = ""
    description: str = ""
    owner_team: str | None = None
    tier: int | None = None
    lifecycle: str = Lifecycle.production.value
    links: tuple[Link, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    #: The fields this entry sets; the others keep their stored values.
    fields: frozenset[str] = SERVICE_FIELDS

    def values(self) -> dict[str, Any]:
        """The set fields as stored and compared (links as plain dicts, labels sorted)."""
        every = {
            "display_name": self.display_name,
            "description": self.description,
            "owner_team": self.owner_team,
            "tier": self.tier,
            "lifecycle": self.lifecycle,
            "links": [{"name": link.name, "url": link.url} for link in self.links],
            "labels": dict(sorted(self.labels.items())),
        }
        return {key: value for key, value in every.items() if key in self.fields}


@dataclass(frozen=True)
class TeamEntry:
    name: str
    display_name: str = ""
    description: str = ""
    chat_channel: str = ""
    email: str = ""
    #: username -> role
    members: Mapping[str, str] = field(default_factory=dict)
    fields: frozenset[str] = TEAM_FIELDS

    def values(self) -> dict[str, Any]:
        every = {
            "display_name": self.display_name,
            "description": self.description,
            "chat_channel": self.chat_channel,
            "email": self.email,
            "members": dict(sorted(self.members.items())),
        }
        return {key: value for key, value in every.items() if key in self.fields}


def _text(found: list[Problem], name: str, value: str, limit: int) -> None:
    if problem := text_problem(value, limit):
        found.append((name, problem))


def service_problems(entry: ServiceEntry) -> list[Problem]:
    found: list[Problem] = []
    if problem := name_problem(entry.name):
        found.append(("name", problem))
    _text(found, "display_name", entry.display_name, MAX_DISPLAY_NAME)
    _text(found, "description", entry.description, MAX_DESCRIPTION)
    if entry.owner_team is not None and (problem := name_problem(entry.owner_team)):
        found.append(("owner_team", problem))
    if problem := tier_problem(entry.tier):
        found.append(("tier", problem))
    if problem := lifecycle_problem(entry.lifecycle):
        found.append(("lifecycle", problem))
    if len(entry.links) > MAX_LINKS:
        found.append(("links", f"at most {MAX_LINKS} links"))
    for index, link in enumerate(entry.links):
        if problem := link_name_problem(link.name):
            found.append((f"links[{index}].name", problem))
        if problem := url_problem(link.url):
            found.append((f"links[{index}].url", problem))
    for key, problem in label_problems(entry.labels).items():
        found.append((f"labels.{key}" if key else "labels", problem))
    return found


def team_problems(entry: TeamEntry) -> list[Problem]:
    found: list[Problem] = []
    if problem := name_problem(entry.name):
        found.append(("name", problem))
    _text(found, "display_name", entry.display_name, MAX_DISPLAY_NAME)
    _text(found, "description", entry.description, MAX_DESCRIPTION)
    _text(found, "chat_channel", entry.chat_channel, MAX_CHAT_CHANNEL)
    if problem := email_problem(entry.email):
        found.append(("email", problem))
    for username, role in entry.members.items():
        if role not in TeamRole.__members__:
            found.append((f"members.{username}", "role must be lead or member"))
    return found
