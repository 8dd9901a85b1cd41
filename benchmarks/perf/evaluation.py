"""SLO evaluation of 1,000 pushed SLOs, cold and warm: the checkout's own
``benchmarks/slo/bench_evaluate.py``, run with the checkout's Python (it calls opsloop's
evaluation directly and loads its buckets in SQL, so it must match that checkout's schema)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from procs import log
from seed import Checkout


def bench_evaluate(checkout: Checkout, backend: str, slos: int, days: int) -> dict[str, Any]:
    script = checkout.root / "benchmarks" / "slo" / "bench_evaluate.py"
    if not script.is_file():
        return {"error": f"{script} not found"}
    with tempfile.TemporaryDirectory(prefix="opsloop-perf-eval-") as work:
        out = Path(work) / "evaluate.json"
        cmd = [checkout.python, str(script), "--backend", backend, "--slos", str(slos)]
        cmd += ["--days", str(days)]
        shown = " ".join(cmd)
        cmd += ["--out", str(out)]
        log(f"evaluation ({backend}): {shown}")
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0 or not out.is_file():
            return {"error": (done.stdout + done.stderr)[-1000:], "command": shown}
        full = json.loads(out.read_text())
    found = full.get("evaluate", {})
    result = {
        "command": shown,
        "slos": slos,
        "days": days,
        "setup_s": full.get("setup", {}).get("load_s"),
        **{k: v for k, v in found.items() if not isinstance(v, list)},
    }
    log(f"evaluation ({backend}): cold {found.get('cold_median_s')} s, "
        f"warm {found.get('warm_median_s')} s")  # fmt: skip
    return result
