"""The benchmark's SLOs and their request counters, in the past (backfill) and live (exporter).

SLO ``i`` reads ``req_total{slo="s<i>"}`` with ``code="2"`` (999 requests a minute) and
``code="5"`` (1 a minute): a 0.1 % error ratio. Every 100th SLO also has a burst of 100 errors
a minute from ``burst_from`` on, so its page alert fires. Counter values are a closed form of
time, so the backfilled history and the live exporter join without a seam.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OK_PER_MINUTE = 999.0
ERRORS_PER_MINUTE = 1.0
BURST_ERRORS_PER_MINUTE = 100.0
SLOS_PER_SERVICE = 10
OBJECTIVES = (99.0, 99.5, 99.9)


def slo_label(i: int) -> str:
    return f"s{i:04d}"


def sloth_specs(count: int) -> str:
    """``count`` Sloth prometheus/v1 SLOs, ten per service, over Sloth's default 30 days."""
    docs = []
    for service in range((count + SLOS_PER_SERVICE - 1) // SLOS_PER_SERVICE):
        slos = []
        for i in range(service * SLOS_PER_SERVICE, min(count, (service + 1) * SLOS_PER_SERVICE)):
            selector = f'slo="{slo_label(i)}"'
            window = "[{{.window}}]"
            slos.append(
                f"  - name: slo-{i:04d}\n"
                f"    objective: {OBJECTIVES[i % len(OBJECTIVES)]}\n"
                "    sli:\n"
                "      events:\n"
                f'        error_query: sum(rate(req_total{{{selector},code="5"}}{window}))\n'
                f"        total_query: sum(rate(req_total{{{selector}}}{window}))\n"
            )
        docs.append(
            f'version: "prometheus/v1"\nservice: svc-{service:03d}\nslos:\n' + "".join(slos)
        )
    return "---\n".join(docs)


@dataclass(frozen=True)
class Counters:
    slos: int
    start: float  # epoch seconds where every counter is 0
    burst_from: float

    def values(self, i: int, at: float) -> tuple[float, float]:
        """(ok, errors) of SLO ``i`` at ``at``."""
        minutes = (at - self.start) / 60
        errors = ERRORS_PER_MINUTE * minutes
        if i % 100 == 0 and at > self.burst_from:
            errors += BURST_ERRORS_PER_MINUTE * (at - self.burst_from) / 60
        return OK_PER_MINUTE * minutes, errors

    def exposition(self, at: float) -> str:
        lines = ["# TYPE req_total counter"]
        for i in range(self.slos):
            ok, errors = self.values(i, at)
            lines.append(f'req_total{{slo="{slo_label(i)}",code="2"}} {ok!r}')
            lines.append(f'req_total{{slo="{slo_label(i)}",code="5"}} {errors!r}')
        return "\n".join(lines) + "\n"


def backfill(counters: Counters, end: int, step: int, tsdb: Path, tmp: Path) -> int:
    """Write samples every ``step`` s from ``counters.start`` to ``end`` into ``tsdb`` through
    ``promtool tsdb create-blocks-from openmetrics``, six hours per file; returns the count."""
    chunk = 6 * 3600
    samples = 0
    first = int(counters.start)
    for lo in range(first, end + 1, chunk):
        stamps = range(lo, min(lo + chunk, end + 1), step)
        lines = ["# TYPE req counter"]
        for i in range(counters.slos):
            for code in (0, 1):
                key = f'req_total{{slo="{slo_label(i)}",code="{"25"[code]}"}} '
                lines.extend(f"{key}{counters.values(i, ts)[code]!r} {ts}" for ts in stamps)
        lines.append("# EOF\n")
        path = tmp / f"{lo}.om"
        path.write_text("\n".join(lines), encoding="utf-8")
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(path), str(tsdb)],
            check=True,
            capture_output=True,
        )
        path.unlink()
        samples += len(lines) - 2
    return samples


def serve_exporter(counters: Counters, port: int) -> ThreadingHTTPServer:
    """The live counters on ``127.0.0.1:port/metrics``, for Prometheus to scrape."""
    import time

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = counters.exposition(time.time()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
