#!/usr/bin/env bash
# Runs the ssecast benchmarks against ssecast and its peers, side by side.
#
#   bench/run.sh [SCENARIO...]     scenarios: fanout capacity latency publish (default: all),
#                                  durable (history_dir against memory only) and metrics
#                                  (what metrics cost); those two are not in the default
#
# The peers' dependencies are installed first, idempotently.
#
# Environment: RELEASE_DIR (built ssecast, ssecast-bench, bench-axum-peer, libssecast),
# BASELINE_REF (metrics scenario: the commit to compare with, default the last one
# before metrics existed),
# BUILD_DIR (scratch: npm, venv, nginx prefix, results), SERVERS (default
# "ssecast axum nchan express fastapi"; the in-app hosts and their peers are
# fastapi-inapp sse-starlette express-inapp better-sse, which need the packed
# bindings in dist/), SERVER_CPU / CLIENT_CPU (default 0 / 1).
# Every server runs pinned to SERVER_CPU with taskset, the load tool to CLIENT_CPU.
# FANOUT_P99_MS (default 100) is the fan-out pass rule's p99 bound and
# FANOUT_START_RATE (default 25) the first publish rate of its search.
# Each scenario is bounded in time; RESULT lines go to $BUILD_DIR/bench/results.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RELEASE_DIR="${RELEASE_DIR:-$ROOT/target/release}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
WORK="$BUILD_DIR/bench"
SERVERS="${SERVERS:-ssecast axum nchan express fastapi}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
FANOUT_P99_MS="${FANOUT_P99_MS:-100}"
FANOUT_START_RATE="${FANOUT_START_RATE:-25}"
TOKEN=bench
RESULTS="$WORK/results.txt"
TOOL=(taskset -c "$CLIENT_CPU" "$RELEASE_DIR/ssecast-bench")
SERVER_PID=""
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)"

log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

port_of() {
  case "$1" in
    ssecast) echo 18080 ;; axum) echo 18081 ;; express) echo 18082 ;;
    fastapi) echo 18083 ;; nchan) echo 18084 ;;
    fastapi-inapp) echo 18085 ;; sse-starlette) echo 18086 ;;
    express-inapp) echo 18087 ;; better-sse) echo 18088 ;;
  esac
}

# Installs the peers' dependencies idempotently (nginx + nchan with apt-get,
# express with npm, fastapi + uvicorn in a venv).
setup() {
  if [[ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]] && [[ " $SERVERS " == *" nchan "* ]]; then
    log "installing nginx and libnginx-mod-nchan"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx libnginx-mod-nchan >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx libnginx-mod-nchan >/dev/null; }
  fi
  mkdir -p "$WORK/express"
  cp "$ROOT/bench/peers/express/package.json" "$ROOT/bench/peers/express/server.js" "$WORK/express/"
  if [[ ! -d "$WORK/express/node_modules/express" ]] && [[ " $SERVERS " == *" express "* ]]; then
    log "installing express"
    (cd "$WORK/express" && npm install --no-audit --no-fund --silent)
  fi
  if [[ ! -x "$WORK/venv/bin/uvicorn" ]] && [[ " $SERVERS $* " == *" fastapi "* || " $* " == *" publish "* ]]; then
    log "installing fastapi and uvicorn"
    python3 -c 'import ensurepip' 2>/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q -r "$ROOT/bench/peers/fastapi/requirements.txt"
  fi
  if [[ " $SERVERS " == *" sse-starlette "* ]] && [[ ! -d "$WORK/venv/lib" || -z "$(ls -d "$WORK"/venv/lib/*/site-packages/sse_starlette 2>/dev/null)" ]]; then
    log "installing sse-starlette"
    "$WORK/venv/bin/pip" install -q -r "$ROOT/bench/peers/sse_starlette/requirements.txt"
  fi
  if [[ " $SERVERS " == *" fastapi-inapp "* ]]; then
    local wheel; wheel="$(ls -t "$ROOT"/dist/ssecast-*.whl 2>/dev/null | head -1 || true)"
    [[ -n "$wheel" ]] || { log "dist/ssecast-*.whl missing: make python-wheel"; exit 1; }
    "$WORK/venv/bin/pip" install -q --force-reinstall --no-deps "$wheel"
  fi
  if [[ " $SERVERS " == *" better-sse "* ]]; then
    mkdir -p "$WORK/better-sse"
    cp "$ROOT/bench/peers/better_sse/package.json" "$ROOT/bench/peers/better_sse/server.js" "$WORK/better-sse/"
    [[ -d "$WORK/better-sse/node_modules/better-sse" ]] \
      || (log "installing better-sse" && cd "$WORK/better-sse" && npm install --no-audit --no-fund --silent)
  fi
  if [[ " $SERVERS " == *" express-inapp "* ]]; then
    local tgz; tgz="$(ls -t "$ROOT"/dist/ssecast-*.tgz 2>/dev/null | head -1 || true)"
    [[ -n "$tgz" ]] || { log "dist/ssecast-*.tgz missing: make node-package"; exit 1; }
    mkdir -p "$WORK/express-inapp"
    cp "$ROOT/bench/peers/express_inapp/server.js" "$WORK/express-inapp/"
    (cd "$WORK/express-inapp" && { [[ -f package.json ]] || echo '{"private":true}' >package.json; } \
      && npm install --no-audit --no-fund --silent express@^5.1.0 "$tgz")
  fi
}

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "nothing listens on port $1"; return 1
}

