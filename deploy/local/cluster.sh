#!/usr/bin/env bash
# cluster.sh: a three-node Tollgate cluster on this machine, on loopback addresses only: a private
# PostgreSQL 15, an echo upstream, three node JVMs (one Pekko cluster, one database) and HAProxy in
# TCP mode in front of them (PROXY protocol v2, health checks on each node's /ready).
# See docs/operations.md.
#
# Usage: deploy/local/cluster.sh COMMAND [N]
#   up              start whatever is not running (builds the jars if missing), wait until every
#                   node is ready, print where everything listens
#   down            stop everything: nodes (SIGTERM, then SIGKILL after a bounded wait), HAProxy,
#                   the upstream, PostgreSQL
#   status          each process and each node's /ready
#   restart-node N  SIGTERM node N (1..3), wait for it to exit, start it again, wait until ready
#   kill-node N     SIGKILL node N (a crash)
#   start-node N    start node N if it is not running, wait until ready
#   pg-stop         stop PostgreSQL (fast shutdown); the nodes keep running
#   pg-start        start PostgreSQL again
# Environment (defaults in brackets):
#   TOLLGATE_LOCAL_DIR [deploy/local/.state]  state: pid files, logs, generated configs, database
#   TOLLGATE_LOCAL_PORT_BASE [18500]          ports: BASE HAProxy, BASE+8 HAProxy stats page,
#                                             BASE+9 upstream, BASE+10 PostgreSQL, node N at
#                                             BASE+10N+1.. (proxy, admin, management, metrics,
#                                             remoting, directory)
#   NODE_JAVA_OPTS [-XX:+UseParallelGC -Xms128m -Xmx384m]
#   TOLLGATE_LOCAL_ACCESS_LOG [file]          file: access-N.log in the logs; off: none
#   TOLLGATE_LOCAL_DOWN_AFTER [3s]            tollgate.cluster.down-after of the nodes
#   READY_TIMEOUT [180]  STOP_TIMEOUT [45]    seconds to wait for /ready, and for a node to exit
#   PG_BIN [/usr/lib/postgresql/15/bin]       PostgreSQL's server binaries
#   PG_OS_USER [postgres]                     when run as root: the user PostgreSQL runs as
#   Other TOLLGATE_* variables reach the nodes (e.g. TOLLGATE_QUOTA_ASK_TIMEOUT=2s).
# Exit status: 0 on success, 1 on failure (with the reason), 2 on bad usage.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "[cluster] $*" >&2; }

STATE="${TOLLGATE_LOCAL_DIR:-$SCRIPT_DIR/.state}"
BASE="${TOLLGATE_LOCAL_PORT_BASE:-18500}"
NODE_JAVA_OPTS="${NODE_JAVA_OPTS:--XX:+UseParallelGC -Xms128m -Xmx384m}"
ACCESS_LOG="${TOLLGATE_LOCAL_ACCESS_LOG:-file}"
DOWN_AFTER="${TOLLGATE_LOCAL_DOWN_AFTER:-3s}"
READY_TIMEOUT="${READY_TIMEOUT:-180}"
STOP_TIMEOUT="${STOP_TIMEOUT:-45}"
NODES=3
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
TOLLGATE_JAR="$REPO_ROOT/gateway-node/target/tollgate.jar"
BENCH_JAR="$REPO_ROOT/loadtests/target/benchmarks.jar"

case "$BASE" in ''|*[!0-9]*) die "TOLLGATE_LOCAL_PORT_BASE must be a number, got '$BASE'" ;; esac
[ "$BASE" -ge 1024 ] && [ "$BASE" -le 65000 ] || die "TOLLGATE_LOCAL_PORT_BASE must be 1024..65000"
for v in READY_TIMEOUT STOP_TIMEOUT; do
  case "${!v}" in ''|*[!0-9]*) die "$v must be a number of seconds, got '${!v}'" ;; esac
done
case "$ACCESS_LOG" in file|off) ;; *) die "TOLLGATE_LOCAL_ACCESS_LOG must be file or off" ;; esac

