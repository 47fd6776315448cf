#!/usr/bin/env bash
# bench-proxy.sh: compare the throughput and latency of
#   (a) direct     wrk -> upstream nginx (fixed 1 KiB 200 body)
#   (b) nginx      wrk -> nginx reverse proxy (keep-alive pool) -> upstream
#   (c) tollgate   wrk -> Tollgate -> upstream
#   (e) tg-quota   wrk -> Tollgate, a route with a rate limit and a daily quota per consumer -> upstream
#   (f) tg-anon    wrk -> Tollgate, a route that looks for no credential -> upstream
#   (g) tg-key     wrk -> Tollgate, a route that takes only an API key of the directory -> upstream
#   (h) tg-jwt     wrk -> Tollgate, a route that takes only an RS256 bearer token -> upstream
#   (i) tg-bearer  wrk -> Tollgate, the route of (f), sent tg-jwt's token (unchecked there): tg-jwt's baseline
#   (j) tg-applying  wrk -> Tollgate as (c), while a new config version is applied every second
#                  through the admin API (PUT /config; each version recompiled and swapped in)
#   (k) tg-metrics   wrk -> a second Tollgate JVM serving (c)'s route only, Prometheus metrics on (the default)
#   (l) tg-nometrics wrk -> a third Tollgate JVM, the same but tollgate.metrics.enabled=false: tg-metrics' baseline
#   (m) tg-nometrics-b, tg-metrics-b  a second such pair, started (and measured) in the other order,
#                  so that on, off, off, on cancels what the JVMs' start order adds to the metrics ratio
#   (d) pekko      wrk -> a bare Pekko HTTP server answering 1 KiB itself (the framework's ceiling)
# on this machine, everything on 127.0.0.1. See loadtests/README.md.
#
# Usage: loadtests/bench-proxy.sh [--with-profile] [--help]
# Environment (defaults in brackets):
#   DURATION [15]  seconds per measured wrk run      ROUNDS [3]        rounds of all targets
#   THREADS [2]    wrk threads                       CONNECTIONS [64]  wrk connections
#   WARMUP [10]    seconds of uncounted wrk against Tollgate before measuring (0 = none)
#   UPSTREAM_PORT [18080]  NGINX_PORT [18081]  TOLLGATE_PORT [18082]  PEKKO_PORT [18083]
#   ADMIN_PORT [18084]  (Tollgate's admin API, which issues the directory key for tg-key)
#   METRICS_ON_PORT [18085]  METRICS_OFF_PORT [18086]  (the proxy ports of tg-metrics and tg-nometrics)
#   METRICS_PORT [18087]  (/metrics of tg-metrics; the main Tollgate's /metrics is on an ephemeral port)
#   METRICS_ON_PORT_B [18088]  METRICS_OFF_PORT_B [18089]  METRICS_PORT_B [18090]  (the same for the second pair)
#   TOLLGATE_JAR [<repo>/gateway-node/target/tollgate.jar]  (built with mvn when missing)
#   TOLLGATE_JAVA_OPTS [-XX:+UseParallelGC -Xms256m -Xmx512m]  (also used for the bare Pekko server)
#   SKIP_TOLLGATE [0]  1 = measure (a) and (b) only (no JVM at all)
#   PROFILE_DIR [/tmp]  where --with-profile leaves its .jfr file
#   KEEP_TMP [0]   1 = keep the temp dir (configs, logs, raw wrk output) after exit
#   ONLY [all]     the targets to measure, such as ONLY="tollgate tg-applying" (ratios of others print n/a)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

DURATION="${DURATION:-15}"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
WARMUP="${WARMUP:-10}"
UPSTREAM_PORT="${UPSTREAM_PORT:-18080}"
NGINX_PORT="${NGINX_PORT:-18081}"
TOLLGATE_PORT="${TOLLGATE_PORT:-18082}"
PEKKO_PORT="${PEKKO_PORT:-18083}"
ADMIN_PORT="${ADMIN_PORT:-18084}"
METRICS_ON_PORT="${METRICS_ON_PORT:-18085}"
METRICS_OFF_PORT="${METRICS_OFF_PORT:-18086}"
METRICS_PORT="${METRICS_PORT:-18087}"
METRICS_ON_PORT_B="${METRICS_ON_PORT_B:-18088}"
METRICS_OFF_PORT_B="${METRICS_OFF_PORT_B:-18089}"
METRICS_PORT_B="${METRICS_PORT_B:-18090}"
TOLLGATE_JAR="${TOLLGATE_JAR:-$REPO_ROOT/gateway-node/target/tollgate.jar}"
TOLLGATE_JAVA_OPTS="${TOLLGATE_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx512m}"
SKIP_TOLLGATE="${SKIP_TOLLGATE:-0}"
PROFILE_DIR="${PROFILE_DIR:-/tmp}"
KEEP_TMP="${KEEP_TMP:-0}"
WITH_PROFILE=0

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --with-profile) WITH_PROFILE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

