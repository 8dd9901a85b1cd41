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

from case_types import READ, WEB, Case, Target
from domain_cases import DOMAIN_CASES
from procs import CpuWindow, PostgresMeter, Server, log
from seed import service_count

HERE = Path(__file__).resolve().parent
LUA = HERE / "load.lua"


SLO_CASES = [
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
#: The domains after SLOs: alerts, incidents and reliability, changes, action items.
CASES = [*SLO_CASES, *DOMAIN_CASES]
BY_NAME = {case.name: case for case in CASES}
#: Names --only also takes, for several cases at once. ``reads`` and ``pushes`` keep the SLO
#: cases they always had, so that selecting them never pays for the later domains' data.
GROUPS = {
    "reads": tuple(
        c.name for c in CASES if c.mode == "get" and c.server == "opsloop" and not c.needs
    ),
    "pushes": tuple(c.name for c in CASES if c.pushes_minutes),
    "domains": tuple(c.name for c in DOMAIN_CASES),
}


def needed(selected: list[Case]) -> set[str]:
    """The data steps the selected cases need (seed_domains.STEPS)."""
    return {step for case in selected for step in case.needs}


def path_of(case: Case, values: dict[str, Any]) -> str:
    """The case's path with its placeholders (``{since}``...) filled from the seeded data;
    ``{id}`` stays for load.lua, which walks the SLO ids."""
    path = case.path
    for key, value in values.items():
        path = path.replace("{" + key + "}", str(value))
    return path


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
    #: Values of the seeded data that case paths name, e.g. ``{since}``.
    extra: dict[str, Any] = field(default_factory=dict)
    runs: int = 0  # wrk runs of the webhook case so far: each sends instances of its own


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
    env = {
        "PERF_MODE": case.mode,
        "PERF_PATH": path_of(case, ctx.extra),
        "PERF_IDS_FILE": str(ctx.ids_file),
    }
    if case.auth == "token":
        env["PERF_TOKEN"] = ctx.token
    elif case.auth == "cookie":
        env["PERF_COOKIE"] = ctx.cookie
    if case.mode == "alerts":
        ctx.runs += 1
        env.update(
            PERF_ALERTS=str(case.alerts),
            PERF_SALT=f"{ctx.runs:02x}",
            PERF_SERVICES=str(service_count(ctx.slo_count)),
        )
    if case.pushes_minutes:
        # Smaller data sets (--slos) shrink the cases instead of failing them.
        slos = min(case.slos, ctx.slo_count)
        group = min(case.group, slos // ctx.threads)
        env.update(PERF_SLOS=str(slos), PERF_GROUP=str(group), PERF_SPAN=str(case.span))
    return env


def _timed_run(case: Case, ctx: Context, seconds: float, measure: bool) -> dict[str, Any]:
    server = ctx.bare if case.server == "bare" else ctx.opsloop
    connections = case.connections or ctx.connections
    env = _env(case, ctx)
    if case.pushes_minutes:
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
    if case.pushes_minutes:
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
        path=path_of(case, ctx.extra),
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
        + (f", {result['events_per_s']:,.0f} alerts/s" if case.mode == "alerts" else "")
    )
    return result