FRONT_PORT=$BASE
STATS_PORT=$((BASE + 8))
UPSTREAM_PORT=$((BASE + 9))
PG_PORT=$((BASE + 10))
proxy_port() { echo $((BASE + 10 * $1 + 1)); }
admin_port() { echo $((BASE + 10 * $1 + 2)); }
mgmt_port() { echo $((BASE + 10 * $1 + 3)); }
metrics_port() { echo $((BASE + 10 * $1 + 4)); }
remoting_port() { echo $((BASE + 10 * $1 + 5)); }
directory_port() { echo $((BASE + 10 * $1 + 6)); }

LOGS="$STATE/logs"
RUN="$STATE/run"
PG_DIR="$STATE/pg"
PG_DATA="$PG_DIR/data"
PG_SOCKET="$PG_DIR/socket"
PG_LOG="$PG_DIR/postgres.log"

# PostgreSQL refuses to run as root: then it runs as the unprivileged user postgres.
if [ "$(id -u)" -eq 0 ]; then
  PG_OS_USER="${PG_OS_USER:-postgres}"
  id "$PG_OS_USER" >/dev/null 2>&1 || die "running as root, and there is no user '$PG_OS_USER' to run PostgreSQL as (set PG_OS_USER)"
  as_pg() { runuser -u "$PG_OS_USER" -- "$@"; }
else
  PG_OS_USER="$(id -un)"
  as_pg() { "$@"; }
fi

# ---- processes -------------------------------------------------------------------------------

# The pid in a pid file, if that process is alive and its command line holds the marker (a pid
# file left by a process long gone may name an unrelated process by now).
live_pid() {
  local file="$1" marker="$2" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null)" || return 1
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  # While a process execs (env, then setsid, then java) its command line can read empty: look twice.
  if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"; then
    sleep 0.2
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  fi
  echo "$pid"
}