for v in DURATION ROUNDS THREADS CONNECTIONS WARMUP UPSTREAM_PORT NGINX_PORT TOLLGATE_PORT PEKKO_PORT ADMIN_PORT \
    METRICS_ON_PORT METRICS_OFF_PORT METRICS_PORT; do
  case "${!v}" in ''|*[!0-9]*) echo "$v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
if [ "$DURATION" -lt 1 ] || [ "$ROUNDS" -lt 1 ]; then echo "DURATION and ROUNDS must be >= 1" >&2; exit 2; fi
if [ "$SKIP_TOLLGATE" = 1 ] && [ "$WITH_PROFILE" = 1 ]; then
  echo "--with-profile needs Tollgate (SKIP_TOLLGATE=1 given)" >&2; exit 2
fi

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup
TMP=""
PIDS=()          # every long-running process this script started
CURRENT_WRK=""   # the wrk (under timeout) running right now, if any

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  if [ -n "$CURRENT_WRK" ] && kill -0 "$CURRENT_WRK" 2>/dev/null; then
    kill -TERM "$CURRENT_WRK" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do                         # up to 10 s each
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "process $pid did not stop after TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    # kept on request, and on a failure (not on an interrupt) so its logs can be read
    if [ "$KEEP_TMP" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ]; }; then
      log "temp dir kept: $TMP"
    else
      rm -rf "$TMP"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools
need_install=()
command -v wrk   >/dev/null 2>&1 || need_install+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_install+=(nginx)
command -v curl  >/dev/null 2>&1 || need_install+=(curl)
command -v openssl >/dev/null 2>&1 || need_install+=(openssl)
if [ "${#need_install[@]}" -gt 0 ]; then
  log "installing from Debian packages: ${need_install[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install ${need_install[*]}"
    SUDO="sudo"
  fi
  # apt's progress goes to stderr with the script's log: stdout is the report, quoted in docs.
  $SUDO apt-get update >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_install[@]}" >&2
fi
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
command -v java >/dev/null 2>&1 || [ "$SKIP_TOLLGATE" = 1 ] || die "java not found (JDK 17 needed for Tollgate)"
if [ "$WITH_PROFILE" = 1 ]; then
  command -v jcmd >/dev/null 2>&1 || die "--with-profile needs jcmd (from the JDK)"
  command -v jfr  >/dev/null 2>&1 || die "--with-profile needs jfr (from the JDK)"
fi
CLK_TCK="$(getconf CLK_TCK)"

if [ "$SKIP_TOLLGATE" != 1 ] && [ ! -f "$TOLLGATE_JAR" ]; then
  log "$TOLLGATE_JAR missing; building it (mvn -B -DskipTests package -pl gateway-node -am)"
  (cd "$REPO_ROOT" && mvn -B -DskipTests package -pl gateway-node -am) >&2 || die "maven build failed"
  [ -f "$TOLLGATE_JAR" ] || die "build finished but $TOLLGATE_JAR is still missing"
fi

# ---------------------------------------------------------------- helpers
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in "$UPSTREAM_PORT" "$NGINX_PORT" "$TOLLGATE_PORT" "$PEKKO_PORT" "$ADMIN_PORT" "$METRICS_ON_PORT" \
    "$METRICS_OFF_PORT" "$METRICS_PORT"; do
  if [ "$SKIP_TOLLGATE" = 1 ] && [ "$p" != "$UPSTREAM_PORT" ] && [ "$p" != "$NGINX_PORT" ]; then
    continue
  fi
  port_in_use "$p" && die "port $p on 127.0.0.1 is already in use; set the *_PORT variables (see --help)"
done

TMP="$(mktemp -d /tmp/tollgate-bench.XXXXXX)"

