#!/usr/bin/env bash
# Async fetch of two pgdr builds, alternating, beside pgBackRest's async archive-get, over the lz4:1 repository that
# bench/async.sh left in $BENCH_ROOT/async (run wal-archive.sh, or async.sh, first). restore_command as PostgreSQL runs
# it: into RECOVERYXLOG, renamed, one process per segment, the spool emptied before each run.
#   bash bench/async-fetch-ab.sh /var/tmp/pgdr-bench/bin/aot/pgdr artifacts/pgdr-native/pgdr [rounds]
source "$(dirname "$0")/lib.sh"
A="$1"; B="$2"; ROUNDS="${3:-3}"
AS="$BENCH_ROOT/async"; cfg="$AS/pgdr-lz4-aot.json"
[ -f "$cfg" ] || { log "no $cfg: run bench/async.sh first"; exit 1; }
mapfile -t segs < <(corpus_segments)
export PGDR_BENCH_RESULTS="${PGDR_BENCH_RESULTS:-$BENCH_ROOT/results/async-fetch-ab-$(date -u +%Y%m%dT%H%M%SZ)}"; mkdir -p "$PGDR_BENCH_RESULTS"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
for label in a b; do cp "$([ $label = a ] && echo "$A" || echo "$B")" "$dir/pgdr-$label"; done; chmod -R a+rX "$dir"
fetch_all() { # $1 pgdr
  as_pg rm -rf "$AS/restore" "$AS/spool"; as_pg mkdir -p "$AS/restore" "$AS/spool"
  for _ in $(seq 1 50); do pgrep -u postgres -f -- "wal fetch-worker" >/dev/null || break; sleep 0.1; done
  local t0 t1 s; t0=$(date +%s%N)
  for s in "${segs[@]}"; do
    as_pg sh -c "'$1' wal fetch --config '$cfg' $s '$AS/restore/RECOVERYXLOG' && mv '$AS/restore/RECOVERYXLOG' '$AS/restore/$s'" || return 1
  done
  t1=$(date +%s%N)
  cmp -s "$CORPUS/${segs[-1]}" "$AS/restore/${segs[-1]}" || { log "restored ${segs[-1]} differs"; return 1; }
  echo $(( (t1 - t0) / 1000000 ))
}
for round in $(seq 1 "$ROUNDS"); do
  SYNC=0 bash "$REPO_ROOT/bench/pgbackrest.sh" lz4 2>&1 | grep "fetch async" || true
  log "round $round: pgdr A ($A) $(fetch_all "$dir/pgdr-a") ms, pgdr B ($B) $(fetch_all "$dir/pgdr-b") ms; load $(cut -d' ' -f1 /proc/loadavg)"
done
