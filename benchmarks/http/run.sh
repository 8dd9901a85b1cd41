#!/usr/bin/env bash
# HTTP throughput and latency of `opsloop serve`, measured with wrk, on SQLite and PostgreSQL.
#
# For every backend and worker count: a fresh data directory (and, for PostgreSQL, a fresh
# database), `opsloop serve --workers N` on a free port, an admin token, some seeded users (each
# one also an audit record), a warm-up, then one wrk run per endpoint. Servers are stopped and
# databases dropped on exit, also on errors and Ctrl-C.
#
#   benchmarks/http/run.sh                         # sqlite and postgresql, 2 workers, 20 s each
#   WORKERS="1 2 4" DURATION=30s benchmarks/http/run.sh
#   BACKENDS=sqlite ENDPOINTS=audit DURATION=5s benchmarks/http/run.sh
#
# Settings (environment):
#   BACKENDS      "sqlite postgresql"    which databases to run against
#   WORKERS       2                      worker processes; a list such as "1 2 4" runs each
#   ENDPOINTS     "healthz me audit"     any of: healthz me audit users (paths below)
#   THREADS       2                      wrk threads
#   CONNECTIONS   64                     wrk connections kept open
#   DURATION      20s                    wrk duration per endpoint
#   WARMUP        5s                     wrk warm-up per endpoint, not recorded
#   TIMEOUT       10s                    wrk request timeout (slower answers count as errors)
#   SEED_USERS    50                     users created through POST /api/v1/users before the runs
#   SERVER_CPUS   (unset)                pin the server with taskset, e.g. "0,1"
#   WRK_CPUS      (unset)                pin wrk with taskset, e.g. "1"
#   PG_HOST PG_PORT PG_USER              127.0.0.1 5432 postgres (trust authentication)
#   REF           (unset)                a git commit to measure instead of the working tree, e.g.
#                                        HEAD; it is exported with `git archive` into the temporary
#                                        directory and put first on PYTHONPATH
#   RESULTS       benchmarks/http/results-<UTC date and time>.json
#   OPSLOOP PYTHON                       .venv/bin/opsloop and .venv/bin/python of this checkout
#
# wrk and the server share the machine: on a 2-core host they compete for the same two cores.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

OPSLOOP=${OPSLOOP:-$ROOT/.venv/bin/opsloop}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
BACKENDS=${BACKENDS:-"sqlite postgresql"}
WORKERS=${WORKERS:-2}
ENDPOINTS=${ENDPOINTS:-"healthz me audit"}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
TIMEOUT=${TIMEOUT:-10s}
SEED_USERS=${SEED_USERS:-50}
SERVER_CPUS=${SERVER_CPUS:-}
WRK_CPUS=${WRK_CPUS:-}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
REF=${REF:-}
RESULTS=${RESULTS:-$HERE/results-$(date -u +%Y-%m-%dT%H%M%SZ).json}

# Endpoint names and their paths; all but healthz are sent with the admin token.
endpoint_path() {
    case "$1" in
        healthz) echo "/healthz" ;;
        me) echo "/api/v1/me" ;;
        audit) echo "/api/v1/audit?limit=50" ;;
        users) echo "/api/v1/users" ;;
        *) echo "unknown endpoint '$1' (use healthz, me, audit or users)" >&2; return 1 ;;
    esac
}
endpoint_needs_token() { [[ "$1" != healthz ]]; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in wrk curl psql taskset; do
    command -v "$tool" >/dev/null || [[ $tool == psql && $BACKENDS != *postgresql* ]] \
        || [[ $tool == taskset && -z $SERVER_CPUS$WRK_CPUS ]] || die "$tool not found"
done
[[ -x $OPSLOOP ]] || die "$OPSLOOP not found; create the virtualenv first"
for name in $ENDPOINTS; do endpoint_path "$name" >/dev/null; done

SERVER_PIN=()
WRK_PIN=()
[[ -n $SERVER_CPUS ]] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
[[ -n $WRK_CPUS ]] && WRK_PIN=(taskset -c "$WRK_CPUS")

WORK=$(mktemp -d -t opsloop-bench.XXXXXX)
LINES=$WORK/results.jsonl
: >"$LINES"
SERVER_PID=""
WRK_PID=""
DATA_DIR=""
KEEP_WORK=""
PG_DB=""

# Which code is measured: a commit exported from git, or the working tree (and whether it has
# uncommitted changes). Only read-only git commands are used.
if [[ -n $REF ]]; then
    SOURCE=$(git -C "$ROOT" rev-parse --verify "$REF^{commit}") || die "no commit $REF"
    mkdir "$WORK/src"
    git -C "$ROOT" archive "$SOURCE" src | tar -x -C "$WORK/src"
    export PYTHONPATH="$WORK/src/src${PYTHONPATH:+:$PYTHONPATH}"
elif SOURCE=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null); then
    if [[ -n $(git -C "$ROOT" --no-optional-locks status --porcelain -- src) ]]; then
        SOURCE="$SOURCE with uncommitted changes under src/"
    fi
