#!/usr/bin/env bash
# pgBackRest (apt, 2.45) over the same corpus: posix repository, repo1-cipher-type=aes-256-cbc, compress-type zst:3
# and lz4:1. Run as the postgres OS user, as PostgreSQL would. Usage: [SYNC=0] pgbackrest.sh [zst|lz4]...
# (SYNC=0: async push and fetch only, for rounds that pair them with PgDr's async runs.)
source "$(dirname "$0")/lib.sh"
PGBR="$BENCH_ROOT/pgbackrest"
PGDATA_FAKE="$PGBR/pgdata"   # pg1-path: the corpus cluster's pg_control + PG_VERSION, and pg_wal with the corpus
command -v pgbackrest >/dev/null || { log "pgbackrest missing: apt-get install -y pgbackrest"; exit 1; }
kv "pgbackrest version" "$(pgbackrest version)"

mapfile -t segs < <(corpus_segments)
n=${#segs[@]}; bytes=$((n * SEG_BYTES))

rm -rf "$PGBR"; install -d -o postgres -g postgres -m 0700 "$PGBR"
as_pg mkdir -p "$PGDATA_FAKE/global" "$PGDATA_FAKE/pg_wal/archive_status" "$PGBR/log" "$PGBR/lock" "$PGBR/spool" "$PGBR/restore"
as_pg cp "$CLUSTER/global/pg_control" "$PGDATA_FAKE/global/"; as_pg cp "$CLUSTER/PG_VERSION" "$PGDATA_FAKE/"
for s in "${segs[@]}"; do as_pg ln "$CORPUS/$s" "$PGDATA_FAKE/pg_wal/$s"; done

conf() { # <type> <level>: writes the config file and prints its path
  local f="$PGBR/pgbackrest-$1.conf"
  as_pg tee "$f" >/dev/null <<CONF
[global]
repo1-type=posix
repo1-path=$PGBR/repo-$1
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-passphrase-0123456789abcdef0123456789abcdef
compress-type=$1
compress-level=$2
process-max=2
log-level-console=warn
log-level-stderr=warn
log-level-file=off
log-path=$PGBR/log
lock-path=$PGBR/lock
spool-path=$PGBR/spool
archive-timeout=120

[bench]
pg1-path=$PGDATA_FAKE
CONF
  echo "$f"
}
pgbr() { as_pg pgbackrest --config="$CONF" --stanza=bench "$@"; }
fresh_repo() {
  rm -rf "$PGBR/repo-$TYPE" "$PGBR/spool"; as_pg mkdir -p "$PGBR/repo-$TYPE" "$PGBR/spool"
  pgbr --no-online stanza-create >/dev/null
}
ready_all() { rm -f "$PGDATA_FAKE"/pg_wal/archive_status/*; for s in "${segs[@]}"; do as_pg touch "$PGDATA_FAKE/pg_wal/archive_status/$s.ready"; done; }

for TYPE in "${@:-zst lz4}"; do
  case $TYPE in zst) LEVEL=3; COMP=zstd:3 ;; lz4) LEVEL=1; COMP=lz4:1 ;; *) log "unknown $TYPE"; exit 1 ;; esac
  CONF=$(conf "$TYPE" "$LEVEL")
  warm_corpus

  # push, sync: one archive-push process per segment, one after the other (the PostgreSQL archiver's way).
  if [ "${SYNC:-1}" = 1 ]; then
    fresh_repo
    clock_start
    for s in "${segs[@]}"; do pgbr --archive-async=n archive-push "$PGDATA_FAKE/pg_wal/$s"; done
    record pgbackrest "push sync" "$COMP" "$n" "$bytes" $(elapsed_ns)
    kv "pgbackrest $COMP repository bytes" "$(du -sb "$PGBR/repo-$TYPE/archive" | cut -f1)"
  fi

  # push, async: every segment is .ready (a backlog), archive_command still runs once per segment in order and PostgreSQL
  # renames .ready to .done after each success; the first call starts the async process (process-max=2), later calls
  # find their acknowledgement in the spool.
  fresh_repo; ready_all
  push_all() {
    local s
    for s in "${segs[@]}"; do
      pgbr --archive-async=y archive-push "$PGDATA_FAKE/pg_wal/$s"
      as_pg mv "$PGDATA_FAKE/pg_wal/archive_status/$s.ready" "$PGDATA_FAKE/pg_wal/archive_status/$s.done"
    done
  }
  clock_start
  with_hwm "pgbackrest async archive-push processes, process-max=2 ($COMP)" "archive-push:(async|local)" push_all
  record pgbackrest "push async (process-max=2)" "$COMP" "$n" "$bytes" $(elapsed_ns)
  rm -f "$PGDATA_FAKE"/pg_wal/archive_status/*

  # fetch, sync: one archive-get per segment into an empty directory (restore_command's way).
  for mode in $([ "${SYNC:-1}" = 1 ] && echo n) y; do
    rm -rf "$PGBR/restore" "$PGBR/spool"; as_pg mkdir -p "$PGBR/restore" "$PGBR/spool"
    clock_start
    # Into RECOVERYXLOG, renamed by the harness, as PostgreSQL's restore_command %p and KeepFileRestoredFromArchive do
    # (the same for pgdr-cli.sh and async.sh).
    get_all() { local s; for s in "${segs[@]}"; do as_pg sh -c "pgbackrest --config='$CONF' --stanza=bench --archive-async=$mode archive-get $s '$PGBR/restore/RECOVERYXLOG' >/dev/null && mv '$PGBR/restore/RECOVERYXLOG' '$PGBR/restore/$s'"; done; }
    if [ "$mode" = y ]; then with_hwm "pgbackrest async archive-get processes ($COMP)" "archive-get:(async|local)" get_all; else get_all; fi
    dt=$(elapsed_ns)
    [ "$mode" = n ] && label="fetch sync" || label="fetch async (process-max=2)"
    record pgbackrest "$label" "$COMP" "$n" "$bytes" "$dt"
    for s in "${segs[0]}" "${segs[-1]}"; do cmp -s "$CORPUS/$s" "$PGBR/restore/$s" || { log "pgbackrest restored $s differs"; exit 1; }; done
  done
done

# Start-up cost: a process that does (almost) nothing, and a push of an already archived segment (pgBackRest checks
# that the archived copy has the same checksum and returns).
if [ "${SYNC:-1}" = 1 ] && command -v hyperfine >/dev/null; then
  TYPE=zst; CONF="$PGBR/pgbackrest-zst.conf"
  hyperfine -N -w 3 -r 30 --export-json "$RESULTS/hyperfine-pgbackrest.json" \
    "setpriv --reuid postgres --regid postgres --init-groups -- pgbackrest version" \
    "setpriv --reuid postgres --regid postgres --init-groups -- pgbackrest --config=$CONF --stanza=bench --archive-async=n archive-push $PGDATA_FAKE/pg_wal/${segs[0]}" \
    "setpriv --reuid postgres --regid postgres --init-groups -- true" >&2
fi
