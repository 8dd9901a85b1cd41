"""Sort py-spy samples of an opsloop worker into where a request spends its time.

Record each worker while wrk runs (see benchmarks/README.md), with --gil so that only the thread
holding the GIL is sampled, i.e. the Python work that limits a worker process:

    py-spy record --gil --nonblocking -r 200 -d 10 --format raw -o audit-PID.txt -p PID
    python benchmarks/http/profile_summary.py audit-*.txt

Each sample goes to the innermost frame that matches a category below, so "token lookup" is the
SQLAlchemy and driver work under ``authenticate_token`` and "json.loads" is counted apart from the
``to_dict`` that calls it. Standard library only.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# (category, pattern on "function (file:line)"), tried for each frame from the innermost out.
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    (
        "json.loads of each record's 'changes'",
        re.compile(r"\(json/(decoder|__init__)\.py"),
    ),
    (
        "to_dict/as_link per record (opsloop)",
        re.compile(r"^(to_dict|as_link|_loads)\b.*opsloop/core/audit/service\.py"),
    ),
    (
        "AuditRecordOut(**row) per record (pydantic)",
        re.compile(r"list_audit\.<locals>\.<listcomp>|^list_audit \("),
    ),
    (
        "response model validation + JSON encoding",
        re.compile(
            r"serialize_response|dump_json|jsonable_encoder|TypeAdapter|"
            r"JSONResponse|Response\.render|_prepare_response_content"
        ),
    ),
    (
        "token lookup (authenticate_token: SQL + ORM)",
        re.compile(r"authenticate_token|current_principal|require_role"),
    ),
    (
        "audit query + ORM row loading (service.page)",
        re.compile(r"^page \(opsloop/core/audit/service\.py"),
    ),
    (
        "session begin/rollback/close",
        re.compile(r"read_session|Database\.read|Session\.(rollback|close|__exit__)"),
    ),
    (
        "ObservabilityMiddleware (metrics, request id)",
        re.compile(r"prometheus_client|\(uuid\.py|ObservabilityMiddleware|\(logging/"),
    ),
    (
        "thread-pool hand-off (anyio worker threads)",
        re.compile(r"anyio/|run_in_threadpool|contextmanager_in_threadpool"),
    ),
    (
        "uvicorn, httptools and the event loop",
        re.compile(r"uvicorn/protocols|\(asyncio/|Runner\.run|uvloop"),
    ),
    (
        "FastAPI/Starlette routing, dependencies, middleware",
        re.compile(r"\((fastapi|starlette)/"),
    ),
]
OTHER = "other"


def categorise(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in CATEGORIES:
            if pattern.search(frame):
                return name
    return OTHER


def summarise(paths: list[Path]) -> tuple[int, Counter[str]]:
    counts: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            stack, _, number = line.rpartition(" ")
            if not stack or not number.isdigit():
                continue
            total += int(number)
            counts[categorise(stack.split(";"))] += int(number)
    return total, counts


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    total, counts = summarise([Path(p) for p in argv])
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    print(f"| where the GIL-holding thread was ({total} samples) | share |")
    print("|---|---:|")
    for name, n in counts.most_common():
        print(f"| {name} | {n / total:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
