#!/usr/bin/env bash
# ha-drill.sh: failure drills against the local cluster (deploy/local/cluster.sh) under steady
# open-model load through HAProxy at about 70 % of what the cluster completes: (1) a rolling
# restart of the three nodes, (2) kill -9 of one node, (3) PostgreSQL stopped PG_DOWN_SECONDS and
# started again, (4) the client IP through the PROXY protocol, as the upstream and the per-IP limit
# see it. Prints one row per scenario (sent, 2xx, 429, 5xx, connection errors, over-admission,
# goal) and what each showed. Brings the cluster up first and takes it down at the end.
# See docs/operations.md.
#
# Usage: loadtests/ha-drill.sh [--help]
# Environment (defaults in brackets):
#   DRILL_SCENARIOS [1,2,3,4]  which scenarios, in this order
#   DRILL_KILL [entity]        whom scenario 2 kills: entity (the node hosting the consumer's
#                              quota entity) or oldest (the oldest member, with the singletons)
#   RATE [measured]            req/s to offer; unset: measure capacity briefly and offer 70 %
#   PG_DOWN_SECONDS [60]       how long PostgreSQL stays stopped in scenario 3
#   WARMUP_SECONDS [10]        steady load before the first scenario
#   CONSUMER_SHARE [0.8]       share of the requests from the quota consumer
#   CONNECTIONS [160]           keep-alive connections of the load generator
#   KEEP_CLUSTER [0]           1 = leave the cluster running at the end
#   TOLLGATE_LOCAL_DIR, TOLLGATE_LOCAL_PORT_BASE: as for cluster.sh
# Exit status: 0 when every goal is met, 1 when one is missed, 2 when the drill could not be made.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CLUSTER="$REPO_ROOT/deploy/local/cluster.sh"
BENCH_JAR="$REPO_ROOT/loadtests/target/benchmarks.jar"

case "${1:-}" in
  -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

DRILL_SCENARIOS="${DRILL_SCENARIOS:-1,2,3,4}"
DRILL_KILL="${DRILL_KILL:-entity}"
RATE="${RATE:-0}"
PG_DOWN_SECONDS="${PG_DOWN_SECONDS:-60}"
WARMUP_SECONDS="${WARMUP_SECONDS:-10}"
CONSUMER_SHARE="${CONSUMER_SHARE:-0.8}"
CONNECTIONS="${CONNECTIONS:-160}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
PORT_BASE="${TOLLGATE_LOCAL_PORT_BASE:-18500}"

case "$DRILL_KILL" in entity|oldest) ;; *) echo "DRILL_KILL must be entity or oldest, got '$DRILL_KILL'" >&2; exit 2 ;; esac
case "$DRILL_SCENARIOS" in ''|*[!1-4,]*) echo "DRILL_SCENARIOS must list some of 1,2,3,4, got '$DRILL_SCENARIOS'" >&2; exit 2 ;; esac
for v in RATE PG_DOWN_SECONDS WARMUP_SECONDS CONNECTIONS PORT_BASE; do
  case "${!v}" in ''|*[!0-9]*) echo "$v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
if [ "$PG_DOWN_SECONDS" -lt 1 ] || [ "$PG_DOWN_SECONDS" -gt 300 ] || [ "$WARMUP_SECONDS" -gt 120 ]; then
  echo "PG_DOWN_SECONDS must be 1..300 and WARMUP_SECONDS at most 120" >&2; exit 2
fi

drill_pid=""
finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$drill_pid" ] && kill -0 "$drill_pid" 2>/dev/null; then
    kill -TERM "$drill_pid" 2>/dev/null || true
    wait "$drill_pid" 2>/dev/null || true
  fi
  if [ "$KEEP_CLUSTER" != 1 ]; then
    echo "[ha-drill] taking the cluster down" >&2
    "$CLUSTER" down || rc=2
  fi
  echo "loadavg:   $(cut -d' ' -f1-3 /proc/loadavg) (end)"
  exit "$rc"
}
trap finish EXIT
trap 'exit 2' INT TERM

echo "machine:   $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r), $(java -version 2>&1 | head -n 1)"
echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "loadavg:   $(cut -d' ' -f1-3 /proc/loadavg) (start)"
# The drill's access logs would cost CPU the drill is measuring; a cluster already up keeps its own.
TOLLGATE_LOCAL_ACCESS_LOG="${TOLLGATE_LOCAL_ACCESS_LOG:-off}" "$CLUSTER" up >&2 || exit 2
[ -f "$BENCH_JAR" ] || { echo "$BENCH_JAR is missing after cluster.sh up" >&2; exit 2; }

set +e
# Bounded: each scenario's waits are bounded inside the drill; this is the outer limit.
timeout -s TERM 900 java -Xmx512m -cp "$BENCH_JAR" dev.tollgate.loadtests.ha.HaDrill \
  --cluster-script "$CLUSTER" --port-base "$PORT_BASE" --rate "$RATE" --scenarios "$DRILL_SCENARIOS" --kill "$DRILL_KILL" \
  --pg-down-seconds "$PG_DOWN_SECONDS" --warmup-seconds "$WARMUP_SECONDS" \
  --consumer-share "$CONSUMER_SHARE" --connections "$CONNECTIONS" &
drill_pid=$!
wait "$drill_pid"
rc=$?
drill_pid=""
set -e
[ "$rc" -eq 124 ] && { echo "the drill did not finish within 15 minutes" >&2; rc=2; }
exit "$rc"
