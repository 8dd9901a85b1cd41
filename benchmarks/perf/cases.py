"""The load cases: which path, with which credentials and connections, and what it must reach.

Every case runs through wrk with ``load.lua``: a warm-up that is thrown away, then the
measurement. Pushes take their minutes from one timeline that only moves forward, so each push
is later than every minute pushed before it (and never in the future).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from procs import CpuWindow, PostgresMeter, Server, log

HERE = Path(__file__).resolve().parent
LUA = HERE / "load.lua"


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
    mode: str = "get"  # get | push | bulk
    path: str = ""
    auth: str = "token"  # none | token | cookie
    server: str = "opsloop"  # opsloop | bare
    connections: int | None = None  # None: --connections
    slos: int = 0  # push/bulk: how many SLOs take part
    group: int = 1  # bulk: SLOs per request
    span: int = 1  # bulk: minutes per request
    target: Target | None = None

    @property
    def events_per_request(self) -> int:
        return self.group * self.span if self.mode == "bulk" else 1


CASES = [
    Case("bare", "bare FastAPI route, GET /bare", path="/bare", auth="none", server="bare"),
    Case("healthz", "GET /healthz", path="/healthz", auth="none"),
    Case("me", "GET /api/v1/me (bearer)", path="/api/v1/me"),
    Case("slos_page", "GET /api/v1/slos?limit=50", path="/api/v1/slos?limit=50", target=READ),
    Case("slos_default", "GET /api/v1/slos (default page)", path="/api/v1/slos"),
    Case(
        "slo_status",
        "GET /api/v1/slos/{id}/status, ids over all SLOs",
        path="/api/v1/slos/{id}/status",
        target=READ,
    ),
    Case("audit", "GET /api/v1/audit?limit=50", path="/api/v1/audit?limit=50", target=READ),
    Case(
        "services_page",
        "GET /api/v1/services?limit=50 (100 services, from the SLOs)",
        path="/api/v1/services?limit=50",
    ),
    Case(
        "service_state",
        "GET /api/v1/services/svc-042/budget-state (10 SLOs)",
        path="/api/v1/services/svc-042/budget-state",
    ),
    Case("web_slos", "web GET /slos (cookie)", path="/slos", auth="cookie", target=WEB),
    Case(
        "web_slos_service",
        "web GET /slos?service=svc-042 (cookie)",
        path="/slos?service=svc-042",
        auth="cookie",
        target=WEB,
    ),
    Case(
        "push_1000",
        "POST /api/v1/slos/{id}/events, 1 minute, 32 connections over 1,000 SLOs",
        mode="push",
        connections=32,
        slos=1000,
        target=Target(min_rps=2000, max_p99_ms=100),
    ),
    Case(
        "push_hot",
        "POST /api/v1/slos/{id}/events, 1 minute, 32 connections on 4 SLOs (8 each)",
        mode="push",
        connections=32,
        slos=4,
        target=Target(max_ms=1000),
    ),
    Case(
        "bulk_100",
        "POST /api/v1/events, 100 SLOs x 1 minute, 8 connections",
        mode="bulk",
        connections=8,
        slos=1000,
        group=100,
        target=Target(min_events_per_s=20000),
    ),
    Case(
        "bulk_1000",
        "POST /api/v1/events, 100 SLOs x 10 minutes (1,000 events), 8 connections",
        mode="bulk",
        connections=8,
        slos=1000,
        group=100,
        span=10,
        target=Target(min_events_per_s=20000),
    ),
]
BY_NAME = {case.name: case for case in CASES}
#: Names --only also takes, for several cases at once.
GROUPS = {
    "reads": tuple(c.name for c in CASES if c.mode == "get" and c.server == "opsloop"),
    "pushes": tuple(c.name for c in CASES if c.mode != "get"),
}


@dataclass
class Timeline:
    """Minutes available to pushes: from ``first`` (epoch s) for ``minutes`` minutes."""

    first: int
    minutes: int
    used: int = 0

    def take(self) -> tuple[int, int]:
        """Epoch second of the next free minute and how many minutes are left after it."""
        left = self.minutes - self.used
        if left < 1:
            raise RuntimeError("no minutes left for pushes in the SLO window; use shorter runs")
        return self.first + 60 * self.used, left

    def advance(self, used: int) -> bool:
        """Mark ``used`` minutes as pushed; False when the run had to wrap around."""
        left = self.minutes - self.used
        self.used = min(self.minutes, self.used + used)
        return used <= left


@dataclass
class Context:
    """What cases need from the run: servers, credentials, SLO ids and the timeline."""

    opsloop: Server
    bare: Server
    token: str
    cookie: str
    ids_file: Path
    timeline: Timeline
    threads: int
    connections: int
    timeout: str
    slo_count: int = 1000
    postgres: PostgresMeter | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed; install it with: apt-get install -y wrk")
    return wrk


def wrk(
    url: str, seconds: float, connections: int, threads: int, timeout: str, env: dict[str, str]
) -> dict[str, Any]:
    threads = max(1, min(threads, connections))
    cmd = [
        require_wrk(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        timeout,
        "-s",
        str(LUA),
        url,
    ]
    done = subprocess.run(
        cmd, env={**os.environ, **env, "PERF_THREADS": str(threads)}, capture_output=True, text=True
    )
    found = re.search(r"^PERF_RESULT (.*)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(found.group(1))
    return result


def wait_idle(ctx: Context, limit: float = 30, below: float = 0.15) -> float:
    """Let the previous case's work (and a scheduler run) finish: wait until the server and
    PostgreSQL use fewer than ``below`` cores over half a second, at most ``limit`` s."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        with CpuWindow(ctx.opsloop, ctx.postgres) as window:
            time.sleep(0.5)
        if window.cores["server"] + window.cores["postgresql"] < below:
            break
    return round(time.perf_counter() - started, 1)


