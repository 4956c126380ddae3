#!/usr/bin/env bash
# Base backup and restore: PgDr vs pgBackRest 2.45 vs pg_basebackup, side by side in one run, on one pgbench cluster.
#
#   bash bench/backup.sh                      # as root; ~15 min on 2 cores; installs pgbackrest and time if missing
#   SCALE=22 ROUNDS=5 bash bench/backup.sh    # what produced docs/performance.md's backup table
#
# Same work for every tool: a pgbench database of SCALE (22: ~346 MB, the issue's size), a fast checkpoint, zstd level 3,
# encryption on (PgDr AES-256-GCM with a key file, pgBackRest aes-256-cbc with a passphrase), two parallel streams
# (PgDr backup.parallel = 2, pgBackRest process-max = 2), small files bundled (PgDr packs, pgBackRest repo1-bundle),
# repositories on the same local file system, every command run as the postgres OS account. One archive_command feeds
# both archives (pgdr wal push, then pgbackrest archive-push), so each backup waits for the same archiver.
# pg_basebackup writes a plain, uncompressed copy without WAL (-X none: the archive has it), the floor for copying.
#
# Steps, in each of ROUNDS rounds, tools alternating who goes first:
#   full      a full backup
#   incr      an incremental backup after a pgbench run (TPC-B, 4 clients, PGBENCH_SECONDS)
#   restore   a restore of that incremental into an empty directory
#   delta     a delta restore over a copy of it in which DIVERGE_FILES files were changed, 1 removed and 1 added
# Then the peak RSS of a PgDr full backup at SCALE and at BIG_SCALE (GNU time), the database grown in between.
# Raw numbers: $ROOT/results/<time>/results.tsv; the table at the end is the median of the rounds.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${PGDR_BENCH_ROOT:-/var/tmp/pgdr-bench-backup}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
SCALE="${SCALE:-22}"
BIG_SCALE="${BIG_SCALE:-66}"
ROUNDS="${ROUNDS:-3}"
PARALLEL="${PARALLEL:-2}"
PGBENCH_SECONDS="${PGBENCH_SECONDS:-15}"
DIVERGE_FILES="${DIVERGE_FILES:-20}"
PORT="${PORT:-54329}"
RESULTS="$ROOT/results/$(date -u +%Y-%m-%dT%H%MZ)"
TSV="$RESULTS/results.tsv"

as_pg() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now_ns() { date +%s%N; }
kv() { printf '%s\t%s\n' "$1" "$2" >> "$RESULTS/facts.tsv"; log "$1 = $2"; }

