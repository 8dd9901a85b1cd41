"""Catalog files: multi-document YAML in opsloop's own format, OpenSLO ``Service`` documents
and Backstage ``catalog-info.yaml``, read into entries. Pure, no I/O.

Reading never half-succeeds: every problem is collected with its document and field path,
and :class:`CatalogFileError` lists them all. Kinds opsloop does not keep are skipped and
reported; values it cannot keep (a ``user:`` owner, an unknown lifecycle) are reported too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsloop.services import backstage
from opsloop.services.entries import Link, ServiceEntry, TeamEntry, service_problems, team_problems
from opsloop.services.reading import DocumentReader
from opsloop.slo.spec.checks import SpecError
from opsloop.slo.spec.yaml_io import load_documents

OPSLOOP_API = "opsloop.dev/v1"
OPENSLO_API = "openslo/v1"
BACKSTAGE_API = "backstage.io/v1alpha1"

_TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec")
_OPSLOOP_SERVICE_PATHS = {
    "name": "metadata.name",
    "display_name": "metadata.displayName",
    "labels": "metadata.labels",
    "description": "spec.description",
    "owner_team": "spec.owner",
    "tier": "spec.tier",
    "lifecycle": "spec.lifecycle",
    "links": "spec.links",
}
_OPSLOOP_TEAM_PATHS = {
    "name": "metadata.name",
    "display_name": "metadata.displayName",
    "description": "spec.description",
    "chat_channel": "spec.chatChannel",
    "email": "spec.email",
    "members": "spec.members",
}
_OPENSLO_PATHS = {
    "name": "metadata.name",
    "display_name": "metadata.displayName",
    "description": "spec.description",
}


@dataclass(frozen=True)
class PlannedService:
    entry: ServiceEntry
    where: str


@dataclass(frozen=True)
class PlannedTeam:
    entry: TeamEntry
    where: str
    #: Backstage groups: members without an opsloop user are skipped, and members keep the
    #: role they have (Backstage has no team lead).
    lenient: bool = False


@dataclass
class Plan:
    services: list[PlannedService] = field(default_factory=list)
    teams: list[PlannedTeam] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class CatalogFileError(ValueError):
    """A catalog file was refused; ``problems`` lists every ``where: path: reason``."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(_line(*problem) for problem in problems))

    @property
    def first_path(self) -> str | None:
        return self.problems[0][1] or None


def _line(where: str, path: str, reason: str) -> str:
    return ": ".join(part for part in (where, path, reason) if part)


def _mapped(name: str, paths: Mapping[str, str]) -> str:
    head = re.match(r"^[a-z_]+", name)
    key = head.group(0) if head else name
    return paths.get(key, key) + name[len(key) :]


def parse_catalog(text: str) -> Plan:
    """Every service and team a catalog file describes, or :class:`CatalogFileError`."""
    try:
        documents = load_documents(text, "catalog")
    except SpecError as exc:
        raise CatalogFileError([("", p.path, p.reason) for p in exc.problems]) from None
    plan = Plan()
    problems: list[tuple[str, str, str]] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        reader = DocumentReader(index, document)
        _read_document(reader, plan)
        problems += reader.located()
    _check_duplicates(plan, problems)
    if problems:
        raise CatalogFileError(problems)
    return plan


def _read_document(reader: DocumentReader, plan: Plan) -> None:
    if reader.body is None:
        return
    api, kind = reader.api_version, reader.kind
    if api == OPSLOOP_API and kind == "Service":
        _add_service(reader, plan, _opsloop_service(reader), _OPSLOOP_SERVICE_PATHS)
    elif api == OPSLOOP_API and kind == "Team":
        _add_team(reader, plan, _opsloop_team(reader), _OPSLOOP_TEAM_PATHS, lenient=False)
    elif api == OPENSLO_API and kind == "Service":
        _add_service(reader, plan, _openslo_service(reader), _OPENSLO_PATHS)
    elif api.startswith("backstage.io/") and kind == "Component":
        component = backstage.component(reader, plan.notes)
        _add_service(reader, plan, component, backstage.COMPONENT_PATHS)
    elif api.startswith("backstage.io/") and kind == "Group":
        group = backstage.group(reader)
        _add_team(reader, plan, group, backstage.GROUP_PATHS, lenient=True)
    elif api in (OPSLOOP_API, OPENSLO_API) or api.startswith("backstage.io/"):
        plan.skipped.append(f"{reader.label}: kind {kind or '(none)'} is not kept in the catalog")
    else:
        reader.fail(
            "apiVersion",
            f"expected {OPSLOOP_API}, {OPENSLO_API} or {BACKSTAGE_API}, got {api or 'nothing'}",
        )


