#!/usr/bin/env bash
# PgDr's archive engine in-process (bench/PgDr.Bench, no process start-up): ArchiveObjectWriter/Reader with AES-256-GCM
# and the filesystem repository (temp file, fsync, link, directory fsync), 1, 2 and 4 segments at a time; then the
# single-thread stage breakdown. Runs as the postgres OS user. Usage: pgdr-engine.sh <bench-bin-dir> [zstd:3 lz4:1]
source "$(dirname "$0")/lib.sh"
BIN="$1"; shift
ENG="$BENCH_ROOT/engine"
mapfile -t segs < <(corpus_segments)
n=${#segs[@]}; bytes=$((n * SEG_BYTES))
rm -rf "$ENG"; install -d -o postgres -g postgres -m 0700 "$ENG"
as_pg sh -c "umask 077; head -c 32 /dev/urandom | base64 > $ENG/archive.key"
bench() { as_pg env DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet "$BIN/pgdr-bench.dll" "$@"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
files=(); for s in "${segs[@]}"; do files+=("$CORPUS/$s"); done

for COMP in "${@:-zstd:3 lz4:1}"; do
  warm_corpus
  for p in 1 2 4; do
    rm -rf "$ENG/repo"; as_pg mkdir "$ENG/repo"
    out=$(bench push "$ENG/repo" "$ENG/archive.key" "$COMP" "$p" "${files[@]}")
    [ "$p" = 1 ] && label="push, 1 at a time" || label="push, $p in parallel"
    record pgdr-engine "$label" "$COMP" "$n" "$bytes" "$(awk -v s="$(field seconds <<<"$out")" 'BEGIN{printf "%.0f", s*1e9}')" "in-process"
  done
  kv "pgdr $COMP repository bytes" "$(du -sb "$ENG/repo/bench" | cut -f1)"
  for p in 1 2 4; do
    rm -rf "$ENG/restore"; as_pg mkdir "$ENG/restore"
    out=$(bench fetch "$ENG/repo" "$ENG/archive.key" "$p" "$ENG/restore" "${segs[@]}")
    [ "$p" = 1 ] && label="fetch, 1 at a time" || label="fetch, $p in parallel"
    record pgdr-engine "$label" "$COMP" "$n" "$bytes" "$(awk -v s="$(field seconds <<<"$out")" 'BEGIN{printf "%.0f", s*1e9}')" "in-process"
    for s in "${segs[0]}" "${segs[-1]}"; do cmp -s "$CORPUS/$s" "$ENG/restore/$s" || { log "pgdr restored $s differs"; exit 1; }; done
  done
  # Where the time goes (one thread, page-cached input, output discarded): each row adds one step.
  bench stages "$ENG/archive.key" "$COMP" "${files[@]}" | while read -r line; do
    case $line in
      ratio=*) kv "pgdr $COMP stored/plain ratio" "${line#ratio=}" ;;
      op=*) record pgdr-stage "$(sed 's/^op=stage:\(.*\) segments=.*/\1/' <<<"$line")" "$COMP" "$n" "$bytes" \
              "$(awk -v s="$(field seconds <<<" $line")" 'BEGIN{printf "%.0f", s*1e9}')" "1 thread, no I/O out" ;;
    esac
  done
done