[ "$(id -u)" -eq 0 ] || { echo "run as root (the cluster and the tools run as postgres)" >&2; exit 1; }
command -v pgbackrest >/dev/null || { log "installing pgbackrest (apt)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null; }
[ -x /usr/bin/time ] || { log "installing time (apt)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

# The NativeAOT pgdr: what archive_command runs, and the build a cron job would run.
PGDR="${PGDR:-$REPO_ROOT/artifacts/pgdr-native/pgdr}"
if [ ! -x "$PGDR" ]; then log "building the NativeAOT pgdr"; bash "$REPO_ROOT/build.sh" native >&2; fi

# wait_quiet: the machine may be shared; wait (bounded) until the 1-minute load is below QUIET_LOAD before a round.
wait_quiet() {
  local end=$((SECONDS + ${QUIET_WAIT:-120})) l
  while :; do
    l=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$l" -v q="${QUIET_LOAD:-1.5}" 'BEGIN { exit !(l < q) }' && return 0
    [ $SECONDS -ge $end ] && { log "load still $l: measuring anyway (see the load column)"; return 0; }
    sleep 5
  done
}

# timed <tool> <step> <bytes> <command...>: runs the command as postgres and records wall seconds, CPU seconds and peak RSS.
timed() {
  local tool=$1 step=$2 bytes=$3 t0 t1 out
  shift 3
  out=$(mktemp)
  t0=$(now_ns)
  # time runs as root (it writes $out) around setpriv, which execs the command in the same process.
  /usr/bin/time -f '%U %S %M' -o "$out" setpriv --reuid postgres --regid postgres --init-groups -- "$@" > "$RESULTS/$tool-$step.log" 2>&1 || { log "$tool $step failed:"; tail -5 "$RESULTS/$tool-$step.log" >&2; cat "$out" >&2; exit 1; }
  t1=$(now_ns)
  read -r user sys rss < <(tail -1 "$out")
  rm -f "$out"
  local secs cpu
  secs=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.3f", n / 1e9 }')
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$step" "$secs" "$cpu" "$rss" "$bytes" "$(cut -d' ' -f1 /proc/loadavg)" >> "$TSV"
  log "$(printf 'round %s  %-12s %-8s %7s s  cpu %6s s  rss %6s kB  %s MB  load %s' "$round" "$tool" "$step" "$secs" "$cpu" "$rss" "$((bytes / 1000000))" "$(cut -d' ' -f1 /proc/loadavg)")"
}

cluster_bytes() { du -sb --exclude=pg_wal "$ROOT/pgdata" | cut -f1; }

setup() {
  log "setting up $ROOT (pgbench scale $SCALE)"
  if [ -f "$ROOT/pgdata/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$ROOT/pgdata" -m immediate stop || true; fi
  rm -rf "$ROOT/pgdata" "$ROOT/repo-pgdr" "$ROOT/repo-pgbr" "$ROOT/spool" "$ROOT/restore" "$ROOT/etc"
  install -d -o postgres -g postgres -m 0750 "$ROOT" "$ROOT/repo-pgdr" "$ROOT/repo-pgbr" "$ROOT/restore" "$ROOT/etc" "$ROOT/log" "$ROOT/lock" "$ROOT/spool"
  mkdir -p "$RESULTS"
  as_pg "$PGBIN/initdb" -D "$ROOT/pgdata" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  cat >> "$ROOT/pgdata/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$ROOT'
wal_level = replica
archive_mode = on
archive_command = '$PGDR wal push --config $ROOT/etc/pgdr.json %p && pgbackrest --config=$ROOT/etc/pgbackrest.conf --stanza=bench archive-push %p'
max_wal_size = 2GB
shared_buffers = 128MB
logging_collector = off
CONF
  head -c 32 /dev/urandom | xxd -p -c 64 > "$ROOT/etc/archive.key"
  chmod 600 "$ROOT/etc/archive.key"
  cat > "$ROOT/etc/pgdr.json" <<JSON
{ "stanza": "bench", "repositories": [ { "name": "local", "type": "filesystem", "path": "$ROOT/repo-pgdr" } ],
  "compression": "zstd:3", "encryption": { "keyFile": "$ROOT/etc/archive.key" }, "backup": { "parallel": $PARALLEL } }
JSON
  cat > "$ROOT/etc/pgbackrest.conf" <<CONF
[global]
repo1-type=posix
repo1-path=$ROOT/repo-pgbr
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-passphrase-0123456789abcdef0123456789abcdef
repo1-bundle=y
compress-type=zst
compress-level=3
process-max=$PARALLEL
start-fast=y
log-level-console=warn
log-level-stderr=warn
log-level-file=off
log-path=$ROOT/log
lock-path=$ROOT/lock
spool-path=$ROOT/spool

[bench]
pg1-path=$ROOT/pgdata
pg1-port=$PORT
pg1-socket-path=$ROOT
CONF
  chown -R postgres: "$ROOT/etc"
  as_pg "$PGBIN/pg_ctl" -D "$ROOT/pgdata" -l "$ROOT/pgdata.log" -w start >/dev/null
  as_pg pgbackrest --config="$ROOT/etc/pgbackrest.conf" --stanza=bench stanza-create >/dev/null
  as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -s "$SCALE" -q postgres 2>&1 | tail -1 >&2
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAtc 'CHECKPOINT' postgres
}

pgdr_backup() { timed pgdr "$1" "$(cluster_bytes)" "$PGDR" backup create "127.0.0.1:$PORT" --user postgres --config "$ROOT/etc/pgdr.json" --type "$2"; }
pgbr_backup() { timed pgbackrest "$1" "$(cluster_bytes)" pgbackrest --config="$ROOT/etc/pgbackrest.conf" --stanza=bench --type="$2" backup; }
basebackup() {
  rm -rf "$ROOT/restore/pgbb"
  timed pg_basebackup full "$(cluster_bytes)" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$ROOT/restore/pgbb" -X none -c fast
  rm -rf "$ROOT/restore/pgbb"
}

pgdr_restore() { # <step> <dir> [--delta]
  timed pgdr "$1" "$(cluster_bytes)" "$PGDR" restore "$2" --config "$ROOT/etc/pgdr.json" --pgdr "$PGDR" --archive-mode off ${3:-}
}
pgbr_restore() {
  timed pgbackrest "$1" "$(cluster_bytes)" pgbackrest --config="$ROOT/etc/pgbackrest.conf" --stanza=bench --pg1-path="$2" --archive-mode=off ${3:-} restore
}

# diverge <dir>: the same damage for every tool: DIVERGE_FILES relation files get 8 KiB of other bytes in their middle
# (their size unchanged, so only a checksum tells), one file is removed, one stray file added.
diverge() {
  local dir=$1 f
  for f in $(cd "$dir" && find base -type f -size +16k | sort | awk -v n="$DIVERGE_FILES" 'NR % 7 == 1 && c++ < n'); do
    dd if=/dev/urandom of="$dir/$f" bs=8192 count=1 seek=1 conv=notrunc status=none
  done
  rm -f "$dir/$(cd "$dir" && find base -type f | sort | sed -n 3p)"
  head -c 100000 /dev/urandom > "$dir/base/stray.$$"
  chown -R postgres: "$dir"
}

round_of() { # <round>: every step, tools alternating who goes first
  round=$1
  local first second
  if [ $((round % 2)) -eq 1 ]; then first=pgdr; second=pgbr; else first=pgbr; second=pgdr; fi
  wait_quiet
  for tool in $first $second; do "${tool}_backup" full full; done
  basebackup
  as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -T "$PGBENCH_SECONDS" -n postgres > /dev/null 2>&1
  wait_quiet
  for tool in $first $second; do "${tool}_backup" incr "$([ $tool = pgdr ] && echo incremental || echo incr)"; done
  wait_quiet
  for tool in $first $second; do
    rm -rf "$ROOT/restore/$tool"
    "${tool}_restore" restore "$ROOT/restore/$tool"
  done
  for tool in $first $second; do diverge "$ROOT/restore/$tool"; done
  sync
  wait_quiet
  for tool in $first $second; do "${tool}_restore" delta "$ROOT/restore/$tool" --delta; done
  rm -rf "$ROOT/restore/pgdr" "$ROOT/restore/pgbr"
}

mkdir -p "$RESULTS"
printf 'round\ttool\tstep\tseconds\tcpu\trss_kb\tbytes\tload\n' > "$TSV"
kv "pgbackrest" "$(pgbackrest version)"
kv "pgdr" "$PGDR ($("$PGDR" --version 2>/dev/null || echo '?'))"
kv "postgres" "$("$PGBIN/postgres" --version)"
kv "cpu" "$(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
kv "code" "$(git -C "$REPO_ROOT" rev-parse --short HEAD)"
setup
kv "database bytes (scale $SCALE, without pg_wal)" "$(cluster_bytes)"
for r in $(seq 1 "$ROUNDS"); do round_of "$r"; done

# Memory: a PgDr full backup's peak RSS at two database sizes.
round=rss
pgdr_backup "full-$SCALE" full
log "growing the database to scale $BIG_SCALE"
as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -s "$BIG_SCALE" -q postgres 2>&1 | tail -1 >&2
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAtc 'CHECKPOINT' postgres
kv "database bytes (scale $BIG_SCALE, without pg_wal)" "$(cluster_bytes)"
pgdr_backup "full-$BIG_SCALE" full
pgbr_backup "full-$BIG_SCALE" full

as_pg "$PGBIN/pg_ctl" -D "$ROOT/pgdata" -m fast stop >/dev/null
python3 "$REPO_ROOT/bench/backup-report.py" "$TSV" | tee "$RESULTS/results.md"
log "results in $RESULTS"
