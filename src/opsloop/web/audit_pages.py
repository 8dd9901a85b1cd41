"""The audit trail in the browser: newest first, filtered, linked to what changed, verifiable.

Readable only by the role the audit API needs (``audit.READ_ROLE``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from opsloop.core.audit import service as audit
from opsloop.core.audit import verification
from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.errors import ValidationFailed
from opsloop.web.routes import DB, form_error, render, signed_in_as
from opsloop.web.users import USERS_ROLE

if TYPE_CHECKING:
    from opsloop.core.audit.models import AuditRecord

router = APIRouter(include_in_schema=False)
Reader = Annotated[ActiveSession, Depends(signed_in_as(audit.READ_ROLE))]

PAGE_SIZE = 50
# Pushed SLI events are data, not changes to opsloop: they would drown the activity feed.
DATA_PLANE_ACTIONS = ("slo.events.push",)
_FILTER_FIELDS = ("actor", "action", "entity_type", "since", "until")


def newest_first(
    session: Session,
    flt: audit.AuditFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    control_plane: bool = False,
) -> tuple[list[AuditRecord], int | None]:
    return audit.page_newest_first(
        session,
        flt=flt,
        before_seq=before,
        limit=limit,
        exclude_actions=DATA_PLANE_ACTIONS if control_plane else (),
    )


def _utc(value: str, field: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            f"{field} must be a date and time such as 2026-11-02T09:00", field=field
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _filter(params: dict[str, str]) -> audit.AuditFilter:
    return audit.AuditFilter(
        actor=params["actor"].strip() or None,
        action=params["action"].strip() or None,
        entity_type=params["entity_type"].strip() or None,
        since=_utc(params["since"], "since"),
        until=_utc(params["until"], "until"),
    )


def entity_link(record: AuditRecord, active: ActiveSession) -> str | None:
    """Where the changed entity can be seen, if the reader may see it there."""
    if record.entity_type == "slo":
        return f"/slos/{record.entity_id}"
    if record.entity_type == "service":
        return "/slos?" + urlencode({"service": record.entity_id})
    if record.entity_type in ("user", "api_token") and active.principal.allows(USERS_ROLE):
        kind = "user" if record.entity_type == "user" else "token"
        return f"/users#{kind}-{record.entity_id}"
    return None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: DB,
    active: Reader,
    before: int | None = None,
    actor: str = "",
    action: str = "",
    entity_type: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    params = {
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "since": since,
        "until": until,
    }
    fragment = bool(request.headers.get("hx-request"))
    try:
        flt = _filter(params)
    except ValidationFailed as exc:
        return render(
            request,
            "audit.html",
            active,
            422,
            rows=[],
            next_seq=None,
            params=params,
            link=lambda r: entity_link(r, active),
            more_query="",
            **form_error(exc),
        )
    with db.read() as session:
        rows, next_seq = newest_first(session, flt, before=before)
    kept = {k: v for k, v in params.items() if v}
    more_query = urlencode({**kept, "before": next_seq}) if next_seq else ""
    return render(
        request,
        "audit_rows.html" if fragment else "audit.html",
        active,
        rows=rows,
        next_seq=next_seq,
        params=params,
        more_query=more_query,
        link=lambda r: entity_link(r, active),
    )


@router.get("/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, db: DB, active: Reader, anchor: str = "") -> Response:
    fragment = bool(request.headers.get("hx-request"))
    template = "audit_verify.html" if fragment else "audit_verify_page.html"
    try:
        parsed = verification.Anchor.parse(anchor) if anchor.strip() else None
        result = verification.chain_status(db, anchor=anchor.strip() or None)
    except ValidationFailed as exc:
        return render(request, template, active, 422, result=None, anchor=anchor, **form_error(exc))
    with db.read() as session:
        head_seq, head_hash = audit.head(session)
    return render(
        request,
        template,
        active,
        result=result,
        anchor=anchor,
        parsed=parsed,
        head_seq=head_seq,
        head_hash=head_hash,
    )
