"""API input and output of the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt

from opsloop.core.schemas import PlainStr, Schema
from opsloop.services.catalog_files import ApplySummary
from opsloop.services.service import ServiceView
from opsloop.services.teams import TeamView
from opsloop.services.vocabulary import (
    MAX_CHAT_CHANNEL,
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    MAX_EMAIL,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LINK_NAME,
    MAX_LINKS,
    MAX_URL,
    Lifecycle,
    TeamRole,
    tier_meaning,
)
from opsloop.slo.schemas import Label

DisplayName = Annotated[PlainStr, Field(max_length=MAX_DISPLAY_NAME)]
Description = Annotated[PlainStr, Field(max_length=MAX_DESCRIPTION)]
Tier = Annotated[StrictInt, Field(ge=1, le=4, description="1 is the most critical")]
Labels = Annotated[
    dict[
        Annotated[str, Field(max_length=127)],
        Annotated[PlainStr, Field(max_length=MAX_LABEL_VALUE)],
    ],
    Field(max_length=MAX_LABELS),
]


class LinkModel(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[PlainStr, Field(min_length=1, max_length=MAX_LINK_NAME)]
    url: Annotated[PlainStr, Field(max_length=MAX_URL, description="http:// or https://")]


Links = Annotated[list[LinkModel], Field(max_length=MAX_LINKS)]


class ServiceCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Label
    display_name: DisplayName = ""
    description: Description = ""
    owner_team: Label | None = Field(default=None, description="an existing team, or none")
    tier: Tier | None = None
    lifecycle: Lifecycle = Lifecycle.production
    links: Links = Field(default_factory=list)
    labels: Labels = Field(default_factory=dict)


class ServicePatch(Schema):
    """Only the fields sent change; ``null`` clears the owner or the tier."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    description: Description | None = None
    owner_team: Label | None = None
    tier: Tier | None = None
    lifecycle: Lifecycle | None = None
    links: Links | None = None
    labels: Labels | None = None

    def changes(self) -> dict[str, Any]:
        sent = self.model_dump(include=self.model_fields_set)
        # Only the owner and the tier can be "none"; a null elsewhere means "leave it".
        return {
            key: value
            for key, value in sent.items()
            if value is not None or key in ("owner_team", "tier")
        }


class ServiceOut(Schema):
    name: str
    display_name: str
    description: str
    owner_team: str | None = Field(description="null: the service is unowned")
    tier: int | None
    tier_meaning: str
    lifecycle: str
    links: list[LinkModel]
    labels: dict[str, str]
    origin: Literal["explicit", "implicit"]
    origin_source: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: ServiceView) -> ServiceOut:
        return cls(
            name=view.name,
            display_name=view.display_name,
            description=view.description,
            owner_team=view.owner_team,
            tier=view.tier,
            tier_meaning=tier_meaning(view.tier),
            lifecycle=view.lifecycle,
            links=[LinkModel(name=link.name, url=link.url) for link in view.links],
            labels=view.labels,
            origin="implicit" if view.origin == "implicit" else "explicit",
            origin_source=view.origin_source,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


class MemberIn(Schema):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[PlainStr, Field(min_length=1, max_length=64)]
    role: TeamRole = TeamRole.member


Members = Annotated[list[MemberIn], Field(max_length=500)]


class TeamCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Label
    display_name: DisplayName = ""
    description: Description = ""
    chat_channel: Annotated[PlainStr, Field(max_length=MAX_CHAT_CHANNEL)] = ""
    email: Annotated[PlainStr, Field(max_length=MAX_EMAIL)] = ""
    members: Members = Field(default_factory=list)


class TeamPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    description: Description | None = None
    chat_channel: Annotated[PlainStr, Field(max_length=MAX_CHAT_CHANNEL)] | None = None
    email: Annotated[PlainStr, Field(max_length=MAX_EMAIL)] | None = None
    members: Members | None = None

    def changes(self) -> dict[str, Any]:
        sent = {key: getattr(self, key) for key in self.model_fields_set}
        found = {key: value for key, value in sent.items() if value is not None}
        if "members" in found:
            found["members"] = {m.username: m.role.value for m in found["members"]}
        return found


class MemberOut(Schema):
    username: str
    role: str


class TeamOut(Schema):
    name: str
    display_name: str
    description: str
    chat_channel: str
    email: str
    members: list[MemberOut]
    services: list[str] = Field(description="the services the team owns")
    origin: Literal["explicit", "implicit"]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: TeamView, services: list[str]) -> TeamOut:
        return cls(
            name=view.name,
            display_name=view.display_name,
            description=view.description,
            chat_channel=view.chat_channel,
            email=view.email,
            members=[MemberOut(username=u, role=r) for u, r in view.members.items()],
            services=services,
            origin="implicit" if view.origin == "implicit" else "explicit",
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


class AppliedEntryOut(Schema):
    kind: Literal["service", "team"]
    name: str
    outcome: Literal["created", "updated", "unchanged"]
    implicit: bool


class ApplyOut(Schema):
    created: int
    updated: int
    unchanged: int
    applied: list[AppliedEntryOut]
    skipped: list[str] = Field(description="documents and members that were not imported")
    notes: list[str] = Field(description="values reported and left out")

    @classmethod
    def of(cls, summary: ApplySummary) -> ApplyOut:
        return cls(
            created=summary.count("created"),
            updated=summary.count("updated"),
            unchanged=summary.count("unchanged"),
            applied=[
                AppliedEntryOut(kind=a.kind, name=a.name, outcome=a.outcome, implicit=a.implicit)
                for a in summary.applied
            ],
            skipped=summary.skipped,
            notes=summary.notes,
        )


class ServiceSLOState(Schema):
    id: int
    name: str
    objective: float
    state: str
    since: datetime
    status: str
    evaluated_at: str | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None]
    alert_severity: str | None


class BudgetStateOut(Schema):
    """The service's SLOs and the policy state that change management checks."""

    service: str
    display_name: str
    owner_team: str | None
    tier: int | None
    tier_meaning: str
    lifecycle: str
    state: str = Field(description="the worst policy state among the service's SLOs")
    blocks_changes: bool
    approver: str | None
    slos: list[ServiceSLOState]
    tiers: list[dict[str, Any]]
