#!/usr/bin/env bash
# Builds the local NuGet fallback feed (build/local-feed) that nuget.config maps System.IO.Hashing to.
#
# Why: Azure.Storage.Blobs -> Azure.Storage.Common needs System.IO.Hashing, and the NuGet mirror these
# machines reach has no version of it. The installed .NET SDK carries the very same Microsoft-signed
# assembly (net8.0 and net10.0 builds), so we pack those into a package with the public id and a public
# version. Where the full nuget.org feed is reachable it serves the same id/version, and nuget.config
# lets either source provide it.
#
# Run before `dotnet restore` (build.sh and .ci/run do). Idempotent: an existing, complete package is kept.
# Needs: the .NET SDK, and `zip` or `python3` (apt-get install -y zip).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
feed="$repo_root/build/local-feed"
id="System.IO.Hashing"
# The public package version whose net8.0/net10.0 API matches the assemblies the SDK carries (10.0.x).
# src/PgDr.Core pins the same version, so restore resolves exactly (no NU1603 approximation warning).
version="10.0.0"
package="$feed/$(echo "$id" | tr '[:upper:]' '[:lower:]').$version.nupkg"

if [[ -s "$package" ]]; then
  echo "local feed: $package already present"
  exit 0
fi

dotnet_root="${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}"
sdk_dir="$(ls -d "$dotnet_root"/sdk/*/ 2>/dev/null | sort -V | tail -n 1)"
if [[ -z "$sdk_dir" ]]; then
  echo "make-local-feed: no .NET SDK found under $dotnet_root/sdk" >&2
  exit 1
fi

# net10.0: the SDK's own copy. net8.0: the copy the SDK's SourceLink task ships for its net8.0 build.
net10="$(ls "$sdk_dir"Sdks/Microsoft.NET.Sdk/tools/net10.0/System.IO.Hashing.dll 2>/dev/null || true)"
net8=""
for candidate in "$sdk_dir"Sdks/Microsoft.Build.Tasks.Git/tools/net/System.IO.Hashing.dll \
                 "$sdk_dir"Sdks/Microsoft.SourceLink.*/tools/net/System.IO.Hashing.dll; do
  if [[ -f "$candidate" ]]; then net8="$candidate"; break; fi
done
if [[ -z "$net10" || -z "$net8" ]]; then
  echo "make-local-feed: System.IO.Hashing.dll not found in $sdk_dir (net10.0: '${net10}', net8.0: '${net8}')" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib/net8.0" "$work/lib/net10.0"
cp "$net8" "$work/lib/net8.0/System.IO.Hashing.dll"
cp "$net10" "$work/lib/net10.0/System.IO.Hashing.dll"
cat > "$work/$id.nuspec" <<NUSPEC
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>$id</id>
    <version>$version</version>
    <authors>Microsoft</authors>
    <license type="expression">MIT</license>
    <description>Local repack of the System.IO.Hashing assemblies shipped with the .NET SDK ($(basename "$sdk_dir")), for restores without nuget.org. Made by build/make-local-feed.sh.</description>
    <dependencies>
      <group targetFramework="net8.0" />
      <group targetFramework="net10.0" />
    </dependencies>
  </metadata>
</package>
NUSPEC
# Fixed timestamps so that two runs produce the same bytes.
find "$work" -exec touch -h -d '2000-01-01 00:00:00' {} +

mkdir -p "$feed"
tmp_package="$package.tmp.$$"
if command -v zip >/dev/null 2>&1; then
  (cd "$work" && zip -X -D -q -r "$tmp_package" "$id.nuspec" lib)
elif command -v python3 >/dev/null 2>&1; then
  (cd "$work" && python3 - "$tmp_package" "$id.nuspec" lib/net8.0/System.IO.Hashing.dll lib/net10.0/System.IO.Hashing.dll <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sys.argv[2:]:
        info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(name, "rb") as f:
            z.writestr(info, f.read())
PY
  )
else
  echo "make-local-feed: need 'zip' or 'python3' to write the package (apt-get install -y zip)" >&2
  exit 1
fi
mv -f "$tmp_package" "$package"
echo "local feed: wrote $package (from $(basename "$sdk_dir"))"
