#!/usr/bin/env bash
# `pgdr wal push` / `pgdr wal fetch` exactly as PostgreSQL calls them: one process per segment, one after the other,
# as the postgres OS user, filesystem repository, AES-256-GCM key file, zstd:3 and lz4:1.
# Usage: pgdr-cli.sh <bin-root holding jit/ and aot/> [variants...] (default: jit aot)
source "$(dirname "$0")/lib.sh"
BINROOT="$1"; shift
VARIANTS=("${@:-jit aot}"); read -r -a VARIANTS <<<"${VARIANTS[*]}"
CLI="$BENCH_ROOT/cli"
mapfile -t segs < <(corpus_segments)
n=${#segs[@]}; bytes=$((n * SEG_BYTES))
"$BINROOT/jit/pgdr" wal push --help >/dev/null 2>&1 || { log "pgdr has no 'wal push' yet: CLI not measured"; kv "pgdr CLI" "not measured (no wal push)"; exit 0; }
rm -rf "$CLI"; install -d -o postgres -g postgres -m 0700 "$CLI"
as_pg sh -c "umask 077; head -c 32 /dev/urandom | base64 > $CLI/archive.key"
# "required": true is spelled out: on main (f95a85d) an entry without it is read as required=false (init-only
# property defaults are lost by the System.Text.Json source generator), so the documented shape is refused.
config() { # <comp> <repo-dir> <tag> -> writes $CLI/pgdr-<tag>.json
  as_pg tee "$CLI/pgdr-$3.json" >/dev/null <<JSON
{
  "stanza": "bench",
  "repositories": [ { "name": "local", "type": "filesystem", "path": "$2", "required": true } ],
  "compression": "$1",
  "encryption": { "keyFile": "$CLI/archive.key" }
}
JSON
}
for COMP in zstd:3 lz4:1; do
  tag=${COMP%%:*}
  for v in "${VARIANTS[@]}"; do
    PGDR="$BINROOT/$v/pgdr"; [ -x "$PGDR" ] || { log "no $v build: skipped"; continue; }
    repo="$CLI/repo-$tag-$v"; as_pg mkdir -p "$repo"; config "$COMP" "$repo" "$tag-$v"
    warm_corpus
    clock_start
    for s in "${segs[@]}"; do as_pg "$PGDR" wal push --config "$CLI/pgdr-$tag-$v.json" "$CORPUS/$s"; done
    record "pgdr-$v" "push sync" "$COMP" "$n" "$bytes" $(elapsed_ns) "archive_command, 1 process/segment"
    kv "pgdr $COMP repository bytes ($v)" "$(du -sb "$repo" | cut -f1)"
    as_pg rm -rf "$CLI/restore"; as_pg mkdir "$CLI/restore"
    clock_start
    for s in "${segs[@]}"; do as_pg "$PGDR" wal fetch --config "$CLI/pgdr-$tag-$v.json" "$s" "$CLI/restore/$s"; done
    record "pgdr-$v" "fetch sync" "$COMP" "$n" "$bytes" $(elapsed_ns) "restore_command, 1 process/segment"
    for s in "${segs[0]}" "${segs[-1]}"; do cmp -s "$CORPUS/$s" "$CLI/restore/$s" || { log "pgdr restored $s differs"; exit 1; }; done
  done
done
# for startup.sh: a config whose repository already holds the first segment
as_pg cp "$CLI/pgdr-zstd-jit.json" "$CLI/pgdr.json" 2>/dev/null || as_pg cp "$(ls "$CLI"/pgdr-zstd-*.json | head -1)" "$CLI/pgdr.json"
echo "${segs[0]}" | as_pg tee "$CLI/first-segment" >/dev/null