else
    SOURCE="unknown (not a git checkout)"
fi
"$OPSLOOP" version >/dev/null || die "'$OPSLOOP version' fails; is the code under test importable?"

psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server $SERVER_PID did not stop in 10 s; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

drop_database() {
    [[ -n $PG_DB ]] || return 0
    psql_admin -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" || log "could not drop $PG_DB"
    PG_DB=""
}

cleanup() {
    local status=$?
    if [[ -n $WRK_PID ]]; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    stop_server
    drop_database
    if [[ $status == 0 && -z $KEEP_WORK ]]; then
        rm -rf "$WORK"
    else
        log "kept server logs and wrk output for inspection: $WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server BACKEND WORKERS: fresh data, server up and ready; sets BASE_URL and TOKEN.
start_server() {
    local backend=$1 workers=$2 port
    DATA_DIR=$(mktemp -d -p "$WORK" "data-$backend-$workers.XXXXXX")
    export OPSLOOP_DATA_DIR=$DATA_DIR
    export OPSLOOP_LOG_LEVEL=warning
    export OPSLOOP_ADMIN_PASSWORD="bench-$RANDOM$RANDOM-password"
    if [[ $backend == postgresql ]]; then
        PG_DB="opsloop_bench_$$_$RANDOM"
        psql_admin -c "CREATE DATABASE \"$PG_DB\""
        export OPSLOOP_DATABASE_URL="postgresql://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
    else
        export OPSLOOP_DATABASE_URL="sqlite:///$DATA_DIR/opsloop.db"
    fi
    port=$(free_port)
    BASE_URL="http://127.0.0.1:$port"
    "${SERVER_PIN[@]}" "$OPSLOOP" serve --host 127.0.0.1 --port "$port" --workers "$workers" \
        >"$DATA_DIR/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 30 "$DATA_DIR/server.log" >&2
            die "opsloop serve exited before it was ready"
        fi
        curl -fsS -o /dev/null "$BASE_URL/readyz" 2>/dev/null && break
        sleep 0.2
    done
    curl -fsS -o /dev/null "$BASE_URL/readyz" || die "not ready after 60 s: $DATA_DIR/server.log"
    TOKEN=$("$OPSLOOP" token create --user admin --role admin --name bench 2>/dev/null)
    [[ $TOKEN == opl_* ]] || die "could not create a token"
}

seed() {
    local i code
    for i in $(seq 1 "$SEED_USERS"); do
        code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$BASE_URL/api/v1/users" \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            -d "{\"username\": \"bench-user-$i\", \"role\": \"viewer\", \"display_name\": \"Bench User $i\"}")
        [[ $code == 201 ]] || die "POST /api/v1/users answered $code"
    done
}

# proc_jiffies PID...: CPU time (user + system, in clock ticks) the processes have used so far.
proc_jiffies() {
    local total=0 pid ticks
    for pid in "$@"; do
        ticks=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || true
        total=$((total + ${ticks:-0}))
    done
    echo "$total"
}

# postgresql_jiffies: CPU ticks used so far by the local PostgreSQL server: the postmaster, its
# live processes, and (through the postmaster's children counters) the backends that exited. It
# covers every database on that server, and is 0 when PostgreSQL runs elsewhere.
postgresql_jiffies() {
    [[ -n $PG_POSTMASTER && -r /proc/$PG_POSTMASTER/stat ]] || { echo 0; return; }
    local own
    own=$(sed 's/^.*) //' "/proc/$PG_POSTMASTER/stat" | awk '{print $12 + $13 + $14 + $15}')
    # shellcheck disable=SC2046
    echo $((own + $(proc_jiffies $(pgrep -P "$PG_POSTMASTER" || true))))
}

# cpu_sample: "<ns> <busy> <server> <postgresql> <wrk>": the clock, then CPU ticks used so far by
# the whole machine, by the server and its workers, by PostgreSQL, and by this shell's finished
# children (wrk). Two samples show how the two cores were shared during a run, including by
# whatever else ran on the machine meanwhile.
cpu_sample() {
    local busy server db=0 shell_children
    busy=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
    # shellcheck disable=SC2046
    server=$(proc_jiffies "$SERVER_PID" $(pgrep -P "$SERVER_PID" || true))
    [[ $CURRENT_BACKEND == postgresql ]] && db=$(postgresql_jiffies)
    shell_children=$(sed 's/^.*) //' /proc/$$/stat | awk '{print $14 + $15}')
    echo "$(date +%s%N) $busy $server $db $shell_children"
}

# cpu_json SAMPLE_BEFORE SAMPLE_AFTER: cores used by the server, PostgreSQL, wrk and the rest.
cpu_json() {
    awk -v hz="$(getconf CLK_TCK)" '{
        seconds = ($6 - $1) / 1e9
        server = ($8 - $3) / hz / seconds
        db = ($9 - $4) / hz / seconds
        wrk = ($10 - $5) / hz / seconds
        other = ($7 - $2) / hz / seconds - server - db - wrk
        if (db < 0) db = 0
        if (other < 0) other = 0
        printf "{\"server_cores\":%.2f,\"postgresql_cores\":%.2f,\"wrk_cores\":%.2f,", server, db, wrk
        printf "\"other_cores\":%.2f}", other
    }' <<<"$1 $2"
}

