#!/usr/bin/env bash
# What synchronous replication costs a commit with the standby in another region (docs/performance.md, "Commit latency").
#   bash bench/commit-latency.sh [commits per level, default 200] [one-way latencies in ms, default 0,40]
# Builds bench/PgDr.Bench (not in PgDr.sln), which brings up a primary and a standby in a sandbox, puts the tests' TCP
# proxy between them, and times single-row commits for each synchronous_commit level at each latency. ~2 minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${PGDR_BENCH_ROOT:-/var/tmp/pgdr-bench}/commit-latency-bin"
dotnet build "$root/bench/PgDr.Bench/PgDr.Bench.csproj" -c Release -o "$out" -nologo -v quiet >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
dotnet "$out/pgdr-bench.dll" commit-latency "${1:-200}" "${2:-0,40}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
