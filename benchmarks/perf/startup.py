"""Start-up: from launching ``opsloop serve`` to the first 200 on ``/readyz``, and import time."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procs import Server, free_port, log, pg_create, pg_drop
from seed import Checkout


def serve(checkout: Checkout, env: dict[str, str], workers: int, log_path: Path) -> Server:
    port = free_port()
    argv = [checkout.opsloop, "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server("opsloop", [*argv, "--workers", str(workers)], env, port, log_path)


def time_to_ready(checkout: Checkout, env: dict[str, str], workers: int, log_path: Path) -> float:
    server = serve(checkout, env, workers, log_path)
    try:
        return server.wait_ready("/readyz")
    finally:
        server.stop()


def startup(
    checkout: Checkout,
    backend: str,
    base_env: Callable[[Path], dict[str, str]],
    workers: int,
    runs: int,
) -> dict[str, Any]:
    """Median of ``runs`` first starts (empty data dir, new database) and of the second start
    on the data each first start made."""
    first, second = [], []
    for run in range(runs):
        data_dir = Path(tempfile.mkdtemp(prefix="opsloop-perf-start-"))
        env = base_env(data_dir)
        database = f"opsloop_perf_start_{run}_{int(time.time())}"
        if backend == "postgresql":
            env["OPSLOOP_DATABASE_URL"] = pg_create(database)
        try:
            log_path = data_dir / "serve.log"
            first.append(time_to_ready(checkout, env, workers, log_path))
            second.append(time_to_ready(checkout, env, workers, log_path))
        finally:
            if backend == "postgresql":
                pg_drop(database)
            shutil.rmtree(data_dir, ignore_errors=True)
    result = {
        "first_start_s": [round(s, 3) for s in first],
        "second_start_s": [round(s, 3) for s in second],
        "first_start_median_s": round(statistics.median(first), 3),
        "second_start_median_s": round(statistics.median(second), 3),
    }
    log(
        f"start-up ({backend}): {result['first_start_median_s']} s empty, "
        f"{result['second_start_median_s']} s second start"
    )
    return result


def import_time(checkout: Checkout, module: str = "opsloop.app") -> dict[str, Any]:
    """``-X importtime`` of one import: the cumulative time of the module itself, the wall time
    of the whole interpreter, and the slowest modules by their own time."""
    started = time.perf_counter()
    done = subprocess.run(
        [checkout.python, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    rows = []
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if found:
            rows.append((int(found.group(1)), int(found.group(2)), found.group(4)))
    own_total = sum(r[0] for r in rows)
    cumulative = next((r[1] for r in rows if r[2] == module), 0)
    slowest = sorted(rows, reverse=True)[:10]
    return {
        "module": module,
        "cumulative_s": round(cumulative / 1e6, 3),
        "all_imports_s": round(own_total / 1e6, 3),
        "process_wall_s": round(wall, 3),
        "slowest_self_ms": {name: round(own / 1000, 1) for own, _, name in slowest},
    }


def log_import(result: dict[str, Any]) -> None:
    log(
        f"import {result['module']}: {result['cumulative_s']} s ({result['process_wall_s']} s wall)"
    )