# Starts server $1 on its port, pinned to SERVER_CPU; sets SERVER_PID (the process
# doing the work: for nchan, the nginx worker).
start_server() {
  local name="$1" port; port="$(port_of "$1")"
  case "$name" in
    ssecast)
      SSECAST_LOG_LEVEL=warn taskset -c "$SERVER_CPU" "$RELEASE_DIR/ssecast" --bind 127.0.0.1 --port "$port" \
        --publish-token "$TOKEN" --max-connections 20000 --worker-threads 1 2>>"$WORK/ssecast.log" &
      SERVER_PID=$! ;;
    axum)
      taskset -c "$SERVER_CPU" "$RELEASE_DIR/bench-axum-peer" "$port" 1 2>>"$WORK/axum.log" &
      SERVER_PID=$! ;;
    express)
      taskset -c "$SERVER_CPU" node "$WORK/express/server.js" "$port" 2>>"$WORK/express.log" &
      SERVER_PID=$! ;;
    fastapi)
      taskset -c "$SERVER_CPU" "$WORK/venv/bin/python" "$ROOT/bench/peers/fastapi/server.py" "$port" 2>>"$WORK/fastapi.log" &
      SERVER_PID=$! ;;
    fastapi-inapp|sse-starlette)
      taskset -c "$SERVER_CPU" "$WORK/venv/bin/python" "$ROOT/bench/peers/${name//-/_}/server.py" "$port" 2>>"$WORK/$name.log" &
      SERVER_PID=$! ;;
    express-inapp|better-sse)
      taskset -c "$SERVER_CPU" node "$WORK/$name/server.js" "$port" 2>>"$WORK/$name.log" &
      SERVER_PID=$! ;;
    nchan)
      local dir="$WORK/nchan"
      mkdir -p "$dir"
      sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$ROOT/bench/peers/nchan/nginx.conf.in" >"$dir/nginx.conf"
      taskset -c "$SERVER_CPU" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
      NGINX_MASTER=$!
      wait_port "$port"
      SERVER_PID="$(pgrep -P "$NGINX_MASTER" | head -1)" ;;
  esac
  wait_port "$port"
  [[ "$name" == nchan ]] || NGINX_MASTER=""
}

stop_server() {
  local pid="${NGINX_MASTER:-$SERVER_PID}"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  SERVER_PID=""; NGINX_MASTER=""
  sleep 0.5
}
trap stop_server EXIT

