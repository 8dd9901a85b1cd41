"""The event types notifications can be subscribed to, and how patterns match them.

Each domain registers the types it publishes with :func:`register_event_types` when its module
is imported; a subscription naming an unknown type (or a pattern matching none) is refused.
"""

from __future__ import annotations

import re

from opsloop.core.errors import ValidationFailed

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_EVENT_TYPES: dict[str, str] = {}

TEST_EVENT = "notification.test"


def register_event_types(types: dict[str, str]) -> None:
    """Make event types known: ``{"incident.opened": "an incident was opened", ...}``.

    Registering a type again with the same description is harmless (modules can be
    re-imported); names are lower-case dotted words."""
    for name, description in types.items():
        if not _NAME.match(name):
            raise ValueError(f"event type {name!r} must be dotted lower-case words")
        _EVENT_TYPES[name] = description


def event_types() -> dict[str, str]:
    return dict(sorted(_EVENT_TYPES.items()))


def is_known(name: str) -> bool:
    return name in _EVENT_TYPES


def matches(pattern: str, event_type: str) -> bool:
    """``*`` matches everything, ``prefix.*`` every type under ``prefix.``, else exact."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def check_patterns(patterns: list[str], field: str = "events") -> list[str]:
    """The patterns, de-duplicated in order; each must name or match a known type."""
    if not patterns:
        raise ValidationFailed(f"{field}: name at least one event type or pattern", field=field)
    checked: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip()
        if not any(matches(pattern, known) for known in _EVENT_TYPES):
            known = ", ".join(_EVENT_TYPES)
            raise ValidationFailed(
                f"{field}: unknown event type {pattern!r}; known: {known} "
                "(or a prefix such as slo.*, or *)",
                field=field,
            )
        if pattern not in checked:
            checked.append(pattern)
    return checked


# The other types are registered by the domains that publish them (opsloop.slo.announcing).
register_event_types({TEST_EVENT: "a test message sent by hand to check a channel"})
