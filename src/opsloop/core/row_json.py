"""Pieces of the list answers written as JSON straight from plain rows (the alert, change and
action item lists): their columns read as the driver gives them, stored times in the API's
format, and the page around the items."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, type_coerce
from sqlalchemy.sql.elements import KeyedColumnElement

from opsloop.core.db import UTCDateTime
from opsloop.core.schemas import utc_text
from opsloop.core.stored_enum import StoredEnum


def raw_columns(columns: Iterable[KeyedColumnElement[Any]]) -> tuple[ColumnElement[Any], ...]:
    """The columns, times and stored enums among them without their result conversion:
    turning every value of a page into aware datetimes and enums cost more than the query,
    and a row whose JSON is remembered needs neither."""
    return tuple(
        type_coerce(c, String).label(c.key) if isinstance(c.type, UTCDateTime | StoredEnum) else c
        for c in columns
    )


def when_text(value: datetime | str | None) -> str | None:
    """A stored time of a raw column as the API's models write it (UTC as Z): SQLite hands
    back its naive UTC text, PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    else:
        value = value.astimezone(UTC)
    return utc_text(value)


def day_text(value: date | str | None) -> str | None:
    """A stored date as the models write it (SQLite keeps the ISO text itself)."""
    return value if value is None or isinstance(value, str) else value.isoformat()


def page_bytes(items: Iterable[str], next_cursor: str | None) -> bytes:
    """A ``Page`` of items already written as JSON text."""
    return f'{{"items":[{",".join(items)}],"next_cursor":{json.dumps(next_cursor)}}}'.encode()
