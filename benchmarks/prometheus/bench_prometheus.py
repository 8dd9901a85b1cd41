"""1,000 Prometheus-sourced SLOs evaluated by opsloop against a real Prometheus that evaluates
opsloop's generated rules: the recorded-series path against the raw expressions, with the CPU
each costs Prometheus and Prometheus' own rule-evaluation cost beside them.

See README.md in this directory for what it does and the results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenario import Counters, backfill, serve_exporter, sloth_specs
from slo.common import TICK, _machine_ticks, log, process_ticks

from opsloop.core.db import Database
from opsloop.slo import evaluation
from opsloop.slo.prometheus import PrometheusClient
from opsloop.slo.rules import RULES_INFO_METRIC

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([str(VENV_BIN / "opsloop"), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def metrics(base: str) -> dict[str, float]:
    """Prometheus' own metrics, as ``name{labels}`` -> value."""
    out = {}
    for line in httpx.get(f"{base}/metrics", timeout=60).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                continue
    return out


def summed(values: dict[str, float], name: str) -> float:
    return sum(v for k, v in values.items() if k == name or k.startswith(name + "{"))


@contextmanager
def prometheus(
    workdir: Path, rules: Path | None, exporter_port: int, interval: int
) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: 1m\n  evaluation_interval: {interval}s\n"
        + (f"rule_files: [{str(rules)!r}]\n" if rules else "")
        + "scrape_configs:\n  - job_name: req\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
        # the backfilled series have neither label: the scraped samples continue them
        "    metric_relabel_configs: [{action: labeldrop, regex: 'job|instance'}]\n",
        encoding="utf-8",
    )
    with (workdir / "prometheus.log").open("wb") as log_file:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                "--storage.tsdb.retention.time=90d",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def wait_for_rules(base: str, slos: int, timeout: float = 600) -> float:
    """Until every SLO's info series is written (each group evaluated once); returns seconds."""
    started = time.monotonic()
    query = {"query": f"count({RULES_INFO_METRIC})"}
    while time.monotonic() - started < timeout:
        try:
            body = httpx.get(f"{base}/api/v1/query", params=query, timeout=60).json()
        except httpx.HTTPError:
            body = {"data": {"result": []}}  # busy starting (compacting the backfill)
        result = body["data"]["result"]
        if result and int(float(result[0]["value"][1])) >= slos:
            return time.monotonic() - started
        time.sleep(5)
    raise RuntimeError(f"the rules did not record {slos} info series within {timeout} s")


def prometheus_cpu(pid: int) -> float:
    return process_ticks([pid]).get(pid, 0) / TICK


