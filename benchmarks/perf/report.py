"""Markdown tables from the results of run.py, with PASS/FAIL against issue 7's targets.

    python benchmarks/perf/report.py results.json [more.json ...]

Several files (say, main and a branch measured the same way) print one after the other; compare
their "x bare" columns rather than req/s, which depend on the machine and its other load.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

WORKER_RSS_MB = 200
READY_S = 2.0
COLD_S, WARM_S = 1.0, 0.5


def num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def verdict(case: dict[str, Any]) -> str:
    """PASS/FAIL against the case's target, naming what failed."""
    target = case.get("target")
    if not target:
        return ""
    if not case["requests"]:
        return "FAIL (no answer within the run: lengthen --duration)"
    lat = case["latency_ms"]
    failed = []
    if target.get("min_rps") and case["requests_per_s"] < target["min_rps"]:
        failed.append(f"req/s < {target['min_rps']:,.0f}")
    if target.get("max_p99_ms") and lat["p99"] >= target["max_p99_ms"]:
        failed.append(f"p99 >= {target['max_p99_ms']:.0f} ms")
    if target.get("max_ms") and lat["max"] >= target["max_ms"]:
        failed.append(f"max >= {target['max_ms']:.0f} ms")
    if target.get("min_ratio") and case.get("ratio_to_bare", 0) < target["min_ratio"]:
        failed.append(f"x bare < {target['min_ratio']}")
    if target.get("min_events_per_s") and case["events_per_s"] < target["min_events_per_s"]:
        failed.append(f"events/s < {target['min_events_per_s']:,.0f}")
    if case["errors"]:
        failed.append("errors")
    return "PASS" if not failed else "FAIL (" + ", ".join(failed) + ")"


