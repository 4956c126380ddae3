#!/usr/bin/env bash
# RTO of switchover and manual failover across a simulated inter-region link (bench/PgDr.FailoverBench), sync and
# async, each step's share. Not a test: results go to bench/results/<time>/failover.txt and docs/performance.md.
#   RUNS=3 LATENCY_MS=40 bench/failover.sh
#   RUNS=3 LATENCY_MS=40 MODES=agent bench/failover.sh     automated failover by the node agents (docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
LATENCY_MS=${LATENCY_MS:-40}
MODES=${MODES:-switchover-sync,switchover-async,failover-sync,failover-async}
out="bench/results/$(date -u +%Y-%m-%dT%H%MZ)"
mkdir -p "$out"
work=$(mktemp -d /tmp/pgdr-failover-bench.XXXXXX)
chmod 755 "$work"
dotnet build bench/PgDr.FailoverBench -c Release -o "$work/bin" -nologo -v quiet >"$out/build-failover-bench.log" 2>&1
{ uptime; "$work/bin/pgdr-failover-bench" "$RUNS" "$LATENCY_MS" "$work/runs" "$MODES"; uptime; } | tee "$out/failover.txt"
rm -rf "$work"
