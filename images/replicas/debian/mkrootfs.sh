#!/usr/bin/env bash
# mkrootfs.sh OUTDIR [SUITE]
#
# Builds the two Debian root filesystems the official images are made from,
# the way debuerreotype's examples/debian.sh (the script behind the official
# "debian" images) does it, but against a live mirror instead of
# snapshot.debian.org (unreachable here):
#
#   OUTDIR/full/rootfs.tar   -> debian:SUITE
#   OUTDIR/slim/rootfs.tar   -> debian:SUITE-slim
#   OUTDIR/manifest.txt, OUTDIR/debuerreotype-epoch
#
# Needs root (debootstrap) and the debuerreotype package on the host.
# Env: SHIPSHAPE_DEBIAN_MIRROR, SHIPSHAPE_DEBIAN_SECURITY_MIRROR.
set -Eeuo pipefail

outDir="${1:?usage: mkrootfs.sh OUTDIR [SUITE]}"
suite="${2:-bookworm}"
mirror="${SHIPSHAPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
secMirror="${SHIPSHAPE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
mirror="${mirror%/}"
secMirror="${secMirror%/}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[mkrootfs] %s\n' "$*" >&2; }
die() {
	printf 'mkrootfs: %s\n' "$*" >&2
	[ -z "${SHIPSHAPE_REASON_FILE:-}" ] || printf '%s\n' "$*" >> "$SHIPSHAPE_REASON_FILE"
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
[ -s "$keyring" ] || die "missing $keyring (apt-get install debian-archive-keyring)"
for url in "$mirror/dists/$suite/InRelease" "$secMirror/dists/$suite-security/InRelease"; do
	wget -q -O /dev/null "$url" || die "cannot fetch $url (mirror unreachable? check SHIPSHAPE_DEBIAN_MIRROR / SHIPSHAPE_DEBIAN_SECURITY_MIRROR)"
done

export TZ=UTC LC_ALL=C

mkdir -p "$outDir"
work="$(mktemp -d "$outDir/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

# 1. debootstrap --variant=minbase --merged-usr, GPG-checked against Debian's keyring.
#    --non-debian lets us pass a plain mirror URL (the --debian mode insists on snapshot.debian.org).
log "debootstrap $suite from $mirror"
debuerreotype-init --non-debian --keyring "$keyring" --merged-usr "$rootfs" "$suite" "$mirror" \
	|| die "debootstrap of $suite from $mirror failed"

# 2. deb822 sources, same layout as the official image's /etc/apt/sources.list.d/debian.sources
#    (the official file carries the snapshot URL as a comment; we record the mirror's date instead).
epoch="$(< "$rootfs/debuerreotype-epoch")"
stamp="$(date --utc --date "@$epoch" +%Y%m%dT%H%M%SZ)"
rm -f "$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs/etc/apt/sources.list.d"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
# $mirror (as of $stamp)
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# $secMirror (as of $stamp)
URIs: $secMirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
chmod 0644 "$rootfs/etc/apt/sources.list.d/debian.sources"

# 3. the "docker" apt/dpkg configuration (policy-rc.d, docker-clean, gzip indexes, no languages, ...)
debuerreotype-minimizing-config "$rootfs"

# 4. pull in bookworm-updates and bookworm-security, like the official build (full-upgrade)
log "apt-get update + full-upgrade"
debuerreotype-apt-get "$rootfs" update -qq || die "apt-get update inside the new rootfs failed"
debuerreotype-recalculate-epoch "$rootfs"
# the epoch now reflects the newest of bookworm / -updates / -security: record that date
stamp="$(date --utc --date "@$(< "$rootfs/debuerreotype-epoch")" +%Y%m%dT%H%M%SZ)"
sed -ri "s/\(as of [0-9TZ]+\)/(as of $stamp)/" "$rootfs/etc/apt/sources.list.d/debian.sources"
debuerreotype-apt-get "$rootfs" full-upgrade -yqq || die "apt-get full-upgrade inside the new rootfs failed"
epoch="$(< "$rootfs/debuerreotype-epoch")"

# 5. slim variant = copy + slimify (drops man pages, docs, locales, ... and keeps them out via dpkg path-exclude)
log "slimify"
mkdir "$rootfs-slim"
tar -cC "$rootfs" . | tar -xC "$rootfs-slim"
debuerreotype-slimify "$rootfs-slim"

# 6. fixup (empty machine-id, drop logs, clamp mtimes to epoch) + reproducible tar
for variant in full slim; do
	src="$rootfs"; [ "$variant" = slim ] && src="$rootfs-slim"
	mkdir -p "$work/out/$variant"
	# official: machine-id must not exist in a container image that was never booted
	debuerreotype-tar --exclude ./etc/machine-id "$src" "$work/out/$variant/rootfs.tar"
	log "$variant rootfs: $(du -sh --apparent-size "$work/out/$variant/rootfs.tar" | cut -f1)"
done
debuerreotype-chroot "$rootfs" dpkg-query -W > "$work/out/manifest.txt"
echo "$epoch" > "$work/out/debuerreotype-epoch"
printf 'mirror=%s\nsecurity_mirror=%s\nsuite=%s\nbuilt=%s\ndebuerreotype=%s\n' \
	"$mirror" "$secMirror" "$suite" "$(date --utc +%FT%TZ)" "$(debuerreotype-version)" > "$work/out/info.txt"

# debuerreotype-tar dates the tarball to the epoch; give it the real creation time instead, so
# BuildKit's context sync (which compares path + size + mtime) never mistakes a rebuilt tarball
# of the same size for the one it already has
touch "$work/out/full/rootfs.tar" "$work/out/slim/rootfs.tar"

# publish atomically
rm -rf "$outDir/full" "$outDir/slim"
mv "$work/out/full" "$work/out/slim" "$outDir/"
mv "$work/out/manifest.txt" "$work/out/debuerreotype-epoch" "$work/out/info.txt" "$outDir/"
log "done: $outDir"
