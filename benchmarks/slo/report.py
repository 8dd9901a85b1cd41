"""Merge the SLO benchmark result files into one JSON file and print them as Markdown tables.

report.py collect OUT.json PART.json...   # used by run.sh
report.py table RESULTS.json              # print the tables of an earlier run again
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def collect(out: Path, parts: list[Path]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {},
        "evaluate": [],
        "ingest": [],
    }
    for part in parts:
        data = json.loads(part.read_text(encoding="utf-8"))
        doc["machine"].update(data.pop("machine", {}))
        kind = "evaluate" if data["benchmark"] == "slo-evaluate" else "ingest"
        doc[kind].append(data)
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _setup(setup: dict[str, Any]) -> str:
    if setup.get("reused"):
        return "reused (--keep-database)"
    return f"{setup['load_s']:.0f} s ({setup['database_bytes'] / 2**30:.1f} GiB)"


def evaluate_table(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| backend | SLOs | buckets | bulk load (setup) | evaluate cold s (median) "
        "| evaluate warm s (median, min-max) | warm at the half hour s (median, max) "
        "| warm, persist=False s "
        "| window sums s (first / median) "
        "| other cores busy (cold / warm) | met (< 1 s cold, < 0.5 s warm) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in doc["evaluate"]:
        ev, win, setup = run["evaluate"], run["window_counts"], run["setup"]
        cold_other = max(r["other_cores"] for r in ev["cold_runs"])
        warm_other = max(r["other_cores"] for r in ev["warm_runs"])
        met = dict(run["meets_target"])
        # Results from before the half-hour series have only the warm runs on the hour.
        met["warm"] = met["warm"] and met.get("warm_half_hour", True)
        half = (
            f"{_s(ev['warm_half_hour_median_s'])} ({_s(ev['warm_half_hour_max_s'])})"
            if "warm_half_hour_median_s" in ev
            else "-"
        )
        verdict = (
            "cold and warm"
            if met["cold"] and met["warm"]
            else "warm only"
            if met["warm"]
            else "cold only"
            if met["cold"]
            else "no"
        )
        lines.append(
            f"| {run['backend']} | {run['settings']['slos']:,} | {run['settings']['buckets']:,} "
            f"| {_setup(setup)} "
            f"| {_s(ev['cold_median_s'])} (first {_s(ev['cold_first_s'])}) "
            f"| {_s(ev['warm_median_s'])} "
            f"({_s(ev['warm_min_s'])}-{_s(ev['warm_max_s'])}) "
            f"| {half} "
            f"| {_s(ev['warm_no_persist_median_s'])} "
            f"| {_s(win['first_s'])} / {_s(win['median_s'])} "
            f"| <={cold_other:.2f} / <={warm_other:.2f} | {verdict} |"
        )
    return lines


def ingest_table(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| backend | path | case | buckets/s | batches (requests)/s | p50 ms | p95 ms "
        "| CPU s: bench process / server / PostgreSQL | other cores busy |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in doc["ingest"]:
        for path in ("service", "http"):
            for row in run.get(path, []):
                rate = row["batches_per_s"]
                case = row["case"]
                if "clients" in row:
                    case += f" ({row['clients']} clients)"
                lines.append(
                    f"| {run['backend']} | {path} | {case} | {row['buckets_per_s']:,} | {rate} "
                    f"| {row['p50_ms']} | {row['p95_ms']} | {row['own_cpu_s']} / "
                    f"{row['server_cpu_s']} / {row['postgresql_cpu_s']} "
                    f"| {row['other_cores']:.2f} |"
                )
    return lines


def tables(doc: dict[str, Any]) -> str:
    return "\n".join([*evaluate_table(doc), "", *ingest_table(doc)]) + "\n"


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "collect":
        doc = collect(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    elif len(sys.argv) == 3 and sys.argv[1] == "table":
        doc = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    else:
        raise SystemExit(__doc__)
    sys.stdout.write(tables(doc))


if __name__ == "__main__":
    main()
