"""Reading SLIs from the Prometheus HTTP API.

The expressions are exactly the ones the generated recording rules record
(:func:`opsloop.slo.rules.error_ratio_expr`), so what opsloop shows and what Prometheus records
agree. Every failure becomes "no data" with the reason: an unreachable Prometheus must never
look like a healthy service.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import httpx

from opsloop.slo.math import NoData
from opsloop.slo.rules import error_ratio_expr
from opsloop.slo.spec import SLODefinition

RETRYABLE = {429, 502, 503, 504}
#: How far outside 0..1 an error ratio may round before it counts as a broken query.
RATIO_SLACK = 1e-9


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=self.base_url, timeout=httpx.Timeout(timeout), transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def instant(self, query: str, at: datetime) -> float | NoData:
        """Evaluate ``query`` at ``at``; one number, or no data with the reason."""
        payload = self._get("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
        if isinstance(payload, NoData):
            return payload
        data = payload.get("data", {})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            return _number(result[1])
        if kind != "vector" or not isinstance(result, list):
            return NoData(f"expected a vector from Prometheus, got {kind}")
        if not result:
            return NoData("no series: the query matched nothing in Prometheus")
        if len(result) > 1:
            return NoData(f"the query returned {len(result)} series; aggregate it to one (sum)")
        return _number(result[0]["value"][1])

    def error_ratios(
        self, defn: SLODefinition, windows: Iterable[timedelta], at: datetime
    ) -> dict[timedelta, float | NoData]:
        return {w: self._ratio(self.instant(error_ratio_expr(defn, w), at)) for w in windows}

    @staticmethod
    def _ratio(value: float | NoData) -> float | NoData:
        if isinstance(value, NoData):
            return value
        # 1 - good/total rounds a few ulps past either end (and counters reset unevenly), so
        # the same slack applies below 0 as above 1; anything further out is a broken query.
        if not -RATIO_SLACK <= value <= 1.0 + RATIO_SLACK:
            return NoData(f"the error ratio query returned {value}, outside 0..1")
        return min(max(value, 0.0), 1.0)

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any] | NoData:
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException:
                reason = f"Prometheus at {self.base_url} timed out"
                continue
            except httpx.HTTPError as exc:
                reason = f"Prometheus at {self.base_url} is unreachable: {exc}"
                continue
            if response.status_code in RETRYABLE:
                reason = f"Prometheus answered {response.status_code}"
                continue
            try:
                payload = response.json()
            except ValueError:
                return NoData(f"Prometheus answered {response.status_code} without JSON")
            if response.status_code != 200 or payload.get("status") != "success":
                error = payload.get("error") or f"HTTP {response.status_code}"
                return NoData(f"Prometheus rejected the query: {error}")
            return dict(payload)
        return NoData(reason)


def _number(raw: Any) -> float | NoData:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return NoData(f"Prometheus returned a non-number: {raw!r}")
    if math.isnan(value):
        return NoData("no traffic in the window (Prometheus returned NaN)")
    if math.isinf(value):
        return NoData("Prometheus returned an infinite value")
    return value
