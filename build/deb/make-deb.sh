#!/usr/bin/env bash
# The pgdr Debian package, with dpkg-deb alone: make-deb.sh <pgdr> <output-directory> [architecture [version]]
#   <pgdr>          the NativeAOT pgdr to ship as /usr/bin/pgdr
#   architecture    Debian's name for it: amd64 (default) for linux-x64, arm64 for linux-arm64
#   version         the package version (build/Package.proj passes Directory.Build.props' Version); default: what the
#                   pgdr itself reports, when it runs on this machine
# Writes <output-directory>/pgdr_<version>_<architecture>.deb holding /usr/bin/pgdr, the example /etc/pgdr/pgdr.json
# (a conffile, 0640; postinst gives it to postgres), the spool directory /var/spool/pgdr, and the node agent's systemd
# unit (packaging/systemd/pgdr-agent.service), installed but not enabled: an agent can stop PostgreSQL (self-fencing),
# so it runs only once its 'agent' section is configured and someone ran `systemctl enable --now pgdr-agent`.
set -euo pipefail
pgdr=$1 out=$2 arch=${3:-amd64} version=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
command -v dpkg-deb >/dev/null || { echo "dpkg-deb is needed to build the Debian package (apt-get install -y dpkg)." >&2; exit 1; }
[ -x "$pgdr" ] || { echo "no pgdr at $pgdr" >&2; exit 1; }

# The version pgdr reports (0.1.0+commit: the part before + is the release).
[ -n "$version" ] || version=$("$pgdr" --version)
version=${version%%+*}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "pgdr --version gave '$version', not a version" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"   # it becomes the package's ./: mktemp's 0700 would be refused (and is not what / should be)
umask 022
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/pgdr"
install -d -m 0700 "$stage/var/spool/pgdr"
install -m 0755 "$pgdr" "$stage/usr/bin/pgdr"
install -m 0640 "$here/pgdr.json" "$stage/etc/pgdr/pgdr.json"
install -D -m 0644 "$here/../../packaging/systemd/pgdr-agent.service" "$stage/lib/systemd/system/pgdr-agent.service"
install -m 0644 "$here/conffiles" "$stage/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/postrm" "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" "$here/control.in" > "$stage/DEBIAN/control"

mkdir -p "$out"
deb="$out/pgdr_${version}_${arch}.deb"
# Owned by root in the archive whoever builds it; gzip: every dpkg reads it, and it is quick on a busy build machine.
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"
