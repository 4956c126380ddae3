# Shared settings for the WAL archive benchmark (sourced by the bench/*.sh scripts).
set -euo pipefail
BENCH_ROOT="${PGDR_BENCH_ROOT:-/var/tmp/pgdr-bench}"
CORPUS="$BENCH_ROOT/corpus"          # >= 64 real 16 MiB WAL segments from pgbench (cached between runs)
CLUSTER="$BENCH_ROOT/cluster"        # the cluster that produced them (kept for its pg_control / system identifier)
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
SEGMENTS="${SEGMENTS:-64}"           # how many corpus segments a run uses
SEG_BYTES=$((16 * 1024 * 1024))
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_pg() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The first $SEGMENTS full segments of the corpus, in WAL order (24 hex digits only: no .partial, .history, .backup).
corpus_segments() {
  find "$CORPUS" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}' -size "${SEG_BYTES}c" -printf '%f\n' \
    | sort | head -n "$SEGMENTS"
}

# now_ns: monotonic-enough wall clock in nanoseconds
now_ns() { date +%s%N; }

# rate <count> <bytes> <elapsed_ns> -> "segs/s MB/s seconds" (MB = 10^6 bytes)
rate() { awk -v n="$1" -v b="$2" -v ns="$3" 'BEGIN { s = ns / 1e9; printf "%.2f %.1f %.3f\n", n / s, b / s / 1e6, s }'; }

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

RESULTS="${PGDR_BENCH_RESULTS:-$BENCH_ROOT/results/latest}"
TSV="$RESULTS/results.tsv"
# record <tool> <mode> <compression> <segments> <bytes> <elapsed_ns> [note]: one throughput row in results.tsv
record() {
  local r; r=$(rate "$4" "$5" "$6")
  set -- "$1" "$2" "$3" "$4" "$5" $r "${7:-}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$TSV"
  log "$(printf '%-10s %-26s %-8s %3s segs  %8s s  %8s seg/s  %8s MB/s  %s' "$1" "$2" "$3" "$4" "$8" "$6" "$7" "$9")"
}
# kv <key> <value>: one fact in facts.tsv (start-up times, memory, versions)
kv() { printf '%s\t%s\n' "$1" "$2" >> "$RESULTS/facts.tsv"; log "$1 = $2"; }

warm_corpus() { local f; for f in $(corpus_segments); do cat "$CORPUS/$f" > /dev/null; done; }
