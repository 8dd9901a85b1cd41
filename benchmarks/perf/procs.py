"""Processes of a measurement: servers in their own process groups, CPU and memory from /proc,
and PostgreSQL databases made for one run.

Only the standard library and the PostgreSQL client programs (createdb, dropdb, psql) are used,
so the harness runs with any Python 3.11 while the servers run with the measured checkout's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PG_HOST = os.environ.get("PERF_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("PERF_PG_PORT", "5432")
PG_USER = os.environ.get("PERF_PG_USER", "postgres")


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """The process and every process below it."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def cpu_ticks(pid: int) -> int:
    """User + system ticks a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def machine_busy_ticks() -> int:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


class Server:
    """A server started in a new session, so that stopping it reaches all its workers."""

    def __init__(
        self, name: str, argv: list[str], env: Mapping[str, str], port: int, log_path: Path
    ) -> None:
        self.name, self.port, self.log_path = name, port, log_path
        self.base = f"http://127.0.0.1:{port}"
        self.started = time.perf_counter()
        # Servers start as from an installation: Python writes and reuses compiled modules even
        # where the shell asked it not to (PYTHONDONTWRITEBYTECODE), or every start would pay
        # for compiling the checkout's sources again.
        inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        with log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                env={**inherited, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str, timeout: float = 120) -> float:
        """Seconds from launch to the first 200 on ``path``."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")
            if http_status(self.base + path) == 200:
                return time.perf_counter() - self.started
            time.sleep(0.01)
        raise RuntimeError(f"{self.name} did not answer 200 on {path} within {timeout} s")

    def pids(self) -> list[int]:
        return descendants(self.proc.pid) if self.proc.poll() is None else []

    def memory(self) -> dict[str, object]:
        """RSS of the master and of each worker (uvicorn's multiprocessing children)."""
        master = self.proc.pid
        rows = []
        for pid in self.pids():
            cmd = command_line(pid)
            role = "master" if pid == master else "worker"
            if "resource_tracker" in cmd or "semaphore_tracker" in cmd:
                role = "resource tracker"
            rows.append({"pid": pid, "role": role, "rss_mb": rss_mb(pid)})
        workers = [r["rss_mb"] for r in rows if r["role"] == "worker" and r["rss_mb"]]
        return {"processes": rows, "max_worker_rss_mb": max(workers, default=None)}

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.proc.pid}) still running after {sig.name}")


def _ticks_by_pid(pids: list[int]) -> dict[int, int]:
    return {pid: cpu_ticks(pid) for pid in pids}


def _used(start: dict[int, int], end: dict[int, int]) -> int:
    """Ticks used between two samples by the processes alive at the end (a process that
    appeared meanwhile counts in full; one that ended meanwhile is lost)."""
    return sum(t - start.get(pid, 0) for pid, t in end.items() if t)


class CpuWindow:
    """Cores used during a measurement by a server, by PostgreSQL, by wrk and by everything else
    on the machine (other work competing for the same cores)."""

    def __init__(self, server: Server | None, postgres: PostgresMeter | None) -> None:
        self.server, self.postgres = server, postgres

    def _sample(self, at_end: bool) -> tuple[float, int, dict[int, int], dict[int, int], float]:
        # psql (listing the backends) is a child process too: read the children's CPU time after
        # it ran at the start and before it runs at the end, so that only wrk's falls between.
        children = os.times() if at_end else None
        backends = _ticks_by_pid(self.postgres.pids() if self.postgres else [])
        children = children or os.times()
        return (
            time.perf_counter(),
            machine_busy_ticks(),
            _ticks_by_pid(self.server.pids() if self.server else []),
            backends,
            children.children_user + children.children_system,
        )

    def __enter__(self) -> CpuWindow:
        self._start = self._sample(at_end=False)
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._sample(at_end=True)
        wall = max(end[0] - self._start[0], 1e-9)
        busy = (end[1] - self._start[1]) / TICK / wall
        server = _used(self._start[2], end[2]) / TICK / wall
        pg = _used(self._start[3], end[3]) / TICK / wall
        wrk = (end[4] - self._start[4]) / wall
        self.cores = {
            "server": round(server, 2),
            "postgresql": round(pg, 2),
            "wrk": round(wrk, 2),
            "other": round(max(0.0, busy - server - pg - wrk), 2),
        }


class PostgresMeter:
    """The PostgreSQL backends serving one database (their CPU is read from /proc)."""

    def __init__(self, database: str) -> None:
        self.database = database

    def pids(self) -> list[int]:
        rows = psql(
            "postgres",
            "SELECT pid FROM pg_stat_activity WHERE datname = "
            f"'{self.database}' AND pid <> pg_backend_pid()",
        )
        return [int(p) for p in rows.split()]


def _pg_args() -> list[str]:
    return ["-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER]


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", *_pg_args(), "-d", database, "-XAtqc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def pg_create(name: str) -> str:
    pg_drop(name)
    subprocess.run(["createdb", *_pg_args(), name], check=True)
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def pg_drop(name: str) -> None:
    subprocess.run(
        ["dropdb", *_pg_args(), "--if-exists", "--force", name],
        check=True,
        capture_output=True,
    )


def pg_version() -> str:
    try:
        return psql("postgres", "SHOW server_version").strip()
    except (OSError, subprocess.CalledProcessError):
        return "unavailable"


#: Server settings that change what a write costs, recorded with every run: a server tuned
#: for a test suite (autovacuum off, say) lets dead row versions pile up over a long run, so
#: the later cases of a run pay for the earlier ones.
PG_SETTINGS = (
    "autovacuum",
    "shared_buffers",
    "synchronous_commit",
    "fsync",
    "full_page_writes",
    "wal_level",
    "max_wal_size",
)


def pg_settings() -> dict[str, str]:
    names = ",".join(f"'{name}'" for name in PG_SETTINGS)
    try:
        rows = psql(
            "postgres",
            "SELECT name, current_setting(name) FROM pg_settings "
            f"WHERE name IN ({names}) ORDER BY name",
        )
    except (OSError, subprocess.CalledProcessError):
        return {}
    return dict(line.split("|", 1) for line in rows.splitlines() if "|" in line)
