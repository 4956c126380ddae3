#!/usr/bin/env bash
# Async mode, PgDr ("async": {"spoolPath", "parallel"}) and the same protocol measured for pgBackRest in pgbackrest.sh:
# a fake pg_wal holding the corpus (hard links) with every segment .ready (a backlog), archive_command run once per
# segment in WAL order, .ready renamed to .done after each success as PostgreSQL does. The first call starts the
# detached worker; its peak RSS is read from /proc/<pid>/status (VmHWM) while it runs, since GNU time cannot see a
# detached process. Fetch: restore_command once per segment with the prefetch worker. Skipped when pgdr has no
# 'wal push-worker'. Usage: async.sh <bin-root> [variants] (default: aot jit)
source "$(dirname "$0")/lib.sh"
BINROOT="$1"; shift
VARIANTS=("${@:-aot jit}"); read -r -a VARIANTS <<<"${VARIANTS[*]}"
"$BINROOT/jit/pgdr" wal push-worker --help >/dev/null 2>&1 || { log "pgdr has no async mode (wal push-worker) yet: async not measured"; kv "pgdr async" "not measured: no async mode in this build"; exit 0; }
AS="$BENCH_ROOT/async"
mapfile -t segs < <(corpus_segments)
n=${#segs[@]}; bytes=$((n * SEG_BYTES))
PAR="${ASYNC_PARALLEL:-4}"

rm -rf "$AS"; install -d -o postgres -g postgres -m 0700 "$AS"
as_pg sh -c "umask 077; head -c 32 /dev/urandom | base64 > $AS/archive.key"
as_pg mkdir -p "$AS/pg_wal/archive_status"
for s in "${segs[@]}"; do as_pg ln "$CORPUS/$s" "$AS/pg_wal/$s"; done
for COMP in zstd:3 lz4:1; do
  for v in "${VARIANTS[@]}"; do
    PGDR="$BINROOT/$v/pgdr"; [ -x "$PGDR" ] || continue
    tag="${COMP%%:*}-$v"
    as_pg rm -rf "$AS/repo" "$AS/spool" "$AS/restore"; as_pg mkdir -p "$AS/repo" "$AS/spool" "$AS/restore"
    as_pg tee "$AS/pgdr-$tag.json" >/dev/null <<JSON
{
  "stanza": "bench",
  "repositories": [ { "name": "local", "type": "filesystem", "path": "$AS/repo", "required": true } ],
  "compression": "$COMP",
  "encryption": { "keyFile": "$AS/archive.key" },
  "async": { "spoolPath": "$AS/spool", "parallel": $PAR }
}
JSON
    rm -f "$AS"/pg_wal/archive_status/*; for s in "${segs[@]}"; do as_pg touch "$AS/pg_wal/archive_status/$s.ready"; done
    warm_corpus
    push_all() {
      local s
      for s in "${segs[@]}"; do
        as_pg "$PGDR" wal push --config "$AS/pgdr-$tag.json" "$AS/pg_wal/$s" || return 1
        as_pg mv "$AS/pg_wal/archive_status/$s.ready" "$AS/pg_wal/archive_status/$s.done"
      done
    }
    clock_start
    if with_hwm "pgdr async push worker, parallel $PAR ($COMP, $v)" "wal push-worker" push_all; then
      record "pgdr-$v" "push async (parallel=$PAR)" "$COMP" "$n" "$bytes" $(elapsed_ns) "archive_command + worker"
    else
      kv "pgdr async push ($COMP, $v)" "FAILED"
    fi
    fetch_all() {
      local s
      for s in "${segs[@]}"; do as_pg sh -c "'$PGDR' wal fetch --config '$AS/pgdr-$tag.json' $s '$AS/restore/RECOVERYXLOG' && mv '$AS/restore/RECOVERYXLOG' '$AS/restore/$s'" || return 1; done
    }
    clock_start
    if with_hwm "pgdr async fetch worker ($COMP, $v)" "wal fetch-worker" fetch_all; then
      record "pgdr-$v" "fetch async (parallel=$PAR)" "$COMP" "$n" "$bytes" $(elapsed_ns) "restore_command + prefetch worker"
      for s in "${segs[0]}" "${segs[-1]}"; do cmp -s "$CORPUS/$s" "$AS/restore/$s" || { log "async restored $s differs"; exit 1; }; done
    else
      kv "pgdr async fetch ($COMP, $v)" "FAILED"
    fi
    # let the detached workers go idle and exit before the next run (bounded wait)
    for _ in $(seq 1 100); do pgrep -u postgres -f -- "wal (push|fetch)-worker" >/dev/null || break; sleep 0.1; done
  done
done
