#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian 12 machine, from Debian's archive only:
#   docker20: Debian 12's docker.io 20.10 + docker-compose v1 (system packages)
#   docker26: Debian 13's docker.io 26 + compose v2 plugin, unpacked under $FIOUP_ENGINE_CACHE, not installed
# plus busybox-static (test images), skopeo, ostree, openssl, e2fsprogs (loop filesystems), zstd (zstd image layers).
# Idempotent: a second run installs nothing. Fails loudly when something cannot be had.
set -euo pipefail

cache=${FIOUP_ENGINE_CACHE:-/var/cache/fioup-offline-test}
system_packages=(docker.io docker-compose busybox-static skopeo ostree openssl e2fsprogs util-linux iptables xz-utils zstd)
trixie_packages=(docker.io docker-cli docker-compose containerd)

log() { printf '[provision] %s\n' "$*" >&2; }

missing=()
for p in "${system_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || { log "need root to install: ${missing[*]}"; exit 1; }
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

engine26="$cache/docker26"
if [ ! -x "$engine26/usr/sbin/dockerd" ] || [ ! -x "$engine26/usr/libexec/docker/cli-plugins/docker-compose" ]; then
  log "fetching Docker 26 + Compose v2 from Debian trixie into $engine26"
  apt_dir="$cache/apt-trixie"
  rm -rf "$apt_dir" "$engine26.partial"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$engine26.partial"
  echo "deb http://deb.debian.org/debian trixie main" >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives"
            -o APT::Get::List-Cleanup=0)
  apt-get -qq "${apt_opts[@]}" update
  (cd "$apt_dir/archives" && apt-get -qq "${apt_opts[@]}" download "${trixie_packages[@]}")
  for deb in "$apt_dir"/archives/*.deb; do dpkg -x "$deb" "$engine26.partial"; done
  mv "$engine26.partial" "$engine26"
  rm -rf "$apt_dir"
fi
log "ready: $("$engine26/usr/sbin/dockerd" --version), $(dockerd --version)"