def case_rows(run: dict[str, Any]) -> list[str]:
    lines = [
        "| path | backend | conns | req/s | events/s | p50 ms | p99 ms | max ms | errors "
        "| x bare | cores srv/pg/wrk/other | worker MB | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for case in run["cases"]:
        lat, cores = case["latency_ms"], case.get("cores", {})
        name = case["name"] + (f" ({case['bare_run']})" if case.get("bare_run") else "")
        events = num(case["events_per_s"]) if case["mode"] != "get" else ""
        if case["mode"] == "alerts":
            events += " alerts"
        errors = str(case["errors"])
        if case["errors"]:
            kinds = {k: v for k, v in case["socket_errors"].items() if v}
            errors += f" ({case['non_2xx']} non-2xx{', ' + str(kinds) if kinds else ''})"
        wrapped = " (minutes wrapped)" if case.get("wrapped") else ""
        lines.append(
            f"| {name}{wrapped} | {run['backend']} | {case['connections']} "
            f"| {num(case['requests_per_s'])} | {events} | {num(lat['p50'])} | {num(lat['p99'])} "
            f"| {num(lat['max'])} | {errors} | {case.get('ratio_to_bare', 0):.4f} "
            f"| {cores.get('server')}/{cores.get('postgresql')}/{cores.get('wrk')}/"
            f"{cores.get('other')} | {case.get('worker_rss_mb') or ''} | {verdict(case)} |"
        )
    return lines


def pages(run: dict[str, Any]) -> list[str]:
    probes = run.get("probes", {})
    if not probes:
        return []
    lines = ["", "| path (one request) | status | bytes | items | ms |"]
    lines.append("|---|---:|---:|---:|---:|")
    for name, p in probes.items():
        lines.append(
            f"| {name} | {p['status']} | {p['bytes']:,} | {p.get('items', '')} | {p['ms']} |"
        )
    default = probes.get("slos_default", {})
    if "items" in default:
        total = run["seed"]["slos"]
        if default["items"] < total:
            mark = "PASS (bounded)"
        elif total >= 1000:
            mark = "FAIL (unbounded)"
        else:
            mark = "not shown: fewer SLOs than a page might hold"
        lines.append(
            f"\nDefault page of /api/v1/slos: {default['items']} of {total} SLOs, "
            f"{default['bytes']:,} bytes: {mark}"
        )
    return lines


def memory(run: dict[str, Any]) -> list[str]:
    lines = []
    for when in ("memory_after_start", "memory_after_loads"):
        mem = run.get(when)
        if not mem:
            continue
        rows = ", ".join(f"{p['role']} {p['rss_mb']} MB" for p in mem["processes"])
        worst = mem.get("max_worker_rss_mb")
        check = ""
        if when == "memory_after_loads" and worst is not None:
            check = " PASS" if worst <= WORKER_RSS_MB else " FAIL"
            check += f" (target <= {WORKER_RSS_MB} MB per worker)"
        lines.append(f"- RSS {when.removeprefix('memory_').replace('_', ' ')}: {rows}.{check}")
    return lines


def background(run: dict[str, Any]) -> list[str]:
    """The scheduler's jobs over the whole run (seeding included), beside the requests."""
    jobs = run.get("background_jobs")
    if not jobs:
        return []
    shown = "; ".join(
        f"{job} {v['runs']} x {v['mean_s']} s"
        + (f" ({v['failures']} failed)" if v["failures"] else "")
        for job, v in sorted(jobs.items(), key=lambda item: -item[1]["seconds"])
    )
    total = sum(v["seconds"] for v in jobs.values())
    return [f"- Background jobs, runs x mean time: {shown}; {total:.1f} s in all."]


def start(run: dict[str, Any]) -> list[str]:
    lines = []
    up = run.get("startup")
    if up:
        for label, key in (("empty data dir", "first"), ("second start", "second")):
            median = up[f"{key}_start_median_s"]
            mark = "PASS" if median < READY_S else "FAIL"
            runs = ", ".join(str(s) for s in up[f"{key}_start_s"])
            lines.append(
                f"- Ready (`/readyz` 200), {label}: median {median} s ({runs}) {mark} "
                f"(target < {READY_S:g} s)"
            )
    if "second_start_seeded_s" in run:
        lines.append(f"- Ready on the seeded data set: {run['second_start_seeded_s']} s")
    return lines


def evaluation(run: dict[str, Any]) -> list[str]:
    found = run.get("evaluation")
    if not found:
        return []
    if "error" in found:
        return [f"- Evaluation benchmark failed: {found['error'][-300:]}"]
    cold, warm = found.get("cold_median_s"), found.get("warm_median_s")
    marks = [
        f"cold {cold} s (first {found.get('cold_first_s')} s) "
        + ("PASS" if cold is not None and cold < COLD_S else "FAIL")
        + f" (target < {COLD_S:g} s)",
        f"warm {warm} s "
        + ("PASS" if warm is not None and warm < WARM_S else "FAIL")
        + f" (target < {WARM_S:g} s)",
    ]
    return [
        f"- Evaluation of {found['slos']} SLOs x {found['days']} days: " + "; ".join(marks),
        f"  (`{found['command']}`)",
    ]


def domain_data(seed: dict[str, Any]) -> str:
    """The later domains' data, where the selected cases needed some."""
    made = [
        f"{seed[name]:,} {name.replace('_', ' ')} ({seed[name + '_s']} s)"
        for name in ("alerts", "incidents", "changes", "action_items")
        if name in seed
    ]
    return ", " + ", ".join(made) if made else ""


def other_load(run: dict[str, Any], cpus: int) -> str:
    """How much of the machine other work took while the cases ran: the noise level."""
    shares = [c["cores"]["other"] for c in run["cases"] if "cores" in c]
    if not shares:
        return ""
    mean = sum(shares) / len(shares)
    note = " (noisy: compare x bare, not req/s)" if mean > 0.3 else ""
    return f"Other work on the machine: {mean:.2f} of {cpus} cores on average{note}."


def report(doc: dict[str, Any], source: str) -> list[str]:
    git, mach = doc["git"], doc["machine"]
    imp = doc.get("import", {})
    s = doc["settings"]
    lines = [
        f"## {source}: {git['branch']} @ {git['commit']}"
        + (" (uncommitted changes)" if git["dirty"] == "yes" else ""),
        "",
        f"{doc['date']}; {mach['cpus']} x {mach['cpu']}; load average {mach['load_average_1m']}"
        + (f"; PostgreSQL {mach['postgresql']}" if mach.get("postgresql") else "")
        + f". wrk -t{s['threads']}, {s['duration']:g} s measured after {s['warmup']:g} s "
        f"warm-up; {s['workers']} workers; scheduler {'off' if s['no_scheduler'] else 'on'}.",
    ]
    if mach.get("postgresql_settings"):
        shown = ", ".join(f"{k} {v}" for k, v in mach["postgresql_settings"].items())
        lines.append(f"PostgreSQL settings: {shown}.")
    if imp:
        lines.append(
            f"`import {imp['module']}`: {imp['cumulative_s']} s (-X importtime), "
            f"{imp['process_wall_s']} s for the whole interpreter."
        )
    for run in doc["runs"]:
        if "cases" not in run:
            continue
        seed = run.get("seed", {})
        lines += [
            "",
            f"### {run['backend']}: bare route mean "
            + (f"{num(run['bare_mean_rps'])} req/s" if "bare_mean_rps" in run else "not measured"),
            "",
            f"Data: {seed.get('slos')} SLOs, {seed.get('audit_records')} seeded audit records"
            + domain_data(seed)
            + f"; first evaluation {seed.get('evaluate_s')} s (`opsloop slo evaluate`). "
            + other_load(run, mach["cpus"]),
            "",
            *case_rows(run),
            *pages(run),
            "",
            *memory(run),
            *background(run),
            *start(run),
            *evaluation(run),
        ]
        verify = run.get("audit_verify")
        if verify:
            lines.append(
                "- `opsloop audit verify` after the loads: "
                f"{'intact' if verify['ok'] else 'FAILED'} ({verify['seconds']} s): "
                f"{verify['output']}"
            )
    return lines


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for path in sys.argv[1:]:
        doc = json.loads(Path(path).read_text())
        print("\n".join(report(doc, Path(path).name)) + "\n")


if __name__ == "__main__":
    main()
