"""Silences: set in Alertmanager through its API and recorded here, with who and why.

:func:`create_silence` and :func:`expire_silence` are for other domains too (a change window
silencing its service). Alertmanager is called inside the caller's transaction, before
anything is written: if it cannot be reached or refuses, nothing is recorded; if the record
then fails, the silence just created is expired again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.alerts.alertmanager_client import AlertmanagerClient
from opsloop.alerts.matchers import Matcher, parse_matchers
from opsloop.alerts.routing_models import Silence
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal, Role
from opsloop.core.auth.service import require
from opsloop.core.config import load_settings
from opsloop.core.errors import Conflict, NotFound, OpsloopError, ValidationFailed
from opsloop.core.schemas import MAX_ID

WRITE_ROLE = Role.responder
MAX_COMMENT = 1000
MAX_LENGTH = timedelta(days=366)
ENTITY = "alert_silence"


@dataclass(frozen=True)
class SilenceView:
    id: int
    alertmanager_id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_at: datetime
    comment: str
    state: str  # pending, active or expired
    expired_at: datetime | None
    expired_by: str | None
    #: What Alertmanager says now (pending, active, expired; None: not asked, or it does not
    #: know the silence); it differs from ``state`` when someone changed it in Alertmanager.
    alertmanager_state: str | None = None


def _view(row: Silence, now: datetime) -> SilenceView:
    if row.expired_at is not None or row.ends_at <= now:
        state = "expired"
    else:
        state = "pending" if row.starts_at > now else "active"
    return SilenceView(
        id=row.id,
        alertmanager_id=row.alertmanager_id,
        matchers=json.loads(row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        created_at=row.created_at,
        comment=row.comment,
        state=state,
        expired_at=row.expired_at,
        expired_by=row.expired_by or None,
    )


def _client(alertmanager: AlertmanagerClient | None) -> AlertmanagerClient:
    return alertmanager or AlertmanagerClient.from_settings(load_settings())


def checked_matchers(matchers: Sequence[str]) -> list[Matcher]:
    parsed = [m for text in matchers if text.strip() for m in parse_matchers(text)]
    if not parsed:
        raise ValidationFailed(
            'matchers: at least one, like alertname="DiskFull"', field="matchers"
        )
    if all(m.matches({}) for m in parsed):
        # Alertmanager refuses these: they would silence every alert.
        raise ValidationFailed(
            "matchers: at least one must need a label to be set (not match an empty value)",
            field="matchers",
        )
    return parsed


def create_silence(
    session: Session,
    *,
    principal: Principal,
    matchers: Sequence[str],
    starts_at: datetime | None,
    ends_at: datetime,
    comment: str,
    alertmanager: AlertmanagerClient | None = None,
) -> SilenceView:
    """Silence matching alerts in Alertmanager from ``starts_at`` (now if None) to ``ends_at``;
    ``matchers`` in Alertmanager's syntax (``service="api"``, ``severity=~"low|info"``)."""
    require(principal, WRITE_ROLE)
    parsed = checked_matchers(matchers)
    now = clock.now()
    start = starts_at or now
    for name, value in (("starts_at", start), ("ends_at", ends_at)):
        if value.tzinfo is None:
            raise ValidationFailed(f"{name}: needs a time zone, e.g. Z", field=name)
    if ends_at <= max(start, now):
        raise ValidationFailed(
            "ends_at: must be after the start and in the future", field="ends_at"
        )
    if ends_at - start > MAX_LENGTH:
        raise ValidationFailed("ends_at: a silence lasts at most 366 days", field="ends_at")
    comment = comment.strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            f"comment: say why, in at most {MAX_COMMENT} characters", field="comment"
        )
    client = _client(alertmanager)
    silence_id = client.create(parsed, start, ends_at, principal.actor, comment)
    try:
        row = Silence(
            alertmanager_id=silence_id,
            matchers=json.dumps([str(m) for m in parsed]),
            starts_at=start,
            ends_at=ends_at,
            created_by=principal.actor,
            created_at=now,
            comment=comment,
            expired_at=None,
            expired_by="",
        )
        session.add(row)
        session.flush()
        found = _view(row, now)
        audit.record(
            session,
            principal=principal,
            action="alert.silence.create",
            entity_type=ENTITY,
            entity_id=row.id,
            after={
                "alertmanager_id": silence_id,
                "matchers": found.matchers,
                "starts_at": start.isoformat(),
                "ends_at": ends_at.isoformat(),
                "comment": comment,
            },
        )
    except BaseException:
        with contextlib.suppress(OpsloopError):
            client.expire(silence_id)
        raise
    return found


def _row(session: Session, silence_id: int) -> Silence:
    found = session.get(Silence, silence_id) if 0 < silence_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no silence {silence_id}", field="silence")
    return found


def get_silence(session: Session, *, silence_id: int) -> SilenceView:
    return _view(_row(session, silence_id), clock.now())


def expire_silence(
    session: Session,
    *,
    principal: Principal,
    silence_id: int,
    alertmanager: AlertmanagerClient | None = None,
) -> SilenceView:
    """End a silence now, in Alertmanager and here; one already ended is refused (409)."""
    require(principal, WRITE_ROLE)
    row = _row(session, silence_id)
    session.refresh(row, with_for_update=True)
    now = clock.now()
    if _view(row, now).state == "expired":
        raise Conflict(f"silence {silence_id} has already ended", field="silence")
    _client(alertmanager).expire(row.alertmanager_id)
    row.expired_at, row.expired_by = now, principal.actor
    session.flush()
    audit.record(
        session,
        principal=principal,
        action="alert.silence.expire",
        entity_type=ENTITY,
        entity_id=row.id,
        before={"ends_at": row.ends_at.isoformat()},
        after={"expired_at": now.isoformat()},
    )
    return _view(row, now)


def list_silences(
    session: Session,
    *,
    include_expired: bool = False,
    limit: int = 200,
    alertmanager: AlertmanagerClient | None = None,
) -> list[SilenceView]:
    """Newest first; without ``include_expired`` only pending and active ones. With
    ``alertmanager``, each one also says what Alertmanager says of it now (an unreachable
    Alertmanager raises)."""
    now = clock.now()
    query = select(Silence).order_by(Silence.id.desc()).limit(limit)
    if not include_expired:
        query = query.where(Silence.expired_at.is_(None), Silence.ends_at > now)
    found = [_view(row, now) for row in session.scalars(query)]
    if alertmanager is None or not found:
        return found
    states = {
        str(s.get("id")): str((s.get("status") or {}).get("state")) for s in alertmanager.silences()
    }
    return [replace(v, alertmanager_state=states.get(v.alertmanager_id)) for v in found]


def similar_to(labels: Mapping[str, str]) -> list[str]:
    """Matchers for a "silence similar" form: every label of the alert, by equality."""
    return [str(Matcher.of(name, "=", value)) for name, value in sorted(labels.items())]