# The arguments that let the load tool drive server $1.
drive_args() {
  local port; port="$(port_of "$1")"
  local args=(--name "$1" --addr "127.0.0.1:$port" --server-pid "$SERVER_PID")
  [[ "$1" == ssecast ]] && args+=(--token "$TOKEN")
  [[ "$1" == nchan ]] && args+=(--body raw)
  echo "${args[@]}"
}

run_tool() {
  log "ssecast-bench $*"
  timeout 600 "${TOOL[@]}" "$@" | tee -a "$RESULTS" || log "(failed: $*)"
}

# Scenario 1: 1,000 subscribers, publish rate doubled then bisected until loss
# or p99 > 100 ms.
fanout() {
  for server in $SERVERS; do
    start_server "$server" || { log "$server did not start; skipped"; stop_server; continue; }
    # shellcheck disable=SC2046
    run_tool ladder --scenario fanout $(drive_args "$server") --subs 1000 --start-rate "$FANOUT_START_RATE" \
      --resolution 25 --max-p99-ms "$FANOUT_P99_MS"
    stop_server
  done
  if [[ " $SERVERS " == *" ssecast "* ]]; then
    run_tool ladder --scenario fanout --name ssecast --inproc --server-cpu "$SERVER_CPU" \
      --client-cpu "$CLIENT_CPU" --subs 1000 --start-rate 25 --resolution 25
  fi
}

# Scenario 2: idle connections, 10,000 and then as many as the descriptor limit allows.
capacity() {
  local most=$(( $(ulimit -Hn) - 1000 ))
  for server in $SERVERS; do
    for conns in 10000 "$most"; do
      start_server "$server" || { log "$server did not start; skipped"; stop_server; continue; }
      # shellcheck disable=SC2046
      run_tool capacity $(drive_args "$server" | sed -e 's/--token [^ ]*//' -e 's/--body [^ ]*//') \
        --conns "$conns" --hold 3 --timeout 90
      stop_server
    done
  done
}

# Scenario 4: 10 subscribers at fixed, high publish rates (the latency floor).
latency() {
  for server in $SERVERS; do
    start_server "$server" || { log "$server did not start; skipped"; stop_server; continue; }
    # shellcheck disable=SC2046
    run_tool ladder --scenario latency $(drive_args "$server") --subs 10 --rates 100,1000,5000 --window 3
    stop_server
  done
}

# Scenario 3: publish cost per call from Rust, C, Python and Node with 1,000
# subscribers attached. Programs whose binding is not built yet are skipped.
publish() {
  local pc=(taskset -c "$SERVER_CPU")
  run_tool publish-cost --lang rust -- "${pc[@]}" "$RELEASE_DIR/ssecast-bench" publish-cost-child
  if [[ -f "$ROOT/include/ssecast.h" && -f "$RELEASE_DIR/libssecast.a" ]]; then
    cc -O2 -Wall -Wextra -I"$ROOT/include" "$ROOT/bench/publish_cost/publish_cost.c" \
      "$RELEASE_DIR/libssecast.a" -lpthread -ldl -lm -o "$WORK/publish_cost_c" \
      && run_tool publish-cost --lang c -- "${pc[@]}" "$WORK/publish_cost_c"
  else
    log "C: include/ssecast.h or libssecast.a missing; skipped"
  fi
  local wheel; wheel="$(ls -t "$ROOT"/dist/ssecast-*.whl 2>/dev/null | head -1 || true)"
  if [[ -n "$wheel" ]]; then
    "$WORK/venv/bin/pip" install -q --force-reinstall --no-deps "$wheel" || log "Python: pip install failed"
    run_tool publish-cost --lang python -- "${pc[@]}" "$WORK/venv/bin/python" "$ROOT/bench/publish_cost/publish_cost.py"
  else
    log "Python: dist/ssecast-*.whl missing (make python-wheel); skipped"
  fi
  local node_pkg; node_pkg="$(ls -t "$ROOT"/dist/ssecast-*.tgz 2>/dev/null | head -1 || true)"
  if [[ -n "$node_pkg" ]]; then
    mkdir -p "$WORK/node-app"
    (cd "$WORK/node-app" && [[ -f package.json ]] || echo '{"private":true}' >package.json)
    (cd "$WORK/node-app" && npm install --no-audit --no-fund --silent "$node_pkg") || log "Node: npm install failed"
    cp "$ROOT/bench/publish_cost/publish_cost.js" "$WORK/node-app/"
    run_tool publish-cost --lang node -- "${pc[@]}" node "$WORK/node-app/publish_cost.js"
  else
    log "Node: dist/ssecast-*.tgz missing (make node-package); skipped"
  fi
}

