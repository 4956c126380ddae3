#!/usr/bin/env bash
# One real 1 GiB WAL segment (initdb --wal-segsize=1024, the largest PostgreSQL allows), for the memory check:
# pgdr wal push refuses a file whose length differs from the segment size in its header, so a 1 GiB file made of
# 16 MiB segments cannot be pushed through the CLI. Cached in $BENCH_ROOT/corpus-1g.
source "$(dirname "$0")/lib.sh"
C1G="$BENCH_ROOT/corpus-1g"; CL="$BENCH_ROOT/cluster-1g"; SOCK="$BENCH_ROOT/sock-1g"; PORT="${BENCH_PGPORT_1G:-55440}"
big_segments() { find "$C1G" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}' -size "$((1024 * 1024 * 1024))c" -printf '%f\n' | sort; }
if [ -d "$C1G" ] && [ -n "$(big_segments)" ]; then log "1 GiB segment cached: $(big_segments | head -1)"; exit 0; fi
if [ -f "$CL/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$CL" -m fast stop || true; fi
rm -rf "$CL" "$C1G" "$SOCK"; install -d -o postgres -g postgres -m 0750 "$C1G" "$SOCK"
as_pg "$PGBIN/initdb" -D "$CL" -U postgres --auth=trust --wal-segsize=1024 >/dev/null
cat >> "$CL/postgresql.conf" <<CONF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
archive_mode = on
archive_command = 'test ! -f $C1G/%f && cp %p $C1G/%f'
max_wal_size = 8GB
min_wal_size = 2GB
CONF
as_pg "$PGBIN/pg_ctl" -D "$CL" -l "$BENCH_ROOT/cluster-1g.log" -w start >/dev/null
for i in 1 2 3; do
  [ -n "$(big_segments)" ] && break
  log "1 GiB segment: pgbench -i -s 60 (round $i)"
  as_pg "$PGBIN/pgbench" -h "$SOCK" -p "$PORT" -U postgres -i -s 60 -q postgres >/dev/null 2>&1
  as_pg "$PGBIN/psql" -h "$SOCK" -p "$PORT" -U postgres -qAtc 'select pg_switch_wal()' postgres >/dev/null
  for _ in $(seq 1 60); do [ -n "$(big_segments)" ] && break; sleep 1; done
done
as_pg "$PGBIN/pg_ctl" -D "$CL" -m fast stop >/dev/null
[ -n "$(big_segments)" ] || { log "no 1 GiB segment archived"; exit 1; }
log "1 GiB segments: $(big_segments | tr '\n' ' ')"
