"""Types shared by every domain's API: limited strings, ids, pages and documented errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from opsloop.core.db import MAX_ID as MAX_ID  # also the API's bound on ids
from opsloop.core.errors import ValidationFailed

T = TypeVar("T")

#: Larger ids are refused up front (422) instead of overflowing in the database driver.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

#: No NUL (PostgreSQL cannot store it); a lone surrogate (not encodable as UTF-8) already fails
#: pydantic's pattern matching. Stated as a pattern so that clients and fuzzers know the rule.
PLAIN_PATTERN = r"^[^\x00]*$"
#: Any string the API takes; add ``Field(max_length=...)`` for its column's limit.
PlainStr = Annotated[str, StringConstraints(pattern=PLAIN_PATTERN)]

#: What a pattern means, for error messages ("must be ..." instead of the regular expression).
PATTERN_RULES: dict[str, str] = {PLAIN_PATTERN: "must not contain NUL characters"}


def explain_pattern(pattern: str, rule: str) -> str:
    PATTERN_RULES[pattern] = rule
    return pattern


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


async def plain_params(request: Request) -> None:
    """Path and query values: the same NUL and surrogate rule as in bodies, for every route."""
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in values:
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise ValidationFailed(f"{name}: {problem}", field=name)


def tidy_number(value: float) -> float:
    """Binary noise such as 223.20000000000002 dropped: 12 significant digits are kept."""
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    return float(f"{value:.12g}")


def utc_text(value: datetime) -> str:
    """A datetime as the API's models write it (UTC as Z), for answers written without them."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None)})


def tidy(value: Any) -> Any:
    """Numbers tidied all the way down; JSON has no infinity or NaN, so those become null, as
    the API's models write them."""
    # Exact types first, and a dict's plain values without a call each: every evaluation
    # tidies a thousand results of about a hundred values.
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(item) in _PLAIN:
                out[key] = item
            elif type(item) is float:  # tidy_number, inline
                out[key] = float(f"{item:.12g}") if math.isfinite(item) else None
            else:
                out[key] = tidy(item)
        return out
    if kind is list:
        return [tidy(v) for v in value]
    if isinstance(value, float):
        return tidy_number(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [tidy(v) for v in value]
    return value


def _json_number(value: Any) -> Any:
    # JSON true is not 1 and "99.9" is not a number, whatever Python's lax conversions say.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


def _iso_text(value: Any) -> Any:
    # A bare number would be read as seconds since 1970: the schema promises a date-time.
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00Z")
    return value


JsonNumber = Annotated[float, BeforeValidator(_json_number)]
#: An ISO 8601 date-time string (never a number of seconds).
Timestamp = Annotated[datetime, BeforeValidator(_iso_text)]

#: A float as shown to people and scripts: rounded on output, never in the math.
Number = Annotated[float, PlainSerializer(tidy_number, return_type=float)]
Tidy = Annotated[T, PlainSerializer(tidy)]


class Schema(BaseModel):
    """Base of opsloop's request and response models.

    Validators and serializers are built when a model is first used, not when it is declared;
    FastAPI's adapter for each route's body and response model is deferred with its model.
    Importing the app, which every ``opsloop serve`` waits for, costs that much less (see
    benchmarks/startup/README.md), and a route no one calls never pays for them.
    """

    model_config = ConfigDict(defer_build=True)


class Page(Schema, Generic[T]):
    """A page of a list endpoint; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="absent on the last page; opaque, pass it back as cursor"
    )


DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: Hex of a key that fits a 32-bit id: every string the pattern admits is a valid cursor.
_BAD_CURSOR = "cursor: must be a value returned as next_cursor"
CURSOR_PATTERN = "^([0-9a-f]{1,7}|[0-7][0-9a-f]{7})$"


@dataclass(frozen=True)
class Paging:
    limit: int
    after: int | None

    def admits(self, key: int, *, descending: bool = False) -> bool:
        if self.after is None:
            return True
        return key < self.after if descending else key > self.after


def encode_cursor(key: int | None) -> str | None:
    return None if key is None else format(key, "x")


async def paging(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, at most {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous page",
            json_schema_extra={"minLength": 1, "maxLength": 8, "pattern": CURSOR_PATTERN},
        ),
    ] = None,
) -> Paging:
    if cursor is None:
        return Paging(limit=limit, after=None)
    if not (0 < len(cursor) <= 8) or any(c not in "0123456789abcdef" for c in cursor):
        raise ValidationFailed(_BAD_CURSOR, field="cursor")
    after = int(cursor, 16)
    if after > MAX_ID:
        raise ValidationFailed(_BAD_CURSOR, field="cursor")
    return Paging(limit=limit, after=after)


PageQuery = Annotated[Paging, Depends(paging)]


def page_of(
    items: Sequence[T], key: Callable[[T], int], paging: Paging, *, descending: bool = False
) -> Page[T]:
    """The page after the cursor of ``items`` ordered by ``key`` (each list pages this way)."""
    ordered = sorted(
        (i for i in items if paging.admits(key(i), descending=descending)),
        key=key,
        reverse=descending,
    )
    page = ordered[: paging.limit]
    more = len(ordered) > paging.limit
    return Page(items=page, next_cursor=encode_cursor(key(page[-1])) if more else None)


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ErrorOut(Schema):
    # Only the OpenAPI document uses this model (errors are written by core.api_errors); as a
    # Schema, the adapters FastAPI makes for each route's `responses=` entries (some 630) are
    # built when the document is first asked for, not when the routes are declared.
    error: ErrorDetail


_MEANINGS = {
    400: "the body could not be read (not UTF-8, or not the declared content type)",
    401: "no token, or an unknown, expired or revoked one",
    403: "the token's role does not allow this",
    404: "no such resource",
    405: "method not allowed; the Allow header lists the methods of this path",
    409: "conflicts with an existing resource",
    413: "the body is larger than the server accepts",
    415: "the body is not in a content type this operation takes",
    422: "a field is invalid; error.field names it",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for routes: the error statuses they can answer, all in the one error shape."""
    return {s: {"model": ErrorOut, "description": _MEANINGS[s]} for s in statuses}


#: Every authenticated route can answer these.
AUTHENTICATED = errors(401, 403, 422)
#: ... and a route that reads a body also these.
WITH_BODY = errors(400, 401, 403, 413, 422)
