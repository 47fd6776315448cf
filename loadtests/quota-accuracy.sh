#!/usr/bin/env bash
# quota-accuracy.sh: how exactly a cluster of real Tollgate nodes keeps one consumer's limit.
# Starts an embedded PostgreSQL, an upstream and NODES node JVMs on 127.0.0.1 (one cluster, one
# shared database), offers one consumer RATE req/s against a window limit of LIMIT per PER_SECONDS,
# skewed SKEW over the nodes, for DURATION s after WARMUP s, then stops the nodes with SIGTERM and
# prints admitted/limit per window and the share of decisions that waited for a quota entity.
# See loadtests/README.md.
#
# Usage: loadtests/quota-accuracy.sh [--help]
# Environment (defaults in brackets):
#   RATE [2000]  LIMIT [1000]  PER_SECONDS [1]  DURATION [60]  WARMUP [30]  SKEW [70,20,10]
#   NODE_JAVA_OPTS [-XX:+UseParallelGC -Xms128m -Xmx384m]
#   TOLLGATE_JAR [<repo>/gateway-node/target/tollgate.jar]
# Exit status: 0 when every target is met, 1 when one is not, 2 when the run could not be made.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

case "${1:-}" in
  -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

RATE="${RATE:-2000}"
LIMIT="${LIMIT:-1000}"
PER_SECONDS="${PER_SECONDS:-1}"
DURATION="${DURATION:-60}"
WARMUP="${WARMUP:-30}"
SKEW="${SKEW:-70,20,10}"
NODE_JAVA_OPTS="${NODE_JAVA_OPTS:--XX:+UseParallelGC -Xms128m -Xmx384m}"
TOLLGATE_JAR="${TOLLGATE_JAR:-$REPO_ROOT/gateway-node/target/tollgate.jar}"
BENCH_JAR="$REPO_ROOT/loadtests/target/benchmarks.jar"

for v in RATE LIMIT PER_SECONDS DURATION WARMUP; do
  case "${!v}" in ''|*[!0-9]*) echo "$v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 3600 ] || [ "$WARMUP" -gt 600 ]; then
  echo "DURATION must be 1..3600 and WARMUP at most 600" >&2; exit 2
fi

if [ ! -f "$TOLLGATE_JAR" ] || [ ! -f "$BENCH_JAR" ]; then
  echo "[quota-accuracy] building the node and load-test jars" >&2
  (cd "$REPO_ROOT" && mvn -B -q -DskipTests package -pl gateway-node,loadtests -am) >&2
fi

nodes=$(awk -F, '{print NF}' <<< "$SKEW")
cd "$REPO_ROOT"
echo "machine:   $(nproc) CPUs, $(uname -r), $(java -version 2>&1 | head -n 1)"
echo "loadavg:   $(cut -d' ' -f1-3 /proc/loadavg) (start)"
set +e
java -Xmx512m -cp "$BENCH_JAR" dev.tollgate.loadtests.quota.QuotaAccuracy \
  --jar "$TOLLGATE_JAR" --nodes "$nodes" --skew "$SKEW" --rate "$RATE" --limit "$LIMIT" \
  --per-seconds "$PER_SECONDS" --duration "$DURATION" --warmup "$WARMUP" --java-opts "$NODE_JAVA_OPTS"
rc=$?
set -e
echo "loadavg:   $(cut -d' ' -f1-3 /proc/loadavg) (end)"
exit $rc
