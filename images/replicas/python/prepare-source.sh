#!/usr/bin/env bash
# prepare-source.sh OUTDIR
#
# Downloads Debian bookworm's python3.11 source package (with the host's apt, but
# with a private sources list / lists dir so the host's apt setup is not touched)
# and lays out the docker build context used by Dockerfile.slim / Dockerfile.full:
#
#   OUTDIR/Python.tar.gz     pristine CPython 3.11.2 (Debian's .orig.tar.gz)
#   OUTDIR/patches/series    the security fixes picked from debian/patches/series
#   OUTDIR/patches/*.patch   those patches
#   OUTDIR/SOURCE-INFO       which Debian version, which patches, checksums
#   OUTDIR/debian-version    e.g. 3.11.2-6+deb12u8
#
# Patch selection: every entry of Debian's series whose name mentions a CVE or an
# upstream security backport ("gh-NNNN" from the 3.11 branch), plus
# relfile-nullptr-dereference.patch (gh-102281, memory-safety fix shipped in the
# same security upload); test-only patches ("skip-*") and Debian packaging patches
# (install layout, multiarch, ensurepip-disabled, ...) are NOT applied.
#
# Env: SHIPSHAPE_DEBIAN_MIRROR, SHIPSHAPE_DEBIAN_SECURITY_MIRROR.
set -Eeuo pipefail

outDir="${1:?usage: prepare-source.sh OUTDIR}"
mirror="${SHIPSHAPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
secMirror="${SHIPSHAPE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
pkg=python3.11
upstream=3.11.2

log() { printf '[prepare-source] %s\n' "$*" >&2; }
die() {
	printf 'prepare-source: %s\n' "$*" >&2
	[ -z "${SHIPSHAPE_REASON_FILE:-}" ] || printf '%s\n' "$*" >> "$SHIPSHAPE_REASON_FILE"
	exit 1
}

command -v apt-get > /dev/null || die "needs apt-get on the host"
[ -s "$keyring" ] || die "missing $keyring"

mkdir -p "$outDir"
work="$(mktemp -d "$outDir/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cat > "$work/sources.list" <<EOF
deb-src [signed-by=$keyring] ${mirror%/} bookworm main
deb-src [signed-by=$keyring] ${mirror%/} bookworm-updates main
deb-src [signed-by=$keyring] ${secMirror%/} bookworm-security main
EOF
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
aptOpts=(
	-o "Dir::Etc::SourceList=$work/sources.list"
	-o "Dir::Etc::SourceParts=/nonexistent"
	-o "Dir::State::Lists=$work/lists"
	-o "Dir::Cache=$work/cache"
	-o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
)
log "apt-get update (deb-src only, private lists)"
apt-get "${aptOpts[@]}" update -qq >&2 || die "apt-get update of the deb-src indexes from $mirror failed"

# newest first; a security version listed in the index can be missing from a
# partial mirror (seen here: deb12u9 listed, 404 on download), so fall back
mapfile -t versions < <(apt-cache "${aptOpts[@]}" showsrc "$pkg" | awk '/^Version:/ { print $2 }' | sort -u -r -V)
[ "${#versions[@]}" -gt 0 ] || die "no source package $pkg found on $mirror"
got=
for v in "${versions[@]}"; do
	log "trying $pkg=$v"
	if (cd "$work/dl" && apt-get "${aptOpts[@]}" source --download-only -qq "$pkg=$v" >&2); then
		got="$v"; break
	fi
	rm -f "$work/dl"/*
done
[ -n "$got" ] || die "could not download any version of $pkg (tried: ${versions[*]})"
log "got $pkg $got"

orig="$(ls "$work/dl"/"${pkg}_${upstream}".orig.tar.* | head -n1)"
debTar="$(ls "$work/dl"/"${pkg}_${got}".debian.tar.* | head -n1)"
mkdir -p "$work/debian" "$work/ctx/patches"
tar -xf "$debTar" -C "$work/debian"
series="$work/debian/debian/patches/series"
[ -s "$series" ] || die "no debian/patches/series in $debTar"

grep -vE '^\s*(#|$)' "$series" \
	| awk '{ print $1 }' \
	| grep -E 'CVE-|-gh-[0-9]+-|^relfile-nullptr-dereference\.patch$' \
	| grep -vE '^skip-' > "$work/ctx/patches/series" || :
[ -s "$work/ctx/patches/series" ] || die "no security patches matched in $series"
while read -r p; do
	cp "$work/debian/debian/patches/$p" "$work/ctx/patches/$p"
done < "$work/ctx/patches/series"

# orig tarball name inside the context is fixed so the Dockerfiles need not know the compression
case "$orig" in
	*.tar.gz) cp "$orig" "$work/ctx/Python.tar.gz" ;;
	*) xz -dc "$orig" 2>/dev/null | gzip -1 > "$work/ctx/Python.tar.gz" || die "unexpected orig tarball $orig" ;;
esac
echo "$got" > "$work/ctx/debian-version"
{
	echo "Debian source package: $pkg $got (from $mirror / $secMirror)"
	echo "orig tarball: $(basename "$orig") sha256 $(sha256sum "$orig" | cut -d' ' -f1)"
	echo "debian tarball: $(basename "$debTar") sha256 $(sha256sum "$debTar" | cut -d' ' -f1)"
	echo "security patches applied ($(wc -l < "$work/ctx/patches/series")), in Debian's series order:"
	sed 's/^/  /' "$work/ctx/patches/series"
	echo "Debian patches NOT applied (packaging/layout/test-only):"
	grep -vE '^\s*(#|$)' "$series" | awk '{ print $1 }' | grep -vxF -f "$work/ctx/patches/series" | sed 's/^/  /'
} > "$work/ctx/SOURCE-INFO"
# keep the downloaded originals too (small) for reference
mkdir -p "$work/ctx-dl"
cp "$work/dl"/* "$work/ctx-dl/"

rm -rf "$outDir/context" "$outDir/download"
mv "$work/ctx" "$outDir/context"
mv "$work/ctx-dl" "$outDir/download"
log "source context ready: $outDir/context ($(wc -l < "$outDir/context/patches/series") patches)"
