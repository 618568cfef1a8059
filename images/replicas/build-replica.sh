#!/usr/bin/env bash
# build-replica.sh NAME
#
# Builds an offline replica of one official Docker Hub image and tags it NAME:
#   debian:bookworm-slim  debian:bookworm  python:3.11-slim  python:3.11  postgres:15-bookworm
#
# * progress goes to stderr; exit 0 on success, non-zero with a one-line reason
#   ("build-replica: error: ...") as the last line on stderr on failure;
# * if NAME exists locally with label io.shipshape.replica=true nothing is done,
#   unless FORCE=1 (FORCE only rebuilds NAME, not its prerequisites);
# * missing prerequisites (any local image of that name, replica or real) are built first;
# * every replica is labelled io.shipshape.replica=true, io.shipshape.replica.of=NAME,
#   io.shipshape.managed=true, io.shipshape.kind=base-replica.
#
# Environment:
#   SHIPSHAPE_DEBIAN_MIRROR          default http://deb.debian.org/debian
#   SHIPSHAPE_DEBIAN_SECURITY_MIRROR default http://deb.debian.org/debian-security
#   SHIPSHAPE_CACHE                  default $HOME/.cache/shipshape (artifacts go to .../replicas)
#   FORCE=1                          rebuild NAME even if a replica already exists
#   REFRESH=1                        also re-download cached artifacts (rootfs tarballs, sources)
#   SHIPSHAPE_BUILD_NO_CACHE=1       pass --no-cache to docker build (ignore BuildKit's layer cache)
#
# Needs: root (debootstrap for the Debian roots), docker with BuildKit, apt-get on the
# host (debuerreotype is apt-get installed if missing).
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export SHIPSHAPE_DEBIAN_MIRROR="${SHIPSHAPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
export SHIPSHAPE_DEBIAN_SECURITY_MIRROR="${SHIPSHAPE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
cacheRoot="${SHIPSHAPE_CACHE:-$HOME/.cache/shipshape}/replicas"
FORCE="${FORCE:-}"
REFRESH="${REFRESH:-}"
export DOCKER_BUILDKIT=1

SUPPORTED=( debian:bookworm-slim debian:bookworm python:3.11-slim python:3.11 postgres:15-bookworm )

STEP='startup'
mainPid=$$
# helper scripts write a one-line failure reason here (see debian/mkrootfs.sh, python/prepare-source.sh)
SHIPSHAPE_REASON_FILE="$(mktemp)"
export SHIPSHAPE_REASON_FILE
log() { printf '[build-replica %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'build-replica: error: %s\n' "$*" >&2; exit 1; }
on_err() {
	local rc=$?
	# report once, from the main shell only
	if [ "$BASHPID" = "$mainPid" ]; then
		local reason=
		[ -s "$SHIPSHAPE_REASON_FILE" ] && reason=": $(tail -n1 "$SHIPSHAPE_REASON_FILE")"
		printf 'build-replica: error: %s failed (exit %s)%s\n' "$STEP" "$rc" "${reason:- (see output above)}" >&2
	fi
	exit "$rc"
}
trap on_err ERR
trap 'rm -f "$SHIPSHAPE_REASON_FILE"' EXIT

usage() {
	printf 'usage: %s NAME   (NAME one of: %s)\n' "$(basename "$0")" "${SUPPORTED[*]}" >&2
}

[ "$#" -eq 1 ] || { usage; die "expected exactly one image name, got $#"; }
NAME="$1"
case " ${SUPPORTED[*]} " in
	*" $NAME "*) ;;
	*) usage; die "unsupported image '$NAME' (supported: ${SUPPORTED[*]})" ;;
esac

command -v docker > /dev/null || die "docker CLI not found"
docker info > /dev/null 2>&1 || die "cannot talk to the docker daemon (is dockerd running, are you allowed to use it?)"

image_exists() { docker image inspect "$1" > /dev/null 2>&1; }
is_replica() {
	[ "$(docker image inspect --format '{{ index .Config.Labels "io.shipshape.replica" }}' "$1" 2>/dev/null || :)" = 'true' ]
}

# docker_build NAME DOCKERFILE CONTEXT [extra docker build args...]
docker_build() {
	local name="$1" dockerfile="$2" context="$3"; shift 3
	STEP="docker build of $name"
	log "docker build $name (Dockerfile ${dockerfile#"$here"/}, context $context)"
	docker build \
		--progress=plain \
		--file "$dockerfile" \
		--tag "$name" \
		--label io.shipshape.replica=true \
		--label "io.shipshape.replica.of=$name" \
		--label io.shipshape.managed=true \
		--label io.shipshape.kind=base-replica \
		${SHIPSHAPE_BUILD_NO_CACHE:+--no-cache} \
		"$@" \
		"$context" >&2
}