# wait_http NAME PID URL SECONDS LOGFILE: bounded wait until URL answers 200
wait_http() {
  local name="$1" pid="$2" url="$3" secs="$4" logf="$5"
  for _ in $(seq 1 $((secs * 5))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logf:"; tail -n 30 "$logf" >&2 || true
      die "$name did not start"
    fi
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      log "$name answers at $url"; return 0
    fi
    sleep 0.2
  done
  log "$name did not answer within ${secs}s; last lines of $logf:"; tail -n 30 "$logf" >&2 || true
  die "$name not ready"
}

# check_body NAME URL [HEADER]: the response must be a 200 with exactly 1024 body bytes
check_body() {
  local out
  out="$(curl -sS -o /dev/null --max-time 5 -H "${3:-$API_KEY_HEADER}" -w '%{http_code} %{size_download}' "$2")"
  [ "$out" = "200 1024" ] || die "$1: expected '200 1024' (status, body bytes), got '$out'"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ticks PID: utime+stime of the whole process (all threads), in clock ticks
cpu_ticks() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  s="${s##*) }"                       # drop "pid (comm) "; comm may hold spaces
  # now: state ppid pgrp ... ; utime is field 12, stime field 13 of the remainder
  echo "$s" | awk '{print $12 + $13}'
}
child_pid() { pgrep -P "$1" | sed -n 1p; }

# start_nginx NAME PORT HTTP_BLOCK_BODY: private nginx, 1 worker, foreground, under $TMP/NAME
start_nginx() {
  local name="$1" port="$2" body="$3" dir="$TMP/$1"
  mkdir -p "$dir/conf" "$dir/logs" "$dir/temp"
  cat > "$dir/conf/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log error;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    default_type application/octet-stream;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
$body
}
EOF
  "$NGINX_BIN" -t -q -p "$dir/" -c "$dir/conf/nginx.conf" -e "$dir/logs/error.log" \
    > "$dir/logs/stdout.log" 2>&1 || { cat "$dir/logs/stdout.log" >&2; die "nginx config for $name invalid"; }
  "$NGINX_BIN" -p "$dir/" -c "$dir/conf/nginx.conf" -e "$dir/logs/error.log" > "$dir/logs/stdout.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_http "nginx-$name" "$pid" "http://127.0.0.1:$port/" 15 "$dir/logs/error.log"
  eval "NGINX_${name^^}_PID=$pid"
}

BODY_1K="$(head -c 1024 /dev/zero | tr '\0' 'x')"
# Sent with every request to every target: Tollgate knows it as the consumer "bench" (bench-proxy.yaml).
API_KEY_HEADER="X-Api-Key: bench-key-0123456789"

# ---------------------------------------------------------------- machine
describe_machine() {
  echo "== machine"
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc:     $(nproc)"
  echo "cpu:       $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory:    $(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel:    $(uname -srm)"
  echo "os:        $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")"
  echo "loadavg:   $(cut -d' ' -f1-3 /proc/loadavg) (at start; high values mean other work is running)"
  if command -v java >/dev/null 2>&1; then
    echo "java:      $(java -version 2>&1 | tr '\n' ';' | sed 's/;$//; s/;/ | /g')"
  fi
  echo "nginx:     $("$NGINX_BIN" -v 2>&1)"
  echo "wrk:       $( (wrk -v 2>&1 || true) | sed -n 1p | sed 's/ Copyright.*//')"
  echo "wrk args:  -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (keep-alive), rounds: $ROUNDS"
  if [ "$SKIP_TOLLGATE" != 1 ]; then
    echo "tollgate:  $TOLLGATE_JAR"
    echo "jvm opts:  $TOLLGATE_JAVA_OPTS"
    echo "warm-up:   ${WARMUP}s of wrk against Tollgate, not counted"
  fi
  echo
}

# ---------------------------------------------------------------- servers
start_nginx up "$UPSTREAM_PORT" "    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        location / { return 200 \"$BODY_1K\"; }
    }"

start_nginx proxy "$NGINX_PORT" "    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"

NGINX_UP_WORKER="$(child_pid "$NGINX_UP_PID")"
NGINX_PROXY_WORKER="$(child_pid "$NGINX_PROXY_PID")"
check_body direct "http://127.0.0.1:$UPSTREAM_PORT/"
check_body nginx  "http://127.0.0.1:$NGINX_PORT/"

