"""Start-up of ``opsloop serve``: from launch to the first 200 on ``/readyz``, A/B.

    .venv/bin/python benchmarks/startup/ab_serve.py --runs 3 \\
        --variant old=/path/to/old/checkout/src --variant new=src [--backend postgresql] \\
        [--workers 2]

Each variant runs the same ``opsloop`` entry point with its source tree first on
``PYTHONPATH``, so two checkouts share one virtual environment. Rounds interleave the variants
(old, new, old, new...) so that a busy machine slows both alike. Every round measures three
starts: an empty data directory with demo data, an empty one without, and a second start on the
data of the first. Besides the time to ready it reports the CPU time the server's processes used
until then and their resident memory 3 s later.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                queue.extend(int(c) for c in (task / "children").read_text().split())
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def start(src: str, env: dict[str, str], log: Path, workers: int) -> dict[str, Any]:
    port = free_port()
    argv = [str(VENV_BIN / "opsloop"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers)]
    full_env = {**os.environ, **env, "PYTHONPATH": src}
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=full_env, stdout=out, stderr=out, start_new_session=True)
    try:
        # Children are gone when the server stops, so their CPU is sampled while polling.
        cpu_by_pid: dict[int, float] = {}
        while not ready(port):
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}; see {log}")
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"not ready after 120 s; see {log}")
            for pid in tree(proc.pid):
                cpu_by_pid[pid] = cpu_seconds([pid])
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        for pid in tree(proc.pid):
            cpu_by_pid[pid] = cpu_seconds([pid])
        time.sleep(3)
        rss = {pid: round(rss_mib(pid), 1) for pid in tree(proc.pid)}
        return {
            "ready_s": round(seconds, 3),
            "cpu_s": round(sum(cpu_by_pid.values()), 2),
            "rss_mib": sorted(rss.values()),
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def pg(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)


def round_for(name: str, src: str, backend: str, number: int, workers: int) -> list[dict[str, Any]]:
    results = []
    for demo in ("true", "false"):
        data_dir = Path(tempfile.mkdtemp(prefix="opsloop-ab-start-"))
        env = {
            "OPSLOOP_DATA_DIR": str(data_dir),
            "OPSLOOP_LOG_LEVEL": "warning",
            "OPSLOOP_DEMO_DATA": demo,
        }
        database = f"opsloop_ab_start_{os.getpid()}_{number}_{demo}"
        if backend == "postgresql":
            pg(f'CREATE DATABASE "{database}"')
            env["OPSLOOP_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        try:
            starts = ("first", "second") if demo == "true" else ("first",)
            for kind in starts:
                found = start(src, env, data_dir / "serve.log", workers)
                found.update(variant=name, backend=backend, demo=demo, start=kind, round=number)
                print(json.dumps(found), file=sys.stderr, flush=True)
                results.append(found)
        finally:
            if backend == "postgresql":
                pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", required=True, help="NAME=SRC_DIR")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    variants = [v.split("=", 1) for v in args.variant]
    results = []
    for number in range(args.runs):
        for name, src in variants:
            results += round_for(name, str(Path(src).resolve()), args.backend, number, args.workers)
    summary = {}
    for name, _ in variants:
        for case in (("true", "first"), ("false", "first"), ("true", "second")):
            mine = [r for r in results if r["variant"] == name and (r["demo"], r["start"]) == case]
            label = f"{name} demo={case[0]} {case[1]} start"
            summary[label] = {
                "ready_s_median": statistics.median(r["ready_s"] for r in mine),
                "ready_s": [r["ready_s"] for r in mine],
                "cpu_s_median": statistics.median(r["cpu_s"] for r in mine),
            }
    report = {
        "backend": args.backend,
        "workers": args.workers,
        "summary": summary,
        "runs": results,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
