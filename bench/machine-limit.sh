#!/usr/bin/env bash
# The machine's own limit for each compression over the same corpus: the zstd and lz4 command-line tools reading the
# page-cached segments and writing to /dev/null (no encryption, no fsync). "x2" = two single-thread processes over
# the two halves of the corpus at once (2 cores), "-T0" = zstd's own threads.
source "$(dirname "$0")/lib.sh"
cd "$CORPUS"
mapfile -t segs < <(corpus_segments)
n=${#segs[@]}; bytes=$((n * SEG_BYTES))
warm_corpus
half=$((n / 2))
run() { # <mode> <comp> <command...>: best of 3
  local mode=$1 comp=$2 best=0 t0 dt i; shift 2
  for i in 1 2 3; do
    clock_start; "$@"; dt=$(( $(now_ns) - t0 ))
    if [ "$best" -eq 0 ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
  done
  record machine "$mode" "$comp" "$n" "$bytes" "$best" "best of 3"
}
run "zstd -3 (1 thread)" zstd:3 bash -c 'zstd -q -3 -c "$@" > /dev/null' _ "${segs[@]}"
run "zstd -3 -T0" zstd:3 bash -c 'zstd -q -3 -T0 -c "$@" > /dev/null' _ "${segs[@]}"
run "zstd -3 x2 processes" zstd:3 bash -c 'zstd -q -3 -c "${@:1:'"$half"'}" > /dev/null & zstd -q -3 -c "${@:'"$((half + 1))"'}" > /dev/null; wait' _ "${segs[@]}"
run "lz4 -1 (1 thread)" lz4:1 bash -c 'cat "$@" | lz4 -q -1 -c > /dev/null' _ "${segs[@]}"
run "lz4 -1 x2 processes" lz4:1 bash -c 'cat "${@:1:'"$half"'}" | lz4 -q -1 -c > /dev/null & cat "${@:'"$((half + 1))"'}" | lz4 -q -1 -c > /dev/null; wait' _ "${segs[@]}"
# Decompression limit (fetch side): compress once, then decompress to /dev/null.
tmp=$(mktemp -d "$BENCH_ROOT/limit.XXXX")
zstd -q -3 -c "${segs[@]:0:$half}" > "$tmp/a.zst"; zstd -q -3 -c "${segs[@]:$half}" > "$tmp/b.zst"
cat "${segs[@]:0:$half}" | lz4 -q -1 -c > "$tmp/a.lz4"; cat "${segs[@]:$half}" | lz4 -q -1 -c > "$tmp/b.lz4"
kv "ratio zstd -3" "$(awk -v a=$(( $(stat -c%s "$tmp/a.zst") + $(stat -c%s "$tmp/b.zst") )) -v b=$bytes 'BEGIN{printf "%.4f", a/b}')"
kv "ratio lz4 -1" "$(awk -v a=$(( $(stat -c%s "$tmp/a.lz4") + $(stat -c%s "$tmp/b.lz4") )) -v b=$bytes 'BEGIN{printf "%.4f", a/b}')"
run "zstd -d (1 thread)" zstd:3 bash -c "zstd -q -d -c $tmp/a.zst $tmp/b.zst > /dev/null"
run "zstd -d x2 processes" zstd:3 bash -c "zstd -q -d -c $tmp/a.zst > /dev/null & zstd -q -d -c $tmp/b.zst > /dev/null; wait"
run "lz4 -d (1 thread)" lz4:1 bash -c "cat $tmp/a.lz4 $tmp/b.lz4 | lz4 -q -d -c > /dev/null"
run "lz4 -d x2 processes" lz4:1 bash -c "lz4 -q -d -c $tmp/a.lz4 > /dev/null & lz4 -q -d -c $tmp/b.lz4 > /dev/null; wait"
# Encryption alone (AES-256-GCM as PgDr uses it, AES-256-CBC as pgBackRest does), one core, from openssl speed.
ossl() { openssl speed -evp "$1" -bytes 16384 -seconds 2 2>/dev/null | awk -v t="$1" 'toupper($1) == toupper(t) { sub(/k$/, "", $2); printf "%.0f MB/s", $2 / 1000 }'; }
kv "openssl aes-256-gcm encrypt, 16 KiB blocks, 1 core" "$(ossl aes-256-gcm)"
kv "openssl aes-256-cbc encrypt, 16 KiB blocks, 1 core" "$(ossl aes-256-cbc)"
kv "openssl sha256, 16 KiB blocks, 1 core" "$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null | awk 'tolower($1) == "sha256" { sub(/k$/, "", $2); printf "%.0f MB/s", $2 / 1000 }')"
rm -rf "$tmp"
# The archive_command protocol's own cost, which no archiver escapes: PostgreSQL starts one process per segment, one
# after the other, and renames its .ready file. Measured with the benchmark's harness (setpriv to postgres, then mv)
# and a process that does nothing (true); a real archiver adds its own start-up on top (startup.sh).
as_pg mkdir -p "$BENCH_ROOT/protocol"; as_pg touch "$BENCH_ROOT/protocol/a"
floor() { local s from=a to=b; for s in "${segs[@]}"; do as_pg true; as_pg mv "$BENCH_ROOT/protocol/$from" "$BENCH_ROOT/protocol/$to"; set -- "$to" "$from"; from=$1; to=$2; done; }
clock_start; floor; dt=$(elapsed_ns)
kv "archive_command protocol floor: $n x (start of a no-op process + mv of .ready), this harness" "$(awk -v ns="$dt" -v n="$n" 'BEGIN { printf "%.3f s (%.1f ms per segment)", ns / 1e9, ns / 1e6 / n }')"
as_pg rm -rf "$BENCH_ROOT/protocol"
