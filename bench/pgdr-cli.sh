#!/usr/bin/env bash
# `pgdr wal push` / `pgdr wal fetch` exactly as PostgreSQL calls them: one process per segment, one after the other,
# as the postgres OS user, filesystem repository, AES-256-GCM key file, zstd:3 and lz4:1. Fetch restores into
# RECOVERYXLOG and the harness renames it, as PostgreSQL's restore_command %p and KeepFileRestoredFromArchive do.
# The aot build is measured three ways: the system libraries (pgdr-aot), the managed ports ("codecs": "managed",
# pgdr-aot-managed) and, when moto_server is installed, with each data key wrapped by KMS (pgdr-aot-kms, zstd:3;
# moto on loopback answers in about a millisecond, a real KMS in a region adds its round trip once per process).
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
ENCRYPTION="{ \"keyFile\": \"$CLI/archive.key\" }"
CODECS=auto
config() { # <comp> <repo-dir> <tag> -> writes $CLI/pgdr-<tag>.json
  as_pg tee "$CLI/pgdr-$3.json" >/dev/null <<JSON
{
  "stanza": "bench",
  "repositories": [ { "name": "local", "type": "filesystem", "path": "$2", "required": true } ],
  "compression": "$1",
  "codecs": "$CODECS",
  "encryption": $ENCRYPTION
}
JSON
}
# KMS for pgdr-aot-kms: moto_server on loopback with one key, credentials by environment (read by the config).
MOTO_PID=
if command -v moto_server >/dev/null && [ -x "$BINROOT/aot/pgdr" ]; then
  MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$CLI/moto.log" 2>&1 & MOTO_PID=$!
  trap '[ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null' EXIT
  for _ in $(seq 1 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $MOTO_PORT), 1)" 2>/dev/null && break; sleep 0.2; done
  KMS_KEY=$(python3 -c "import boto3; print(boto3.client('kms', endpoint_url='http://127.0.0.1:$MOTO_PORT', region_name='us-east-1', aws_access_key_id='bench', aws_secret_access_key='bench').create_key()['KeyMetadata']['KeyId'])")
  export PGDR_BENCH_KMS_ID=bench PGDR_BENCH_KMS_SECRET=bench
  kv "KMS for pgdr-aot-kms" "moto_server $(moto_server --version 2>/dev/null | head -1) on loopback, key $KMS_KEY"
fi
for COMP in zstd:3 lz4:1; do
  tag=${COMP%%:*}
  runs=("${VARIANTS[@]}")
  [[ " ${VARIANTS[*]} " == *" aot "* ]] && runs+=(aot-managed) && [ -n "$MOTO_PID" ] && [ "$tag" = zstd ] && runs+=(aot-kms)
  for v in "${runs[@]}"; do
    build=${v%%-*}
    CODECS=auto; ENCRYPTION="{ \"keyFile\": \"$CLI/archive.key\" }"
    [ "$v" = aot-managed ] && CODECS=managed
    [ "$v" = aot-kms ] && ENCRYPTION="{ \"kms\": { \"keyId\": \"$KMS_KEY\", \"region\": \"us-east-1\", \"endpoint\": \"http://127.0.0.1:$MOTO_PORT\", \"accessKeyIdEnv\": \"PGDR_BENCH_KMS_ID\", \"secretAccessKeyEnv\": \"PGDR_BENCH_KMS_SECRET\" } }"
    PGDR="$BINROOT/$build/pgdr"; [ -x "$PGDR" ] || { log "no $build build: skipped"; continue; }
    repo="$CLI/repo-$tag-$v"; as_pg mkdir -p "$repo"; config "$COMP" "$repo" "$tag-$v"
    warm_corpus
    clock_start
    for s in "${segs[@]}"; do as_pg "$PGDR" wal push --config "$CLI/pgdr-$tag-$v.json" "$CORPUS/$s"; done
    record "pgdr-$v" "push sync" "$COMP" "$n" "$bytes" $(elapsed_ns) "archive_command, 1 process/segment"
    kv "pgdr $COMP repository bytes ($v)" "$(du -sb "$repo" | cut -f1)"
    as_pg rm -rf "$CLI/restore"; as_pg mkdir "$CLI/restore"
    clock_start
    for s in "${segs[@]}"; do as_pg sh -c "'$PGDR' wal fetch --config '$CLI/pgdr-$tag-$v.json' $s '$CLI/restore/RECOVERYXLOG' && mv '$CLI/restore/RECOVERYXLOG' '$CLI/restore/$s'"; done
    record "pgdr-$v" "fetch sync" "$COMP" "$n" "$bytes" $(elapsed_ns) "restore_command into RECOVERYXLOG, renamed, 1 process/segment"
    for s in "${segs[0]}" "${segs[-1]}"; do cmp -s "$CORPUS/$s" "$CLI/restore/$s" || { log "pgdr restored $s differs"; exit 1; }; done
  done
done
# for startup.sh: a config whose repository already holds the first segment, with a key file (the KMS variant's
# moto_server is gone by then, and the managed codecs are not what archive_command runs by default)
for v in jit aot; do [ -f "$CLI/pgdr-zstd-$v.json" ] && as_pg cp "$CLI/pgdr-zstd-$v.json" "$CLI/pgdr.json" && break; done
echo "${segs[0]}" | as_pg tee "$CLI/first-segment" >/dev/null