TOLLGATE_PID=""
RSS_IDLE_KIB=0
declare -A MPID   # the pids of tg-metrics, tg-nometrics, tg-nometrics-b and tg-metrics-b
RSS_MAX_KIB=0
if [ "$SKIP_TOLLGATE" != 1 ]; then
  TG_CONFIG="$TMP/bench-proxy.yaml"
  sed "s#http://127.0.0.1:18080#http://127.0.0.1:$UPSTREAM_PORT#" "$SCRIPT_DIR/bench-proxy.yaml" > "$TG_CONFIG"
  # tg-jwt: an RSA key pair for this run; the issuer gets the public key, wrk a token signed with the private one.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/jwt-private.pem" 2>/dev/null
  openssl pkey -in "$TMP/jwt-private.pem" -pubout -out "$TMP/jwt-public.pem"
  {
    echo "jwt:"
    echo "  issuers:"
    echo "    - issuer: https://bench.tollgate.test/"
    echo "      audiences: [bench]"
    echo "      algorithms: [RS256]"
    echo "      pem: |"
    sed 's/^/        /' "$TMP/jwt-public.pem"
  } >> "$TG_CONFIG"
  b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  NOW="$(date +%s)"
  JWT_SIGNED="$(printf '{"alg":"RS256","typ":"JWT"}' | b64url).$(printf \
    '{"iss":"https://bench.tollgate.test/","aud":"bench","sub":"bench-jwt","iat":%d,"exp":%d}' "$NOW" \
    "$((NOW + 86400))" | b64url)"
  JWT="$JWT_SIGNED.$(printf '%s' "$JWT_SIGNED" | openssl dgst -sha256 -sign "$TMP/jwt-private.pem" -binary | b64url)"
  JWT_HEADER="Authorization: Bearer $JWT"
  read -r -a JOPTS <<< "$TOLLGATE_JAVA_OPTS"
  TG_LOG="$TMP/tollgate.log"
  log "starting Tollgate on 127.0.0.1:$TOLLGATE_PORT, admin API on 127.0.0.1:$ADMIN_PORT (config $TG_CONFIG)"
  java "${JOPTS[@]}" -Dtollgate.proxy.host=127.0.0.1 -Dtollgate.proxy.port="$TOLLGATE_PORT" \
    -Dtollgate.admin.port="$ADMIN_PORT" -Dtollgate.directory.port=0 -Dtollgate.management.port=0 -Dtollgate.storage.data-dir="$TMP/tollgate-data" \
    -Dtollgate.metrics.port=0 -jar "$TOLLGATE_JAR" run --config "$TG_CONFIG" > "$TG_LOG" 2>&1 &
  TOLLGATE_PID=$!
  PIDS+=("$TOLLGATE_PID")
  wait_http tollgate "$TOLLGATE_PID" "http://127.0.0.1:$TOLLGATE_PORT/" 90 "$TG_LOG"
  # tg-key: a consumer of the directory and a key issued to it, as an operator would make them.
  ADMIN="http://127.0.0.1:$ADMIN_PORT"
  curl -fsS --max-time 10 -o /dev/null -H 'Content-Type: application/json' -d '{"id": "bench-directory"}' \
    "$ADMIN/consumers" || die "the admin API did not create the consumer bench-directory"
  DIR_KEY="$(curl -fsS --max-time 10 -X POST "$ADMIN/consumers/bench-directory/keys" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')"
  [ -n "$DIR_KEY" ] || die "the admin API did not issue a key"
  DIR_KEY_HEADER="X-Api-Key: $DIR_KEY"
  check_body tollgate "http://127.0.0.1:$TOLLGATE_PORT/"
  check_body tg-quota "http://127.0.0.1:$TOLLGATE_PORT/quota/"
  check_body tg-anon "http://127.0.0.1:$TOLLGATE_PORT/anon/"
  check_body tg-key "http://127.0.0.1:$TOLLGATE_PORT/key/" "$DIR_KEY_HEADER"
  check_body tg-jwt "http://127.0.0.1:$TOLLGATE_PORT/jwt/" "$JWT_HEADER"
  check_body tg-bearer "http://127.0.0.1:$TOLLGATE_PORT/anon/" "$JWT_HEADER"
  # And the auth routes refuse what they must, so that they measure real checks.
  # The same signature over a payload with another subject: a tampered token.
  BAD_JWT="${JWT%%.*}.$(printf '{"iss":"https://bench.tollgate.test/","aud":"bench","sub":"bench-jwx","iat":%d,"exp":%d}' \
    "$NOW" "$((NOW + 86400))" | b64url).${JWT##*.}"
  for refused in "key/ X-Api-Key: tg_not-a-key" "key/ $API_KEY_HEADER-x" "jwt/ Authorization: Bearer $BAD_JWT"; do
    code="$(curl -sS -o /dev/null --max-time 5 -H "${refused#* }" -w '%{http_code}' "http://127.0.0.1:$TOLLGATE_PORT/${refused%% *}")"
    [ "$code" = 401 ] || die "/${refused%% *} with a wrong credential: expected 401, got $code"
  done
  sleep 2
  RSS_IDLE_KIB="$(rss_kib "$TOLLGATE_PID")"

  # tg-metrics and tg-nometrics: two more nodes alike but for the metrics switch, each serving one
  # route only, so that neither JVM's JIT has seen the other targets' code paths; then, unless ONLY
  # leaves them out, the second pair in the other order (on, off, off, on).
  PAIRS=(tg-metrics tg-nometrics)
  case " ${ONLY:-tg-metrics-b} " in *" tg-metrics-b "*|*" tg-nometrics-b "*) PAIRS+=(tg-nometrics-b tg-metrics-b) ;; esac
  for t in "${PAIRS[@]}"; do
    case "$t" in
      tg-metrics)     port="$METRICS_ON_PORT";    flag="-Dtollgate.metrics.port=$METRICS_PORT" ;;
      tg-metrics-b)   port="$METRICS_ON_PORT_B";  flag="-Dtollgate.metrics.port=$METRICS_PORT_B" ;;
      tg-nometrics)   port="$METRICS_OFF_PORT";   flag="-Dtollgate.metrics.enabled=false" ;;
      tg-nometrics-b) port="$METRICS_OFF_PORT_B"; flag="-Dtollgate.metrics.enabled=false" ;;
    esac
    log "starting Tollgate $t on 127.0.0.1:$port ($flag)"
    java "${JOPTS[@]}" -Dtollgate.proxy.host=127.0.0.1 -Dtollgate.proxy.port="$port" -Dtollgate.admin.port=0 \
      -Dtollgate.directory.port=0 -Dtollgate.management.port=0 -Dtollgate.cluster.port=0 \
      -Dtollgate.storage.data-dir="$TMP/$t-data" "$flag" -jar "$TOLLGATE_JAR" run --config "$TG_CONFIG" \
      > "$TMP/$t.log" 2>&1 &
    MPID[$t]=$!
    PIDS+=("${MPID[$t]}")
    wait_http "$t" "${MPID[$t]}" "http://127.0.0.1:$port/" 90 "$TMP/$t.log"
    check_body "$t" "http://127.0.0.1:$port/"
  done
  curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | grep -q '^tollgate_requests_total{' \
    || die "tg-metrics serves no tollgate_requests_total on http://127.0.0.1:$METRICS_PORT/metrics"

  PEKKO_LOG="$TMP/pekko-bare.log"
  log "starting a bare Pekko HTTP server on 127.0.0.1:$PEKKO_PORT"
  java "${JOPTS[@]}" -cp "$TOLLGATE_JAR" "$SCRIPT_DIR/BarePekkoServer.java" "$PEKKO_PORT" > "$PEKKO_LOG" 2>&1 &
  PEKKO_PID=$!
  PIDS+=("$PEKKO_PID")
  wait_http pekko "$PEKKO_PID" "http://127.0.0.1:$PEKKO_PORT/" 90 "$PEKKO_LOG"
  check_body pekko "http://127.0.0.1:$PEKKO_PORT/"
