"""The notifications page: channels with their delivery health, subscriptions and the outbox;
approvers add, test and delete channels, subscribe and unsubscribe them, and resend dead
notifications.

Each form needs the same role as the API route doing the same write and calls the same
service function.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.core.auth.sessions import ActiveSession
from opsloop.core.config import Settings
from opsloop.core.deps import get_settings
from opsloop.core.errors import OpsloopError, ValidationFailed
from opsloop.core.schemas import Id
from opsloop.notifications import channels, events, outbox, service
from opsloop.notifications.kinds import ChannelKind, OutboxState
from opsloop.notifications.views import channel_out, outbox_out, subscription_out
from opsloop.web.routes import DB, Active, form_error, may, render, writing_as

router = APIRouter(include_in_schema=False)
Writer = Annotated[ActiveSession, Depends(writing_as(channels.WRITE_ROLE))]
Config = Annotated[Settings, Depends(get_settings)]
OUTBOX_ROWS = 100


def _page(
    request: Request, db: DB, active: ActiveSession, status_code: int = 200, **ctx: Any
) -> Response:
    state_text = ctx.pop("state", "") or ""
    state = OutboxState(state_text) if state_text in OutboxState.__members__ else None
    with db.read() as session:
        context = {
            "channels": [channel_out(c) for c in channels.list_channels(session)],
            "subscriptions": [
                subscription_out(s, name) for s, name in service.list_subscriptions(session)
            ],
            "outbox": [
                outbox_out(row, name)
                for row, name in outbox.list_outbox(
                    session, state=state, before_id=None, limit=OUTBOX_ROWS
                )
            ],
        }
    return render(
        request,
        "notifications.html",
        active,
        status_code,
        states=[s.value for s in OutboxState],
        state=state.value if state else "",
        kinds=[k.value for k in ChannelKind],
        event_types=events.event_types(),
        may_write=may(active, channels.WRITE_ROLE),
        form=ctx.pop("form", {}),
        sub_form=ctx.pop("sub_form", {}),
        **context,
        **ctx,
    )


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, db: DB, active: Active, state: str = "") -> Response:
    return _page(request, db, active, state=state)


@router.post("/notifications/channels", response_class=HTMLResponse)
def add_channel(
    request: Request,
    db: DB,
    active: Writer,
    settings: Config,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "webhook",
    target: Annotated[str, Form()] = "",
    rate_limit_per_minute: Annotated[str, Form()] = "0",
) -> Response:
    form = {"name": name.strip(), "kind": kind, "rate_limit_per_minute": rate_limit_per_minute}
    try:
        if kind not in ChannelKind.__members__:
            raise ValidationFailed("kind: must be webhook or apprise", field="kind")
        if not rate_limit_per_minute.strip().isdigit():
            raise ValidationFailed(
                "rate_limit_per_minute: must be a whole number", field="rate_limit_per_minute"
            )
        with db.write() as session:
            _, secret = channels.create_channel(
                session,
                principal=active.principal,
                settings=settings,
                name=name.strip(),
                kind=ChannelKind(kind),
                target=target,
                rate_limit_per_minute=int(rate_limit_per_minute),
            )
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, form=form, **form_error(exc))
    return _page(request, db, active, 201, created=name.strip(), secret=secret)


@router.post("/notifications/channels/{channel_id}/test", response_class=HTMLResponse)
def test_channel(channel_id: Id, db: DB, active: Writer) -> Response:
    with db.write() as session:
        service.send_test(session, principal=active.principal, channel=channel_id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/channels/{channel_id}/delete", response_class=HTMLResponse)
def delete_channel(channel_id: Id, db: DB, active: Writer) -> Response:
    with db.write() as session:
        channels.delete_channel(session, principal=active.principal, ref=channel_id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/subscriptions", response_class=HTMLResponse)
def subscribe(
    request: Request,
    db: DB,
    active: Writer,
    channel: Annotated[str, Form()] = "",
    events_text: Annotated[str, Form(alias="events")] = "",
    service_name: Annotated[str, Form(alias="service")] = "",
    team: Annotated[str, Form()] = "",
    tier: Annotated[str, Form()] = "",
) -> Response:
    form = {"channel": channel, "events": events_text, "service": service_name, "team": team}
    form["tier"] = tier
    try:
        if tier.strip() and tier.strip() not in {"1", "2", "3", "4"}:
            raise ValidationFailed("tier: 1 to 4, or empty for any", field="tier")
        patterns = [p.strip() for p in events_text.replace(",", " ").split() if p.strip()]
        with db.write() as session:
            service.subscribe(
                session,
                principal=active.principal,
                channel=channel,
                patterns=patterns,
                service=service_name.strip() or None,
                team=team.strip() or None,
                tier=int(tier) if tier.strip() else None,
            )
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, sub_form=form, **form_error(exc))
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/subscriptions/{subscription_id}/delete", response_class=HTMLResponse)
def unsubscribe(subscription_id: Id, db: DB, active: Writer) -> Response:
    with db.write() as session:
        service.unsubscribe(session, principal=active.principal, subscription_id=subscription_id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/outbox/{entry_id}/resend", response_class=HTMLResponse)
def resend(request: Request, entry_id: Id, db: DB, active: Writer) -> Response:
    try:
        with db.write() as session:
            outbox.resend(session, principal=active.principal, entry_id=entry_id)
    except OpsloopError as exc:
        return _page(request, db, active, exc.status, **form_error(exc))
    return RedirectResponse("/notifications?state=dead", status_code=303)