def observe_rules(base: str, pid: int, seconds: float) -> dict[str, Any]:
    """Prometheus' own cost while only its rules (and one scrape a minute) run."""
    m0, c0, busy0, w0 = metrics(base), prometheus_cpu(pid), _machine_ticks(), time.perf_counter()
    time.sleep(seconds)
    m1, c1, busy1, w1 = metrics(base), prometheus_cpu(pid), _machine_ticks(), time.perf_counter()
    durations = sorted(
        v for k, v in m1.items() if k.startswith("prometheus_rule_group_last_duration_seconds{")
    )
    wall = w1 - w0
    name = "prometheus_rule_group_iterations_total"
    return {
        "groups": len(durations),
        "sum_last_duration_s": round(sum(durations), 3),
        "median_group_s": round(durations[len(durations) // 2], 5) if durations else None,
        "max_group_s": round(durations[-1], 4) if durations else None,
        "iterations": summed(m1, name) - summed(m0, name),
        "missed": summed(m1, "prometheus_rule_group_iterations_missed_total"),
        "failures": summed(m1, "prometheus_rule_evaluation_failures_total"),
        "compactions": summed(m1, "prometheus_tsdb_compactions_total")
        - summed(m0, "prometheus_tsdb_compactions_total"),
        "observed_s": round(wall, 1),
        "cpu_s_per_minute": round((c1 - c0) / wall * 60, 2),
        "other_cores": round(((busy1 - busy0) / TICK - (c1 - c0)) / wall, 2),
    }


def evaluate_once(
    db: Database, base: str, pid: int, label: str, baseline_per_s: float, **options: Any
) -> dict[str, Any]:
    """One evaluation of every SLO as the scheduler runs it, with Prometheus' CPU meanwhile."""
    reading: list[float] = []
    original = evaluation.read_error_ratios

    def timed_read(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            reading.append(time.perf_counter() - started)

    evaluation.read_error_ratios = timed_read  # type: ignore[assignment]
    try:
        with PrometheusClient(base, **options) as client:
            c0, busy0, w0 = prometheus_cpu(pid), _machine_ticks(), time.perf_counter()
            own0 = time.process_time()
            statuses = evaluation.evaluate(db, now=datetime.now(UTC), prometheus=client)
            wall = time.perf_counter() - w0
            own = time.process_time() - own0
            cpu = prometheus_cpu(pid) - c0
            busy = (_machine_ticks() - busy0) / TICK
    finally:
        evaluation.read_error_ratios = original  # type: ignore[assignment]
    results = [s.to_json() for s in statuses.values()]
    return {
        "path": label,
        "slos": len(results),
        "evaluate_s": round(wall, 3),
        "read_prometheus_s": round(sum(reading), 3),
        "prometheus_cpu_s": round(cpu, 2),
        "prometheus_cpu_s_minus_rules": round(max(0.0, cpu - baseline_per_s * wall), 2),
        "opsloop_cpu_s": round(own, 2),
        "other_cores": round(max(0.0, busy - cpu - own) / wall, 2),
        "sources": dict(Counter(r.get("sli_source") for r in results)),
        "no_data": sum(1 for r in results if r["status"] == "no_data"),
        "_results": {r_id: s.to_json() for r_id, s in statuses.items()},
    }


def largest_difference(a: dict[int, Any], b: dict[int, Any], burst: Callable[[int], bool]) -> float:
    """The largest relative difference of burn rates and SLIs between two evaluations, over
    the SLOs without a burst (their ratios do not move between the two instants)."""
    worst = 0.0
    for slo_id, status in a.items():
        if burst(slo_id):
            continue
        other = b[slo_id]
        pairs = [(status["sli"], other["sli"])]
        pairs += [(status["burn_rates"][w], other["burn_rates"][w]) for w in status["burn_rates"]]
        for x, y in pairs:
            if x is None or y is None:
                worst = max(worst, 0.0 if x == y else math.inf)
            else:
                worst = max(worst, abs(x - y) / max(abs(y), 1e-12))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--days", type=float, default=7, help="history to backfill")
    parser.add_argument("--step", type=int, default=60, help="backfilled sample spacing, s")
    parser.add_argument("--rounds", type=int, default=2, help="recorded/raw pairs, interleaved")
    parser.add_argument("--observe", type=float, default=120, help="seconds of rules alone")
    parser.add_argument("--interval", type=int, default=60, help="rule evaluation interval, s")
    parser.add_argument("--timeout", type=float, default=5, help="opsloop's query timeout, s")
    parser.add_argument(
        "--reads-apart",
        type=float,
        default=0,
        metavar="MINUTES",
        help="time opsloop after restarting Prometheus without the rules, accepting recorded"
        " samples this old (for a machine too busy to evaluate the rules and answer at once)",
    )
    parser.add_argument("--sequential", action="store_true", help="also the one-at-a-time raw path")
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--reuse", action="store_true", help="keep --workdir's SLOs, rules and backfilled data"
    )
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="opsloop-prom-bench-"))
    db_url = f"sqlite:///{workdir / 'opsloop.db'}"
    params = workdir / "params.json"
    if args.reuse and params.exists():
        out = json.loads(params.read_text(encoding="utf-8"))
        log(f"reusing {workdir}: {out['slos']} SLOs, {out['days']} days up to {out['end']}")
    else:
        out = prepare(args, workdir, db_url)
        params.write_text(json.dumps(out), encoding="utf-8")
    counters = Counters(out["slos"], start=out["start"], burst_from=out["burst_from"])
    measure(args, workdir, db_url, counters, out)
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


