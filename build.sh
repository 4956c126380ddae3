#!/usr/bin/env bash
# PgDr's build tasks where PowerShell is absent (CI, minimal hosts); build.ps1 does the same for PowerShell users.
#   ./build.sh build     compile everything (Release); the module folder lands in artifacts/module/PgDr
#   ./build.sh test      the whole test suite against real PostgreSQL: xunit, then the Pester suites in a real pwsh (what CI runs)
#   ./build.sh package   the module as shipped (artifacts/package: a folder for Publish-PSResource, PgDr.zip for Azure
#                        Automation; build/Package.proj) and a framework-dependent pgdr in artifacts/pgdr
#   ./build.sh native    pgdr compiled ahead of time (NativeAOT) in artifacts/pgdr-native: the one to use as
#                        archive_command/restore_command (about 6x less start-up cost per call than the JIT build)
#   ./build.sh demo      build pgdr, bring up a three-region sandbox, fail region-a over to region-b under a writer,
#                        print the measured RTO and RPO and the new topology, and rejoin region-a as a standby
# Dependencies the tests need (PostgreSQL server programs, the storage emulators from npm) are installed here when missing.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
configuration=Release

log() { printf '==> %s\n' "$*" >&2; }

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
  build
  # tests/Pester/Package.Tests.ps1 imports the module from the packages.
  package_module
  # The NativeAOT pgdr is what PostgreSQL should run; tests/Unit/Archive/NativePgDrTests drive it (their fixture only
  # checks it is up to date when this already published it).
  native
  log "dotnet test"
  local out status
  out=$(mktemp)
  set +e
  dotnet test "$root/PgDr.sln" -c "$configuration" --no-build -nologo 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  # One plain summary line that any CI reads, added up over the test assemblies.
  local passed failed skipped
  passed=$(grep -oE 'Passed: +[0-9]+' "$out" | awk '{n += $2} END {print n + 0}')
  failed=$(grep -oE 'Failed: +[0-9]+' "$out" | awk '{n += $2} END {print n + 0}')
  skipped=$(grep -oE 'Skipped: +[0-9]+' "$out" | awk '{n += $2} END {print n + 0}')
  echo "xunit: $passed passed, $failed failed, $skipped skipped"
  rm -f "$out"
  # The module as its users run it: the Pester suites in the pwsh the build made (tests/PwshHost), Pester pinned there.
  log "Pester (artifacts/pwsh/pwsh)"
  local pester_status=0
  "$root/artifacts/pwsh/pwsh" -NoProfile -NonInteractive -File "$root/tests/Pester/Invoke-PgDrPester.ps1" || pester_status=$?
  if [ "$status" -ne 0 ]; then return "$status"; fi
  return "$pester_status"
}

package_module() {
  log "packaging the module (build/Package.proj)"
  dotnet msbuild "$root/build/Package.proj" -t:Package -nologo -v:minimal >&2
}

package() {
  build
  package_module
  log "publishing pgdr to artifacts/pgdr"
  dotnet publish "$root/src/PgDr.Cli/PgDr.Cli.csproj" -c "$configuration" -o "$root/artifacts/pgdr" -nologo -v quiet
  log "module folder: artifacts/module/PgDr (Import-Module ./artifacts/module/PgDr/PgDr.psd1); packages in artifacts/package"
}

ensure_native_toolchain() {
  if command -v clang >/dev/null 2>&1 && [ -e /usr/include/zlib.h ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "NativeAOT needs clang and zlib1g-dev (apt-get install -y clang zlib1g-dev)." >&2
    exit 1
  fi
  log "installing the NativeAOT toolchain (clang, zlib1g-dev)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq clang zlib1g-dev >/dev/null
}

native() {
  ensure_native_toolchain
  log "publishing pgdr ahead of time (NativeAOT) to artifacts/pgdr-native"
  dotnet publish "$root/src/PgDr.Cli/PgDr.Cli.csproj" -c "$configuration" -r linux-x64 -p:PublishAot=true \
    -o "$root/artifacts/pgdr-native" -nologo -v quiet
}

demo() {
  ensure_postgres
  package
  local pgdr="$root/artifacts/pgdr/pgdr"
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

# The port of a sandbox node, from its sandbox.json.
node_port() {
  grep -A1 "\"name\": \"$2\"" "$1/sandbox.json" | sed -n 's/.*"port": \([0-9]*\).*/\1/p'
}

case "${1:-build}" in
  build) build ;;
  test) run_tests ;;
  package) package ;;
  native) native ;;
  demo) demo ;;
  *) echo "usage: $0 [build|test|package|native|demo]" >&2; exit 2 ;;
esac