fi

describe_machine

# ---------------------------------------------------------------- wrk
to_ms() {  # "301.00us" / "1.23ms" / "2.01s" / "1.50m" -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
    printf "%.3f", n }'
}

# run_wrk LABEL URL SECONDS SERVER_PID [rss [HEADER]]: runs wrk, sets W_RPS W_P50 W_P99 W_ERR W_NON2XX W_REQS W_CPU
run_wrk() {
  local label="$1" url="$2" secs="$3" spid="$4" sample_rss="${5:-}" header="${6:-$API_KEY_HEADER}"
  local out="$TMP/wrk-$label.txt" t0 t1 r
  t0="$(cpu_ticks "$spid")"
  timeout -k 5 $((secs + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --latency -H "$header" "$url" \
    > "$out" 2>&1 &
  CURRENT_WRK=$!
  for _ in $(seq 1 $(((secs + 35) * 4))); do     # bounded: ends with wrk at the latest
    kill -0 "$CURRENT_WRK" 2>/dev/null || break
    if [ -n "$sample_rss" ]; then
      r="$(rss_kib "$spid")"
      [ "$r" -gt "$RSS_MAX_KIB" ] && RSS_MAX_KIB="$r"
    fi
    sleep 0.25
  done
  wait "$CURRENT_WRK" || { cat "$out" >&2; die "wrk against $url failed"; }
  CURRENT_WRK=""
  t1="$(cpu_ticks "$spid")"
  W_RPS="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  W_REQS="$(awk '/ requests in / {print $1}' "$out")"
  W_P50="$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")"
  W_P99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")"
  W_ERR="$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")"
  W_ERR="${W_ERR:-0}"
  W_NON2XX="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  W_NON2XX="${W_NON2XX:-0}"
  [ -n "$W_RPS" ] || { cat "$out" >&2; die "could not parse wrk output for $label"; }
  if [ "${W_REQS:-0}" -gt 0 ]; then
    W_CPU="$(awk -v d="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$W_REQS" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')"
  else
    W_CPU="n/a"
  fi
}

# ratio A B: A / B to two places, or n/a when either was not measured (see ONLY)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {
  if (NR == 0) { print "n/a"; exit }
  if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

TARGETS=(direct nginx)
[ "$SKIP_TOLLGATE" != 1 ] && TARGETS+=(tollgate tg-applying tg-quota tg-anon tg-key tg-bearer tg-jwt tg-metrics tg-nometrics tg-nometrics-b tg-metrics-b pekko)
if [ -n "${ONLY:-}" ]; then
  KEPT=()
  for t in "${TARGETS[@]}"; do case " $ONLY " in *" $t "*) KEPT+=("$t") ;; esac; done
  [ "${#KEPT[@]}" -gt 0 ] || die "ONLY=\"$ONLY\" names none of the targets: ${TARGETS[*]}"
  TARGETS=("${KEPT[@]}")