# Scenario 5: the durable history (history_dir) against memory only, in one run,
# with the history on $HISTORY_DIR (default: $WORK/history; give it the disk you
# mean to use). Publish cost in process from 1 and 8 threads: a burst the
# history's queue absorbs (64 MiB), three rounds with the modes interleaved, then
# a sustained run that the history's writer paces; `always` waits for each
# fsync. Fan-out with 1,000 subscribers in process: fixed rates, three rounds
# interleaved (engine CPU per delivered event, the history's threads included),
# then the highest passing rate. Start-up with 1,000,000 events after a clean
# stop and after a kill -9.
durable() {
  local dir="${HISTORY_DIR:-$WORK/history}"
  mkdir -p "$dir"
  with_history() { [[ "$1" == memory ]] || echo --history-dir "$dir/$2" --history-sync "$1"; }
  for round in 1 2 3; do
    for history in memory batch none; do
      # shellcheck disable=SC2046
      run_tool publish-threads --threads 1,8 --bytes 64 --calls 50000 --label "burst-$round" $(with_history "$history" pt)
      # shellcheck disable=SC2046
      run_tool publish-threads --threads 1,8 --bytes 65536 --calls 100 --label "burst-$round" $(with_history "$history" pt)
    done
  done
  for history in memory batch none; do
    # shellcheck disable=SC2046
    run_tool publish-threads --threads 1,8 --bytes 64 --calls 400000 --label sustained $(with_history "$history" pt)
    # shellcheck disable=SC2046
    run_tool publish-threads --threads 1,8 --bytes 65536 --calls 2000 --label sustained $(with_history "$history" pt)
  done
  # shellcheck disable=SC2046
  run_tool publish-threads --threads 1,8 --bytes 64 --calls 2000 --label always $(with_history always pt)
  # shellcheck disable=SC2046
  run_tool publish-threads --threads 1,8 --bytes 65536 --calls 200 --label always $(with_history always pt)
  local fanout=(ladder --scenario fanout --name ssecast --inproc --server-cpu "$SERVER_CPU"
    --client-cpu "$CLIENT_CPU" --subs 1000)
  for round in 1 2 3; do
    for history in memory batch; do
      # shellcheck disable=SC2046
      run_tool "${fanout[@]}" --rates 200,800 --window 6 $(with_history "$history" ladder)
    done
  done
  for history in memory batch; do
    # shellcheck disable=SC2046
    run_tool "${fanout[@]}" --start-rate 25 --resolution 25 $(with_history "$history" ladder)
  done
  run_tool history-startup --dir "$dir/startup" --events 1000000 --repeat 3
  run_tool history-startup --dir "$dir/startup" --events 1000000 --repeat 3 --crash
  rm -rf "$dir"
}

# Scenario 6: what metrics cost. 1,000 subscribers at fixed publish rates, with
# the engine in the load tool's process (`--inproc`: engine threads pinned to
# SERVER_CPU, the tool to CLIENT_CPU), so that the engine's own CPU time per
# delivered event is measured from its threads' schedstat. The current build,
# with GET /metrics scraped every second, against the tool built from
# BASELINE_REF (main just before metrics were merged). Each rate runs both
# builds back to back, in alternating order, ROUNDS times: on a shared machine
# the speed of the core moves by 2x over minutes, so only pairs run seconds
# apart compare. A step counts when it loses nothing (the latency bound is
# loose: this compares costs).
BASELINE_REF="${BASELINE_REF:-58039861285c}"
# At 1000/s and more the engine's one thread is saturated (CPU per event is
# then 1 / rate in both builds): 500/s measures the cost itself.
METRICS_RATES="${METRICS_RATES:-100 200}"
ROUNDS="${ROUNDS:-10}"

