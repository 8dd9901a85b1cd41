"""Silencing a service's alerts while a change runs: a change may ask for it
(``silence_alerts``, with Alertmanager matchers that default to ``service="<its service>"``).
When it starts, opsloop creates an Alertmanager silence until its window ends (through the
alert domain's service) and keeps the silence's id on the change; when it completes, fails or
is rolled back, the silence is expired. Alertmanager not configured or not answering never
stops the change: a warning is kept on it instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from opsloop.alerts import silences
from opsloop.alerts.alertmanager_client import AlertmanagerClient
from opsloop.changes import history
from opsloop.changes.models import Change
from opsloop.changes.service import ENTITY, WRITE_ROLE, add_warning, find_row
from opsloop.core import clock
from opsloop.core.audit import service as audit
from opsloop.core.auth.roles import Principal
from opsloop.core.auth.service import require
from opsloop.core.errors import Conflict, OpsloopError, ValidationFailed

#: How long a silence lasts for a change that has no window (an emergency started at once)
#: or that started after its window ended.
DEFAULT_LENGTH = timedelta(hours=1)
MAX_MATCHERS = 10


@dataclass(frozen=True)
class SilenceSettings:
    key: str
    silence_alerts: bool
    matchers: tuple[str, ...]
    silence_id: int | None


def default_matchers(service: str) -> list[str]:
    return [f'service="{service}"']


def matchers_of(row: Change) -> list[str]:
    stored = json.loads(row.silence_matchers) if row.silence_matchers else []
    return list(stored) or default_matchers(row.service)


def settings_of(session: Session, *, key: str) -> SilenceSettings:
    row = find_row(session, key)
    return SilenceSettings(row.key, row.silence_alerts, tuple(matchers_of(row)), row.silence_id)


def set_silence(
    session: Session,
    *,
    principal: Principal,
    key: str,
    enabled: bool,
    matchers: list[str] | None = None,
) -> SilenceSettings:
    """Ask for (or stop asking for) a silence while the change runs; ``matchers`` in
    Alertmanager's syntax, checked now (422 naming ``matchers``). Refused (409) once the
    change started: its silence, if any, is already made."""
    require(principal, WRITE_ROLE)
    row = find_row(session, key)
    if row.started_at is not None or row.state.is_final:
        raise Conflict(
            f"{row.key} is {row.state.value}; the silence is decided before it starts",
            field="silence_alerts",
        )
    wanted = [m.strip() for m in matchers or [] if m.strip()]
    if len(wanted) > MAX_MATCHERS:
        raise ValidationFailed(f"matchers: at most {MAX_MATCHERS}", field="matchers")
    if wanted:
        wanted = [str(m) for m in silences.checked_matchers(wanted)]
    stored = json.dumps(wanted) if wanted else ""
    before = {"silence_alerts": row.silence_alerts, "matchers": matchers_of(row)}
    history.set_field(session, row, principal, "silence_alerts", enabled)
    history.set_field(session, row, principal, "silence_matchers", stored)
    after = {"silence_alerts": row.silence_alerts, "matchers": matchers_of(row)}
    if after != before:
        row.updated_at = clock.now()
        audit.record(
            session,
            principal=principal,
            action="change.silence_settings",
            entity_type=ENTITY,
            entity_id=row.key,
            before=before,
            after=after,
        )
    return settings_of(session, key=row.key)


def silence_window(
    session: Session,
    row: Change,
    principal: Principal,
    alertmanager: AlertmanagerClient | None = None,
) -> str | None:
    """At the start: silence the change's alerts until its window ends; the warning kept on
    the change when that could not be done."""
    if not row.silence_alerts or row.silence_id is not None:
        return None
    now = clock.now()
    end = row.window_end if row.window_end and row.window_end > now else now + DEFAULT_LENGTH
    try:
        made = silences.create_silence(
            session,
            principal=principal,
            matchers=matchers_of(row),
            starts_at=None,
            ends_at=end,
            comment=f"change {row.key}: {row.title}"[:200],
            alertmanager=alertmanager,
        )
    except OpsloopError as exc:
        message = f"alerts not silenced for the window: {exc.message}"
        add_warning(row, "silence", message)
        return message
    history.set_field(session, row, principal, "silence_id", made.id)
    return None


def end_silence(
    session: Session,
    row: Change,
    principal: Principal,
    alertmanager: AlertmanagerClient | None = None,
) -> str | None:
    """When the change finishes: expire its silence (one already over is left alone)."""
    if row.silence_id is None:
        return None
    try:
        found = silences.get_silence(session, silence_id=row.silence_id)
        if found.state == "expired":
            return None
        silences.expire_silence(
            session, principal=principal, silence_id=row.silence_id, alertmanager=alertmanager
        )
    except OpsloopError as exc:
        message = f"the window's silence {row.silence_id} was not expired: {exc.message}"
        add_warning(row, "silence", message)
        return message
    return None