def prepare(args: argparse.Namespace, workdir: Path, db_url: str) -> dict[str, Any]:
    """The SLOs in opsloop, their generated rule file, and the backfilled history."""
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "tsdb").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLOOP_")}
    env |= {"OPSLOOP_DATABASE_URL": db_url, "OPSLOOP_DATA_DIR": str(workdir), "NO_COLOR": "1"}
    out: dict[str, Any] = {"slos": args.slos, "days": args.days, "step_s": args.step}
    (workdir / "specs.yaml").write_text(sloth_specs(args.slos), encoding="utf-8")
    run_cli(env, "db", "upgrade")
    out["apply_s"] = round(run_cli(env, "slo", "apply", "-f", str(workdir / "specs.yaml")), 1)
    out["rules_s"] = round(run_cli(env, "slo", "rules", "-o", str(workdir / "rules.yml")), 1)
    rules_text = (workdir / "rules.yml").read_text(encoding="utf-8")
    out["recording_rules"] = rules_text.count("record:")
    out["alert_rules"] = rules_text.count("alert:")
    log(f"applied {args.slos} SLOs in {out['apply_s']} s, rules in {out['rules_s']} s")

    end = int(time.time()) // args.step * args.step
    out |= {"start": end - int(args.days * 86400), "end": end, "burst_from": end - 1800}
    counters = Counters(args.slos, start=out["start"], burst_from=out["burst_from"])
    started = time.perf_counter()
    (workdir / "om").mkdir()
    out["samples"] = backfill(counters, end, args.step, workdir / "tsdb", workdir / "om")
    out["backfill_s"] = round(time.perf_counter() - started, 1)
    log(f"backfilled {out['samples']} samples in {out['backfill_s']} s")
    return out


def measure(
    args: argparse.Namespace, workdir: Path, db_url: str, counters: Counters, out: dict[str, Any]
) -> None:
    """Prometheus with the rules and live counters: its cost alone, then opsloop's runs
    (with ``--reads-apart``: after a restart without the rules, as the raw path was measured
    before, so only opsloop's queries use Prometheus meanwhile)."""
    exporter_port = free_port()
    exporter = serve_exporter(counters, exporter_port)
    db = Database(db_url)
    rules = workdir / "rules.yml"
    out["evaluation_interval_s"], out["query_timeout_s"] = args.interval, args.timeout
    # two rule-evaluation intervals, as the client's default is for Prometheus' 1m
    max_age = timedelta(seconds=2 * args.interval)
    try:
        with prometheus(workdir, rules, exporter_port, args.interval) as (base, pid):
            out["rules_first_round_s"] = round(wait_for_rules(base, counters.slos), 1)
            log(f"every rule group evaluated once after {out['rules_first_round_s']} s")
            out["rules_alone"] = observe_rules(base, pid, args.observe)
            log(f"rules alone: {json.dumps(out['rules_alone'])}")
            baseline = out["rules_alone"]["cpu_s_per_minute"] / 60
            if not args.reads_apart:
                runs(args, db, base, pid, baseline, max_age, out)
        if args.reads_apart:
            # the recorded series stop ageing well once the rules are gone: accept what the
            # last evaluations before the restart wrote
            out["recorded_max_age_s"] = args.reads_apart * 60
            with prometheus(workdir, None, exporter_port, args.interval) as (base, pid):
                time.sleep(20)
                runs(args, db, base, pid, 0.0, timedelta(minutes=args.reads_apart), out)
    finally:
        exporter.shutdown()
        db.dispose()


def runs(
    args: argparse.Namespace,
    db: Database,
    base: str,
    pid: int,
    baseline: float,
    max_age: timedelta,
    out: dict[str, Any],
) -> None:
    common = {"timeout": args.timeout, "recorded_max_age": max_age}
    done = []
    for _ in range(args.rounds):
        for label, options in (("recorded", {}), ("raw", {"use_recorded": False})):
            run = evaluate_once(db, base, pid, label, baseline, **common, **options)
            log(json.dumps({k: v for k, v in run.items() if k != "_results"}))
            done.append(run)
    if args.sequential:
        options = {"use_recorded": False, "concurrency": 1}
        run = evaluate_once(db, base, pid, "raw, one at a time", baseline, **common, **options)
        log(json.dumps({k: v for k, v in run.items() if k != "_results"}))
        done.append(run)
    ids = sorted(done[0]["_results"])
    burst_ids = {slo_id for n, slo_id in enumerate(ids) if n % 100 == 0}
    recorded = [r for r in done if r["path"] == "recorded"]
    raw = [r for r in done if r["path"] == "raw"]
    out["largest_relative_difference_recorded_vs_raw"] = largest_difference(
        recorded[-1]["_results"], raw[-1]["_results"], burst_ids.__contains__
    )
    out["runs"] = [{k: v for k, v in r.items() if k != "_results"} for r in done]
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    out["prometheus_rss_kib"] = int(next(x.split()[1] for x in status if x.startswith("VmRSS:")))


if __name__ == "__main__":
    main()
