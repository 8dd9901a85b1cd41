"""The data set every run measures against, made through opsloop's own interfaces.

* 1,000 pushed SLOs (one OpenSLO file applied with ``opsloop slo apply``: one transaction);
* minutes of pushed counts for each, through ``POST /api/v1/events``;
* 100,000 audit records, real links of the hash chain (``seed_audit.py``, run with the
  measured checkout's Python);
* one evaluation (``opsloop slo evaluate``), so reads see stored results;
* an admin token (``opsloop token create``) and a signed-in web session (the login form).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from procs import log

HERE = Path(__file__).resolve().parent
SLOS_PER_SERVICE = 10
OBJECTIVES = ("0.99", "0.995", "0.999")
MAX_EVENTS_PER_REQUEST = 10_000


@dataclass(frozen=True)
class Checkout:
    """The opsloop being measured: its virtualenv's programs."""

    root: Path

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    @property
    def opsloop(self) -> str:
        return str(self.root / ".venv" / "bin" / "opsloop")

    def check(self) -> None:
        for program in (self.python, self.opsloop):
            if not os.access(program, os.X_OK):
                raise SystemExit(f"{program} not found: create the checkout's .venv first")

    def cli(self, env: Mapping[str, str], *args: str, timeout: float = 900) -> str:
        done = subprocess.run(
            [self.opsloop, *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"opsloop {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout


class Client:
    """A small keep-alive HTTP client for the setup requests (not for the measurements)."""

    def __init__(self, base: str, token: str = "") -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        data: bytes | None = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
            try:
                self._conn.request(method, path, body=data, headers=sent)
                answer = self._conn.getresponse()
                return answer.status, answer.headers, answer.read()
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, _, raw = self.request(method, path, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def admin_token(checkout: Checkout, env: Mapping[str, str]) -> str:
    out = checkout.cli(
        env, "token", "create", "--user", "admin", "--role", "admin", "--name", "perf"
    )
    tokens = re.findall(r"opl_[A-Za-z0-9_\-]+", out)
    if not tokens:
        raise RuntimeError(f"no token in the output of 'opsloop token create': {out!r}")
    return tokens[0]


def service_count(slos: int) -> int:
    """How many services ``slos`` seeded SLOs name (svc-000 ...)."""
    return max(1, -(-slos // SLOS_PER_SERVICE))


def openslo_documents(count: int) -> str:
    """OpenSLO for ``count`` pushed SLOs, 10 per service, objectives 99/99.5/99.9 %."""
    docs = []
    services = sorted({f"svc-{i // SLOS_PER_SERVICE:03d}" for i in range(count)})
    for service in services:
        docs.append(f"apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: {service}\n")
    for i in range(count):
        service, name = f"svc-{i // SLOS_PER_SERVICE:03d}", f"slo-{i:04d}"
        docs.append(
            f"""apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: {service}
  indicator:
    metadata:
      name: {name}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: {{type: opsloop, spec: {{pushed: good}}}}
        total:
          metricSource: {{type: opsloop, spec: {{pushed: total}}}}
  timeWindow:
  - duration: 30d
    isRolling: true
  budgetingMethod: Occurrences
  objectives:
  - target: {OBJECTIVES[i % len(OBJECTIVES)]}
"""
        )
    return "---\n".join(docs)


def create_slos(
    checkout: Checkout, env: Mapping[str, str], api: Client, count: int, work: Path
) -> list[int]:
    """Apply ``count`` pushed SLOs; returns their ids in ascending order."""
    spec = work / "slos.yaml"
    spec.write_text(openslo_documents(count))
    checkout.cli(env, "slo", "apply", "--file", str(spec))
    ids: list[int] = []
    path = "/api/v1/slos"  # default pages: their size is the checkout's own choice
    while True:
        page = api.json("GET", path)
        ids.extend(int(item["id"]) for item in page["items"] if item["source"] == "push")
        if not page.get("next_cursor"):
            break
        path = f"/api/v1/slos?cursor={page['next_cursor']}"
    if len(ids) != count:
        raise RuntimeError(f"expected {count} pushed SLOs, the API lists {len(ids)}")
    return sorted(ids)


def stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:00Z")


def push_history(api: Client, ids: list[int], first_minute: int, minutes: int) -> float:
    """``minutes`` per SLO from ``first_minute`` (epoch s), oldest first; returns seconds."""
    started = time.perf_counter()
    per_request = max(1, MAX_EVENTS_PER_REQUEST // len(ids))
    for offset in range(0, minutes, per_request):
        span = range(offset, min(minutes, offset + per_request))
        events = [
            {"slo": str(slo), "timestamp": stamp(first_minute + 60 * m), "good": 999, "total": 1000}
            for m in span
            for slo in ids
        ]
        api.json("POST", "/api/v1/events", {"events": events})
    return time.perf_counter() - started


def seed_audit(checkout: Checkout, env: Mapping[str, str], count: int) -> dict[str, Any]:
    done = subprocess.run(
        [checkout.python, str(HERE / "seed_audit.py"), str(count)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seed_audit.py failed:\n{done.stdout}{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def evaluate_all(checkout: Checkout, env: Mapping[str, str]) -> float:
    started = time.perf_counter()
    checkout.cli(env, "slo", "evaluate")
    return time.perf_counter() - started


_JOB_SAMPLE = re.compile(
    r"^opsloop_scheduler_job_(duration_seconds_count|duration_seconds_sum|failures_total)"
    r'\{job="([^"]+)"\} (\S+)$'
)


def job_times(base: str) -> dict[str, dict[str, float]]:
    """The background jobs' runs since the server started, from its /metrics: how many, their
    total and mean seconds, and failures (empty for a checkout without these metrics)."""
    status, _, body = Client(base).request("GET", "/metrics")
    if status != 200:
        return {}
    found: dict[str, dict[str, float]] = {}
    for line in body.decode().splitlines():
        match = _JOB_SAMPLE.match(line)
        if match:
            kind, job, value = match.groups()
            found.setdefault(job, {})[kind] = float(value)
    return {
        job: {
            "runs": int(v.get("duration_seconds_count", 0)),
            "seconds": round(v.get("duration_seconds_sum", 0.0), 3),
            "mean_s": round(v.get("duration_seconds_sum", 0.0) / v["duration_seconds_count"], 3)
            if v.get("duration_seconds_count")
            else 0.0,
            "failures": int(v.get("failures_total", 0)),
        }
        for job, v in sorted(found.items())
    }


def verify_audit(checkout: Checkout, env: Mapping[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [checkout.opsloop, "audit", "verify"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return {
        "ok": done.returncode == 0,
        "output": (done.stdout + done.stderr).strip()[-300:],
        "seconds": round(time.perf_counter() - started, 2),
    }


def web_session(base: str, username: str, password: str) -> str:
    """A ``Cookie`` header value of a signed-in web session (through the login form)."""
    client = Client(base)
    status, headers, _ = client.request("GET", "/login")
    csrf = _cookie(headers, "opsloop_login_csrf")
    if status != 200 or not csrf:
        raise RuntimeError(f"GET /login: {status}, no login cookie")
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrf_token": csrf, "next": "/"}
    )
    status, headers, body = client.request(
        "POST",
        "/login",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"opsloop_login_csrf={csrf}",
        },
    )
    session = _cookie(headers, "opsloop_session")
    if status != 303 or not session:
        raise RuntimeError(f"POST /login: {status} {body[:200]!r}")
    log("signed in to the web UI")
    return f"opsloop_session={session}"


def _cookie(headers: http.client.HTTPMessage, name: str) -> str:
    for value in headers.get_all("Set-Cookie") or []:
        first = value.split(";", 1)[0]
        key, _, content = first.partition("=")
        if key.strip() == name:
            return content.strip()
    return ""
