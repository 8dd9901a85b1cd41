"""Reporting periods as people type them: ``7d``, ``12h``, ``2w`` back from now, or an ISO 8601
time with a zone. One reader for the API, the CLI and the pages, so ``--since 30d`` means the
same everywhere."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from opsloop.core.errors import ValidationFailed

_AGO = re.compile(r"([1-9][0-9]{0,4})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def moment(text: str, *, now: datetime, field: str) -> datetime:
    """``text`` as a time: a span back from ``now`` (``30d``) or an aware ISO 8601 time."""
    text = text.strip()
    ago = _AGO.fullmatch(text)
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{field}: expected a span such as 7d, 12h or 2w, or an ISO 8601 time such as "
            f"2026-11-02T09:00:00Z; got {text!r}",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field}: needs a time zone, e.g. Z", field=field)
    return parsed


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
