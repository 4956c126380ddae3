#!/usr/bin/env bash
# PgDr's build tasks where PowerShell is absent (CI, minimal hosts); build.ps1 does the same for PowerShell users.
#   ./build.sh build     compile everything (Release); the module folder lands in artifacts/module/PgDr
#   ./build.sh test      the whole test suite against real PostgreSQL: xunit, then the Pester suites in a real pwsh (what CI runs)
#   ./build.sh package   pgdr for this platform in artifacts/pgdr (NativeAOT; the framework-dependent build only where AOT
#                        cannot be built, and it says so), and the packages in artifacts/package (build/Package.proj): a
#                        folder for Publish-PSResource and PgDr.zip for Azure Automation, both carrying bin/<rid>/pgdr, and
#                        pgdr_<version>_amd64.deb (build/deb)
#   ./build.sh native    pgdr compiled ahead of time (NativeAOT) in artifacts/pgdr-native: the one to use as
#                        archive_command/restore_command (about 6x less start-up cost per call than the JIT build);
#                        ./build.sh native linux-arm64 cross-compiles (see README)
#   ./build.sh demo      build pgdr, bring up a three-region sandbox, fail region-a over to region-b under a writer,
#                        print the measured RTO and RPO and the new topology, and rejoin region-a as a standby
# Dependencies the tests need (PostgreSQL server programs, the storage emulators from npm) are installed here when missing.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
configuration=Release

log() { printf '==> %s %s\n' "$(date -u +%T)" "$*" >&2; }

have_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || { command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; }
}

ensure_postgres() {
  if have_postgres; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL server programs (initdb, pg_ctl) are missing: install postgresql-15 (apt-get install -y postgresql-15)." >&2
    exit 1
  fi
  log "installing PostgreSQL server programs (apt-get install postgresql-15)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql-15 >/dev/null
}

ensure_emulators() {
  # Azurite and s3rver, pinned by tests/emulators/package-lock.json.
  if [ ! -x "$root/tests/emulators/node_modules/.bin/azurite-blob" ] || [ ! -x "$root/tests/emulators/node_modules/.bin/s3rver" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed for the storage emulators (apt-get install -y npm)." >&2; exit 1; }
    log "npm ci (storage emulators for the tests)"
    npm ci --prefix "$root/tests/emulators" --no-audit --no-fund --loglevel=error >&2
  fi
}

build() {
  log "dotnet build ($configuration)"
  dotnet build "$root/PgDr.sln" -c "$configuration" -nologo -v quiet
}

run_tests() {
  ensure_postgres
  ensure_emulators
  # The packages (tests/Pester/Package.Tests.ps1 imports the module from them, tests/Unit/Packaging installs the .deb)
  # and the NativeAOT pgdr PostgreSQL should run (tests/Unit/Archive/NativePgDrTests drive it; their fixture only checks
  # it is up to date when this already published it).
  package
  # The module as its users run it: the Pester suites in the pwsh the build made (tests/PwshHost), Pester pinned there.
  # They run beside xunit: both mostly wait on servers, and one after the other they took 12.5 of a fresh-clone run's
  # 19 min on 2 cores. Pester's output follows xunit's.
  local results="$root/artifacts/test-results" pester_pid pester_status=0
  mkdir -p "$results"
  log "Pester (artifacts/pwsh/pwsh) in the background, output in ${results#"$root"/}/pester.log"
  "$root/artifacts/pwsh/pwsh" -NoProfile -NonInteractive -File "$root/tests/Pester/Invoke-PgDrPester.ps1" >"$results/pester.log" 2>&1 &
  pester_pid=$!
  trap 'kill "$pester_pid" 2>/dev/null' EXIT
  log "dotnet test"
  local out status
  out=$(mktemp)
  set +e
  # The .trx keeps each test's duration (artifacts/test-results/xunit.trx), to find what makes the suite long.
  dotnet test "$root/PgDr.sln" -c "$configuration" --no-build -nologo \
    --logger "trx;LogFileName=xunit.trx" --results-directory "$results" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  # One plain summary line that any CI reads, added up over the test assemblies.
  local passed failed skipped
  passed=$(grep -oE 'Passed: +[0-9]+' "$out" | awk '{n += $2} END {print n + 0}')
  failed=$(grep -oE 'Failed: +[0-9]+' "$out" | awk '{n += $2} END {print n + 0}')
  skipped=$(grep -oE 'Skipped: +[0-9]+' "$out" | awk '{n += $2} END {print n + 0}')
  echo "xunit: $passed passed, $failed failed, $skipped skipped"
  local failures
  failures=$(grep -E '^  Failed [A-Za-z]' "$out" | sed -E 's/ \[[^]]*\]$//' | sort -u || true)
  rm -f "$out"
  log "waiting for Pester"
  wait "$pester_pid" || pester_status=$?
  trap - EXIT
  cat "$results/pester.log"
  # xunit's totals and failures again at the very end, where a CI log's tail shows them.
  echo "xunit: $passed passed, $failed failed, $skipped skipped"
  if [ -n "$failures" ]; then printf 'xunit failures:\n%s\n' "$failures"; fi
  if [ "$status" -ne 0 ]; then return "$status"; fi
  return "$pester_status"
}

package_module() {
  log "packaging (build/Package.proj): the module with bin/<rid>/pgdr, PgDr.zip, the Debian package"
  dotnet msbuild "$root/build/Package.proj" -t:Package -nologo -v:minimal >&2
}

package() {
  build
  publish_pgdr
  package_module
  log "module folder: artifacts/module/PgDr (Import-Module ./artifacts/module/PgDr/PgDr.psd1); packages in artifacts/package"
}

# The runtime identifier of this machine, as pgdr is published for it.
host_rid() {
  case "$(uname -m)" in
    x86_64) echo linux-x64 ;;
    aarch64 | arm64) echo linux-arm64 ;;
    *) echo "linux-$(uname -m)" ;;
  esac
}

