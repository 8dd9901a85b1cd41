"""Incidents written straight into the tables for the reliability tests: many, with chosen
times, quicker than declaring each one."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opsloop.core.auth.roles import SYSTEM
from opsloop.core.db import Database
from opsloop.incidents.models import Incident, IncidentService
from opsloop.incidents.rules import Severity, Status, incident_key
from opsloop.incidents.vocabulary import DetectionMethod
from opsloop.services import teams
from opsloop.services.entries import TeamEntry


@dataclass
class Made:
    severity: Severity
    services: tuple[str, ...]
    started: datetime
    detected: datetime
    acknowledged: datetime | None = None
    mitigated: datetime | None = None
    resolved: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return Status.resolved if self.resolved else Status.investigating


def store(db: Database, made: list[Made]) -> None:
    with db.write() as session:
        for n, m in enumerate(made, start=1):
            row = Incident(
                key=incident_key(2000 + n // 900, n % 900 + 1),
                year=2000 + n // 900,
                number=n % 900 + 1,
                title=f"incident {n}",
                summary="",
                severity=m.severity,
                status=m.status,
                detection_method=DetectionMethod.other,
                features_impacted="[]",
                revenue_impact="",
                started_at=m.started,
                detected_at=m.detected,
                declared_at=m.detected,
                acknowledged_at=m.acknowledged,
                mitigated_at=m.mitigated,
                resolved_at=m.resolved,
                resolution="{}",
                declared_by="test",
                updated_at=m.detected,
            )
            session.add(row)
            session.flush()
            session.add_all(IncidentService(incident_id=row.id, service=s) for s in m.services)


def random_incidents(
    seed: int, count: int, start: datetime, days: int, services: list[str]
) -> list[Made]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        began = start + timedelta(seconds=rng.randrange(days * 86400))
        detected = began + timedelta(seconds=rng.randrange(0, 3600))
        acked = detected + timedelta(seconds=rng.randrange(0, 1800)) if rng.random() < 0.9 else None
        resolved = (
            began + timedelta(seconds=rng.randrange(600, 3 * 86400)) if rng.random() < 0.8 else None
        )
        mitigated = None
        if resolved is not None and rng.random() < 0.7:
            mitigated = began + (resolved - began) * rng.random()
        picked = tuple(sorted(rng.sample(services, rng.choice([0, 1, 1, 1, 2]))))
        found.append(
            Made(
                severity=rng.choice(list(Severity)),
                services=picked,
                started=began,
                detected=detected,
                acknowledged=acked,
                mitigated=mitigated,
                resolved=resolved,
            )
        )
    return found


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_team(db: Database, name: str) -> None:
    with db.write() as session:
        teams.create_team(session, principal=SYSTEM, entry=TeamEntry(name=name))