# SIGTERM, wait up to $3 s, then SIGKILL.
stop_pid() {
  local pid="$1" what="$2" timeout="$3" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  say "$what (pid $pid) did not exit within ${timeout}s of SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "$what (pid $pid) survived SIGKILL"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

# ---- build -----------------------------------------------------------------------------------

ensure_jars() {
  if [ ! -f "$TOLLGATE_JAR" ] || [ ! -f "$BENCH_JAR" ]; then
    say "building gateway-node/target/tollgate.jar and loadtests/target/benchmarks.jar"
    (cd "$REPO_ROOT" && mvn -B -q -DskipTests package -pl gateway-node,loadtests -am) >&2 \
      || die "the build failed"
  fi
}

# ---- PostgreSQL ------------------------------------------------------------------------------

pg_running() { [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_psql() { as_pg "$PG_BIN/psql" -X -q -h "$PG_SOCKET" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

pg_init() {
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL at $PG_BIN (install postgresql-15, or set PG_BIN)"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$PG_OS_USER" "$PG_DIR"
    as_pg test -w "$PG_DIR" || die "user $PG_OS_USER cannot write $PG_DIR (is a parent directory closed to it?); set TOLLGATE_LOCAL_DIR"
  fi
  chmod 700 "$PG_DIR"
  as_pg mkdir -p "$PG_SOCKET"
  say "initdb $PG_DATA (as $PG_OS_USER)"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --no-locale >"$LOGS/initdb.log" 2>&1 || die "initdb failed; see $LOGS/initdb.log"
  cat >> "$PG_DATA/postgresql.conf" <<EOF
# deploy/local/cluster.sh: a private instance on loopback
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET'
max_connections = 60
EOF
}

pg_up() {
  pg_init
  if ! pg_running; then
    port_free "$PG_PORT" || die "port $PG_PORT (PostgreSQL) is in use by another process"
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null \
      || die "PostgreSQL did not start; see $PG_LOG"
  fi
  if [ "$(pg_psql -d postgres -tAc "select 1 from pg_roles where rolname = 'tollgate'")" != 1 ]; then
    pg_psql -d postgres -c "create role tollgate login password 'tollgate'"
  fi
  if [ "$(pg_psql -d postgres -tAc "select 1 from pg_database where datname = 'tollgate'")" != 1 ]; then
    pg_psql -d postgres -c "create database tollgate owner tollgate"
  fi
}

pg_down() {
  if pg_running; then
    say "stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || die "PostgreSQL did not stop"
  fi
}

# ---- upstream --------------------------------------------------------------------------------

upstream_marker="dev.tollgate.loadtests.ha.EchoUpstream $UPSTREAM_PORT"

upstream_up() {
  live_pid "$RUN/upstream.pid" "$upstream_marker" >/dev/null && return 0
  port_free "$UPSTREAM_PORT" || die "port $UPSTREAM_PORT (upstream) is in use by another process"
  say "starting the echo upstream on 127.0.0.1:$UPSTREAM_PORT"
  setsid java -Xmx128m -cp "$BENCH_JAR" $upstream_marker >"$LOGS/upstream.log" 2>&1 < /dev/null &
  echo $! > "$RUN/upstream.pid"
  local i
  for ((i = 0; i < 150; i++)); do
    [ "$(http_code "http://127.0.0.1:$UPSTREAM_PORT/")" = 200 ] && return 0
    live_pid "$RUN/upstream.pid" "$upstream_marker" >/dev/null || die "the upstream exited; see $LOGS/upstream.log"
    sleep 0.2
  done
  die "the upstream did not answer within 30 s; see $LOGS/upstream.log"
}

# ---- nodes -----------------------------------------------------------------------------------

node_marker() { echo "-Dtollgate-local.node=$1 "; }

check_node_arg() {
  case "${1:-}" in 1|2|3) ;; *) echo "cluster.sh: $2 needs a node number 1..$NODES" >&2; exit 2 ;; esac
}

write_routes() {
  # The upstream's port in the file is the default layout's; follow TOLLGATE_LOCAL_PORT_BASE.
  sed "s#http://127.0.0.1:18509#http://127.0.0.1:$UPSTREAM_PORT#" "$SCRIPT_DIR/routes.yaml" > "$STATE/routes.yaml.new"
  if ! cmp -s "$STATE/routes.yaml.new" "$STATE/routes.yaml" 2>/dev/null; then
    mv "$STATE/routes.yaml.new" "$STATE/routes.yaml"
  else
    rm -f "$STATE/routes.yaml.new"
  fi
}

node_start() {
  local n="$1" i seeds="" members=""
  live_pid "$RUN/node-$n.pid" "$(node_marker "$n")" >/dev/null && return 0
  for p in "$(proxy_port "$n")" "$(admin_port "$n")" "$(mgmt_port "$n")" "$(metrics_port "$n")" \
      "$(remoting_port "$n")" "$(directory_port "$n")"; do
    port_free "$p" || die "port $p (node $n) is in use by another process"
  done
  for ((i = 1; i <= NODES; i++)); do
    seeds+="${seeds:+, }\"127.0.0.1:$(remoting_port "$i")\""
    members+="${members:+, }\"127.0.0.1:$(directory_port "$i")\""
  done
  local access=()
  if [ "$ACCESS_LOG" = off ]; then
    access=(TOLLGATE_ACCESS_LOG_ENABLED=false)
  else
    access=(TOLLGATE_ACCESS_LOG_DESTINATION="$LOGS/access-$n.log")
  fi
  say "starting node $n (proxy 127.0.0.1:$(proxy_port "$n"))"
  echo "=== cluster.sh: node $n starting at $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$LOGS/node-$n.log"
  # Configured by TOLLGATE_* variables only. setsid: the node outlives this script, and a Ctrl-C
  # in the terminal that ran `up` does not reach it.
  # shellcheck disable=SC2086
  # The script's own TOLLGATE_LOCAL_* variables name no node setting: the node would warn of them.
  env -u TOLLGATE_LOCAL_DIR -u TOLLGATE_LOCAL_PORT_BASE -u TOLLGATE_LOCAL_ACCESS_LOG -u TOLLGATE_LOCAL_DOWN_AFTER \
    TOLLGATE_PROXY_HOST=127.0.0.1 TOLLGATE_PROXY_PORT="$(proxy_port "$n")" \
    TOLLGATE_PROXY_PROXY_PROTOCOL_ENABLED=true TOLLGATE_PROXY_PROXY_PROTOCOL_TRUSTED='["127.0.0.1/32"]' \
    TOLLGATE_ADMIN_HOST=127.0.0.1 TOLLGATE_ADMIN_PORT="$(admin_port "$n")" \
    TOLLGATE_MANAGEMENT_HOST=127.0.0.1 TOLLGATE_MANAGEMENT_PORT="$(mgmt_port "$n")" \
    TOLLGATE_METRICS_HOST=127.0.0.1 TOLLGATE_METRICS_PORT="$(metrics_port "$n")" \
    TOLLGATE_CLUSTER_HOST=127.0.0.1 TOLLGATE_CLUSTER_PORT="$(remoting_port "$n")" \
    TOLLGATE_CLUSTER_SEEDS="[$seeds]" TOLLGATE_CLUSTER_DOWN_AFTER="$DOWN_AFTER" \
    TOLLGATE_DIRECTORY_PORT="$(directory_port "$n")" TOLLGATE_DIRECTORY_MEMBERS="[$members]" \
    TOLLGATE_STORAGE_POSTGRES_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/tollgate" \
    TOLLGATE_STORAGE_POSTGRES_USER=tollgate TOLLGATE_STORAGE_POSTGRES_PASSWORD=tollgate \
    TOLLGATE_STORAGE_DATA_DIR="$STATE/node-$n" \
    TOLLGATE_SHUTDOWN_READY_DELAY=2s \
    "${access[@]}" \
    setsid java $NODE_JAVA_OPTS "$(node_marker "$n" | tr -d ' ')" -jar "$TOLLGATE_JAR" \
      run --config "$STATE/routes.yaml" >>"$LOGS/node-$n.log" 2>&1 < /dev/null &
  echo $! > "$RUN/node-$n.pid"
}

node_await_ready() {
  local n="$1" i url
  url="http://127.0.0.1:$(mgmt_port "$n")/ready"
  for ((i = 0; i < READY_TIMEOUT * 2; i++)); do
    [ "$(http_code "$url")" = 200 ] && return 0
    if ! live_pid "$RUN/node-$n.pid" "$(node_marker "$n")" >/dev/null; then
      sed -n '/^=== cluster.sh: node '"$n"' starting/h; //!H; ${x;p}' "$LOGS/node-$n.log" | tail -n 20 >&2 || true
      die "node $n exited before it was ready; see $LOGS/node-$n.log"
    fi
    sleep 0.5
  done
  die "node $n was not ready within ${READY_TIMEOUT}s ($url); see $LOGS/node-$n.log"
}

node_stop() {
  local n="$1" pid
  pid="$(live_pid "$RUN/node-$n.pid" "$(node_marker "$n")")" || { rm -f "$RUN/node-$n.pid"; return 0; }
  say "stopping node $n (pid $pid, SIGTERM)"
  stop_pid "$pid" "node $n" "$STOP_TIMEOUT"
  rm -f "$RUN/node-$n.pid"
}

node_kill() {
  local n="$1" pid i
  pid="$(live_pid "$RUN/node-$n.pid" "$(node_marker "$n")")" || die "node $n is not running"
  say "killing node $n (pid $pid, SIGKILL)"
  kill -KILL "$pid"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  rm -f "$RUN/node-$n.pid"
}

# ---- HAProxy ---------------------------------------------------------------------------------

write_haproxy_cfg() {
  local n
  {
    cat <<EOF
# Generated by deploy/local/cluster.sh (modelled on deploy/haproxy/haproxy.cfg).
global
    maxconn 4096
    stats socket $STATE/haproxy.sock mode 600 level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 65s
    timeout server 65s
    timeout client-fin 30s
    # A connection refused by a node that has just died goes to another node.
    retries 2
    option redispatch

frontend gateway
    bind 127.0.0.1:$FRONT_PORT
    default_backend tollgate

listen stats
    mode http
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /

backend tollgate
    balance leastconn
    option httpchk
    # HTTP/1.1 with a Host: the node refuses (400) a request without one, and HAProxy's default
    # check is an HTTP/1.0 request without a Host.
    http-check send meth GET uri /ready ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    # Fast checks: a stopping node answers 503 on /ready for its ready-delay (2 s here), so it
    # must be out within that. No on-marked-down shutdown-sessions: a stopping node finishes its
    # requests in flight and closes its connections itself; cutting them would fail those requests.
    default-server send-proxy-v2 check inter 250ms fastinter 250ms downinter 500ms fall 2 rise 2
EOF
    for ((n = 1; n <= NODES; n++)); do
      echo "    server node$n 127.0.0.1:$(proxy_port "$n") check port $(mgmt_port "$n")"
    done
  } > "$STATE/haproxy.cfg.new"
}

haproxy_marker() { echo "$STATE/haproxy.cfg"; }

haproxy_up() {
  local old changed=1
  command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy)"
  write_haproxy_cfg
  haproxy -c -q -f "$STATE/haproxy.cfg.new" || die "haproxy -c refused $STATE/haproxy.cfg.new"
  cmp -s "$STATE/haproxy.cfg.new" "$STATE/haproxy.cfg" 2>/dev/null && changed=0
  mv "$STATE/haproxy.cfg.new" "$STATE/haproxy.cfg"
  if old="$(live_pid "$RUN/haproxy.pid" "$(haproxy_marker)")"; then
    [ "$changed" = 1 ] || return 0
    # A running HAProxy with another config (this script changed): a soft reload, where the old
    # process finishes its connections and the new one takes the listeners.
    say "reloading HAProxy (its config changed)"
    haproxy -D -p "$RUN/haproxy.pid" -f "$STATE/haproxy.cfg" -sf "$old" >>"$LOGS/haproxy.log" 2>&1 \
      || die "HAProxy did not reload; see $LOGS/haproxy.log"
    return 0
  fi
  port_free "$FRONT_PORT" || die "port $FRONT_PORT (HAProxy) is in use by another process"
  port_free "$STATS_PORT" || die "port $STATS_PORT (HAProxy stats) is in use by another process"
  say "starting HAProxy on 127.0.0.1:$FRONT_PORT"
  haproxy -D -p "$RUN/haproxy.pid" -f "$STATE/haproxy.cfg" >"$LOGS/haproxy.log" 2>&1 \
    || die "HAProxy did not start; see $LOGS/haproxy.log"
}

haproxy_down() {
  local pid
  pid="$(live_pid "$RUN/haproxy.pid" "$(haproxy_marker)")" || { rm -f "$RUN/haproxy.pid"; return 0; }
  say "stopping HAProxy (pid $pid)"
  stop_pid "$pid" HAProxy 10
  rm -f "$RUN/haproxy.pid"
}

upstream_down() {
  local pid
  pid="$(live_pid "$RUN/upstream.pid" "$upstream_marker")" || { rm -f "$RUN/upstream.pid"; return 0; }
  say "stopping the upstream (pid $pid)"
  stop_pid "$pid" upstream 10
  rm -f "$RUN/upstream.pid"
}

# ---- commands --------------------------------------------------------------------------------

prepare_state() {
  mkdir -p "$STATE" "$LOGS" "$RUN"
}

# Stops what `up` started if `up` fails half way, so a failed start leaves nothing behind.
up_failed() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ]; then
    say "up failed: stopping what was started"
    cmd_down || true
  fi
  exit "$rc"
}

