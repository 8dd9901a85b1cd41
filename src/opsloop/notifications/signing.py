"""Webhook secrets and signatures, following the Standard Webhooks convention.

Signatures are made by the ``standardwebhooks`` reference library: ``v1,<base64 HMAC-SHA256
of "<webhook-id>.<webhook-timestamp>.<body>">``. While a rotated secret is in its grace period
both are signed with, space-separated, as the convention allows.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime

from standardwebhooks import Webhook

from opsloop.core.errors import ValidationFailed

SECRET_PREFIX = "whsec_"  # noqa: S105 - the convention's marker, not a secret
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_secret(value: str) -> str:
    text = value.strip()
    if not text.startswith(SECRET_PREFIX):
        raise ValidationFailed("secret: must start with whsec_", field="secret")
    try:
        raw = base64.b64decode(text[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            "secret: whsec_ must be followed by base64", field="secret"
        ) from None
    if len(raw) < MIN_SECRET_BYTES:
        raise ValidationFailed(
            f"secret: must hold at least {MIN_SECRET_BYTES} random bytes", field="secret"
        )
    return text


def headers(
    *, webhook_id: str, at: datetime, body: bytes, secrets_in_use: list[str]
) -> dict[str, str]:
    signatures = " ".join(
        Webhook(secret).sign(msg_id=webhook_id, timestamp=at, data=body)
        for secret in secrets_in_use
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
