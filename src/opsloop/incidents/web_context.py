"""What the incident page shows, shared by the page and the forms that re-render it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from opsloop.changes.recent import RECENT, changes_before
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import OpsloopError
from opsloop.incidents import lifecycle
from opsloop.incidents import service as incidents
from opsloop.incidents.rules import Severity, Status
from opsloop.incidents.update_templates import STAGES
from opsloop.incidents.views import RESPONSE_TEXT
from opsloop.incidents.vocabulary import Audience, DetectionMethod, EventKind
from opsloop.web.routes import DB, form_error, may, render

#: Every incident form needs the API's write role.
WRITE_ROLE = incidents.WRITE_ROLE
__all__ = ["RESPONSE_TEXT", "WRITE_ROLE", "render_incident"]


def render_incident(
    request: Request,
    db: DB,
    active: ActiveSession,
    key: str,
    targets: dict[Severity, timedelta],
    *,
    failed: OpsloopError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The incident page; after a refused form, with the message and what was typed."""
    with db.read() as session:
        found = incidents.get_incident(session, key=key, targets=targets)
        events = lifecycle.timeline_of(session, key=key)
        recent_changes = changes_before(session, services=found.services, at=found.started_at)
    later = [s for s in Status if s.order > found.status.order]
    reopen = [s for s in Status if s.is_open] if not found.status.is_open else []
    return render(
        request,
        "incident_detail.html",
        active,
        failed.status if failed else 200,
        incident=found,
        recent_changes=recent_changes,
        recent_changes_hours=int(RECENT.total_seconds() // 3600),
        events=list(reversed(events)),
        moves=later,
        reopen=reopen,
        stages=STAGES,
        audiences=list(Audience),
        event_kinds=[k for k in EventKind if k != EventKind.communication],
        detection_methods=list(DetectionMethod),
        severities=list(Severity),
        may_write=may(active, WRITE_ROLE),
        response_text=RESPONSE_TEXT,
        target_minutes=int(targets[found.severity].total_seconds() // 60),
        durations=found.durations(),
        form=form or {},
        **(form_error(failed) if failed else {}),
    )