# NativeAOT needs clang and zlib's headers (and, for another architecture, its cross toolchain: see README).
native_toolchain_present() {
  command -v clang >/dev/null 2>&1 && [ -e /usr/include/zlib.h ]
}

ensure_native_toolchain() {
  if native_toolchain_present; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "NativeAOT needs clang and zlib1g-dev (apt-get install -y clang zlib1g-dev)." >&2
    exit 1
  fi
  log "installing the NativeAOT toolchain (clang, zlib1g-dev)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq clang zlib1g-dev >/dev/null
}

# ./build.sh native [rid]: the NativeAOT pgdr in artifacts/pgdr-native (this machine's) or artifacts/pgdr-native-<rid>.
native() {
  local rid=${1:-$(host_rid)} out="$root/artifacts/pgdr-native"
  [ "$rid" = "$(host_rid)" ] || out="$root/artifacts/pgdr-native-$rid"
  ensure_native_toolchain
  log "publishing pgdr ahead of time (NativeAOT, $rid) to ${out#"$root"/}"
  dotnet publish "$root/src/PgDr.Cli/PgDr.Cli.csproj" -c "$configuration" -r "$rid" -p:PublishAot=true \
    -o "$out" -nologo -v quiet
}

# artifacts/pgdr/pgdr: *the* pgdr of this platform, NativeAOT (published once into artifacts/pgdr-native, then copied:
# an AOT publish takes minutes on a busy machine). Where AOT cannot be built (no clang or zlib headers, and no root to
# install them), the framework-dependent build instead, which warns in the server log at every archive_command call.
# artifacts/pgdr-rids/<rid>/pgdr is what the module packages carry as bin/<rid>/pgdr (pgdr.exe built on Windows by
# build.ps1 can be dropped into artifacts/pgdr-rids/win-x64 before packaging).
publish_pgdr() {
  local rid other other_rid
  rid=$(host_rid)
  rm -rf "$root/artifacts/pgdr"
  mkdir -p "$root/artifacts/pgdr"
  if native_toolchain_present || [ "$(id -u)" -eq 0 ]; then
    native "$rid"
    cp "$root/artifacts/pgdr-native/pgdr" "$root/artifacts/pgdr/pgdr"
    mkdir -p "$root/artifacts/pgdr-rids/$rid"
    cp "$root/artifacts/pgdr-native/pgdr" "$root/artifacts/pgdr-rids/$rid/pgdr"
    local other
    for other in "$root"/artifacts/pgdr-native-*/pgdr; do
      [ -x "$other" ] || continue
      other_rid=${other%/pgdr}; other_rid=${other_rid##*/pgdr-native-}
      mkdir -p "$root/artifacts/pgdr-rids/$other_rid"
      cp "$other" "$root/artifacts/pgdr-rids/$other_rid/pgdr"
    done
    log "artifacts/pgdr/pgdr: NativeAOT ($rid)"
  else
    log "WARNING: NativeAOT cannot be built here (it needs clang and zlib1g-dev: apt-get install -y clang zlib1g-dev)."
    log "WARNING: artifacts/pgdr/pgdr is the framework-dependent build: the slow one as archive_command (it warns in the server log)."
    rm -rf "$root/artifacts/pgdr-rids/$rid"
    dotnet publish "$root/src/PgDr.Cli/PgDr.Cli.csproj" -c "$configuration" -o "$root/artifacts/pgdr" -nologo -v quiet
  fi
}

demo() {
  ensure_postgres
  local pgdr
  pgdr=$(demo_pgdr)
  local dir="${PGDR_SANDBOX:-${TMPDIR:-/tmp}/pgdr-sandbox}"
  if [ -f "$dir/sandbox.json" ]; then
    log "removing the sandbox left in $dir by an earlier demo"
    "$pgdr" sandbox down --dir "$dir" >/dev/null
  fi
  "$pgdr" sandbox up --dir "$dir" --standbys 2 --cascading
  "$pgdr" sandbox status --dir "$dir"

  # DR: a writer commits on region-a; region-a is failed over to region-b (fenced, lease taken, promoted), region-c is
  # repointed, region-b2 (cascading from region-b) keeps streaming; then region-a comes back as a standby.
  export PGPASSFILE="$dir/.pgpass" PGUSER=postgres PGHOST=127.0.0.1
  local a b c bin
  a=$(node_port "$dir" region-a); b=$(node_port "$dir" region-b); c=$(node_port "$dir" region-c)
  bin=$(sed -n 's/.*"binDirectory": "\(.*\)".*/\1/p' "$dir/sandbox.json")
  echo
  log "a writer on region-a (pgbench, 4 clients), then: pgdr failover 127.0.0.1:$b --repoint 127.0.0.1:$c"
  "$bin/pgbench" -i -q -s 1 -p "$a" postgres >/dev/null 2>&1
  "$bin/pgbench" -n -N -c 4 -T 120 -p "$a" postgres >"$dir/writer.log" 2>&1 &
  local writer=$!
  sleep 3
  "$pgdr" failover "127.0.0.1:$b" --old-primary "127.0.0.1:$a" --repoint "127.0.0.1:$c" --config "$dir/pgdr.json"
  wait "$writer" 2>/dev/null || true
  echo "Writer: $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/writer.log" | head -1) transactions committed on region-a before the fence ended its sessions."
  echo
  log "the new topology"
  "$pgdr" sandbox status --dir "$dir" || true
  echo
  log "region-a comes back: pgdr rejoin (pg_rewind if it wrote past the fork)"
  "$pgdr" rejoin "$dir/region-a" --primary "127.0.0.1:$b" --config "$dir/pgdr.json"
  "$pgdr" lease show --config "$dir/pgdr.json"
  "$pgdr" sandbox status --dir "$dir"
  echo
  echo "Remove it with: $pgdr sandbox down --dir $dir"
}