build_baseline() {
  local src="$WORK/baseline-src" target="$WORK/baseline-target"
  BASELINE_TOOL="$target/release/ssecast-bench"
  if [[ -x "$BASELINE_TOOL" && "$(cat "$WORK/baseline-ref" 2>/dev/null)" == "$BASELINE_REF" ]]; then return; fi
  log "building ssecast-bench at $BASELINE_REF (the baseline)"
  rm -rf "$src" && mkdir -p "$src"
  git -C "$ROOT" archive "$BASELINE_REF" | tar -x -C "$src"
  (cd "$src" && cargo build --release --locked -p ssecast-bench --target-dir "$target" >/dev/null)
  echo "$BASELINE_REF" >"$WORK/baseline-ref"
}

# Waits for the in-process engine's address in the tool's stderr ($1), then
# scrapes its GET /metrics every second until killed, counting failures.
scrape_inproc() {
  local addr=""
  while [[ -z "$addr" ]]; do
    sleep 0.2
    addr="$(sed -n 's/^in-process engine on \([0-9.:]*\) .*/\1/p' "$1" | head -n 1)"
  done
  local scrapes=0 failures=0
  while sleep 1; do
    scrapes=$((scrapes + 1))
    curl -sf -o /dev/null "http://$addr/metrics" || failures=$((failures + 1))
    echo "$scrapes scrapes, $failures failed" >"$WORK/scrapes"
  done
}

metrics() {
  build_baseline
  for round in $(seq "$ROUNDS"); do
    for rate in $METRICS_RATES; do
      local order=(baseline metrics)
      (( round % 2 == 0 )) && order=(metrics baseline)
      for variant in "${order[@]}"; do
        metrics_step "$round" "$rate" "$variant"
      done
    done
  done
}

# One ladder step of the metrics scenario: round $1, rate $2, build $3.
metrics_step() {
  local round="$1" rate="$2" variant="$3"
  local tool="$RELEASE_DIR/ssecast-bench" errors="$WORK/metrics-$variant.err" scraper=""
  [[ "$variant" == baseline ]] && tool="$BASELINE_TOOL"
  : >"$errors"
  if [[ "$variant" == metrics ]]; then
    taskset -c "$CLIENT_CPU" bash -c "$(declare -f scrape_inproc); WORK='$WORK' scrape_inproc '$errors'" &
    scraper=$!
  fi
  log "round $round, $rate/s: $variant"
  timeout 300 taskset -c "$CLIENT_CPU" "$tool" ladder --scenario "metrics-r$round" \
    --name "ssecast-$variant" --inproc --server-cpu "$SERVER_CPU" --client-cpu "$CLIENT_CPU" \
    --subs 1000 --rates "$rate" --warmup 1 --window 5 --max-p99-ms 1000 \
    2>>"$errors" | tee -a "$RESULTS" || log "(failed: $variant round $round)"
  if [[ -n "$scraper" ]]; then
    kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true
    log "metrics scraped during the step: $(cat "$WORK/scrapes" 2>/dev/null)"
  fi
}

scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(fanout capacity latency publish)
setup "${scenarios[@]}"
log "servers on cpu $SERVER_CPU, load tool on cpu $CLIENT_CPU; results in $RESULTS"
echo "# run $(date -u +%FT%TZ) scenarios: ${scenarios[*]} servers: $SERVERS" >>"$RESULTS"
for scenario in "${scenarios[@]}"; do
  case "$scenario" in
    fanout|capacity|latency|publish|durable|metrics) "$scenario" ;;
    *) log "unknown scenario $scenario"; exit 2 ;;
  esac
done
python3 "$ROOT/bench/summarize.py" "$RESULTS"