def _env(case: Case, ctx: Context) -> dict[str, str]:
    env = {"PERF_MODE": case.mode, "PERF_PATH": case.path, "PERF_IDS_FILE": str(ctx.ids_file)}
    if case.auth == "token":
        env["PERF_TOKEN"] = ctx.token
    elif case.auth == "cookie":
        env["PERF_COOKIE"] = ctx.cookie
    if case.mode != "get":
        # Smaller data sets (--slos) shrink the cases instead of failing them.
        slos = min(case.slos, ctx.slo_count)
        group = min(case.group, slos // ctx.threads)
        env.update(PERF_SLOS=str(slos), PERF_GROUP=str(group), PERF_SPAN=str(case.span))
    return env


def _timed_run(case: Case, ctx: Context, seconds: float, measure: bool) -> dict[str, Any]:
    server = ctx.bare if case.server == "bare" else ctx.opsloop
    connections = case.connections or ctx.connections
    env = _env(case, ctx)
    if case.mode != "get":
        base, left = ctx.timeline.take()
        env.update(PERF_BASE=str(base), PERF_MINUTES=str(left))
    url = server.base + "/"
    if measure:
        with CpuWindow(server, ctx.postgres) as window:
            result = wrk(url, seconds, connections, ctx.threads, ctx.timeout, env)
        result["cores"] = window.cores
    else:
        result = wrk(url, seconds, connections, ctx.threads, ctx.timeout, env)
    result["connections"] = connections
    if case.mode != "get":
        result["wrapped"] = not ctx.timeline.advance(int(result["last_minute"]) + 1)
    return result


def run_case(case: Case, ctx: Context, duration: float, warmup: float) -> dict[str, Any]:
    idle_s = wait_idle(ctx)
    if warmup > 0:
        _timed_run(case, ctx, warmup, measure=False)
        wait_idle(ctx, limit=10)
    result = _timed_run(case, ctx, duration, measure=True)
    ok = result["requests"] - result["non_2xx"]
    result.update(
        name=case.name,
        what=case.what,
        mode=case.mode,
        path=case.path,
        idle_wait_s=idle_s,
        events_per_request=case.events_per_request,
        events_per_s=round(ok * case.events_per_request / result["duration_s"], 1),
        errors=result["non_2xx"] + sum(result["socket_errors"].values()),
        target=asdict(case.target) if case.target else None,
    )
    lat = result["latency_ms"]
    log(
        f"{case.name}: {result['requests_per_s']:,.0f} req/s, p50 {lat['p50']:.1f} ms, "
        f"p99 {lat['p99']:.1f} ms, max {lat['max']:.0f} ms, errors {result['errors']}"
        + (f" ({result['first_error'][:120]})" if result["first_error"] else "")
    )
    return result
