#!/usr/bin/env bash
# How close to the machine's compression limit any archiver can get in async mode, given the archive_command protocol
# on the same two cores. The compression CLIs compress the corpus on two processes (the limit), then the same while
# PostgreSQL's side of the protocol runs beside them: 64 sequential archive_command calls with their .ready renames,
# each call either a process that does nothing (what no archiver escapes) or `pgdr wal push` that finds its
# acknowledgement already in the spool (the least a pgdr call can do). alone / beside is the ceiling for a tool whose
# worker were exactly as cheap as the CLI. Repetitions alternate the three runs, so each ratio compares one phase of
# the VM. Usage: protocol-ceiling.sh <pgdr-aot-dir> [repetitions]
source "$(dirname "$0")/lib.sh"
PGDR="$1/pgdr"; REPS="${2:-9}"
mapfile -t segs < <(corpus_segments)
n=${#segs[@]}; bytes=$((n * SEG_BYTES)); half=$((n / 2))
CE="$BENCH_ROOT/ceiling"
rm -rf "$CE"; install -d -o postgres -g postgres -m 0700 "$CE"
as_pg mkdir -p "$CE/pg_wal/archive_status" "$CE/spool/out" "$CE/repo"
for s in "${segs[@]}"; do as_pg ln "$CORPUS/$s" "$CE/pg_wal/$s"; done
as_pg tee "$CE/pgdr.json" >/dev/null <<JSON
{ "stanza": "bench", "repositories": [ { "name": "local", "type": "filesystem", "path": "$CE/repo", "required": true } ],
  "compression": "lz4:1", "async": { "spoolPath": "$CE/spool", "parallel": 4 } }
JSON

compress() { # <zstd|lz4>: the two halves of the corpus on two single-thread processes, into /dev/null
  if [ "$1" = zstd ]; then
    zstd -q -3 -c "${segs[@]:0:$half}" > /dev/null & zstd -q -3 -c "${segs[@]:$half}" > /dev/null & wait
  else
    cat "${segs[@]:0:$half}" | lz4 -q -1 -c > /dev/null & cat "${segs[@]:$half}" | lz4 -q -1 -c > /dev/null & wait
  fi
}
# Every segment .ready, and (for the pgdr calls) its acknowledgement waiting in the spool.
prepare() { as_pg find "$CE/pg_wal/archive_status" "$CE/spool/out" -type f -delete; for s in "${segs[@]}"; do as_pg touch "$CE/pg_wal/archive_status/$s.ready" "$CE/spool/out/$s.ok"; done; }
protocol() { # <noop|pgdr>: PostgreSQL's archiver loop
  local s
  for s in "${segs[@]}"; do
    if [ "$1" = noop ]; then as_pg true; else as_pg "$PGDR" wal push --config "$CE/pgdr.json" "$CE/pg_wal/$s" || return 1; fi
    as_pg mv "$CE/pg_wal/archive_status/$s.ready" "$CE/pg_wal/archive_status/$s.done"
  done
}
timed() { local t0; t0=$(now_ns); "$@"; echo $(( $(now_ns) - t0 )); }
beside() { compress "$1" & protocol "$2"; wait; }

# The three runs of one repetition, for the compression in $COMP ($c its CLI).
alone() { record ceiling "$c CLI x2 alone" "$COMP" "$n" "$bytes" "$(timed compress "$c")" "the limit, this repetition"; }
noop() { prepare; record ceiling "$c CLI x2 beside no-op archive_commands" "$COMP" "$n" "$bytes" "$(timed beside "$c" noop)" "64 x (no-op process + mv of .ready) beside"; }
pgdr() { prepare; record ceiling "$c CLI x2 beside acknowledged pgdr calls" "$COMP" "$n" "$bytes" "$(timed beside "$c" pgdr)" "64 x (pgdr wal push finding its .ok + mv of .ready) beside"; }

cd "$CORPUS"
warm_corpus
for COMP in zstd:3 lz4:1; do
  c=${COMP%%:*}
  for rep in $(seq 1 "$REPS"); do
    # the VM drifts: the limit runs first in odd repetitions and last in even ones
    if [ $((rep % 2)) = 1 ]; then alone; noop; pgdr; else pgdr; noop; alone; fi
  done
done
as_pg rm -rf "$CE"
