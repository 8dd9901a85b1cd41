"""Backstage ``catalog-info.yaml`` entities read as catalog entries: ``Component`` as a service,
``Group`` as a team. Pure, no I/O.

Backstage describes more than opsloop keeps: values opsloop cannot keep (a ``user:`` owner, a
lifecycle other than its three, an annotation too long for a label) are reported as notes
and left out; they never refuse the file.
"""

from __future__ import annotations

from opsloop.services.entries import Link, ServiceEntry, TeamEntry
from opsloop.services.reading import DocumentReader
from opsloop.services.vocabulary import Lifecycle, label_problems

COMPONENT_PATHS = {
    "name": "metadata.name",
    "display_name": "metadata.title",
    "description": "metadata.description",
    "labels": "metadata.labels",
    "links": "metadata.links",
    "owner_team": "spec.owner",
    "lifecycle": "spec.lifecycle",
}
GROUP_PATHS = {
    "name": "metadata.name",
    "display_name": "spec.profile.displayName",
    "description": "metadata.description",
    "email": "spec.profile.email",
    "members": "spec.members",
}
#: The label that keeps a component's ``spec.type`` (service, website, library, ...).
TYPE_LABEL = "type"
#: The label that keeps ``metadata.tags``, comma-separated.
TAGS_LABEL = "tags"


def entity_name(ref: str) -> tuple[str, str]:
    """``group:default/team-a`` -> ("group", "team-a"); a bare ``team-a`` has no kind ("")."""
    kind, _, rest = ref.rpartition(":") if ":" in ref else ("", "", ref)
    return kind.lower(), rest.rpartition("/")[2]


def _links(reader: DocumentReader, meta: dict[str, object]) -> tuple[Link, ...]:
    links = []
    for index, item in enumerate(reader.items(meta, "links", "metadata", False)):
        path = f"metadata.links[{index}]"
        link = reader.mapping(item, path)
        if link is None:
            continue
        url = reader.text(link, "url", path, required=True)
        names = [reader.text(link, key, path) for key in ("title", "type", "icon")]
        links.append(Link(next((n for n in names if n), "link"), url))
    return tuple(links)


def _labels(reader: DocumentReader, meta: dict[str, object], notes: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    annotations = reader.strings(meta, "annotations", "metadata", scalars_as_text=True)
    for key, problem in label_problems(annotations).items():
        notes.append(reader.note(f"metadata.annotations.{key}", f"not kept: {problem}"))
        annotations.pop(key, None)
    labels.update(annotations)
    labels.update(reader.strings(meta, "labels", "metadata", scalars_as_text=True))
    tags = reader.names(meta, "tags", "metadata")
    if tags:
        labels[TAGS_LABEL] = ",".join(tags)
    return labels


def _owner(reader: DocumentReader, spec: dict[str, object], notes: list[str]) -> str | None:
    owner = reader.text(spec, "owner", "spec")
    if not owner:
        return None
    kind, name = entity_name(owner)
    if kind in ("", "group"):
        return name
    notes.append(reader.note("spec.owner", f"{owner} is not a group; the service is unowned"))
    return None


def component(reader: DocumentReader, notes: list[str]) -> ServiceEntry:
    meta = reader.section("metadata", None, required=True)
    spec = reader.section("spec", None, required=False)
    labels = _labels(reader, meta, notes)
    kind = reader.text(spec, "type", "spec")
    if kind:
        labels[TYPE_LABEL] = kind
    fields = {"display_name", "description", "owner_team", "links", "labels"}
    lifecycle = reader.text(spec, "lifecycle", "spec")
    if lifecycle in Lifecycle.__members__:
        fields.add("lifecycle")
    elif lifecycle:
        kept = ", ".join(Lifecycle)
        notes.append(reader.note("spec.lifecycle", f"{lifecycle} is not one of {kept}; not kept"))
    return ServiceEntry(
        name=reader.text(meta, "name", "metadata", required=True),
        display_name=reader.text(meta, "title", "metadata"),
        description=reader.text(meta, "description", "metadata"),
        owner_team=_owner(reader, spec, notes),
        lifecycle=lifecycle if "lifecycle" in fields else Lifecycle.production.value,
        links=_links(reader, meta),
        labels=labels,
        fields=frozenset(fields),
    )


def group(reader: DocumentReader) -> TeamEntry:
    meta = reader.section("metadata", None, required=True)
    spec = reader.section("spec", None, required=False)
    profile = reader.mapping(spec.get("profile") or {}, "spec.profile") or {}
    members = [entity_name(ref)[1] for ref in reader.names(spec, "members", "spec")]
    return TeamEntry(
        name=reader.text(meta, "name", "metadata", required=True),
        display_name=reader.text(profile, "displayName", "spec.profile"),
        description=reader.text(meta, "description", "metadata"),
        email=reader.text(profile, "email", "spec.profile"),
        members=dict.fromkeys(members, "member"),
        fields=frozenset({"display_name", "description", "email", "members"}),
    )
