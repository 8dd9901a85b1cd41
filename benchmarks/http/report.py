"""Collect wrk result lines into one JSON file and print them as a Markdown table.

    report.py collect LINES.jsonl OUT.json   # used by run.sh; machine details come from env
    report.py table RESULTS.json             # print the table of an earlier run again

Only the standard library, so any Python 3.11 runs it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# What opsloop holds itself to for these endpoints (benchmarks/README.md).
TARGET_RPS = 1500.0
TARGET_P99_MS = 50.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _meets(row: dict[str, Any]) -> bool:
    clean = row["non_2xx"] == 0 and not any(row["socket_errors"].values())
    fast = row["requests_per_s"] >= TARGET_RPS and row["latency_ms"]["p99"] < TARGET_P99_MS
    return clean and fast


def collect(lines_path: Path, out_path: Path) -> dict[str, Any]:
    rows = []
    for line in lines_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row["meets_target"] = _meets(row)
            rows.append(row)
    env = os.environ.get
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": {"requests_per_s": TARGET_RPS, "p99_ms": TARGET_P99_MS},
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": _cpu_model(),
            "kernel": platform.release(),
            "python": env("BENCH_PYTHON", platform.python_version()),
            "opsloop": env("BENCH_OPSLOOP_VERSION", ""),
            "source": env("BENCH_SOURCE", ""),
            "wrk": env("BENCH_WRK_VERSION", ""),
            "postgresql": env("BENCH_PG_VERSION", ""),
        },
        "settings": {
            "threads": int(env("BENCH_THREADS", "0")),
            "connections": int(env("BENCH_CONNECTIONS", "0")),
            "duration": env("BENCH_DURATION", ""),
            "warmup": env("BENCH_WARMUP", ""),
            "seed_users": int(env("BENCH_SEED_USERS", "0")),
            "server_cpus": env("SERVER_CPUS", ""),
            "wrk_cpus": env("WRK_CPUS", ""),
        },
        "results": rows,
    }
    out_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def table(doc: dict[str, Any]) -> str:
    out = [
        "| backend | workers | endpoint | req/s | p50 ms | p95 ms | p99 ms | non-2xx "
        "| socket errors | cores: server / PostgreSQL / wrk / other | connections per worker "
        f"| target (≥{TARGET_RPS:,.0f} req/s, p99 <{TARGET_P99_MS:.0f} ms) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in doc["results"]:
        lat = r["latency_ms"]
        met = "met" if r.get("meets_target", _meets(r)) else "**not met**"
        if r["requests"] < r["duration_s"]:
            met += " (stalled: hardly any responses)"
        if "server_exit_status" in r:
            met += f" (server died, exit status {r['server_exit_status']})"
        cpu = r.get("cpu")
        cores = (
            f"{cpu['server_cores']:.2f} / {cpu.get('postgresql_cores', 0):.2f} "
            f"/ {cpu['wrk_cores']:.2f} / {cpu['other_cores']:.2f}"
            if cpu
            else "-"
        )
        out.append(
            f"| {r['backend']} | {r['workers']} | `{r['endpoint']}` | {r['requests_per_s']:,.0f} "
            f"| {lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} | {r['non_2xx']} "
            f"| {sum(r['socket_errors'].values())} | {cores} "
            f"| {'/'.join(map(str, r.get('connections_per_worker', []))) or '-'} | {met} |"
        )
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "collect":
        doc = collect(Path(argv[1]), Path(argv[2]))
    elif len(argv) == 2 and argv[0] == "table":
        doc = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
