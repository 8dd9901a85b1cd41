"""Reading the periods reports ask for: ``90d``, ``12w`` and ``24h`` back from now, or a
date or date-time (UTC when it names no zone)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from opsloop.core.errors import ValidationFailed

_RELATIVE = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def moment(text: str, field: str, now: datetime) -> datetime:
    """A point in time: ``30d`` (now less 30 days), ``2026-11-01`` or ``2026-11-01T08:00Z``."""
    cleaned = text.strip()
    relative = _RELATIVE.match(cleaned)
    if relative:
        return now - int(relative.group(1)) * _UNITS[relative.group(2)]
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValidationFailed(
            f"{field}: {text!r} is neither a span back from now (30d, 12w, 24h) nor a date-time",
            field=field,
        ) from None
    if not 1970 <= value.year <= 9000:
        raise ValidationFailed(f"{field}: a year from 1970 to 9000", field=field)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def period(
    since: str | None, until: str | None, now: datetime, default_since: str
) -> tuple[datetime, datetime]:
    start = moment(since or default_since, "since", now)
    end = moment(until, "until", now) if until else now
    if start >= end:
        raise ValidationFailed("since: must be before until", field="since")
    return start, end