# The pgdr the demo drives the sandbox with, quick on a fresh clone: the NativeAOT artifacts/pgdr/pgdr when a package
# build made it, else the framework-dependent build alone in artifacts/pgdr-jit (a NativeAOT publish costs about 5 CPU
# minutes, more than the whole demo may take). The demo sets no archive_command; archive_command and restore_command
# get the NativeAOT pgdr (./build.sh package), and the framework-dependent one says so in the server log if run there.
demo_pgdr() {
  if [ -x "$root/artifacts/pgdr/pgdr" ] && [ ! -e "$root/artifacts/pgdr/pgdr.dll" ]; then
    log "pgdr: artifacts/pgdr/pgdr (NativeAOT)"
  else
    log "pgdr: the framework-dependent build for the demo (artifacts/pgdr-jit); ./build.sh package builds the NativeAOT one archive_command should run"
    dotnet publish "$root/src/PgDr.Cli/PgDr.Cli.csproj" -c "$configuration" -o "$root/artifacts/pgdr-jit" -nologo -v quiet >&2
    echo "$root/artifacts/pgdr-jit/pgdr"
    return
  fi
  echo "$root/artifacts/pgdr/pgdr"
}

# The port of a sandbox node, from its sandbox.json.
node_port() {
  grep -A1 "\"name\": \"$2\"" "$1/sandbox.json" | sed -n 's/.*"port": \([0-9]*\).*/\1/p'
}

case "${1:-build}" in
  build) build ;;
  test) run_tests ;;
  package) package ;;
  native) native "${2:-}" ;;
  demo) demo ;;
  *) echo "usage: $0 [build|test|package|native|demo]" >&2; exit 2 ;;
esac
