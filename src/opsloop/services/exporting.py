"""The catalog written out as YAML documents, in opsloop's format or as Backstage entities.
Pure, no I/O. opsloop's format re-applies with no change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsloop.services.backstage import TAGS_LABEL, TYPE_LABEL
from opsloop.services.documents import BACKSTAGE_API, OPSLOOP_API
from opsloop.services.service import ServiceView
from opsloop.services.teams import TeamView
from opsloop.slo.spec.yaml_io import dump_yaml_documents

FORMATS = ("opsloop", "backstage")


def _without_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", [], {})}


def opsloop_documents(
    teams: Sequence[TeamView], services: Sequence[ServiceView]
) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for team in teams:
        members = [{"user": user, "role": role} for user, role in team.members.items()]
        spec: dict[str, Any] = {
            "description": team.description,
            "chatChannel": team.chat_channel,
            "email": team.email,
            "members": members,
        }
        documents.append(
            {
                "apiVersion": OPSLOOP_API,
                "kind": "Team",
                "metadata": _without_empty({"name": team.name, "displayName": team.display_name}),
                "spec": _without_empty(spec),
            }
        )
    for service in services:
        metadata: dict[str, Any] = {
            "name": service.name,
            "displayName": service.display_name,
            "labels": service.labels,
        }
        spec = {
            "description": service.description,
            "owner": service.owner_team,
            "tier": service.tier,
            "lifecycle": service.lifecycle,
            "links": [{"name": link.name, "url": link.url} for link in service.links],
        }
        documents.append(
            {
                "apiVersion": OPSLOOP_API,
                "kind": "Service",
                "metadata": _without_empty(metadata),
                "spec": _without_empty(spec),
            }
        )
    return documents


def backstage_documents(
    teams: Sequence[TeamView], services: Sequence[ServiceView]
) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for team in teams:
        profile = _without_empty({"displayName": team.display_name, "email": team.email})
        spec: dict[str, Any] = {"type": "team", "children": [], "members": list(team.members)}
        if profile:
            spec["profile"] = profile
        documents.append(
            {
                "apiVersion": BACKSTAGE_API,
                "kind": "Group",
                "metadata": _without_empty({"name": team.name, "description": team.description}),
                "spec": spec,
            }
        )
    for service in services:
        labels = dict(service.labels)
        kind = labels.pop(TYPE_LABEL, "service")
        tags = [tag for tag in labels.pop(TAGS_LABEL, "").split(",") if tag]
        metadata: dict[str, Any] = {
            "name": service.name,
            "title": service.display_name,
            "description": service.description,
            "labels": labels,
            "tags": tags,
            "links": [{"url": link.url, "title": link.name} for link in service.links],
        }
        spec = {
            "type": kind,
            "lifecycle": service.lifecycle,
            "owner": f"group:{service.owner_team}" if service.owner_team else None,
        }
        documents.append(
            {
                "apiVersion": BACKSTAGE_API,
                "kind": "Component",
                "metadata": _without_empty(metadata),
                "spec": _without_empty(spec),
            }
        )
    return documents


def export_text(fmt: str, teams: Sequence[TeamView], services: Sequence[ServiceView]) -> str:
    build = backstage_documents if fmt == "backstage" else opsloop_documents
    return dump_yaml_documents(build(teams, services))
