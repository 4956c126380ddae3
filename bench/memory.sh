#!/usr/bin/env bash
# Peak RSS (GNU time -v, "Maximum resident set size") of one push and one fetch of a 16 MiB segment and of a 1 GiB file,
# for the engine harness (in-process, the same code path the CLI will take) and, where they exist, `pgdr wal push/fetch`
# and pgBackRest. Usage: memory.sh <bench-bin-dir> <pgdr-jit-dir> [<pgdr-aot-dir>]
source "$(dirname "$0")/lib.sh"
BIN="$1"; JIT="$2"; AOT="${3:-}"
MEM="$BENCH_ROOT/memory"
rm -rf "$MEM"; install -d -o postgres -g postgres -m 0700 "$MEM"
as_pg sh -c "umask 077; head -c 32 /dev/urandom | base64 > $MEM/archive.key"
mapfile -t segs < <(corpus_segments)
peak() { # <label> <command...>: runs it as postgres under GNU time, records the peak RSS in MB
  local label=$1; shift
  as_pg /usr/bin/time -v -o "$MEM/time.txt" "$@" > "$MEM/out.txt" 2>&1 || { log "$label failed: $(tail -2 "$MEM/out.txt")"; kv "peak RSS: $label" "failed"; return 0; }
  kv "peak RSS: $label" "$(awk -F: '/Maximum resident set size/ { printf "%.1f MB", $2 / 1024 }' "$MEM/time.txt")"
}
bench() { peak "$1" dotnet "$BIN/pgdr-bench.dll" "${@:2}"; }
# A 1 GiB file of real WAL: 64 corpus segments end to end (the largest segment size PostgreSQL allows is 1 GiB).
big="$MEM/bigfile-1GiB"
as_pg sh -c "cat $(printf "$CORPUS/%s " "${segs[@]:0:64}") > $big"
for COMP in zstd:3 lz4:1; do
  as_pg rm -rf "$MEM/repo" "$MEM/restore"; as_pg mkdir "$MEM/repo" "$MEM/restore"
  bench "engine push 16 MiB ($COMP)" push "$MEM/repo" "$MEM/archive.key" "$COMP" 1 "$CORPUS/${segs[0]}"
  bench "engine fetch 16 MiB ($COMP)" fetch "$MEM/repo" "$MEM/archive.key" 1 "$MEM/restore" "${segs[0]}"
  bench "engine push 1 GiB ($COMP)" push "$MEM/repo" "$MEM/archive.key" "$COMP" 1 "$big"
  bench "engine fetch 1 GiB ($COMP)" fetch "$MEM/repo" "$MEM/archive.key" 1 "$MEM/restore" "bigfile-1GiB"
  cmp -s "$big" "$MEM/restore/bigfile-1GiB" || { log "1 GiB round trip differs"; exit 1; }
  as_pg rm -rf "$MEM/repo"; as_pg mkdir "$MEM/repo"
  bench "engine push 4 in parallel, 64 x 16 MiB ($COMP)" push "$MEM/repo" "$MEM/archive.key" "$COMP" 4 $(printf "$CORPUS/%s " "${segs[@]}")
done
peak "pgdr --version (JIT)" "$JIT/pgdr" --version
[ -n "$AOT" ] && [ -x "$AOT/pgdr" ] && peak "pgdr --version (NativeAOT)" "$AOT/pgdr" --version
# pgBackRest, same 16 MiB segment (its repository from pgbackrest.sh must exist)
PGBR="$BENCH_ROOT/pgbackrest"
if [ -f "$PGBR/pgbackrest-zst.conf" ]; then
  as_pg rm -rf "$PGBR/repo-zst"; as_pg mkdir -p "$PGBR/repo-zst"
  as_pg pgbackrest --config="$PGBR/pgbackrest-zst.conf" --stanza=bench --no-online stanza-create >/dev/null
  peak "pgbackrest archive-push 16 MiB (zstd:3)" pgbackrest --config="$PGBR/pgbackrest-zst.conf" --stanza=bench --archive-async=n archive-push "$PGBR/pgdata/pg_wal/${segs[0]}"
  as_pg rm -f "$MEM/restore/${segs[0]}"
  peak "pgbackrest archive-get 16 MiB (zstd:3)" pgbackrest --config="$PGBR/pgbackrest-zst.conf" --stanza=bench --archive-async=n archive-get "${segs[0]}" "$MEM/restore/${segs[0]}"
fi
as_pg rm -f "$big"

# pgdr itself, one process per call as PostgreSQL runs it: a 16 MiB segment, and a real 1 GiB segment (from a cluster
# made with --wal-segsize=1024, see make-corpus-1g.sh), JIT and NativeAOT builds.
C1G="$BENCH_ROOT/corpus-1g"
big1g=$(find "$C1G" -maxdepth 1 -type f -size "$((1024 * 1024 * 1024))c" -printf '%f\n' 2>/dev/null | sort | head -1)
for v in jit aot; do
  PGDR="$(dirname "$JIT")/$v/pgdr"; [ -x "$PGDR" ] || continue
  "$PGDR" wal push --help >/dev/null 2>&1 || continue
  for COMP in zstd:3 lz4:1; do
    for size in 16m 1g; do
      if [ "$size" = 1g ]; then [ -n "$big1g" ] || continue; src="$C1G/$big1g"; seg=$big1g; label="1 GiB"; else src="$CORPUS/${segs[0]}"; seg=${segs[0]}; label="16 MiB"; fi
      as_pg rm -rf "$MEM/repo" "$MEM/restore"; as_pg mkdir "$MEM/repo" "$MEM/restore"
      as_pg tee "$MEM/pgdr.json" >/dev/null <<JSON
{ "stanza": "mem", "repositories": [ { "name": "local", "type": "filesystem", "path": "$MEM/repo", "required": true } ],
  "compression": "$COMP", "encryption": { "keyFile": "$MEM/archive.key" } }
JSON
      peak "pgdr wal push $label ($COMP, $v)" "$PGDR" wal push --config "$MEM/pgdr.json" "$src"
      peak "pgdr wal fetch $label ($COMP, $v)" "$PGDR" wal fetch --config "$MEM/pgdr.json" "$seg" "$MEM/restore/$seg"
      cmp -s "$src" "$MEM/restore/$seg" || { log "pgdr $label round trip differs"; kv "pgdr $label round trip ($COMP, $v)" "DIFFERS"; }
    done
  done
done
as_pg rm -rf "$MEM/repo" "$MEM/restore"
