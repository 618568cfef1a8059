#!/bin/bash
# Cold .ci/run: an empty engine store (a data root of its own) and an empty course cache,
# on a fresh clone. The warm store (/var/lib/docker, a mount) and cache are kept aside.
#   sudo bash benchmarks/cold_ci.sh     # about 28 minutes on 2 cores; root (it restarts dockerd)
# Prints "[cold] rc=... total ...s", the time of `.ci/run` from nothing, then starts the warm
# engine again. The cold store stays in /var/lib/docker-cold and the cold course cache in
# ~/.cache/shipshape.cold: delete them when done.
set -u
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CLONE="${CLONE:-/tmp/shipshape-cold-clone}"
stop_engine() { pkill -x dockerd; for i in $(seq 1 60); do pgrep -x dockerd >/dev/null || break; sleep 1; done; }
restore() {
	echo "[cold] $(date) restoring the warm state"
	stop_engine
	if [ -d "$HOME/.cache/shipshape.warm" ]; then  # only once it was moved aside
		rm -rf "$HOME/.cache/shipshape.cold"
		[ -d "$HOME/.cache/shipshape" ] && mv "$HOME/.cache/shipshape" "$HOME/.cache/shipshape.cold"
		mv "$HOME/.cache/shipshape.warm" "$HOME/.cache/shipshape"
	fi
	bash "$REPO/scripts/install-engine.sh"
	docker info --format 'data root {{.DockerRootDir}}, images {{.Images}}'
}
# put the warm engine and cache back whatever happens (Ctrl-C included)
trap restore EXIT
echo "[cold] $(date) stopping the engine"
stop_engine
rm -rf /var/lib/docker-cold; mkdir -p /var/lib/docker-cold
mv "$HOME/.cache/shipshape" "$HOME/.cache/shipshape.warm"
nohup dockerd --data-root /var/lib/docker-cold >> /var/log/shipshape-dockerd-cold.log 2>&1 &
until docker version >/dev/null 2>&1; do sleep 0.5; done
docker info --format 'data root {{.DockerRootDir}}, images {{.Images}}'
rm -rf "$CLONE"; git clone -q "$REPO" "$CLONE"
cd "$CLONE"
start=$(date +%s)
TEST_JUNIT_DIR="${TEST_JUNIT_DIR:-/tmp/jcold}" bash .ci/run; rc=$?
echo "[cold] rc=$rc total $(( $(date +%s) - start ))s"
echo "[cold] measured $(date)"
