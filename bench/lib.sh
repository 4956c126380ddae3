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
# CPU time of the finished children of this shell (user+sys, ms), without forking (a subshell would see 0).
CPU_FILE=$(mktemp /tmp/pgdr-bench-cpu.XXXXXX); trap 'rm -f "$CPU_FILE" "$CPU_FILE".c0 "$CPU_FILE".c1' EXIT
cpu_ms() { times > "$CPU_FILE"; awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60000 + a[2] * 1000 }; printf "%d", t }' "$CPU_FILE"; }
# clock_start: marks the start of a measured run (wall clock in t0, children CPU in C0)
clock_start() { t0=$(now_ns); t_done=""; cpu_ms > "$CPU_FILE.c0"; }
# elapsed_ns: wall time of the run since clock_start, up to the moment its command finished (with_hwm sets t_done, so
# the watcher's shutdown is not counted) or up to now.
elapsed_ns() { echo $(( ${t_done:-$(now_ns)} - t0 )); }
# record <tool> <mode> <compression> <segments> <bytes> <elapsed_ns> [note]: one throughput row in results.tsv; when
# clock_start was used, the note also gets the CPU seconds the run's (waited-for) processes used: a number that a busy
# shared machine disturbs much less than the wall clock.
record() {
  local r cpu=""
  if [ -s "$CPU_FILE.c0" ]; then
    cpu_ms > "$CPU_FILE.c1"   # not $(cpu_ms): a subshell sees no children
    cpu="cpu $(awk -v a="$(cat "$CPU_FILE.c0")" -v b="$(cat "$CPU_FILE.c1")" 'BEGIN { printf "%.2f", (b - a) / 1000 }') s"; : > "$CPU_FILE.c0"
  fi
  r=$(rate "$4" "$5" "$6")
  # the machine may be shared: keep the 1-minute load average next to every number
  set -- "$1" "$2" "$3" "$4" "$5" $r "${7:+$7; }${cpu:+$cpu; }load $(cut -d' ' -f1 /proc/loadavg)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$TSV"
  log "$(printf '%-10s %-26s %-8s %3s segs  %8s s  %8s seg/s  %8s MB/s  %s' "$1" "$2" "$3" "$4" "$8" "$6" "$7" "$9")"
}
# kv <key> <value>: one fact in facts.tsv (start-up times, memory, versions)
kv() { printf '%s\t%s\n' "$1" "$2" >> "$RESULTS/facts.tsv"; log "$1 = $2"; }

warm_corpus() { local f; for f in $(corpus_segments); do cat "$CORPUS/$f" > /dev/null; done; }

# watch_hwm <regex> <out>: the highest VmHWM (peak RSS, kB) of postgres-owned processes whose command line matches,
# written to <out> until <out>.stop exists (at most 300 s). For detached workers, which GNU time cannot see.
watch_hwm() {
  local re=$1 out=$2 max=0 pid h end=$((SECONDS + 300))
  while [ ! -e "$out.stop" ] && [ $SECONDS -lt $end ]; do
    for pid in $(pgrep -u postgres -f -- "$re" || true); do
      h=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null); h=${h:-0}
      [ "$h" -gt "$max" ] && max=$h
    done
    echo "$max" > "$out"; sleep 0.2   # each pass forks pgrep and awk: at 50 ms it took ~3 % of a core from the run it measured
  done
}
# with_hwm <label> <regex> <command...>: runs the command with the watcher on and records the peak RSS as a fact.
with_hwm() {
  local label=$1 re=$2 f; shift 2
  f=$(mktemp "$BENCH_ROOT/hwm.XXXX"); rm -f "$f.stop"
  watch_hwm "$re" "$f" & local w=$!
  local rc=0; "$@" || rc=$?
  t_done=$(now_ns)   # the run ends here: the watcher's last poll and shutdown below are not part of it
  sleep 0.3; touch "$f.stop"; wait "$w"
  : > "$CPU_FILE.c0"   # the watcher's own CPU would pollute the run's, and detached workers are not counted anyway
  kv "peak RSS: $label" "$(awk '{printf "%.1f MB", $1 / 1024}' "$f")"; rm -f "$f" "$f.stop"
  return $rc
}

# wait_quiet [max-seconds]: the machine may be shared (builds, test suites): wait, bounded, until the 1-minute load
# average is below QUIET_LOAD (default 1.5) before a measurement, and say so when it never gets there.
wait_quiet() {
  local max=${1:-${QUIET_WAIT:-300}} end=$((SECONDS + ${1:-${QUIET_WAIT:-300}})) l
  while :; do
    l=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$l" -v q="${QUIET_LOAD:-1.5}" 'BEGIN { exit !(l < q) }' && return 0
    if [ $SECONDS -ge $end ]; then log "load still $l after ${max}s: measuring anyway (see the load column)"; return 0; fi
    sleep 5
  done
}
