"""Channel secrets encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256).

The key comes from ``OPSLOOP_NOTIFICATION_KEY``, a setting kept outside the database: the
server secret that signs sessions lives in the database itself, so a key derived from it would
travel with every copy of the database it is meant to protect. Any string of 32 or more
characters is accepted and stretched with HKDF-SHA256. Without the setting, a random key is
made once in ``<data dir>/notification.key`` (mode 0600); replicas that do not share the data
directory must all set ``OPSLOOP_NOTIFICATION_KEY`` to the same value.
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from opsloop.core.config import Settings
from opsloop.core.errors import ConfigError

KEY_FILE = "notification.key"
MIN_KEY_CHARS = 32


class SecretBox:
    def __init__(self, key_material: bytes) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"opsloop notifications v1"
        ).derive(key_material)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode() if plaintext else ""

    def open(self, sealed: str) -> str:
        if not sealed:
            return ""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a notification secret cannot be decrypted: OPSLOOP_NOTIFICATION_KEY "
                "(or the data directory's notification.key) differs from the one it was "
                "stored with"
            ) from None


def box_for(settings: Settings) -> SecretBox:
    given = settings.notification_key.get_secret_value()
    if given:
        if len(given) < MIN_KEY_CHARS:
            raise ConfigError(
                f"invalid setting OPSLOOP_NOTIFICATION_KEY: use at least {MIN_KEY_CHARS} "
                "random characters"
            )
        return _box(given.encode())
    return _box(_key_file(settings.data_dir / KEY_FILE))


@cache
def _box(material: bytes) -> SecretBox:
    return SecretBox(material)


def _key_file(path: Path) -> bytes:
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()
