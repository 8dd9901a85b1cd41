"""Reporting periods as people type them: ``90m``, ``12h``, ``7d``, ``2w`` back from now, or a
date or date-time (UTC when it names no zone). One reader for every report's API, CLI and page,
so ``--since 30d`` means the same everywhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from opsloop.core.errors import ValidationFailed

_SPAN = re.compile(r"([1-9][0-9]{0,4})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Years a database stores on every backend (PostgreSQL's timestamps end long before 10000).
_YEARS = (1970, 9000)


def span(text: str, *, field: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a duration."""
    found = _SPAN.fullmatch(text.strip().lower())
    if found is None:
        raise ValidationFailed(
            f"{field}: expected a span such as 30d, 12h, 90m or 2w; got {text!r}", field=field
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def moment(text: str, *, now: datetime, field: str) -> datetime:
    """``text`` as a time: a span back from ``now`` (``30d``) or a date or date-time."""
    cleaned = text.strip()
    if _SPAN.fullmatch(cleaned.lower()):
        return now - span(cleaned, field=field)
    try:
        parsed = datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{field}: expected a span back from now such as 7d, 12h or 2w, or a date or "
            f"ISO 8601 time such as 2026-11-02T09:00:00Z; got {text!r}",
            field=field,
        ) from None
    if not _YEARS[0] <= parsed.year <= _YEARS[1]:
        raise ValidationFailed(f"{field}: a year from {_YEARS[0]} to {_YEARS[1]}", field=field)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def period(
    since: str | None,
    until: str | None,
    *,
    now: datetime,
    default: timedelta = timedelta(days=7),
) -> tuple[datetime, datetime]:
    """[since, until): until defaults to now, since to ``default`` before until."""
    end = moment(until, now=now, field="until") if until else now
    start = moment(since, now=now, field="since") if since else end - default
    if start >= end:
        raise ValidationFailed("since: must be before until", field="since")
    return start, end
