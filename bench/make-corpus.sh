#!/usr/bin/env bash
# Generates the WAL corpus once: a PostgreSQL 15 cluster archiving with `cp`, pgbench -i -s 50 and pgbench runs
# until at least $SEGMENTS (+ a margin) full 16 MiB segments are archived. Real WAL, cached in $CORPUS.
source "$(dirname "$0")/lib.sh"

want=$((SEGMENTS + 4))
have() { corpus_segments | wc -l; }
if [ -d "$CORPUS" ] && [ "$(SEGMENTS=100000 corpus_segments | wc -l)" -ge "$want" ]; then
  log "corpus: $(SEGMENTS=100000 corpus_segments | wc -l) segments cached in $CORPUS"
  exit 0
fi

PORT="${BENCH_PGPORT:-55439}"
SOCK="$BENCH_ROOT/sock"
install -d -o postgres -g postgres -m 0755 "$BENCH_ROOT"
if [ -f "$CLUSTER/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$CLUSTER" -m fast stop || true; fi
rm -rf "$CLUSTER" "$CORPUS" "$SOCK"
install -d -o postgres -g postgres -m 0750 "$CORPUS" "$SOCK"
as_pg "$PGBIN/initdb" -D "$CLUSTER" -U postgres --auth=trust >/dev/null
cat >> "$CLUSTER/postgresql.conf" <<CONF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $CORPUS/%f && cp %p $CORPUS/%f'
max_wal_size = 4GB
checkpoint_timeout = 30min
shared_buffers = 256MB
CONF
as_pg "$PGBIN/pg_ctl" -D "$CLUSTER" -l "$BENCH_ROOT/cluster.log" -w start >/dev/null
export PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres
log "pgbench -i -s 50"
as_pg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -U postgres -i -s 50 -q postgres >/dev/null 2>&1
# Alternate TPC-B runs (20 s, synchronous_commit off so 2 cores make WAL fast) and re-initialisations (COPY, index
# builds, vacuum), at most 8 rounds, until enough segments are archived: a mix of the WAL a busy primary writes.
for round in $(seq 1 8); do
  n=$(SEGMENTS=100000 corpus_segments | wc -l)
  log "corpus: $n segments archived"
  [ "$n" -ge "$want" ] && break
  PGOPTIONS='-c synchronous_commit=off' as_pg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -U postgres -c 4 -j 2 -T 20 postgres >/dev/null 2>&1
  n=$(SEGMENTS=100000 corpus_segments | wc -l)
  [ "$n" -ge "$want" ] && break
  as_pg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -U postgres -i -s 50 -q postgres >/dev/null 2>&1
  as_pg "$PGBIN/psql" -h "$SOCK" -p "$PORT" -U postgres -qAtc 'select pg_switch_wal()' postgres >/dev/null
  sleep 3
done
as_pg "$PGBIN/psql" -h "$SOCK" -p "$PORT" -U postgres -qAtc 'checkpoint; select pg_switch_wal()' postgres >/dev/null
sleep 2
as_pg "$PGBIN/pg_ctl" -D "$CLUSTER" -m fast stop >/dev/null
n=$(SEGMENTS=100000 corpus_segments | wc -l)
[ "$n" -ge "$SEGMENTS" ] || { log "only $n segments: not enough"; exit 1; }
log "corpus ready: $n segments, system identifier $("$PGBIN/pg_controldata" "$CLUSTER" | awk -F: '/system identifier/ {gsub(/ /,"",$2); print $2}')"
