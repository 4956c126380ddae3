#!/usr/bin/env bash
# Process start-up cost, as the postgres OS user (how archive_command runs): `--version` of each pgdr build
# (JIT = framework-dependent IL, R2R = ReadyToRun, AOT = NativeAOT), pgBackRest, and `setpriv true` as the baseline.
# When `pgdr wal push` exists, also a push of an already archived segment (all the work of one archive_command call
# except compressing and writing). Usage: startup.sh <bin-root> (holding jit/, r2r/, aot/)
#
# startup.sh --packaged <pgdr_VERSION_amd64.deb> [<NativeAOT pgdr>]: on its own, as root (needs no corpus; installs
# hyperfine and pgbackrest from apt when missing): the pgdr the Debian package ships (extracted, as it lands in
# /usr/bin), the NativeAOT pgdr it must match (default artifacts/pgdr-native/pgdr) and pgBackRest, each: --version, an
# acknowledged async push (archive_command finding its acknowledgement in the spool, the call PostgreSQL makes for
# nearly every segment in async mode) and a re-push of an archived segment (PostgreSQL retrying after a lost
# acknowledgement). One real 16 MiB segment from a fresh initdb. Prints a markdown table with uptime before and after.
source "$(dirname "$0")/lib.sh"
SP="setpriv --reuid postgres --regid postgres --init-groups --"

packaged() {
  local deb=$1 aot=${2:-$REPO_ROOT/artifacts/pgdr-native/pgdr} d="$BENCH_ROOT/packaged" seg=000000010000000000000001
  local missing=() t
  for t in hyperfine pgbackrest; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then log "apt-get install -y ${missing[*]}"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
  [ -f "$deb" ] || { log "no package at $deb (./build.sh package makes it)"; exit 1; }
  [ -x "$aot" ] || { log "no NativeAOT pgdr at $aot (./build.sh native)"; exit 1; }
  RESULTS="$BENCH_ROOT/results/packaged-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$RESULTS"
  install -d -o postgres -g postgres -m 0755 "$BENCH_ROOT"
  rm -rf "$d"; install -d -o postgres -g postgres -m 0755 "$d"
  local load_before; load_before=$(uptime)

  # The package's pgdr where dpkg puts it, and the AOT pgdr beside it; the same bytes or the comparison is void.
  as_pg dpkg-deb --extract "$deb" "$d/deb"
  as_pg install -d "$d/aot"; install -o postgres -m 0755 "$aot" "$d/aot/pgdr"
  local same=no; cmp -s "$d/deb/usr/bin/pgdr" "$d/aot/pgdr" && same=yes
  kv "packaged pgdr is byte-identical to $aot" "$same"

  # A cluster's pg_control and its first, real WAL segment (initdb writes it); pgBackRest's pg1-path is that cluster.
  as_pg "$PGBIN/initdb" -D "$d/cluster" -U postgres --no-sync >/dev/null
  as_pg mkdir -p "$d/cluster/pg_wal/archive_status" "$d/repo-sync" "$d/repo-async" "$d/spool/out" "$d/pgbr/repo" "$d/pgbr/spool/archive/bench/out" "$d/pgbr/log" "$d/pgbr/lock"
  local wal="$d/cluster/pg_wal/$seg"
  # PostgreSQL's .ready for it: pgdr's async push takes the worker's acknowledgement only for a file in a pg_wal with its
  # archive_status entry (one pushed by hand, without it, is pushed synchronously).
  as_pg touch "$d/cluster/pg_wal/archive_status/$seg.ready"
  as_pg tee "$d/sync.json" >/dev/null <<JSON
{ "stanza": "bench", "repositories": [ { "name": "local", "type": "filesystem", "path": "$d/repo-sync" } ], "compression": "zstd:3" }
JSON
  as_pg tee "$d/async.json" >/dev/null <<JSON
{ "stanza": "bench", "repositories": [ { "name": "local", "type": "filesystem", "path": "$d/repo-async" } ], "compression": "zstd:3",
  "async": { "spoolPath": "$d/spool", "parallel": 4 } }
JSON
  as_pg tee "$d/pgbackrest.conf" >/dev/null <<CONF
[global]
repo1-type=posix
repo1-path=$d/pgbr/repo
compress-type=zst
compress-level=3
log-level-console=warn
log-level-stderr=warn
log-level-file=off
log-path=$d/pgbr/log
lock-path=$d/pgbr/lock
spool-path=$d/pgbr/spool
archive-timeout=60

[bench]
pg1-path=$d/cluster
CONF
  local pgbr="pgbackrest --config=$d/pgbackrest.conf --stanza=bench"
  as_pg $pgbr --no-online stanza-create >/dev/null
  # Archived once, so the re-push rows find the segment there.
  as_pg "$d/deb/usr/bin/pgdr" wal push --config "$d/sync.json" "$wal"
  as_pg $pgbr --archive-async=n archive-push "$wal"

  local ok="$d/spool/out/$seg.ok" brok="$d/pgbr/spool/archive/bench/out/$seg.ok"
  # Each acknowledged call consumes its acknowledgement: its prepare command puts it back, untimed (hyperfine takes one
  # --prepare per command, in order; the others prepare nothing).
  local rows=(
    "baseline: setpriv true|true|$SP true"
    "pgdr --version (deb)|true|$SP $d/deb/usr/bin/pgdr --version"
    "pgdr --version (aot)|true|$SP $d/aot/pgdr --version"
    "pgbackrest version|true|$SP pgbackrest version"
    "acknowledged async push (deb)|$SP touch $ok|$SP $d/deb/usr/bin/pgdr wal push --config $d/async.json $wal"
    "acknowledged async push (aot)|$SP touch $ok|$SP $d/aot/pgdr wal push --config $d/async.json $wal"
    "acknowledged async push (pgbackrest)|$SP touch $brok|$SP $pgbr --archive-async=y archive-push $wal"
    "re-push, already archived (deb)|true|$SP $d/deb/usr/bin/pgdr wal push --config $d/sync.json $wal"
    "re-push, already archived (aot)|true|$SP $d/aot/pgdr wal push --config $d/sync.json $wal"
    "re-push, already archived (pgbackrest)|true|$SP $pgbr --archive-async=n archive-push $wal"
  )
  local args=() row name prepare
  for row in "${rows[@]}"; do
    IFS='|' read -r name prepare _ <<< "$row"
    args+=(-n "$name" --prepare "$prepare")
  done
  for row in "${rows[@]}"; do args+=("${row##*|}"); done
  hyperfine -N -w 3 -r 40 --export-json "$RESULTS/hyperfine-packaged.json" "${args[@]}" >&2
  local load_after; load_after=$(uptime)
  {
    echo "uptime before: $load_before"
    echo "uptime after:  $load_after"
    echo "packaged pgdr byte-identical to $aot: $same ($(du -h "$aot" | cut -f1))"
    echo
    python3 - "$RESULTS/hyperfine-packaged.json" <<'PY'
import json, sys
print("| command | median | mean ± sd | user + sys CPU |")
print("| --- | --- | --- | --- |")
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| {r['command']} | {r['median']*1000:.1f} ms | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} ms | {(r['user']+r['system'])*1000:.1f} ms |")
PY
  } | tee "$RESULTS/packaged.md"
  rm -rf "$d"
}

