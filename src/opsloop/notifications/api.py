"""``/api/v1/notifications``: channels, subscriptions and the outbox. Writes need the
approver role and are audited (without secrets); reads need viewer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from opsloop.core.config import Settings
from opsloop.core.deps import Approver, ReadSession, Viewer, WriteSession, get_settings
from opsloop.core.schemas import (
    AUTHENTICATED,
    WITH_BODY,
    Id,
    Page,
    PageQuery,
    encode_cursor,
    errors,
    plain_params,
)
from opsloop.notifications import channels, events, outbox, service
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.schemas import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    OutboxOut,
    QueuedOut,
    RotateIn,
    SubscriptionIn,
    SubscriptionOut,
)
from opsloop.notifications.views import channel_out, outbox_out, subscription_out

router = APIRouter(
    prefix="/api/v1/notifications",
    tags=["Notifications"],
    responses=AUTHENTICATED,
    dependencies=[Depends(plain_params)],
)
Config = Annotated[Settings, Depends(get_settings)]
NOT_FOUND = errors(404)


@router.get("/event-types")
def event_types(_: Viewer) -> dict[str, str]:
    return events.event_types()


@router.get("/channels", response_model=list[ChannelOut])
def list_channels(_: Viewer, session: ReadSession) -> list[ChannelOut]:
    return [channel_out(c) for c in channels.list_channels(session)]


@router.get("/channels/{channel_id:int}", response_model=ChannelOut, responses=NOT_FOUND)
def get_channel(channel_id: Id, _: Viewer, session: ReadSession) -> ChannelOut:
    return channel_out(channels.get_channel(session, ref=channel_id))


@router.post(
    "/channels",
    response_model=ChannelOut,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, **errors(409)},
)
def create_channel(
    body: ChannelIn, principal: Approver, session: WriteSession, settings: Config
) -> ChannelOut:
    """A webhook's secret is in this answer only; store it on the receiver now."""
    channel, secret = channels.create_channel(
        session, principal=principal, settings=settings, **body.model_dump()
    )
    return channel_out(channel, secret)


@router.patch(
    "/channels/{channel_id:int}", response_model=ChannelOut, responses={**WITH_BODY, **NOT_FOUND}
)
def patch_channel(
    channel_id: Id, body: ChannelPatch, principal: Approver, session: WriteSession, settings: Config
) -> ChannelOut:
    channel = channels.update_channel(
        session, principal=principal, settings=settings, ref=channel_id, **body.model_dump()
    )
    return channel_out(channel)


@router.delete(
    "/channels/{channel_id:int}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
)
def delete_channel(channel_id: Id, principal: Approver, session: WriteSession) -> Response:
    channels.delete_channel(session, principal=principal, ref=channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/channels/{channel_id:int}/rotate-secret",
    response_model=ChannelOut,
    responses={**WITH_BODY, **NOT_FOUND},
)
def rotate_secret(
    channel_id: Id,
    principal: Approver,
    session: WriteSession,
    settings: Config,
    body: RotateIn | None = None,
) -> ChannelOut:
    """The new secret is in this answer only; the old one stays valid (and signed with) for
    OPSLOOP_NOTIFICATION_SECRET_GRACE_HOURS."""
    channel, secret = channels.rotate_secret(
        session,
        principal=principal,
        settings=settings,
        ref=channel_id,
        secret=body.secret if body else None,
    )
    return channel_out(channel, secret)


@router.post(
    "/channels/{channel_id:int}/test",
    response_model=QueuedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
)
def test_channel(channel_id: Id, principal: Approver, session: WriteSession) -> QueuedOut:
    return QueuedOut(outbox_id=service.send_test(session, principal=principal, channel=channel_id))


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(_: Viewer, session: ReadSession) -> list[SubscriptionOut]:
    return [subscription_out(s, name) for s, name in service.list_subscriptions(session)]


@router.post(
    "/subscriptions",
    response_model=SubscriptionOut,
    status_code=status.HTTP_201_CREATED,
    responses={**WITH_BODY, **NOT_FOUND},
)
def subscribe(body: SubscriptionIn, principal: Approver, session: WriteSession) -> SubscriptionOut:
    sub = service.subscribe(
        session,
        principal=principal,
        channel=body.channel,
        patterns=body.events,
        service=body.service,
        team=body.team,
        tier=body.tier,
    )
    return subscription_out(sub, body.channel)


@router.delete(
    "/subscriptions/{subscription_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
def unsubscribe(subscription_id: Id, principal: Approver, session: WriteSession) -> Response:
    service.unsubscribe(session, principal=principal, subscription_id=subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/outbox", response_model=Page[OutboxOut])
def list_outbox(
    _: Viewer,
    session: ReadSession,
    paging: PageQuery,
    state: Annotated[OutboxState | None, Query()] = None,
) -> Page[OutboxOut]:
    """Newest first."""
    rows = outbox.list_outbox(session, state=state, before_id=paging.after, limit=paging.limit + 1)
    page = rows[: paging.limit]
    more = len(rows) > paging.limit
    return Page(
        items=[outbox_out(row, name) for row, name in page],
        next_cursor=encode_cursor(page[-1][0].id) if more else None,
    )


@router.get("/outbox/{entry_id:int}", response_model=OutboxOut, responses=NOT_FOUND)
def get_outbox(entry_id: Id, _: Viewer, session: ReadSession) -> OutboxOut:
    row, attempts = outbox.get_entry(session, entry_id=entry_id)
    name = channels.channel_name(session, channel_id=row.channel_id)
    return outbox_out(row, name, attempts)


@router.post(
    "/outbox/{entry_id:int}/resend",
    response_model=OutboxOut,
    responses={**NOT_FOUND, **errors(422)},
)
def resend(entry_id: Id, principal: Approver, session: WriteSession) -> OutboxOut:
    row = outbox.resend(session, principal=principal, entry_id=entry_id)
    name = channels.channel_name(session, channel_id=row.channel_id)
    return outbox_out(row, name)
