"""Reading SLIs from the Prometheus HTTP API.

The expressions are exactly the ones the generated recording rules record
(:func:`opsloop.slo.rules.error_ratio_expr`), so what opsloop shows and what Prometheus records
agree. Every failure becomes "no data" with the reason: an unreachable Prometheus must never
look like a healthy service.

:meth:`PrometheusClient.instants` runs many queries at once, at most ``concurrency`` in flight,
behind a :class:`Breaker`: once Prometheus is unreachable (or keeps timing out) the remaining
queries of that evaluation answer "no data" at once instead of each waiting out its retries.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from opsloop.slo.math import NoData
from opsloop.slo.rules import error_ratio_expr
from opsloop.slo.spec import SLODefinition

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
RETRYABLE = {429, 502, 503, 504}
#: How far outside 0..1 an error ratio may round before it counts as a broken query.
RATIO_SLACK = 1e-9
#: Queries that time out (after their retries) before an evaluation stops sending more: one
#: slow query is the query's problem, several are an overloaded Prometheus.
TIMEOUTS_BEFORE_GIVING_UP = 3


class Breaker:
    """Shared by the queries of one evaluation: open once Prometheus is unreachable, or after
    :data:`TIMEOUTS_BEFORE_GIVING_UP` timed-out queries, with the reason every later query gets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timeouts = 0
        self.reason: str | None = None

    def failed(self, reason: str, *, timed_out: bool) -> None:
        with self._lock:
            if timed_out:
                self._timeouts += 1
                if self._timeouts < TIMEOUTS_BEFORE_GIVING_UP:
                    return
            self.reason = self.reason or reason


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
        concurrency: int = 8,
        use_recorded: bool = True,
        recorded_max_age: timedelta = timedelta(minutes=2),
    ) -> None:
        """``concurrency`` bounds the queries in flight at once; ``use_recorded`` lets an
        evaluation read opsloop's recording rules' series where they are current, and
        ``recorded_max_age`` is how old a recorded sample may be (two evaluation intervals of
        Prometheus' default one minute)."""
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        self.use_recorded = use_recorded
        self.recorded_max_age = recorded_max_age
        # httpx (with the command-line client it loads when rich and click are installed)
        # costs every process a tenth of a second to import; only one that talks to Prometheus
        # pays it, here.
        import httpx

        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=self.concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def vector(
        self, query: str, at: datetime, breaker: Breaker | None = None
    ) -> list[dict[str, Any]] | NoData:
        """Evaluate ``query`` at ``at``; the instant vector's samples as Prometheus sent them."""
        payload = self._get(
            "/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"}, breaker
        )
        if isinstance(payload, NoData):
            return payload
        data = payload.get("data", {})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list) and len(result) == 2:
            return [{"metric": {}, "value": result}]
        if kind != "vector" or not isinstance(result, list):
            return NoData(f"expected a vector from Prometheus, got {kind}")
        return result

    def instant(self, query: str, at: datetime, breaker: Breaker | None = None) -> float | NoData:
        """Evaluate ``query`` at ``at``; one number, or no data with the reason."""
        result = self.vector(query, at, breaker)
        if isinstance(result, NoData):
            return result
        if not result:
            return NoData("no series: the query matched nothing in Prometheus")
        if len(result) > 1:
            return NoData(f"the query returned {len(result)} series; aggregate it to one (sum)")
        return number(result[0]["value"][1])

    def error_ratios(
        self, defn: SLODefinition, windows: Iterable[timedelta], at: datetime
    ) -> dict[timedelta, float | NoData]:
        return {w: ratio(self.instant(error_ratio_expr(defn, w), at)) for w in windows}

    def instants(
        self, queries: Sequence[str], at: datetime, breaker: Breaker | None = None
    ) -> list[float | NoData]:
        """:meth:`instant` for each query, ``concurrency`` at a time, in the given order."""
        return self.run_all([partial(self.instant, q, at, breaker) for q in queries])

    def run_all(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Call each (they query Prometheus), ``concurrency`` at a time, in the given order."""
        if len(calls) <= 1 or self.concurrency == 1:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(calls))) as pool:
            return list(pool.map(lambda call: call(), calls))

    def _get(
        self, path: str, params: dict[str, str], breaker: Breaker | None = None
    ) -> dict[str, Any] | NoData:
        if breaker is not None and breaker.reason:
            return NoData(breaker.reason)
        payload = self._get_once(path, params)
        if isinstance(payload, _NoAnswer):
            if breaker is not None:
                breaker.failed(payload.reason, timed_out=payload.timed_out)
            return NoData(payload.reason)
        return payload

    def _get_once(self, path: str, params: dict[str, str]) -> dict[str, Any] | NoData | _NoAnswer:
        import httpx  # loaded by __init__ already

        reason = ""
        timed_out = answered = False
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException:
                reason, timed_out = f"Prometheus at {self.base_url} timed out", True
                continue
            except httpx.HTTPError as exc:
                reason, timed_out = f"Prometheus at {self.base_url} is unreachable: {exc}", False
                continue
            if response.status_code in RETRYABLE:
                reason, answered = f"Prometheus answered {response.status_code}", True
                continue
            try:
                payload = response.json()
            except ValueError:
                return NoData(f"Prometheus answered {response.status_code} without JSON")
            if response.status_code != 200 or payload.get("status") != "success":
                error = payload.get("error") or f"HTTP {response.status_code}"
                return NoData(f"Prometheus rejected the query: {error}")
            return dict(payload)
        return NoData(reason) if answered else _NoAnswer(reason, timed_out)


@dataclass(frozen=True)
class _NoAnswer:
    """No answer at all (refused, reset, timed out), as opposed to an answer saying no."""

    reason: str
    timed_out: bool


def ratio(value: float | NoData) -> float | NoData:
    """An error ratio read from Prometheus, clamped to 0..1 within rounding, else no data."""
    if isinstance(value, NoData):
        return value
    # 1 - good/total rounds a few ulps past either end (and counters reset unevenly), so
    # the same slack applies below 0 as above 1; anything further out is a broken query.
    if not -RATIO_SLACK <= value <= 1.0 + RATIO_SLACK:
        return NoData(f"the error ratio query returned {value}, outside 0..1")
    return min(max(value, 0.0), 1.0)


def number(raw: Any) -> float | NoData:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return NoData(f"Prometheus returned a non-number: {raw!r}")
    if math.isnan(value):
        return NoData("no traffic in the window (Prometheus returned NaN)")
    if math.isinf(value):
        return NoData("Prometheus returned an infinite value")
    return value