if [ "${1:-}" = --packaged ]; then
  shift
  packaged "$@"
  exit 0
fi

BINROOT="$1"
command -v hyperfine >/dev/null || { log "hyperfine missing: apt-get install -y hyperfine"; exit 1; }
cmds=("$SP true")
names=("baseline: setpriv true")
for v in jit r2r aot; do
  [ -x "$BINROOT/$v/pgdr" ] || continue
  cmds+=("$SP $BINROOT/$v/pgdr --version"); names+=("pgdr --version ($v)")
done
cmds+=("$SP pgbackrest version"); names+=("pgbackrest version")
# push of an already archived segment: prepared by pgdr-cli.sh / pgbackrest.sh
if [ -f "$BENCH_ROOT/cli/pgdr.json" ] && [ -f "$BENCH_ROOT/cli/first-segment" ]; then
  seg=$(cat "$BENCH_ROOT/cli/first-segment")
  for v in jit r2r aot; do
    [ -x "$BINROOT/$v/pgdr" ] || continue
    cmds+=("$SP $BINROOT/$v/pgdr wal push --config $BENCH_ROOT/cli/pgdr.json $CORPUS/$seg"); names+=("pgdr wal push, already archived ($v)")
  done
fi
if [ -f "$BENCH_ROOT/pgbackrest/pgbackrest-zst.conf" ]; then
  seg=$(corpus_segments | head -1)
  cmds+=("$SP pgbackrest --config=$BENCH_ROOT/pgbackrest/pgbackrest-zst.conf --stanza=bench --archive-async=n archive-push $BENCH_ROOT/pgbackrest/pgdata/pg_wal/$seg")
  names+=("pgbackrest archive-push, already archived")
fi
args=(); for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N -w 3 -r 40 --export-json "$RESULTS/hyperfine-startup.json" "${args[@]}" >&2
python3 - "$RESULTS/hyperfine-startup.json" >> "$RESULTS/facts.tsv" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"start-up: {r['command']}\t{r['mean']*1000:.1f} ms mean, {r['median']*1000:.1f} ms median, ±{r['stddev']*1000:.1f} (user {r['user']*1000:.1f} ms, sys {r['system']*1000:.1f} ms)")
PY
