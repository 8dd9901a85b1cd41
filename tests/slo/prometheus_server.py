"""A throwaway Prometheus holding synthetic SLI series, for tests against the real query API.

:func:`write_openmetrics` renders counters and a latency histogram with known rates as
OpenMetrics text; :func:`start_prometheus` backfills them into a fresh TSDB with
``promtool tsdb create-blocks-from openmetrics`` and runs ``prometheus`` on a free port of
127.0.0.1 without scrape targets, so the only data it serves is what the scenario generated.

The scenario (every rate is constant between sample instants, so every ratio is exact):

* ``checkout``: 100 requests/s; 1 % answered 404 (not an error); 0.5 % answered 500, except
  in the burst (the last hour up to ``end``) where 10 % do. Its latency histogram puts 2 % of
  the requests above 0.25 s, 20 % during the burst.
* ``batch``: 10 requests/s with 1 % errors until ``quiet`` before ``end``, then no traffic at
  all (the counters stay flat), so short windows at ``end`` have zero traffic.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

INSTALL_HINT = "apt-get install -y prometheus"
BINARIES = ("prometheus", "promtool")
READY_TIMEOUT = 60.0

STEP = timedelta(seconds=30)
CHECKOUT_PER_STEP = 3000  # 100 requests/s
CHECKOUT_NOT_FOUND = 30  # 1 %: a client error, good for availability
CHECKOUT_ERRORS = 15  # 0.5 %
CHECKOUT_BURST_ERRORS = 300  # 10 %
LATENCY_BOUNDS = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")
#: Requests per step at or below each bound (cumulative), outside and inside the burst.
LATENCY_BUCKETS = (1500, 2400, 2940, 2985, 2997, 3000)  # 2 % above 0.25 s
LATENCY_BURST_BUCKETS = (1200, 1800, 2400, 2700, 2900, 3000)  # 20 % above 0.25 s
LATENCY_SECONDS = (0.08, 0.2)  # mean latency outside / inside the burst, for _sum
BATCH_PER_STEP = 300  # 10 requests/s
BATCH_ERRORS = 3  # 1 %


@dataclass(frozen=True)
class Scenario:
    """Where the synthetic series start and end, and where the burst and the quiet lie."""

    end: datetime
    history: timedelta = timedelta(days=4, hours=2)
    burst: timedelta = timedelta(hours=1)
    quiet: timedelta = timedelta(hours=3)
    step: timedelta = STEP

    def __post_init__(self) -> None:
        if self.end.tzinfo is None or self.end.timestamp() % self.step.total_seconds():
            raise ValueError("end must be timezone-aware and aligned to the step")

    @property
    def start(self) -> datetime:
        return self.end - self.history

    @property
    def burst_start(self) -> datetime:
        return self.end - self.burst

    @property
    def quiet_start(self) -> datetime:
        return self.end - self.quiet

    def instants(self) -> Iterator[int]:
        """Sample timestamps in whole seconds, first to last (``end`` included)."""
        step = int(self.step.total_seconds())
        first, last = int(self.start.timestamp()), int(self.end.timestamp())
        return iter(range(first, last + 1, step))


@dataclass
class _Counters:
    values: dict[str, float] = field(default_factory=dict)

    def add(self, series: str, amount: float) -> float:
        self.values[series] = self.values.get(series, 0.0) + amount
        return self.values[series]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def write_openmetrics(scenario: Scenario, path: Path) -> int:
    """Write the scenario as OpenMetrics text to ``path``; returns the number of samples.

    Each instant adds one step's worth of events to every counter; the counters start at 0
    on the first instant. A step belongs to the burst (or the quiet) when its sample instant
    lies after the burst's (quiet's) start, so a window ``(t - w, t]`` aligned to the step
    holds exactly the steps whose events it counts.
    """
    burst_from = int(scenario.burst_start.timestamp())
    quiet_from = int(scenario.quiet_start.timestamp())
    instants = list(scenario.instants())
    counters = _Counters()
    requests: list[str] = []
    latency: list[str] = []
    for index, ts in enumerate(instants):
        first = index == 0
        burst = ts > burst_from and not first
        quiet = ts > quiet_from or first

        errors = CHECKOUT_BURST_ERRORS if burst else CHECKOUT_ERRORS
        checkout = (
            ("200", 0 if first else CHECKOUT_PER_STEP - CHECKOUT_NOT_FOUND - errors),
            ("404", 0 if first else CHECKOUT_NOT_FOUND),
            ("500", 0 if first else errors),
        )
        for code, amount in checkout:
            labels = f'service="checkout",code="{code}"'
            value = counters.add(f"http_requests_total{{{labels}}}", amount)
            requests.append(f"http_requests_total{{{labels}}} {_number(value)} {ts}")
        batch = (
            ("200", 0 if quiet else BATCH_PER_STEP - BATCH_ERRORS),
            ("500", 0 if quiet else BATCH_ERRORS),
        )
        for code, amount in batch:
            labels = f'service="batch",code="{code}"'
            value = counters.add(f"http_requests_total{{{labels}}}", amount)
            requests.append(f"http_requests_total{{{labels}}} {_number(value)} {ts}")

        buckets = LATENCY_BURST_BUCKETS if burst else LATENCY_BUCKETS
        for le, amount in zip(LATENCY_BOUNDS, buckets, strict=True):
            labels = f'service="checkout",le="{le}"'
            value = counters.add(f"bucket{le}", 0 if first else amount)
            latency.append(
                f"http_request_duration_seconds_bucket{{{labels}}} {_number(value)} {ts}"
            )
        count = counters.add("count", 0 if first else CHECKOUT_PER_STEP)
        seconds = 0 if first else CHECKOUT_PER_STEP * LATENCY_SECONDS[burst]
        total_seconds = counters.add("sum", seconds)
        latency.append(
            f'http_request_duration_seconds_count{{service="checkout"}} {_number(count)} {ts}'
        )
        latency.append(
            f'http_request_duration_seconds_sum{{service="checkout"}} {_number(total_seconds)} {ts}'
        )

    text = "\n".join(
        [
            "# HELP http_requests Requests served, by service and status code.",
            "# TYPE http_requests counter",
            *requests,
            "# HELP http_request_duration_seconds Request latency.",
            "# TYPE http_request_duration_seconds histogram",
            "# UNIT http_request_duration_seconds seconds",
            *latency,
            "# EOF",
            "",
        ]
    )
    path.write_text(text, encoding="utf-8")
    return len(requests) + len(latency)


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrometheusServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def backfill(openmetrics: Path, data_dir: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics``; raises with promtool's output."""
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            str(openmetrics),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"promtool backfill failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def _wait_ready(server: PrometheusServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"prometheus exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                if http.get(f"{server.url}/-/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"prometheus was not ready within {timeout:.0f} s:\n{server.log_tail()}")


@contextmanager
def start_prometheus(
    scenario: Scenario,
    workdir: Path,
    ready_timeout: float = READY_TIMEOUT,
    rules: Path | None = None,
    evaluation_interval: str = "1m",
) -> Iterator[PrometheusServer]:
    """Backfill the scenario into ``workdir/data`` and serve it; stops Prometheus on exit.

    Prometheus 2.42 serves backfilled blocks, the newest two hours included, as soon as it
    reports ready (its head is empty, so nothing overlaps), hence ``end`` may be "now".
    ``rules`` is a rule file for it to evaluate every ``evaluation_interval``.
    """
    openmetrics = workdir / "series.om.txt"
    data_dir = workdir / "data"
    write_openmetrics(scenario, openmetrics)
    backfill(openmetrics, data_dir)
    with serve_prometheus(workdir, data_dir, ready_timeout, rules, evaluation_interval) as server:
        yield server


@contextmanager
def serve_prometheus(
    workdir: Path,
    data_dir: Path,
    ready_timeout: float = READY_TIMEOUT,
    rules: Path | None = None,
    evaluation_interval: str = "1m",
) -> Iterator[PrometheusServer]:
    """Run Prometheus on an existing TSDB directory (again, after a stop) on a free port."""
    config = workdir / "prometheus.yml"
    rule_files = f"rule_files: [{str(rules)!r}]\n" if rules else ""
    config.write_text(
        f"global:\n  evaluation_interval: {evaluation_interval}\n{rule_files}scrape_configs: []\n",
        encoding="utf-8",
    )
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=info",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", data_dir, log_path, process)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        server.stop()


def aligned_end(now: datetime | None = None, step: timedelta = STEP) -> datetime:
    """The latest step-aligned instant at or before ``now`` (default: the current time)."""
    now = now or datetime.now(UTC)
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