fi
declare -A URL SPID RPS P50 P99 HDR
URL[direct]="http://127.0.0.1:$UPSTREAM_PORT/";   SPID[direct]="$NGINX_UP_WORKER"
URL[nginx]="http://127.0.0.1:$NGINX_PORT/";       SPID[nginx]="$NGINX_PROXY_WORKER"
URL[tollgate]="http://127.0.0.1:$TOLLGATE_PORT/"; SPID[tollgate]="${TOLLGATE_PID:-0}"
URL[pekko]="http://127.0.0.1:$PEKKO_PORT/";       SPID[pekko]="${PEKKO_PID:-0}"
URL[tg-quota]="http://127.0.0.1:$TOLLGATE_PORT/quota/"; SPID[tg-quota]="${TOLLGATE_PID:-0}"
for t in tg-anon tg-key tg-jwt; do URL[$t]="http://127.0.0.1:$TOLLGATE_PORT/${t#tg-}/"; SPID[$t]="${TOLLGATE_PID:-0}"; done
for t in direct nginx tollgate tg-applying tg-quota tg-anon tg-key tg-bearer tg-jwt pekko; do HDR[$t]="$API_KEY_HEADER"; done
HDR[tg-key]="${DIR_KEY_HEADER:-}"; HDR[tg-jwt]="${JWT_HEADER:-}"
URL[tg-bearer]="${URL[tg-anon]}"; SPID[tg-bearer]="${TOLLGATE_PID:-0}"; HDR[tg-bearer]="${JWT_HEADER:-}"
URL[tg-applying]="${URL[tollgate]}"; SPID[tg-applying]="${TOLLGATE_PID:-0}"
URL[tg-metrics]="http://127.0.0.1:$METRICS_ON_PORT/"; SPID[tg-metrics]="${MPID[tg-metrics]:-0}"
URL[tg-nometrics]="http://127.0.0.1:$METRICS_OFF_PORT/"; SPID[tg-nometrics]="${MPID[tg-nometrics]:-0}"
URL[tg-metrics-b]="http://127.0.0.1:$METRICS_ON_PORT_B/"; SPID[tg-metrics-b]="${MPID[tg-metrics-b]:-0}"
URL[tg-nometrics-b]="http://127.0.0.1:$METRICS_OFF_PORT_B/"; SPID[tg-nometrics-b]="${MPID[tg-nometrics-b]:-0}"
for t in tg-metrics tg-nometrics tg-metrics-b tg-nometrics-b; do HDR[$t]="$API_KEY_HEADER"; done
APPLIED=0        # config versions applied by the tg-applying runs
APPLY_FAILED=0   # applies the admin API did not answer with 200

# apply_every_second SECONDS: PUTs the bench config once a second for SECONDS seconds (bounded), each
# time with a new comment line, so that every PUT is a new version that the node compiles and swaps in.
apply_every_second() {
  local secs="$1" i code
  for i in $(seq 1 "$secs"); do
    code="$( { cat "$TG_CONFIG"; echo "# bench apply $i at $(date +%s.%N)"; } \
      | curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X PUT -H 'Content-Type: application/yaml' \
          --data-binary @- "$ADMIN/config" || true)"
    if [ "$code" = 200 ]; then echo ok; else echo "failed $code"; fi
    sleep 1
  done
}

if [ "$SKIP_TOLLGATE" != 1 ] && [ "$WARMUP" -gt 0 ]; then
  log "warm-up: ${WARMUP}s against Tollgate (not counted)"
  run_wrk warmup "${URL[tollgate]}" "$WARMUP" "$TOLLGATE_PID"
  log "warm-up: $W_RPS req/s, errors $W_ERR, non-2xx/3xx $W_NON2XX"
  for t in tg-quota tg-anon tg-key tg-jwt; do
    case " ${TARGETS[*]} " in *" $t "*) ;; *) continue ;; esac
    run_wrk "warmup-$t" "${URL[$t]}" "$WARMUP" "$TOLLGATE_PID" "" "${HDR[$t]}"
    log "warm-up ($t): $W_RPS req/s, errors $W_ERR, non-2xx/3xx $W_NON2XX"
  done
  for t in tg-metrics tg-nometrics tg-nometrics-b tg-metrics-b; do
    case " ${TARGETS[*]} " in *" $t "*) ;; *) continue ;; esac
    run_wrk "warmup-$t" "${URL[$t]}" "$WARMUP" "${SPID[$t]}"
    log "warm-up ($t): $W_RPS req/s, errors $W_ERR, non-2xx/3xx $W_NON2XX"
  done
  run_wrk warmup-pekko "${URL[pekko]}" "$WARMUP" "$PEKKO_PID"
  sleep 1
fi