def _add_service(
    reader: DocumentReader, plan: Plan, entry: ServiceEntry, paths: Mapping[str, str]
) -> None:
    if reader.failed:
        return
    for name, reason in service_problems(entry):
        reader.fail(_mapped(name, paths), reason)
    plan.services.append(PlannedService(entry, reader.label))


def _add_team(
    reader: DocumentReader,
    plan: Plan,
    entry: TeamEntry,
    paths: Mapping[str, str],
    *,
    lenient: bool,
) -> None:
    if reader.failed:
        return
    for name, reason in team_problems(entry):
        reader.fail(_mapped(name, paths), reason)
    plan.teams.append(PlannedTeam(entry, reader.label, lenient))


def _check_duplicates(plan: Plan, problems: list[tuple[str, str, str]]) -> None:
    for kind, planned in (("service", plan.services), ("team", plan.teams)):
        first: dict[str, str] = {}
        for item in planned:
            name = item.entry.name
            if name in first:
                problems.append(
                    (item.where, "metadata.name", f"{kind} {name} is also in {first[name]}")
                )
            first.setdefault(name, item.where)


def _opsloop_service(reader: DocumentReader) -> ServiceEntry:
    reader.only(_TOP_LEVEL)
    meta = reader.section("metadata", {"name", "displayName", "labels"}, required=True)
    spec = reader.section(
        "spec", {"description", "owner", "tier", "lifecycle", "links"}, required=False
    )
    links = []
    for index, item in enumerate(reader.items(spec, "links", "spec", False)):
        path = f"spec.links[{index}]"
        link = reader.mapping(item, path, {"name", "url"})
        if link is not None:
            links.append(
                Link(
                    reader.text(link, "name", path, required=True),
                    reader.text(link, "url", path, required=True),
                )
            )
    owner = reader.text(spec, "owner", "spec")
    return ServiceEntry(
        name=reader.text(meta, "name", "metadata", required=True),
        display_name=reader.text(meta, "displayName", "metadata"),
        labels=reader.strings(meta, "labels", "metadata"),
        description=reader.text(spec, "description", "spec"),
        owner_team=owner or None,
        tier=reader.whole_number(spec, "tier", "spec"),
        lifecycle=reader.text(spec, "lifecycle", "spec") or "production",
        links=tuple(links),
    )


def _opsloop_team(reader: DocumentReader) -> TeamEntry:
    reader.only(_TOP_LEVEL)
    meta = reader.section("metadata", {"name", "displayName"}, required=True)
    spec = reader.section(
        "spec", {"description", "chatChannel", "email", "members"}, required=False
    )
    members: dict[str, str] = {}
    for index, item in enumerate(reader.items(spec, "members", "spec", False)):
        path = f"spec.members[{index}]"
        member = reader.mapping(item, path, {"user", "role"})
        if member is not None:
            user = reader.text(member, "user", path, required=True)
            role = reader.text(member, "role", path) or "member"
            if role not in ("lead", "member"):
                reader.fail(f"{path}.role", "must be lead or member")
            members[user] = role
    return TeamEntry(
        name=reader.text(meta, "name", "metadata", required=True),
        display_name=reader.text(meta, "displayName", "metadata"),
        description=reader.text(spec, "description", "spec"),
        chat_channel=reader.text(spec, "chatChannel", "spec"),
        email=reader.text(spec, "email", "spec"),
        members=members,
    )


def _openslo_service(reader: DocumentReader) -> ServiceEntry:
    meta = reader.section("metadata", None, required=True)
    spec = reader.section("spec", None, required=False)
    return ServiceEntry(
        name=reader.text(meta, "name", "metadata", required=True),
        display_name=reader.text(meta, "displayName", "metadata"),
        description=reader.text(spec, "description", "spec"),
        fields=frozenset({"display_name", "description"}),
    )
