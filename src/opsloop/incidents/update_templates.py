"""Status-update templates: the wording opsloop ships for each stage and audience, the
placeholders a template may use, and a renderer that fills in only those. Pure.

Templates are plain text with ``{placeholder}`` fields (``{{`` and ``}}`` for braces). Only the
names in :data:`PLACEHOLDERS` are allowed, without attribute access, indexing, conversions or
format specs, so a template typed by a user can never reach into Python objects.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from opsloop.core.errors import ValidationFailed
from opsloop.incidents.vocabulary import Audience

STAGES = ("investigating", "identified", "monitoring", "resolved")

PLACEHOLDERS: Mapping[str, str] = {
    "key": "the incident key, INC-2026-001",
    "title": "the incident's title",
    "summary": "the incident's summary",
    "severity": "SEV1 to SEV4",
    "severity_definition": "what the severity means",
    "status": "the incident's status",
    "services": "the affected services, comma separated",
    "impact": "users affected and features impacted, in words",
    "started_at": "when the incident started (UTC)",
    "commander": "the incident commander",
    "next_update_at": "when the next update is due (UTC)",
}

SHIPPED: Mapping[tuple[str, Audience], str] = {
    ("investigating", Audience.internal): (
        "[{key}] {severity} {title}: investigating. Services: {services}. Impact: {impact}. "
        "Commander: {commander}. Next update by {next_update_at}."
    ),
    ("investigating", Audience.external): (
        "We are investigating an issue affecting {services}. Some users may see errors or "
        "delays. We will post an update by {next_update_at}."
    ),
    ("identified", Audience.internal): (
        "[{key}] {severity} {title}: cause identified, fix in progress. Services: {services}. "
        "Commander: {commander}. Next update by {next_update_at}."
    ),
    ("identified", Audience.external): (
        "We have identified the cause of the issue affecting {services} and are working on a "
        "fix. We will post an update by {next_update_at}."
    ),
    ("monitoring", Audience.internal): (
        "[{key}] {severity} {title}: fix applied, monitoring. Services: {services}. "
        "Next update by {next_update_at}."
    ),
    ("monitoring", Audience.external): (
        "A fix has been applied for the issue affecting {services}. We are monitoring the "
        "results and will post an update by {next_update_at}."
    ),
    ("resolved", Audience.internal): (
        "[{key}] {severity} {title}: resolved. Services: {services}. Impact: {impact}. "
        "A review follows."
    ),
    ("resolved", Audience.external): (
        "The issue affecting {services} has been resolved. Thank you for your patience."
    ),
}

MAX_TEMPLATE = 4000


def check_template(body: str, *, field: str = "body") -> str:
    """``body`` if every field in it is a known placeholder, else ValidationFailed."""
    if not body.strip():
        raise ValidationFailed(f"{field}: must not be empty", field=field)
    if len(body) > MAX_TEMPLATE:
        raise ValidationFailed(f"{field}: at most {MAX_TEMPLATE} characters", field=field)
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise ValidationFailed(
            f"{field}: {exc}; write {{{{ and }}}} for literal braces", field=field
        ) from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValidationFailed(
                f"{field}: unknown placeholder {{{name}}}; use {known}", field=field
            )
    return body


def render(body: str, values: Mapping[str, str]) -> str:
    """``body`` with its placeholders filled from ``values`` (a checked template)."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(check_template(body)):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)


def check_stage(name: str, *, field: str = "template") -> str:
    text = name.strip().lower()
    if text not in STAGES:
        raise ValidationFailed(
            f"{field}: unknown template {name!r}; use one of {', '.join(STAGES)}", field=field
        )
    return text
