"""opsloop's paths side by side with a bare FastAPI route, under the same load generator.

    .venv/bin/python benchmarks/perf/run.py --backend both --out results.json
    .venv/bin/python benchmarks/perf/report.py results.json

Per backend: a fresh data directory (and PostgreSQL database), ``opsloop serve --workers 2`` and
the bare app with the same uvicorn settings, the data set (seed.py), then every case (cases.py)
one at a time with wrk; the bare route runs first and last and the others are compared to their
mean. Afterwards: RSS of every server process, the audit chain verified, start-up times and
import time. See README.md in this directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cases
import evaluation
import seed
import seed_domains
import startup
from procs import (
    PostgresMeter,
    Server,
    free_port,
    log,
    pg_create,
    pg_drop,
    pg_settings,
    pg_version,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PASSWORD = "perf-admin-password-0123"
DAY = 86_400


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--root",
        type=Path,
        default=REPO,
        help="opsloop checkout to measure (its .venv/bin/opsloop and python)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated case names (bare always runs), or 'none'; "
        f"cases: {', '.join(cases.BY_NAME)}; groups: {', '.join(cases.GROUPS)}; "
        "'startup' adds the start-up timing",
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=64, help="for the read cases")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", default="30s", help="wrk request timeout")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--audit-records", type=int, default=100_000)
    parser.add_argument(
        "--history-minutes", type=int, default=5, help="minutes pushed per SLO before the reads"
    )
    parser.add_argument(
        "--incidents",
        type=int,
        default=seed_domains.Sizes.incidents,
        help="incidents imported for the incident and reliability cases (only when selected)",
    )
    parser.add_argument("--startup-runs", type=int, default=3, help="0 skips start-up timing")
    parser.add_argument(
        "--evaluate-days",
        type=int,
        default=0,
        help="also run the checkout's benchmarks/slo/bench_evaluate.py with this many days of "
        "minutes per SLO (30 is the issue's figure; 0, the default, skips it: it takes minutes)",
    )
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        help="OPSLOOP_SCHEDULER_ENABLED=false (default: on, as deployed)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the data directory (and the PostgreSQL database)"
    )
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    args = parser.parse_args()
    args.root = args.root.resolve()
    names = [n for n in args.only.split(",") if n and n != "none"]
    names += [case for n in names for case in cases.GROUPS.get(n, ())]
    known = {*cases.BY_NAME, *cases.GROUPS, "startup"}
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases.BY_NAME)}")
    args.cases = (
        [c for c in cases.CASES if c.name in names or c.name == "bare"]
        if args.only
        else list(cases.CASES)
    )
    return args


def git_describe(root: Path) -> dict[str, str]:
    def git(*cmd: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": "yes" if git("status", "--porcelain", "--untracked-files=no") else "no",
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def server_env(data_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    return {
        # The checkout's own sources first, even when its .venv is another checkout's (a
        # worktree linking the main one's): an editable install points at that checkout's src.
        "PYTHONPATH": str(args.root / "src"),
        "OPSLOOP_DATA_DIR": str(data_dir),
        "OPSLOOP_DATABASE_URL": f"sqlite:///{data_dir / 'opsloop.db'}",
        "OPSLOOP_LOG_LEVEL": "warning",
        "OPSLOOP_ADMIN_PASSWORD": PASSWORD,
        "OPSLOOP_DEMO_DATA": "false",
        "OPSLOOP_SCHEDULER_ENABLED": "false" if args.no_scheduler else "true",
    }


def probe(api: seed.Client, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """One request: status, size and (for JSON pages) how many items came back."""
    started = time.perf_counter()
    status, _, body = api.request("GET", path, headers=headers)
    out: dict[str, Any] = {
        "status": status,
        "bytes": len(body),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if body[:1] == b"{":
        items = json.loads(body).get("items")
        if isinstance(items, list):
            out["items"] = len(items)
    return out


@dataclass
class Seeded:
    token: str
    ids: list[int]
    cookie: str
    first_minute: int  # epoch s of the first pushed minute
    now_minute: int
    summary: dict[str, Any]
    extra: dict[str, str]  # values case paths name, from the later domains' data


def start_servers(
    args: argparse.Namespace, checkout: seed.Checkout, env: dict[str, str], work: Path
) -> tuple[Server, Server]:
    port, bare_port = free_port(), free_port()
    argv = [checkout.opsloop, "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(args.workers)]
    opsloop = Server("opsloop", argv, env, port, work / "serve.log")
    bare_argv = [checkout.python, str(HERE / "bare_app.py"), str(bare_port), str(args.workers)]
    bare = Server("bare", bare_argv, {"PYTHONPATH": str(HERE)}, bare_port, work / "bare.log")
    return opsloop, bare


def seed_data(
    args: argparse.Namespace, checkout: seed.Checkout, env: dict[str, str], opsloop: Server,
    work: Path,
) -> Seeded:  # fmt: skip
    token = seed.admin_token(checkout, env)
    api = seed.Client(opsloop.base, token)
    started = time.perf_counter()
    ids = seed.create_slos(checkout, env, api, args.slos, work)
    summary: dict[str, Any] = {"slos": len(ids), "slos_s": round(time.perf_counter() - started, 2)}
    now_minute = int(time.time()) // 60 * 60
    first_minute = now_minute - 29 * DAY
    pushed = seed.push_history(api, ids, first_minute, args.history_minutes)
    summary["history_s"] = round(pushed, 2)
    summary.update(seed.seed_audit(checkout, env, args.audit_records))
    summary["evaluate_s"] = round(seed.evaluate_all(checkout, env), 2)
    cookie = seed.web_session(opsloop.base, "admin", PASSWORD)
    found, extra = seed_domains.seed(
        cases.needed(args.cases), checkout, env, api, work, seed.service_count(len(ids)),
        seed_domains.Sizes(incidents=args.incidents),
    )  # fmt: skip
    summary.update(found)
    return Seeded(token, ids, cookie, first_minute, now_minute, summary, extra)


def measure(
    args: argparse.Namespace, ctx: cases.Context, seeded: Seeded, result: dict[str, Any]
) -> None:
    api = seed.Client(ctx.opsloop.base, seeded.token)
    middle = str(seeded.ids[len(seeded.ids) // 2])
    result["probes"] = {
        case.name: probe(
            api,
            cases.path_of(case, seeded.extra).replace("{id}", middle),
            {"Cookie": seeded.cookie} if case.auth == "cookie" else {},
        )
        for case in args.cases
        if case.mode == "get" and case.server == "opsloop"
    }
    planned = [*args.cases, cases.BY_NAME["bare"]]
    for number, case in enumerate(planned):
        outcome = cases.run_case(case, ctx, args.duration, args.warmup)
        if case.name == "bare":
            outcome["bare_run"] = "first" if number == 0 else "last"
        else:
            # Per case, so that a report shows which load a worker's memory grew under.
            outcome["worker_rss_mb"] = ctx.opsloop.memory()["max_worker_rss_mb"]
        result["cases"].append(outcome)
    bare_rps = [c["requests_per_s"] for c in result["cases"] if c["name"] == "bare"]
    result["bare_mean_rps"] = round(statistics.mean(bare_rps), 1)
    for outcome in result["cases"]:
        outcome["ratio_to_bare"] = round(outcome["requests_per_s"] / result["bare_mean_rps"], 4)


def run_backend(
    backend: str, args: argparse.Namespace, checkout: seed.Checkout, result: dict[str, Any]
) -> None:
    """Fills ``result`` as it goes, so that a failure keeps what was measured before it."""
    work = Path(tempfile.mkdtemp(prefix=f"opsloop-perf-{backend}-"))
    env = server_env(work / "data", args)
    database = f"opsloop_perf_{os.getpid()}_{backend}"
    meter = None
    result.update(backend=backend, cases=[])
    servers: list[Server] = []
    try:
        if backend == "postgresql":
            env["OPSLOOP_DATABASE_URL"] = pg_create(database)
            meter = PostgresMeter(database)
        log(f"{backend}: starting opsloop serve and the bare app (work dir {work})")
        opsloop, bare = start_servers(args, checkout, env, work)
        servers += [opsloop, bare]
        result["first_ready_s"] = round(opsloop.wait_ready("/readyz"), 3)
        bare.wait_ready("/bare")
        result["memory_after_start"] = opsloop.memory()

        log(f"{backend}: seeding {args.slos} SLOs, {args.audit_records} audit records")
        seeded = seed_data(args, checkout, env, opsloop, work)
        result["seed"] = seeded.summary
        log(f"{backend}: seeded {seeded.summary}")
        ids_file = work / "slo-ids.txt"
        ids_file.write_text("".join(f"{i}\n" for i in seeded.ids))
        # Pushes get the minutes after the seeded ones, up to an hour before now.
        first = seeded.first_minute + 60 * args.history_minutes
        timeline = cases.Timeline(first=first, minutes=(seeded.now_minute - 3600 - first) // 60)
        ctx = cases.Context(
            opsloop=opsloop, bare=bare, token=seeded.token, cookie=seeded.cookie,
            ids_file=ids_file, timeline=timeline, threads=args.threads,
            connections=args.connections, timeout=args.timeout, postgres=meter,
            slo_count=len(seeded.ids), extra=seeded.extra,
        )  # fmt: skip
        measure(args, ctx, seeded, result)
        # Requests wrk gave up on may still be running; let them end before RSS and stopping.
        cases.wait_idle(ctx, limit=60)
        result["memory_after_loads"] = opsloop.memory()
        result["background_jobs"] = seed.job_times(opsloop.base)
        result["push_minutes_used"] = timeline.used
        for server in servers:
            server.stop()
        result["audit_verify"] = seed.verify_audit(checkout, env)
        log(f"{backend}: audit verify {result['audit_verify']}")
        if args.startup_runs and (not args.only or "startup" in args.only.split(",")):
            again = startup.time_to_ready(checkout, env, args.workers, work / "serve.log")
            result["second_start_seeded_s"] = round(again, 3)
            result["startup"] = startup.startup(
                checkout, backend, lambda d: server_env(d, args), args.workers, args.startup_runs
            )
        if args.evaluate_days:
            result["evaluation"] = evaluation.bench_evaluate(
                checkout, backend, args.slos, args.evaluate_days
            )
    finally:
        for server in servers:
            server.stop()
        if backend == "postgresql" and not args.keep:
            pg_drop(database)
        if args.keep:
            log(f"kept {work}" + (f" and database {database}" if backend == "postgresql" else ""))
        else:
            shutil.rmtree(work, ignore_errors=True)


def _exit_on_signal(signum: int, _frame: object) -> None:
    # SIGTERM (timeout, kill) would end Python without running the finally blocks that stop
    # the servers and drop the databases; as an exception it runs them.
    raise SystemExit(128 + signum)


def main() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    args = options()
    cases.require_wrk()
    checkout = seed.Checkout(args.root)
    checkout.check()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    doc: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "root": str(args.root),
        "git": git_describe(args.root),
        "machine": {
            **machine(),
            "postgresql": pg_version() if "postgresql" in backends else None,
            "postgresql_settings": pg_settings() if "postgresql" in backends else None,
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("cases", "out", "root")},
        "import": startup.import_time(checkout),
        "runs": [],
    }
    startup.log_import(doc["import"])
    try:
        for backend in backends:
            doc["runs"].append({"backend": backend})
            run_backend(backend, args, checkout, doc["runs"][-1])
    finally:
        args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    log(f"results: {args.out} (report: {sys.executable} {HERE / 'report.py'} {args.out})")


if __name__ == "__main__":
    main()
