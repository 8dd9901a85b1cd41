"""The fixed vocabularies of notifications: channel kinds and outbox states."""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    #: A signed generic webhook (Standard Webhooks headers).
    webhook = "webhook"
    #: Chat and e-mail through an Apprise URL (slack://, msteams://, mailtos://, ...).
    apprise = "apprise"


class OutboxState(StrEnum):
    pending = "pending"
    #: Claimed by a delivery thread until ``lease_until``; a lease that runs out (the process
    #: died mid-delivery) makes the row due again, with the same webhook id.
    sending = "sending"
    delivered = "delivered"
    dead = "dead"