# --- host tools -------------------------------------------------------------------------
ensure_host_tools() {
	STEP='installing host tools (debuerreotype)'
	[ "$(id -u)" = 0 ] || die "building the Debian root filesystems needs root (debootstrap); run as root"
	local missing=()
	command -v debuerreotype-init > /dev/null || missing+=( debuerreotype )
	command -v debootstrap > /dev/null || missing+=( debootstrap )
	command -v wget > /dev/null || missing+=( wget )
	[ -s /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=( debian-archive-keyring )
	if [ "${#missing[@]}" -gt 0 ]; then
		command -v apt-get > /dev/null || die "missing host tools (${missing[*]}) and no apt-get to install them"
		log "apt-get install ${missing[*]}"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
			apt-get update >&2 || :
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
				|| die "could not apt-get install ${missing[*]} on the host"
		fi
	fi
}

# cache key: artifacts depend on the mirrors they came from
mirror_key() {
	printf '%s\n%s\n' "$SHIPSHAPE_DEBIAN_MIRROR" "$SHIPSHAPE_DEBIAN_SECURITY_MIRROR" | sha256sum | cut -c1-12
}

with_lock() {
	# serialise concurrent runs that share the cache (e.g. two CI jobs)
	mkdir -p "$cacheRoot"
	exec 9> "$cacheRoot/.lock"
	if ! flock -n 9; then
		log "waiting for another build-replica.sh run (lock $cacheRoot/.lock)"
		flock 9
	fi
}

# --- artifacts ----------------------------------------------------------------------------
debian_rootfs_dir() { echo "$cacheRoot/debian/bookworm-$(mirror_key)"; }

ensure_debian_rootfs() {
	local dir; dir="$(debian_rootfs_dir)"
	if [ -z "$REFRESH" ] && [ -s "$dir/full/rootfs.tar" ] && [ -s "$dir/slim/rootfs.tar" ]; then
		log "using cached Debian rootfs tarballs in $dir ($(grep '^built=' "$dir/info.txt" 2>/dev/null || echo 'built=?'))"
		return 0
	fi
	ensure_host_tools
	STEP='debuerreotype rootfs build (debian/mkrootfs.sh)'
	log "building Debian bookworm rootfs tarballs with debuerreotype -> $dir"
	local t0=$SECONDS
	bash "$here/debian/mkrootfs.sh" "$dir" bookworm >&2
	log "rootfs tarballs built in $(( SECONDS - t0 ))s"
}

python_source_dir() { echo "$cacheRoot/python/3.11-$(mirror_key)"; }

ensure_python_source() {
	local dir; dir="$(python_source_dir)"
	if [ -z "$REFRESH" ] && [ -s "$dir/context/Python.tar.gz" ] && [ -s "$dir/context/patches/series" ]; then
		log "using cached python3.11 source context in $dir/context (Debian $(cat "$dir/context/debian-version"))"
		return 0
	fi
	STEP='download of Debian python3.11 source (python/prepare-source.sh)'
	command -v apt-get > /dev/null || die "downloading Debian's python3.11 source needs apt-get on the host"
	[ -s /usr/share/keyrings/debian-archive-keyring.gpg ] || ensure_host_tools
	log "downloading Debian python3.11 source package -> $dir"
	bash "$here/python/prepare-source.sh" "$dir" >&2
}

# --- images -------------------------------------------------------------------------------
build_debian() {
	local name="$1" variant
	case "$name" in
		debian:bookworm-slim) variant=slim ;;
		debian:bookworm) variant=full ;;
	esac
	ensure_debian_rootfs
	docker_build "$name" "$here/debian/Dockerfile" "$(debian_rootfs_dir)/$variant"
}

build_python_slim() {
	ensure_image debian:bookworm-slim
	ensure_python_source
	local ctx; ctx="$(python_source_dir)/context"
	docker_build python:3.11-slim "$here/python/Dockerfile.slim" "$ctx" \
		--build-arg BASE_IMAGE=debian:bookworm-slim \
		--build-arg "PYTHON_DEBIAN_VERSION=$(cat "$ctx/debian-version")"
}

build_python_full() {
	ensure_image debian:bookworm
	ensure_image python:3.11-slim
	ensure_python_source
	local ctx; ctx="$(python_source_dir)/context"
	docker_build python:3.11 "$here/python/Dockerfile.full" "$ctx" \
		--build-arg BASE_IMAGE=debian:bookworm \
		--build-arg PYTHON_SLIM_IMAGE=python:3.11-slim \
		--build-arg "PYTHON_DEBIAN_VERSION=$(cat "$ctx/debian-version")"
}

build_postgres() {
	ensure_image debian:bookworm-slim
	docker_build postgres:15-bookworm "$here/postgres/Dockerfile" "$here/postgres" \
		--build-arg BASE_IMAGE=debian:bookworm-slim
}

build_one() {
	local name="$1" t0=$SECONDS
	log "building replica $name"
	if image_exists "$name" && ! is_replica "$name"; then
		log "note: a non-replica image $name exists locally; the replica will take over the tag (the old image stays, untagged)"
	fi
	case "$name" in
		debian:*) build_debian "$name" ;;
		python:3.11-slim) build_python_slim ;;
		python:3.11) build_python_full ;;
		postgres:15-bookworm) build_postgres ;;
	esac
	STEP="verification of $name"
	is_replica "$name" || die "$name was built but does not carry io.shipshape.replica=true"
	log "built $name in $(( SECONDS - t0 ))s ($(docker image inspect --format '{{ .Size }}' "$name" | awk '{ printf "%.1f MB", $1 / 1000 / 1000 }'))"
}

# prerequisite: any local image of that name will do (replica or genuine)
ensure_image() {
	local name="$1"
	if image_exists "$name"; then
		log "prerequisite $name present"
		return 0
	fi
	log "prerequisite $name missing, building it first"
	build_one "$name"
}

# --- main ---------------------------------------------------------------------------------
if [ -z "$FORCE" ] && image_exists "$NAME" && is_replica "$NAME"; then
	log "$NAME already exists and is a replica; nothing to do (FORCE=1 to rebuild)"
	exit 0
fi
with_lock
# another run may have built it while we waited for the lock
if [ -z "$FORCE" ] && image_exists "$NAME" && is_replica "$NAME"; then
	log "$NAME already exists and is a replica; nothing to do (FORCE=1 to rebuild)"
	exit 0
fi
t0=$SECONDS
build_one "$NAME"
log "done: $NAME (total $(( SECONDS - t0 ))s)"
