"""What a load case is: its request, credentials, connections, target and the data it needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """What the case must reach; None means no limit of that kind."""

    min_rps: float | None = None
    max_p99_ms: float | None = None
    max_ms: float | None = None
    min_ratio: float | None = None
    min_events_per_s: float | None = None


READ = Target(min_rps=1500, max_p99_ms=50, min_ratio=0.15)
WEB = Target(min_rps=300)


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    mode: str = "get"  # get | push | bulk | alerts
    path: str = ""
    auth: str = "token"  # none | token | cookie
    server: str = "opsloop"  # opsloop | bare
    connections: int | None = None  # None: --connections
    slos: int = 0  # push/bulk: how many SLOs take part
    group: int = 1  # bulk: SLOs per request
    span: int = 1  # bulk: minutes per request
    alerts: int = 0  # alerts: alerts per webhook payload
    target: Target | None = None
    #: Data beyond the SLOs and audit records the case reads (seed_domains.STEPS); seeded only
    #: when a selected case needs it. A case of a later domain names at least its domain.
    needs: tuple[str, ...] = ()

    @property
    def events_per_request(self) -> int:
        if self.mode == "alerts":
            return self.alerts
        return self.group * self.span if self.mode == "bulk" else 1

    @property
    def pushes_minutes(self) -> bool:
        return self.mode in ("push", "bulk")
