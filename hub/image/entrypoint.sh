#!/bin/bash
# Sandbox entrypoint: start the participant's own rootless Docker engine, wait for it with a
# deadline, load the workshop's base images once, then exec the command (jupyterhub-singleuser).
# Runs as the unprivileged participant; the engine gets its user namespace through the setuid
# newuidmap/newgidmap and the subuid range in /etc/subuid.
set -euo pipefail
say() { printf '[sandbox %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

DEADLINE_S=${SHIPSHAPE_ENGINE_DEADLINE:-90}
DATA_ROOT=${SHIPSHAPE_INNER_DATA_ROOT:-/data/docker}
BUNDLE=${SHIPSHAPE_WORKSHOP_BUNDLE:-/bundle/base-images.tar}
LOG=$XDG_RUNTIME_DIR/dockerd.log
COURSE=${SHIPSHAPE_COURSE:-$HOME/shipshape}

# 1. The participant's working copy of the course (first start only; never overwritten).
if [ ! -e "$COURSE/.shipshape-copied" ]; then
  mkdir -p "$COURSE"
  cp -a --no-clobber /opt/shipshape/. "$COURSE/"
  touch "$COURSE/.shipshape-copied"
  say "course copied to $COURSE"
fi

# 2. The rootless engine. Its state lives on the data volume; the socket in XDG_RUNTIME_DIR.
mkdir -p "$XDG_RUNTIME_DIR" "$DATA_ROOT"
rm -f "$XDG_RUNTIME_DIR/docker.sock" "$XDG_RUNTIME_DIR/docker.pid"
export PATH=/usr/share/docker.io/contrib:/usr/sbin:/sbin:$PATH
started=$(date +%s)
say "starting rootless dockerd (data-root $DATA_ROOT, log $LOG)"
dockerd-rootless.sh --data-root "$DATA_ROOT" --storage-driver "${SHIPSHAPE_INNER_STORAGE_DRIVER:-overlay2}" \
  >"$LOG" 2>&1 &
engine_pid=$!
until docker version --format '{{.Server.Version}}' >/dev/null 2>&1; do
  if ! kill -0 "$engine_pid" 2>/dev/null; then
    say "rootless dockerd exited; last lines of its log:"; tail -n 40 "$LOG" >&2; exit 1
  fi
  if [ $(( $(date +%s) - started )) -ge "$DEADLINE_S" ]; then
    say "rootless dockerd did not answer within ${DEADLINE_S}s; last lines of its log:"
    tail -n 40 "$LOG" >&2; exit 1
  fi
  sleep 0.2
done
say "engine ready after $(( $(date +%s) - started ))s: $(docker version --format 'Engine {{.Server.Version}}, rootless')"

# 3. The workshop's base images, loaded once per data volume (not rebuilt per participant).
if [ -f "$BUNDLE" ]; then
  stamp="$DATA_ROOT/.shipshape-bundle-loaded"
  want="$(stat -c '%s-%Y' "$BUNDLE")"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    t0=$(date +%s)
    docker load --quiet --input "$BUNDLE" >&2
    echo "$want" > "$stamp"
    say "workshop bundle loaded in $(( $(date +%s) - t0 ))s"
  else
    say "workshop bundle already loaded"
  fi
else
  say "no workshop bundle at $BUNDLE: base images come from pull or offline replicas"
fi

exec "$@"