ROWS="$TMP/rows.tsv"
: > "$ROWS"
TOTAL_ERRORS=0
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    log "round $round/$ROUNDS: $t (${DURATION}s)"
    if [ "$t" = tg-applying ]; then
      apply_every_second "$DURATION" > "$TMP/applies-$round.txt" &
      APPLIER=$!
      run_wrk "$t-$round" "${URL[$t]}" "$DURATION" "${SPID[$t]}" rss "${HDR[$t]}"
      wait "$APPLIER" || true
      APPLIED=$((APPLIED + $(grep -c '^ok' "$TMP/applies-$round.txt" || true)))
      APPLY_FAILED=$((APPLY_FAILED + $(grep -c '^failed' "$TMP/applies-$round.txt" || true)))
    elif [ "${t#tg-metrics}" != "$t" ] || [ "${t#tg-nometrics}" != "$t" ]; then
      run_wrk "$t-$round" "${URL[$t]}" "$DURATION" "${SPID[$t]}" "" "${HDR[$t]}"
    elif [ "${t#tg-}" != "$t" ] || [ "$t" = tollgate ]; then
      run_wrk "$t-$round" "${URL[$t]}" "$DURATION" "${SPID[$t]}" rss "${HDR[$t]}"
    else
      run_wrk "$t-$round" "${URL[$t]}" "$DURATION" "${SPID[$t]}"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$round" "$W_RPS" "$W_P50" "$W_P99" "$W_ERR" "$W_NON2XX" "$W_CPU" >> "$ROWS"
    RPS[$t]="${RPS[$t]:-} $W_RPS"; P50[$t]="${P50[$t]:-} $W_P50"; P99[$t]="${P99[$t]:-} $W_P99"
    TOTAL_ERRORS=$((TOTAL_ERRORS + W_ERR + W_NON2XX))
    sleep 1
  done
done

# ---------------------------------------------------------------- report
echo "== results (wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, 1 KiB responses, 127.0.0.1)"
echo "cpu us/req = CPU time of the server process under test (upstream nginx worker for direct,"
echo "proxy nginx worker for nginx, the whole JVM for tollgate and pekko; the upstream is not counted) per request"
printf '%-10s %5s %12s %9s %9s %8s %8s %11s\n' target round 'req/s' 'p50 ms' 'p99 ms' 'sock err' 'non-2xx' 'cpu us/req'
while IFS=$'\t' read -r t r rps p50 p99 err n2 cpu; do
  printf '%-10s %5s %12.0f %9.3f %9.3f %8s %8s %11s\n' "$t" "$r" "$rps" "$p50" "$p99" "$err" "$n2" "$cpu"
done < "$ROWS"
echo
echo "median of $ROUNDS round(s):"
printf '%-10s %12s %9s %9s\n' target 'req/s' 'p50 ms' 'p99 ms'
declare -A MED
for t in "${TARGETS[@]}"; do
  MED[$t]="$(echo "${RPS[$t]}" | median)"
  printf '%-10s %12.0f %9s %9s\n' "$t" "${MED[$t]}" "$(echo "${P50[$t]}" | median)" "$(echo "${P99[$t]}" | median)"
