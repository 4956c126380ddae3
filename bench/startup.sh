#!/usr/bin/env bash
# Process start-up cost, as the postgres OS user (how archive_command runs): `--version` of each pgdr build
# (JIT = framework-dependent IL, R2R = ReadyToRun, AOT = NativeAOT), pgBackRest, and `setpriv true` as the baseline.
# When `pgdr wal push` exists, also a push of an already archived segment (all the work of one archive_command call
# except compressing and writing). Usage: startup.sh <bin-root> (holding jit/, r2r/, aot/)
source "$(dirname "$0")/lib.sh"
BINROOT="$1"
command -v hyperfine >/dev/null || { log "hyperfine missing: apt-get install -y hyperfine"; exit 1; }
SP="setpriv --reuid postgres --regid postgres --init-groups --"
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