cmd_up() {
  ensure_jars
  prepare_state
  trap up_failed EXIT
  trap 'exit 130' INT TERM
  write_routes
  java -jar "$TOLLGATE_JAR" validate "$STATE/routes.yaml" >/dev/null \
    || die "$STATE/routes.yaml is invalid: java -jar $TOLLGATE_JAR validate $STATE/routes.yaml"
  pg_up
  upstream_up
  local n
  for ((n = 1; n <= NODES; n++)); do node_start "$n"; done
  haproxy_up
  for ((n = 1; n <= NODES; n++)); do node_await_ready "$n"; done
  trap - EXIT INT TERM
  print_where
}

print_where() {
  local n
  cat <<EOF

Tollgate local cluster is up (state: $STATE)
  HAProxy         127.0.0.1:$FRONT_PORT   (TCP, send-proxy-v2; stats page http://127.0.0.1:$STATS_PORT/, socket $STATE/haproxy.sock)
  upstream        127.0.0.1:$UPSTREAM_PORT   (echoes X-Forwarded-For, Forwarded, the node's port)
  PostgreSQL      127.0.0.1:$PG_PORT   (db tollgate, user tollgate, password tollgate; socket $PG_SOCKET)
EOF
  printf '  %-6s %-16s %-16s %-16s %-16s %-16s %-16s\n' node proxy admin management metrics remoting directory
  for ((n = 1; n <= NODES; n++)); do
    printf '  %-6s %-16s %-16s %-16s %-16s %-16s %-16s\n' "$n" "127.0.0.1:$(proxy_port "$n")" \
      "127.0.0.1:$(admin_port "$n")" "127.0.0.1:$(mgmt_port "$n")" "127.0.0.1:$(metrics_port "$n")" \
      "127.0.0.1:$(remoting_port "$n")" "127.0.0.1:$(directory_port "$n")"
  done
  cat <<EOF
  logs            $LOGS (node-N.log, access-N.log, upstream.log; PostgreSQL: $PG_LOG)

Try:
  curl -s -H 'X-Api-Key: local-acme-key-5d41402abc4b2a76' http://127.0.0.1:$FRONT_PORT/api/hello   # consumer acme, 20000/minute
  curl -s --interface 127.0.0.2 http://127.0.0.1:$FRONT_PORT/ip/hello   # per client IP: 5 at once, 5 a minute
  curl -s http://127.0.0.1:$(admin_port 1)/consumers/acme/usage          # what acme has used this minute
EOF
}

cmd_down() {
  local n
  for ((n = 1; n <= NODES; n++)); do
    # SIGTERM all at once, so that the last ones do not wait for the first to drain.
    local pid
    if pid="$(live_pid "$RUN/node-$n.pid" "$(node_marker "$n")")"; then
      say "stopping node $n (pid $pid, SIGTERM)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for ((n = 1; n <= NODES; n++)); do node_stop "$n"; done
  haproxy_down
  upstream_down
  pg_down
}

cmd_status() {
  local n pid rc=0
  if pg_running; then echo "postgres   running   127.0.0.1:$PG_PORT"; else echo "postgres   stopped"; rc=1; fi
  if pid="$(live_pid "$RUN/upstream.pid" "$upstream_marker")"; then
    echo "upstream   pid $pid   127.0.0.1:$UPSTREAM_PORT"
  else
    echo "upstream   stopped"; rc=1
  fi
  if pid="$(live_pid "$RUN/haproxy.pid" "$(haproxy_marker)")"; then
    echo "haproxy    pid $pid   127.0.0.1:$FRONT_PORT"
    # Each server's state as HAProxy's health checks see it, from the stats page's CSV.
    curl -s -m 2 "http://127.0.0.1:$STATS_PORT/;csv" 2>/dev/null \
      | awk -F, '$1 == "tollgate" && $2 ~ /^node/ {print "           " $2 ": " $18 " (" $37 ")"}' || true
  else
    echo "haproxy    stopped"; rc=1
  fi
  for ((n = 1; n <= NODES; n++)); do
    if pid="$(live_pid "$RUN/node-$n.pid" "$(node_marker "$n")")"; then
      echo "node $n     pid $pid   proxy 127.0.0.1:$(proxy_port "$n")   /ready $(http_code "http://127.0.0.1:$(mgmt_port "$n")/ready")"
    else
      echo "node $n     stopped"; rc=1
    fi
  done
  return "$rc"
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
command="$1"
shift
case "$command" in
  -h|--help|help) usage ;;
  up) cmd_up ;;
  down) prepare_state; cmd_down ;;
  status) prepare_state; cmd_status ;;
  restart-node)
    check_node_arg "${1:-}" restart-node
    prepare_state; ensure_jars; write_routes
    node_stop "$1"; node_start "$1"; node_await_ready "$1"
    say "node $1 is ready" ;;
  kill-node) check_node_arg "${1:-}" kill-node; prepare_state; node_kill "$1" ;;
  start-node)
    check_node_arg "${1:-}" start-node
    prepare_state; ensure_jars; write_routes
    node_start "$1"; node_await_ready "$1"
    say "node $1 is ready" ;;
  pg-stop) prepare_state; pg_down ;;
  pg-start) prepare_state; pg_up ;;
  *) echo "cluster.sh: unknown command '$command' (see --help)" >&2; exit 2 ;;
esac
