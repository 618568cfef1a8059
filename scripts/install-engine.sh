#!/usr/bin/env bash
# Provide a Docker Engine on a Debian/Ubuntu Linux host that has none, then start it.
#
#   sudo bash scripts/install-engine.sh        # idempotent: a second run only checks
#
# Order: an engine already answering -> use it.  dockerd installed but stopped -> start it.
# Neither -> install Debian trixie's docker.io (Engine 26), docker-cli, docker-buildx and
# docker-compose (Compose v2) as local .deb files, fetched with an apt state of our own so
# the host's apt sources stay untouched; bookworm's docker.io (Engine 20.10) is the fallback.
# dockerd then runs in the background, logging to $SHIPSHAPE_DOCKERD_LOG.
set -euo pipefail

DEADLINE_S=${SHIPSHAPE_ENGINE_DEADLINE:-90}
LOG=${SHIPSHAPE_DOCKERD_LOG:-/var/log/shipshape-dockerd.log}
STATE=${SHIPSHAPE_ENGINE_STATE:-/var/cache/shipshape-engine}
MIRROR=${SHIPSHAPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { printf '[engine] %s\n' "$*" >&2; }

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  say "engine already running: $(docker version --format 'Engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  say "no Docker engine answers and installing one needs root: rerun with sudo,"
  say "or install Docker Engine with Compose v2 yourself (https://docs.docker.com/engine/install/)."
  exit 1
fi

install_from_trixie() {
  local apt_dir="$STATE/apt" debs="$STATE/debs"
  rm -rf "$debs"; mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$debs"; chmod 755 "$STATE" "$debs"
  cat >"$apt_dir/sources.list" <<SRC
deb $MIRROR trixie main
SRC
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
              -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Get::List-Cleanup=0")
  say "fetching trixie's docker packages into $debs (host apt sources untouched)"
  apt-get "${opts[@]}" -qq update
  (cd "$debs" && apt-get "${opts[@]}" -qq download docker.io docker-cli docker-buildx docker-compose containerd)
  # runc and tini come from this release: trixie's builds need a newer libc
  apt-get -qq update >/dev/null || true
  say "installing $(ls "$debs" | tr '\n' ' ')"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$debs"/*.deb >/dev/null
}

if ! command -v dockerd >/dev/null 2>&1; then
  if ! install_from_trixie; then
    say "trixie packages failed; falling back to this release's docker.io (Engine 20.10, no Compose v2)"
    apt-get -qq update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  say "starting dockerd in the background (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  if ! pgrep -x containerd >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1; then
    nohup containerd >>"$LOG.containerd" 2>&1 &
  fi
  nohup dockerd >>"$LOG" 2>&1 &
fi

start=$(date +%s)
until engine_answers; do
  if [ $(( $(date +%s) - start )) -ge "$DEADLINE_S" ]; then
    say "dockerd did not answer within ${DEADLINE_S}s; last lines of $LOG:"
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.5
done
say "ready after $(( $(date +%s) - start ))s: $(docker version --format 'Engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
