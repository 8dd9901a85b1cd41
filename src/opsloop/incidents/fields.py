"""Checks of what people give an incident: text, the users in its roles, its services and SLOs
(asked of the catalog's and the SLO domain's services) and the order of its times. Each
refusal is a ValidationFailed naming the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.auth import service as auth
from opsloop.core.errors import NotFound, ValidationFailed
from opsloop.core.schemas import text_problem
from opsloop.services import service as catalog
from opsloop.slo import service as slo_service

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_ITEMS = 50
#: Clocks drift: a time a little ahead of the server's is taken as "now", not as the future.
CLOCK_SLACK = timedelta(minutes=5)


def text(value: str, field: str, *, limit: int = MAX_TEXT, required: bool = False) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise ValidationFailed(f"{field}: must not be empty", field=field)
    if len(cleaned) > limit:
        raise ValidationFailed(f"{field}: at most {limit} characters", field=field)
    if problem := text_problem(cleaned):
        raise ValidationFailed(f"{field}: {problem}", field=field)
    return cleaned


def title(value: str) -> str:
    return text(value, "title", limit=MAX_TITLE, required=True)


def items(values: Iterable[str], field: str, *, limit: int = 200) -> tuple[str, ...]:
    found = [text(v, field, limit=limit) for v in values]
    found = [v for v in found if v]
    if len(found) > MAX_ITEMS:
        raise ValidationFailed(f"{field}: at most {MAX_ITEMS} entries", field=field)
    return tuple(dict.fromkeys(found))


def user(session: Session, username: str | None, field: str) -> str | None:
    """An opsloop user for one of the incident's roles (None or "" leaves it empty)."""
    if username is None or not username.strip():
        return None
    try:
        found = auth.get_user(session, username=username.strip())
    except NotFound:
        raise ValidationFailed(
            f"{field}: no opsloop user named {username!r}", field=field
        ) from None
    if found.disabled:
        raise ValidationFailed(f"{field}: the user {username!r} is disabled", field=field)
    return found.username


def services(session: Session, names: Iterable[str]) -> tuple[str, ...]:
    """Services from the catalog; a name it lacks is refused, never created."""
    wanted = items(names, "services", limit=63)
    for name in wanted:
        catalog.require_service(session, name, field="services")
    return tuple(sorted(wanted))


def slos(session: Session, refs: Iterable[str]) -> dict[int, str]:
    """SLOs by id or service/name, asked of the SLO domain: id -> service/name."""
    found: dict[int, str] = {}
    for ref in items(refs, "slos", limit=127):
        try:
            slo = slo_service.get_slo(session, ref=ref)
        except (NotFound, ValidationFailed) as exc:
            raise ValidationFailed(f"slos: {exc.message}", field="slos") from None
        found[slo.id] = f"{slo.service}/{slo.name}"
    return found


def moment(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{field}: give a time zone (e.g. 2026-01-01T10:00:00Z)", field=field
        )
    if value > clock.now() + CLOCK_SLACK:
        raise ValidationFailed(f"{field}: must not be in the future", field=field)
    return value


def time_order(times: Mapping[str, datetime | None]) -> None:
    """Nothing happens before the incident started, and it closes after it resolves."""
    started = times["started_at"]
    assert started is not None
    declared = times.get("declared_at")
    if declared is not None and declared < started:
        raise ValidationFailed(
            f"started_at: {started.isoformat()} is after the incident was declared "
            f"({declared.isoformat()})",
            field="started_at",
        )
    for name in ("detected_at", "acknowledged_at", "mitigated_at", "resolved_at"):
        value = times.get(name)
        if value is not None and value < started:
            raise ValidationFailed(
                f"{name}: {value.isoformat()} is before the incident started "
                f"({started.isoformat()})",
                field=name,
            )
    resolved, closed = times.get("resolved_at"), times.get("closed_at")
    if closed is not None and (closed < started or (resolved is not None and closed < resolved)):
        raise ValidationFailed("closed_at: must not be before it was resolved", field="closed_at")
