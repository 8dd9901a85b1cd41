"""``opsloop notify``: channels, subscriptions and the outbox from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from opsloop import event_types  # noqa: F401 - imported for its registrations
from opsloop.core.cliutil import cli_principal, console, database, settings
from opsloop.notifications import channels, outbox, service
from opsloop.notifications.kinds import ChannelKind, OutboxState
from opsloop.notifications.views import channel_out, outbox_out, subscription_out

notify = typer.Typer(
    help="Notification channels, subscriptions and the outbox.", no_args_is_help=True
)
channel_app = typer.Typer(help="Webhook, chat and e-mail channels.", no_args_is_help=True)
notify.add_typer(channel_app, name="channel")

ChannelRef = Annotated[str, typer.Argument(metavar="CHANNEL", help="channel name or id")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, default=str))


@channel_app.command("add")
def channel_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="a slug: a-z, 0-9 and dashes")],
    kind: Annotated[ChannelKind, typer.Option(help="webhook or apprise")],
    target: Annotated[str, typer.Option(metavar="URL", help="webhook URL or Apprise URL")],
    secret: Annotated[
        str | None, typer.Option(metavar="SECRET", help="webhooks: whsec_...; made if absent")
    ] = None,
    rate_limit: Annotated[
        int, typer.Option(min=0, max=10_000, help="chat: messages per minute (0: no limit)")
    ] = 0,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
) -> None:
    """Add a channel. A webhook's secret is printed once; store it on the receiver."""
    with database().write() as session:
        channel, shown = channels.create_channel(
            session,
            principal=cli_principal(),
            settings=settings(),
            name=name,
            kind=kind,
            target=target,
            secret=secret,
            enabled=not disabled,
            rate_limit_per_minute=rate_limit,
        )
        channel_id = channel.id
    console.print(f"channel {name} added (id {channel_id})", highlight=False)
    if shown:
        print(f"secret: {shown}")


@channel_app.command("list")
def channel_list(as_json: JsonFlag = False) -> None:
    """Channels with their last delivery, failures and latency."""
    with database().read() as session:
        shown = [channel_out(c) for c in channels.list_channels(session)]
    if as_json:
        _print_json([c.model_dump(mode="json") for c in shown])
        return
    table = Table("id", "name", "kind", "target", "enabled", "last delivery", "failures", "latency")
    for c in shown:
        table.add_row(
            str(c.id),
            c.name,
            c.kind.value,
            c.target,
            "yes" if c.enabled else "no",
            c.last_delivery_at.isoformat(timespec="seconds") if c.last_delivery_at else "-",
            str(c.failure_count),
            f"{c.last_latency_ms} ms" if c.last_latency_ms is not None else "-",
        )
    console.print(table)


@channel_app.command("show")
def channel_show(channel: ChannelRef) -> None:
    """One channel as JSON (secrets masked)."""
    with database().read() as session:
        shown = channel_out(channels.get_channel(session, ref=_ref(channel)))
    _print_json(shown.model_dump(mode="json"))


@channel_app.command("test")
def channel_test(channel: ChannelRef) -> None:
    """Queue a notification.test message for the channel."""
    with database().write() as session:
        entry = service.send_test(session, principal=cli_principal(), channel=_ref(channel))
    console.print(f"queued test notification {entry}", highlight=False)


@channel_app.command("delete")
def channel_delete(channel: ChannelRef) -> None:
    """Delete a channel with its subscriptions and outbox."""
    with database().write() as session:
        channels.delete_channel(session, principal=cli_principal(), ref=_ref(channel))
    console.print(f"channel {channel} deleted", highlight=False)


@channel_app.command("rotate-secret")
def channel_rotate(channel: ChannelRef) -> None:
    """A new webhook secret (printed once); the old one stays valid for the grace period."""
    with database().write() as session:
        updated, secret = channels.rotate_secret(
            session, principal=cli_principal(), settings=settings(), ref=_ref(channel)
        )
        until = updated.previous_expires_at
    print(f"secret: {secret}")
    console.print(f"the previous secret stays valid until {until}", highlight=False)


@notify.command("subscribe")
def subscribe(
    channel: ChannelRef,
    events: Annotated[
        list[str],
        typer.Option("--event", "-e", metavar="TYPE", help="event type, prefix.* or *; repeatable"),
    ],
    service_name: Annotated[
        str | None,
        typer.Option("--service", metavar="SERVICE", help="Only events of this service."),
    ] = None,
    team: Annotated[
        str | None, typer.Option(metavar="TEAM", help="Only events of this team.")
    ] = None,
    tier: Annotated[
        int | None, typer.Option(min=1, max=4, help="Only events of services of this tier.")
    ] = None,
) -> None:
    """Send events of these types (for this service, team or tier only, if given) to CHANNEL."""
    with database().write() as session:
        sub = service.subscribe(
            session,
            principal=cli_principal(),
            channel=_ref(channel),
            patterns=events,
            service=service_name,
            team=team,
            tier=tier,
        )
        sub_id = sub.id
    console.print(f"subscription {sub_id} added", highlight=False)


@notify.command("unsubscribe")
def unsubscribe(
    subscription: Annotated[int, typer.Argument(metavar="ID", min=1, help="subscription id")],
) -> None:
    """Remove a subscription."""
    with database().write() as session:
        service.unsubscribe(session, principal=cli_principal(), subscription_id=subscription)
    console.print(f"subscription {subscription} removed", highlight=False)


@notify.command("subscriptions")
def subscriptions(as_json: JsonFlag = False) -> None:
    """Every subscription."""
    with database().read() as session:
        shown = [subscription_out(s, name) for s, name in service.list_subscriptions(session)]
    if as_json:
        _print_json([s.model_dump(mode="json") for s in shown])
        return
    table = Table("id", "channel", "events", "service", "team", "tier")
    for s in shown:
        table.add_row(
            str(s.id),
            s.channel,
            ", ".join(s.events),
            s.service or "-",
            s.team or "-",
            str(s.tier) if s.tier else "-",
        )
    console.print(table)


@notify.command("outbox")
def outbox_list(
    state: Annotated[OutboxState | None, typer.Option(help="Only this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The latest notifications, newest first."""
    with database().read() as session:
        shown = [
            outbox_out(row, name)
            for row, name in outbox.list_outbox(session, state=state, before_id=None, limit=limit)
        ]
    if as_json:
        _print_json([o.model_dump(mode="json") for o in shown])
        return
    table = Table("id", "channel", "event", "state", "attempts", "last error", "webhook id")
    for o in shown:
        table.add_row(
            str(o.id),
            o.channel,
            o.event_type,
            o.state.value,
            str(o.attempts),
            o.last_error,
            o.webhook_id,
        )
    console.print(table)


@notify.command("resend")
def resend(
    entry: Annotated[int, typer.Argument(metavar="ID", min=1, help="notification id")],
) -> None:
    """Send a dead or delivered notification again (same webhook id)."""
    with database().write() as session:
        outbox.resend(session, principal=cli_principal(), entry_id=entry)
    console.print(f"notification {entry} queued again", highlight=False)
