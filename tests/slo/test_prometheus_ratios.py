"""Error ratios read from Prometheus: rounding slack is symmetric around 0..1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from opsloop.slo.math import NoData
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.spec import BadTotalRatio, SLODefinition

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEFN = SLODefinition(
    service="checkout",
    name="availability",
    objective=99.9,
    indicator=BadTotalRatio(
        'sum(rate(http_requests_total{code=~"5.."}[$window]))',
        "sum(rate(http_requests_total[$window]))",
    ),
)


def ratio_for(raw: str) -> float | NoData:
    def answer(request: httpx.Request) -> httpx.Response:
        result = [{"metric": {}, "value": [AT.timestamp(), raw]}]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, content=json.dumps(body))

    transport = httpx.MockTransport(answer)
    with PrometheusClient("http://prometheus.test", retries=0, transport=transport) as client:
        window = timedelta(minutes=5)
        return client.error_ratios(DEFN, [window], AT)[window]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.25", 0.25),
        ("-2.220446049250313e-16", 0.0),  # 1 - good/total with good a hair above total
        ("1.0000000000000002", 1.0),
        ("0", 0.0),
        ("1", 1.0),
    ],
)
def test_ratios_within_rounding_of_0_or_1_are_clamped(raw: str, expected: float) -> None:
    assert ratio_for(raw) == expected


@pytest.mark.parametrize("raw", ["-0.01", "1.01"])
def test_ratios_clearly_outside_0_to_1_are_no_data(raw: str) -> None:
    value = ratio_for(raw)
    assert isinstance(value, NoData)
    assert "outside 0..1" in value.reason