done
echo
echo "nginx/direct throughput ratio (median of rounds): $(ratio "${MED[nginx]:-}" "${MED[direct]:-}")"
if [ "$SKIP_TOLLGATE" != 1 ]; then
  echo "tollgate/nginx throughput ratio (median of rounds): $(ratio "${MED[tollgate]:-}" "${MED[nginx]:-}")"
  echo "bare pekko server/nginx proxy ratio (the framework's ceiling): $(ratio "${MED[pekko]:-}" "${MED[nginx]:-}")"
  echo "tollgate/bare pekko server ratio: $(ratio "${MED[tollgate]:-}" "${MED[pekko]:-}")"
  echo "tg-applying/tollgate throughput ratio, a config applied every second on/off (median of rounds): $(ratio "${MED[tg-applying]:-}" "${MED[tollgate]:-}") ($APPLIED versions applied, $APPLY_FAILED applies failed)"
  echo "tg-quota/tollgate throughput ratio, quota filter on/off (median of rounds): $(ratio "${MED[tg-quota]:-}" "${MED[tollgate]:-}")"
  echo "tg-key/tg-anon throughput ratio, directory API key on/off (median of rounds): $(ratio "${MED[tg-key]:-}" "${MED[tg-anon]:-}")"
  echo "tg-jwt/tg-bearer throughput ratio, RS256 JWT on/off, same requests (median of rounds): $(ratio "${MED[tg-jwt]:-}" "${MED[tg-bearer]:-}")"
  echo "tg-jwt/tg-anon throughput ratio, RS256 JWT on/off, the token's bytes included (median of rounds): $(ratio "${MED[tg-jwt]:-}" "${MED[tg-anon]:-}")"
  echo "tg-metrics/tg-nometrics throughput ratio, Prometheus metrics on/off, two alike JVMs (median of rounds): $(ratio "${MED[tg-metrics]:-}" "${MED[tg-nometrics]:-}")"
  if [ -n "${MPID[tg-metrics]:-}" ]; then
    served="$(curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" \
      | awk '/^tollgate_requests_total\{/ {n += $NF} END {printf "%.0f", n}' || true)"
    echo "tg-metrics counted ${served:-?} requests in tollgate_requests_total (its /metrics, at the end)"
  fi
  # Both orders: the two metrics-on JVMs against the two metrics-off ones, round by round.
  both="$(awk -F'\t' '$1 == "tg-metrics" || $1 == "tg-metrics-b" {on[$2] += $3; n[$2]++}
      $1 == "tg-nometrics" || $1 == "tg-nometrics-b" {off[$2] += $3; n[$2]++}
      END {for (r in n) if (n[r] == 4 && off[r] > 0) printf "%s %.3f\n", r, on[r] / off[r]}' "$ROWS" | sort -n)"
  if [ -n "$both" ]; then
    echo "metrics on/off in both start orders, (tg-metrics + tg-metrics-b) / (tg-nometrics + tg-nometrics-b), round by round: $(echo "$both" | awk '{printf "%s ", $2}')"
    echo "metrics on/off in both start orders (median of rounds): $(echo "$both" | awk '{print $2}' | median)"
  fi
  note=""
  case " $TOLLGATE_JAVA_OPTS " in *" -XX:+AlwaysPreTouch "*) note=" (AlwaysPreTouch: the whole heap is resident from start)" ;; esac
  printf 'tollgate RSS: idle %.1f MiB, max under load %.1f MiB%s\n' \
    "$(awk -v k="$RSS_IDLE_KIB" 'BEGIN {print k / 1024}')" "$(awk -v k="$RSS_MAX_KIB" 'BEGIN {print k / 1024}')" "$note"
else
  echo "tollgate/nginx throughput ratio (median of rounds): n/a (SKIP_TOLLGATE=1)"
fi
echo "socket errors + non-2xx/3xx responses, all measured runs: $TOTAL_ERRORS"
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- profile
if [ "$WITH_PROFILE" = 1 ]; then
  mkdir -p "$PROFILE_DIR"
  JFR_FILE="$PROFILE_DIR/tollgate-bench-$(date +%Y%m%d-%H%M%S).jfr"
  echo
  echo "== profile: one extra ${DURATION}s Tollgate run under JFR (settings=profile), not counted above"
  jcmd "$TOLLGATE_PID" JFR.start name=bench settings=profile > "$TMP/jfr-start.log" 2>&1 \
    || { cat "$TMP/jfr-start.log" >&2; die "JFR.start failed"; }
  run_wrk "tollgate-profiled" "${URL[tollgate]}" "$DURATION" "$TOLLGATE_PID" rss
  jcmd "$TOLLGATE_PID" JFR.stop name=bench filename="$JFR_FILE" > "$TMP/jfr-stop.log" 2>&1 \
    || { cat "$TMP/jfr-stop.log" >&2; die "JFR.stop failed"; }
  printf 'profiled run: %.0f req/s, p50 %s ms, p99 %s ms (JFR overhead included)\n' "$W_RPS" "$W_P50" "$W_P99"
  echo "JFR recording: $JFR_FILE"
  echo
  echo "top 25 methods by execution samples (top frame = self time):"
  jfr print --events jdk.ExecutionSample --stack-depth 1 "$JFR_FILE" | awk '
    /stackTrace = \[/ { if ((getline line) > 0) { sub(/^[ \t]+/, "", line); sub(/[ \t]+line:.*$/, "", line); c[line]++; n++ } }
    END { for (k in c) printf "%7d %6.2f%%  %s\n", c[k], 100 * c[k] / n, k; if (n == 0) print "      0 (no samples)" }' \
    | sort -k1,1nr | sed -n '1,25p'
  echo
  echo "top 25 methods anywhere in the sampled stacks (inclusive, 64 frames deep):"
  jfr print --events jdk.ExecutionSample --stack-depth 64 "$JFR_FILE" | awk '
    /stackTrace = \[/ { inst = 1; n++; split("", seen); next }
    inst && /^[ \t]*\]/ { inst = 0; next }
    inst { l = $0; sub(/^[ \t]+/, "", l); sub(/[ \t]+line:.*$/, "", l); if (l != "..." && !(l in seen)) { seen[l] = 1; c[l]++ } }
    END { for (k in c) printf "%7d %6.2f%%  %s\n", c[k], 100 * c[k] / n, k }' \
    | sort -k1,1nr | sed -n '1,25p'
fi
