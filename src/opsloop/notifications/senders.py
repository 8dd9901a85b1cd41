"""Sending one message to one channel, outside any transaction: a signed webhook POST
(httpx) or an Apprise notification. Nothing here touches the database."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import apprise
import httpx

from opsloop.core.config import Settings
from opsloop.notifications import signing, targets
from opsloop.notifications.kinds import ChannelKind


@dataclass(frozen=True)
class Target:
    """A channel as the sender needs it, secrets opened."""

    channel_id: int
    name: str
    kind: ChannelKind
    url: str
    secrets: list[str]


@dataclass(frozen=True)
class Result:
    status: int | None
    error: str
    retry_after: str | None
    latency_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def body_of(payload: str, public_url: str) -> bytes:
    """The JSON sent: the stored payload with its link made absolute."""
    document: dict[str, Any] = json.loads(payload)
    link = document.get("data", {}).get("link")
    if isinstance(link, str) and link:
        document["data"]["link"] = urljoin(public_url + "/", link)
    return json.dumps(document, separators=(",", ":")).encode()


def target_refusal(target: Target, settings: Settings) -> str | None:
    """Checked again before each send: what a name resolves to can change."""
    allow = settings.notifications_allow_private_targets
    try:
        if target.kind is ChannelKind.webhook:
            targets.check_webhook_url(target.url, allow_private=allow)
        else:
            targets.check_apprise_url(target.url, allow_private=allow)
    except Exception as exc:  # noqa: BLE001 - any refusal is a failed attempt, not a crash
        return f"target refused: {getattr(exc, 'message', exc)}"
    return None


def send_webhook(
    client: httpx.Client, target: Target, *, webhook_id: str, at: datetime, body: bytes
) -> Result:
    headers = signing.headers(
        webhook_id=webhook_id, at=at, body=body, secrets_in_use=target.secrets
    )
    started = time.monotonic()
    try:
        response = client.post(target.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Result(None, f"{type(exc).__name__}: {exc}"[:1000], None, _since(started))
    error = "" if response.is_success else f"HTTP {response.status_code}"
    return Result(response.status_code, error, response.headers.get("retry-after"), _since(started))


def send_chat(target: Target, *, title: str, text: str) -> Result:
    started = time.monotonic()
    sender = apprise.Apprise()
    if not sender.add(target.url):
        return Result(None, "Apprise cannot use this URL", None, _since(started))
    try:
        sent = sender.notify(title=title, body=text)
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is a failed attempt
        return Result(None, f"{type(exc).__name__}: {exc}"[:1000], None, _since(started))
    if sent:
        return Result(200, "", None, _since(started))
    return Result(None, "Apprise reported that the message was not sent", None, _since(started))


def chat_text(payload: str, public_url: str) -> tuple[str, str]:
    """Title and text of one notification as a chat message or e-mail."""
    document = json.loads(body_of(payload, public_url))
    data = document.get("data", {})
    title = f"[opsloop] {document.get('type', '')}"
    lines = [str(data.get("summary", ""))]
    if data.get("link"):
        lines.append(str(data["link"]))
    return title, "\n".join(lines)


def digest_text(payloads: list[str], public_url: str) -> tuple[str, str]:
    """One message for several notifications (a chat channel at its rate limit)."""
    lines = []
    for payload in payloads:
        title, text = chat_text(payload, public_url)
        lines.append(f"- {title.removeprefix('[opsloop] ')}: {text.replace(chr(10), ' ')}")
    return f"[opsloop] {len(payloads)} notifications", "\n".join(lines)


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
