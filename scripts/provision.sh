#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian 12 machine, from Debian's archive only:
#   docker20: Debian 12's docker.io 20.10 + docker-compose v1 (system packages)
#   docker26: Debian 13's docker.io 26 + compose v2 plugin, unpacked under $FIOUP_ENGINE_CACHE, not installed
# plus busybox-static (test images), skopeo, ostree, openssl, e2fsprogs (loop filesystems), zstd (zstd image layers), util-linux (flock, the
# locks shared with aktualizr-lite; losetup), curl (the install benchmark's dockerd-alone floor), sqlite3 (an independent reader of the sql.db files the tests write),
# libubootenv-tool (the real fw_setenv/fw_printenv the bootloader handshake runs), and for the self-contained binaries and the .deb: qemu-user-static
# with the arm64/armhf C and C++ libraries (running the other architectures), lintian, systemd (systemd-analyze),
# man-db, tmux (the pseudo-terminal the CLI's terminal tests drive), and a throw-away Debian root made once with
# debootstrap (cached as a tarball) that the package tests install the .deb into.
# Idempotent: a second run installs nothing. Fails loudly when something cannot be had.
set -euo pipefail

cache=${FIOUP_ENGINE_CACHE:-/var/cache/fioup-offline-test}
system_packages=(docker.io docker-compose busybox-static skopeo ostree openssl e2fsprogs util-linux iptables xz-utils zstd curl
                 qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libc6-armhf-cross libstdc++6-armhf-cross
                 libatomic1-armhf-cross lintian debootstrap systemd man-db tmux sqlite3 libubootenv-tool)
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
debian_root="$cache/debian-root/bookworm-minbase-systemd.tar.gz"
if [ ! -s "$debian_root" ]; then
  log "making a throw-away Debian 12 root with debootstrap into $debian_root"
  partial=$(mktemp -d /var/tmp/fioup-debian-root.XXXXXX)
  debootstrap --variant=minbase --include=systemd bookworm "$partial/root" http://deb.debian.org/debian >"$partial/log" 2>&1 ||
    { tail -20 "$partial/log" >&2; rm -rf "$partial"; log "debootstrap failed"; exit 1; }
  mkdir -p "$(dirname "$debian_root")"
  tar -C "$partial/root" -czf "$debian_root.partial" .
  mv "$debian_root.partial" "$debian_root"
  rm -rf "$partial"
fi
log "ready: $("$engine26/usr/sbin/dockerd" --version), $(dockerd --version)"
