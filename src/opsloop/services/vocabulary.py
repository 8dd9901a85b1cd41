"""The catalog's fixed values and field rules: pure, no I/O.

Each ``*_problem`` function returns None when a value is fine, else the reason it is not, so
the API, the forms and the YAML import attach the same reason to their own field names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from urllib.parse import urlsplit

from opsloop.slo.spec.checks import dns_label_problem


class Lifecycle(StrEnum):
    production = "production"
    experimental = "experimental"
    deprecated = "deprecated"


class Origin(StrEnum):
    #: Written by a person (API, web form, CLI, an applied catalog file).
    explicit = "explicit"
    #: Named first by a machine source (an SLO, an alert, a deployment), with no owner yet.
    implicit = "implicit"


class TeamRole(StrEnum):
    lead = "lead"
    member = "member"


#: What each tier means (docs/services.md says the same at more length); 1 is most critical.
TIER_MEANINGS: dict[int, str] = {
    1: "customer-facing and revenue-critical; paged 24x7",
    2: "important; an outage degrades the customer experience",
    3: "internal or supporting",
    4: "experimental; best effort",
}
UNOWNED = "unowned"

MAX_DISPLAY_NAME = 200
MAX_DESCRIPTION = 4000
MAX_LINKS = 50
MAX_LINK_NAME = 100
MAX_URL = 2000
MAX_LABELS = 64
MAX_LABEL_VALUE = 255
MAX_CHAT_CHANNEL = 200
MAX_EMAIL = 254

# Kubernetes-style keys, so Backstage's "backstage.io/techdocs-ref" style names fit.
_LABEL_KEY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,125}[A-Za-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


#: Paths beside /services/{name} (the API's apply and export, the pages' new): a service a
#: person creates cannot take these names.
RESERVED_NAMES = frozenset({"apply", "export", "new"})


def name_problem(value: str) -> str | None:
    """Service and team names: the rule SLO specs apply to the service they name."""
    return dns_label_problem(value)


def new_name_problem(value: str) -> str | None:
    """A name for a service a person creates: the rule above, less the reserved names."""
    if value in RESERVED_NAMES:
        return f"{value!r} is reserved; choose another name"
    return dns_label_problem(value)


def tier_problem(value: int | None) -> str | None:
    if value is None or (
        isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4
    ):
        return None
    return "must be 1, 2, 3 or 4 (1 is the most critical)"


def tier_meaning(value: int | None) -> str:
    return TIER_MEANINGS.get(value, "no tier set") if value is not None else "no tier set"


def lifecycle_problem(value: str) -> str | None:
    if value in Lifecycle.__members__:
        return None
    return f"must be one of {', '.join(Lifecycle)}"


def text_problem(value: str, limit: int) -> str | None:
    if "\x00" in value:
        return "must not contain NUL characters"
    if len(value) > limit:
        return f"must be at most {limit} characters"
    return None


def url_problem(value: str) -> str | None:
    if len(value) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if any(char.isspace() for char in value) or "\x00" in value:
        return "must not contain spaces"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http:// or https:// URL"
    return None


def link_name_problem(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    return text_problem(value, MAX_LINK_NAME)


def email_problem(value: str) -> str | None:
    if not value:
        return None
    if len(value) > MAX_EMAIL or not _EMAIL.match(value):
        return "must be an email address such as team@example.com"
    return None


def label_problems(labels: Mapping[str, str]) -> dict[str, str]:
    """Reasons keyed by the label name at fault (empty when every label is fine)."""
    found = {}
    if len(labels) > MAX_LABELS:
        return {"": f"at most {MAX_LABELS} labels"}
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            found[key] = "invalid label name (letters, digits, '.', '_', '-', '/')"
        elif problem := text_problem(value, MAX_LABEL_VALUE):
            found[key] = problem
    return found
