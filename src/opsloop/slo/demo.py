"""Demo SLOs for a first start: pushed SLOs with three days of minute counts, one of them
recovering from an incident, so every page has something real to show."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy.orm import Session

from opsloop.core import clock
from opsloop.core.auth.roles import SYSTEM
from opsloop.slo import ingestion
from opsloop.slo import service as slo_service
from opsloop.slo.events import floor_minute

DAYS = 3


def seed(session: Session) -> None:
    now = floor_minute(clock.now())
    demos = [
        # service, name, objective, window, per-minute traffic, base error ratio, incident
        ("checkout", "availability", 99.9, "30d", 6000, 0.0003, (timedelta(hours=20), 0.03)),
        ("search", "latency-300ms", 99.0, "7d", 3000, 0.004, None),
        ("billing", "batch-success", 99.5, "month", 40, 0.001, (timedelta(hours=50), 0.2)),
    ]
    for service, name, objective, window, traffic, base, incident in demos:
        defn = slo_service.pushed_definition(
            service=service,
            name=name,
            objective=objective,
            window=window,
            time_zone="UTC",
            sli_kind="latency" if "latency" in name else "availability",
            description=f"Demo: {service} {name.replace('-', ' ')}",
            owner=f"{service}-team",
            labels={"demo": "true"},
        )
        slo_id = slo_service.apply_definition(session, principal=SYSTEM, defn=defn).slo_id
        slo = slo_service.get_slo(session, ref=slo_id)
        start = now - timedelta(days=DAYS)
        events = []
        for i in range(DAYS * 1440):
            at = start + timedelta(minutes=i)
            # A daily traffic curve, and an hour-long incident where one is scripted.
            total = int(traffic * (0.6 + 0.4 * math.sin(i / 1440 * 2 * math.pi) ** 2))
            ratio = base
            if incident and timedelta() <= now - at - incident[0] < timedelta(hours=1):
                ratio = incident[1]
            events.append((at, total - round(total * ratio), total))
        for chunk in range(0, len(events), 1440):
            raw = events[chunk : chunk + 1440]
            ingestion.push_events(session, principal=SYSTEM, slo=slo, raw=raw)