# connections_per_worker: how the kernel spread wrk's connections over the worker processes
# (they share one listening socket), e.g. "40,24", 1 s into the run; an uneven spread leaves
# one worker busier.
connections_per_worker() {
    local port=${BASE_URL##*:}
    { ss -Htnp state established "( sport = :$port )" 2>/dev/null || true; } \
        | { grep -o 'pid=[0-9]*' || true; } | sort | uniq -c | awk '{print $1}' | sort -rn \
        | paste -sd, -
}

# pg_stats: "<sessions> <active ms> <transactions>" so far for the benchmark database, from
# pg_stat_database (PostgreSQL flushes these about once a second, so the deltas are close, not
# exact). New sessions show connections opened by the server's pool; active time is time spent
# executing statements.
pg_stats() {
    [[ -n $PG_DB ]] || { echo "0 0 0"; return; }
    psql_admin -F' ' -c "SELECT sessions, active_time, xact_commit + xact_rollback
        FROM pg_stat_database WHERE datname = '$PG_DB'"
}

# bench BACKEND WORKERS NAME: warm-up, then the recorded run; appends one line to $LINES.
bench() {
    local backend=$1 workers=$2 name=$3 path url code out
    path=$(endpoint_path "$name")
    url="$BASE_URL$path"
    local -a env_args=(BENCH_BACKEND="$backend" BENCH_WORKERS="$workers" BENCH_ENDPOINT="GET $path")
    local -a curl_auth=()
    if endpoint_needs_token "$name"; then
        env_args+=(OPSLOOP_TOKEN="$TOKEN")
        curl_auth=(-H "Authorization: Bearer $TOKEN")
    else
        env_args+=(OPSLOOP_TOKEN=)
    fi
    code=$(curl -sS -o "$WORK/last-body" -w '%{http_code}' "${curl_auth[@]}" "$url")
    [[ $code == 200 ]] || die "GET $path answered $code: $(head -c 300 "$WORK/last-body")"
    local -a wrk_cmd=("${WRK_PIN[@]}" wrk -t "$THREADS" -c "$CONNECTIONS" --timeout "$TIMEOUT"
        -s "$HERE/report.lua")
    env "${env_args[@]}" "${wrk_cmd[@]}" -d "$WARMUP" "$url" >/dev/null
    out=$WORK/wrk-$backend-$workers-$name.txt
    local before after line pg_before pg_after
    pg_before=$(pg_stats)
    before=$(cpu_sample)
    env "${env_args[@]}" "${wrk_cmd[@]}" -d "$DURATION" "$url" >"$out" &
    WRK_PID=$!
    local spread
    sleep 1
    spread=$(connections_per_worker)
    wait "$WRK_PID"
    WRK_PID=""
    after=$(cpu_sample)
    pg_after=$(pg_stats)
    line=$(grep '^OPSLOOP_RESULT ' "$out" | sed 's/^OPSLOOP_RESULT //') || die "no result from wrk"
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        line="${line%\}},\"cpu\":$(cpu_json "$before" "$after"),\"connections_per_worker\":[$spread]}"
        if [[ -n $PG_DB ]]; then
            line="${line%\}},\"postgresql\":$(awk '{
                printf "{\"new_sessions\":%d,\"statement_ms\":%.0f,\"transactions\":%d}",
                    $4 - $1, $5 - $2, $6 - $3
            }' <<<"$pg_before $pg_after")}"
        fi
    else
        local status=0
        wait "$SERVER_PID" || status=$?
        log "the server died during the run, exit status $status; log: $DATA_DIR/server.log"
        SERVER_PID=""
        KEEP_WORK=1
        line="${line%\}},\"server_exit_status\":$status}"
    fi
    echo "$line" | tee -a "$LINES" >&2
}

