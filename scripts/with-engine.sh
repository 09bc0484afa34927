#!/usr/bin/env bash
# Runs a command next to a private Docker engine, then stops the engine and removes its state, whatever the
# command's outcome. Installs what is missing first (npm packages, scripts/provision.sh).
#   FIOUP_TEST_ENGINE=docker26 (default): Docker 26 + Compose v2 plugin (what devices run)
#   FIOUP_TEST_ENGINE=docker20: Debian 12's Docker 20.10 + docker-compose v1
# The command sees DOCKER_HOST, and PATH starting with the engine's own docker / compose binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

if [ "${1:-}" != --inside-netns ]; then
  [ -d node_modules/tsx ] || npm ci --no-audit --no-fund >&2
  bash scripts/provision.sh
  # A network namespace of its own gives this engine its own docker0 and iptables, so that several runs
  # (developers, helpers, CI) never fight over the host's bridge; nothing here needs the outside network.
  exec unshare --net -- bash "$0" --inside-netns "$@"
fi
shift
ip link set lo up

engine=${FIOUP_TEST_ENGINE:-docker26}
cache=${FIOUP_ENGINE_CACHE:-/var/cache/fioup-offline-test}
run=$(mktemp -d /var/tmp/fioup-engine.XXXXXX)
mkdir -p "$run/bin" "$run/docker-config/cli-plugins"

link() { ln -sf "$1" "$run/bin/$(basename "$1")"; }
case "$engine" in
  docker26)
    root26="$cache/docker26/usr"
    for b in dockerd docker-proxy; do link "$root26/sbin/$b"; done
    for b in docker containerd containerd-shim-runc-v2 docker-init; do link "$root26/bin/$b"; done
    ln -sf "$root26/libexec/docker/cli-plugins/docker-compose" "$run/docker-config/cli-plugins/docker-compose"
    ;;
  docker20)
    for b in /usr/sbin/dockerd /usr/sbin/docker-proxy /usr/bin/docker /usr/bin/containerd \
             /usr/bin/containerd-shim-runc-v2 /usr/bin/docker-compose /usr/sbin/docker-init; do
      [ -e "$b" ] && link "$b"
    done
    ;;
  *) echo "FIOUP_TEST_ENGINE must be docker26 or docker20, not '$engine'" >&2; exit 2 ;;
esac
link /usr/sbin/runc

export PATH="$run/bin:$PATH" DOCKER_CONFIG="$run/docker-config" DOCKER_HOST="unix://$run/docker.sock"
export FIOUP_TEST_ENGINE="$engine"

driver=${FIOUP_TEST_STORAGE_DRIVER:-overlay2}
dockerd_pid=
stop_engine() {
  local status=$?
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    # Containers left by a failed test would keep mounts busy: remove them before stopping the daemon.
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill "$dockerd_pid"
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$dockerd_pid" 2>/dev/null || true
  fi
  grep -o " $run/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$run"
  exit "$status"
}
trap stop_engine EXIT
trap 'exit 130' INT TERM

start_dockerd() {
  # Every compose project gets a network: the default pools (about 30 networks) run out when the test files'
  # projects coexist; 10.200.0.0/16 in /24s gives 256, private to this network namespace.
  dockerd --data-root "$run/root" --exec-root "$run/exec" --pidfile "$run/docker.pid" \
    --default-address-pool base=10.200.0.0/16,size=24 \
    -H "$DOCKER_HOST" --storage-driver "$1" >"$run/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 150); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
if ! start_dockerd "$driver"; then
  if [ "$driver" = overlay2 ]; then
    echo "[engine] overlay2 unavailable here, falling back to vfs" >&2
    kill "$dockerd_pid" 2>/dev/null || true; wait "$dockerd_pid" 2>/dev/null || true
    rm -rf "$run/root" "$run/exec"
    driver=vfs
    start_dockerd vfs || { cat "$run/dockerd.log" >&2; echo "[engine] dockerd did not start" >&2; exit 1; }
  else
    cat "$run/dockerd.log" >&2; echo "[engine] dockerd did not start" >&2; exit 1
  fi
fi
export FIOUP_TEST_STORAGE_DRIVER="$driver" FIOUP_TEST_DOCKERD_LOG="$run/dockerd.log"
echo "[engine] $engine ($(docker version --format '{{.Server.Version}}'), storage $driver) at $DOCKER_HOST" >&2
"$@"
