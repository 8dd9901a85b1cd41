#!/usr/bin/env bash
# SLO evaluation and push ingestion benchmarks on SQLite and PostgreSQL (benchmarks/README.md).
#
#   benchmarks/slo/run.sh                          # both backends, 1000 SLOs x 30 days
#   BACKENDS=sqlite SLOS=200 DAYS=7 benchmarks/slo/run.sh
#   PROFILE=/tmp/slo benchmarks/slo/run.sh         # also cProfile a cold and a warm evaluation
#                                                  # (/tmp/slo-<backend>-{cold,warm}.prof)
#
# Settings (environment):
#   BACKENDS        "sqlite postgresql"
#   SLOS DAYS       1000 30            pushed SLOs and days of minute buckets for the evaluation
#   CLIENTS         4                  concurrent HTTP clients pushing events
#   WORKERS         2                  opsloop serve --workers
#   QUIET_TIMEOUT   600                before each measurement, wait up to this many seconds for
#   QUIET_CORES     0.5                other processes to use fewer cores than QUIET_CORES, and
#   ATTEMPTS        3                  measure again if they used more meanwhile (the least
#                                      disturbed attempt is kept; see "other cores" in results)
#   EVALUATE_ARGS INGEST_ARGS          more arguments (see --help), e.g. INGEST_ARGS="--batches-60 100"
#   RESULTS         benchmarks/slo/results-<UTC date and time>.json
#   OPSLOOP_BENCH_PG_URL               postgresql://postgres@127.0.0.1:5432/postgres (trust)
#
# Every run creates its own databases (temporary SQLite files, PostgreSQL databases named
# opsloop_bench_slo_*) and removes them at the end. The 1000 x 30-day evaluation dataset takes
# about 2.3 GiB on SQLite and 4 GiB on PostgreSQL while it runs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
BACKENDS=${BACKENDS:-"sqlite postgresql"}
SLOS=${SLOS:-1000}
DAYS=${DAYS:-30}
CLIENTS=${CLIENTS:-4}
WORKERS=${WORKERS:-2}
QUIET_TIMEOUT=${QUIET_TIMEOUT:-600}
QUIET_CORES=${QUIET_CORES:-0.5}
ATTEMPTS=${ATTEMPTS:-3}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RESULTS=${RESULTS:-$HERE/results-$STAMP.json}

WORK=$(mktemp -d -t opsloop-slo-bench.XXXXXX)
# Partial results stay when something fails, to be collected by hand (report.py collect).
trap 'status=$?; if [[ $status == 0 ]]; then rm -rf "$WORK"; else echo "partial results: $WORK" >&2; fi' EXIT

quiet=(--quiet-timeout "$QUIET_TIMEOUT" --quiet-cores "$QUIET_CORES" --attempts "$ATTEMPTS")
cd "$ROOT"
for backend in $BACKENDS; do
    profile=()
    [[ -n ${PROFILE:-} ]] && profile=(--profile "$PROFILE-$backend")
    "$PYTHON" "$HERE/bench_evaluate.py" --backend "$backend" --slos "$SLOS" --days "$DAYS" \
        "${quiet[@]}" "${profile[@]}" ${EVALUATE_ARGS:-} --out "$WORK/evaluate-$backend.json"
done
for backend in $BACKENDS; do
    "$PYTHON" "$HERE/bench_ingest.py" --backend "$backend" --clients "$CLIENTS" \
        --workers "$WORKERS" "${quiet[@]}" ${INGEST_ARGS:-} --out "$WORK/ingest-$backend.json"
done
"$PYTHON" "$HERE/report.py" collect "$RESULTS" "$WORK"/evaluate-*.json "$WORK"/ingest-*.json
echo "results: $RESULTS" >&2