PG_VERSION=""
PG_POSTMASTER=""
CURRENT_BACKEND=""
if [[ $BACKENDS == *postgresql* ]]; then
    PG_VERSION=$(psql_admin -c 'SHOW server_version') || die "PostgreSQL at $PG_HOST:$PG_PORT"
    # The checkpointer's parent is the postmaster, if PostgreSQL runs on this machine.
    checkpointer=$(psql_admin -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
    PG_POSTMASTER=$(awk '/^PPid:/ {print $2}' "/proc/$checkpointer/status" 2>/dev/null || true)
fi

log "opsloop $("$OPSLOOP" version) ($SOURCE), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
for backend in $BACKENDS; do
    case $backend in sqlite | postgresql) ;; *) die "unknown backend $backend" ;; esac
    CURRENT_BACKEND=$backend
    for workers in $WORKERS; do
        log "$backend, $workers worker(s): starting"
        start_server "$backend" "$workers"
        seed
        for name in $ENDPOINTS; do
            log "$backend, $workers worker(s): $(endpoint_path "$name")"
            bench "$backend" "$workers" "$name"
            [[ -n $SERVER_PID ]] || break
        done
        stop_server
        drop_database
    done
done

BENCH_PYTHON=$("$PYTHON" -c 'import platform; print(platform.python_version())') \
BENCH_OPSLOOP_VERSION=$("$OPSLOOP" version) BENCH_SOURCE=$SOURCE \
BENCH_WRK_VERSION=$(wrk --version 2>&1 | sed -n '1s/ Copyright.*//p' || true) \
BENCH_PG_VERSION=$PG_VERSION \
BENCH_THREADS=$THREADS BENCH_CONNECTIONS=$CONNECTIONS BENCH_DURATION=$DURATION \
BENCH_WARMUP=$WARMUP BENCH_SEED_USERS=$SEED_USERS SERVER_CPUS=$SERVER_CPUS WRK_CPUS=$WRK_CPUS \
    "$PYTHON" "$HERE/report.py" collect "$LINES" "$RESULTS"
log "results: $RESULTS"
