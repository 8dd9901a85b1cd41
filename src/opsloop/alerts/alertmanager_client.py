"""Alertmanager's API v2, for silences: create, expire, list. httpx, with a short timeout.

An Alertmanager that cannot be reached answers 503 here, one that refuses answers 502, both
with a message saying which; callers record nothing then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsloop.alerts.matchers import Matcher
from opsloop.core.config import Settings
from opsloop.core.errors import Conflict, OpsloopError

if TYPE_CHECKING:
    import httpx

NOT_SET = "OPSLOOP_ALERTMANAGER_URL is not set: opsloop cannot reach Alertmanager for silences"


class AlertmanagerUnavailable(OpsloopError):
    status = 503
    code = "alertmanager_unavailable"


class AlertmanagerRefused(OpsloopError):
    status = 502
    code = "alertmanager_error"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def matcher_json(matcher: Matcher) -> dict[str, Any]:
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": matcher.op in ("=~", "!~"),
        "isEqual": matcher.op in ("=", "=~"),
    }


@dataclass(frozen=True)
class AlertmanagerClient:
    base_url: str
    timeout: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertmanagerClient:
        if not settings.alertmanager_url:
            raise Conflict(NOT_SET, field="alertmanager_url")
        return cls(settings.alertmanager_url, settings.alertmanager_timeout_seconds)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Imported here: only silences call Alertmanager, and httpx (with click and rich) would
        # add a tenth of every worker's start.
        import httpx

        url = f"{self.base_url}{path}"
        try:
            return httpx.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {self.base_url} is unreachable: {type(exc).__name__} {exc}",
                field="alertmanager_url",
            ) from None

    @staticmethod
    def _refused(response: httpx.Response, what: str) -> AlertmanagerRefused:
        body = response.text.strip().replace("\n", " ")[:300]
        return AlertmanagerRefused(
            f"Alertmanager refused to {what} (HTTP {response.status_code}): {body}",
            field="alertmanager_url",
        )

    def create(
        self,
        matchers: list[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """The new silence's id."""
        body = {
            "matchers": [matcher_json(m) for m in matchers],
            "startsAt": _iso(starts_at),
            "endsAt": _iso(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        response = self._call("POST", "/api/v2/silences", json=body)
        if response.status_code != 200:
            raise self._refused(response, "create the silence")
        try:
            return str(response.json()["silenceID"])
        except (ValueError, KeyError, TypeError):
            raise self._refused(response, "say the silence's id") from None

    def expire(self, silence_id: str) -> bool:
        """Expire a silence; False when Alertmanager no longer knows it (or it had already
        ended there), which leaves it as expired as asked."""
        response = self._call("DELETE", f"/api/v2/silence/{silence_id}")
        if response.status_code == 200:
            return True
        if response.status_code == 404 or "already expired" in response.text:
            return False
        raise self._refused(response, "expire the silence")

    def silences(self) -> list[dict[str, Any]]:
        response = self._call("GET", "/api/v2/silences")
        if response.status_code != 200:
            raise self._refused(response, "list silences")
        found: list[dict[str, Any]] = response.json()
        return found
