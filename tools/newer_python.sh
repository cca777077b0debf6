#!/usr/bin/env bash
# Run a command of this repository on a Python newer than the machine's own: Debian
# unstable's python3.14 and python3.15 packages, in a chroot this script makes once.
#
#   tools/newer_python.sh 3.15 make test
#   tools/newer_python.sh 3.14 make conformance
#
# Needs root on a Debian or Ubuntu machine (it installs debootstrap when missing). The
# chroot (about 1.5 GiB; 3-5 minutes to make) stays in $NEWER_PYTHON_ROOT (default
# /var/tmp/asyncio-talks-sid) and is reused. Each call copies the checkout (the files
# git tracks, plus untracked ones it does not ignore) to /src-3.X inside the chroot,
# keeping that copy's .venv from the last call, runs `make setup` with python3.X there,
# then the command. The chroot has gcc (for pyuv) but no C++ compiler: setup must
# install every other package from wheels. It has no Chromium either: run the browser
# checks on the machine's own Python.
set -euo pipefail

version=${1:-}
case "$version" in
  3.14|3.15) shift ;;
  *) echo "usage: $0 3.14|3.15 COMMAND..." >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- make test
[ "$(id -u)" -eq 0 ] || { echo "newer_python: needs root (chroot, mount)" >&2; exit 2; }

root=${NEWER_PYTHON_ROOT:-/var/tmp/asyncio-talks-sid}
checkout=$(cd "$(dirname "$0")/.." && pwd)
# What the chroot holds; a change here remakes the packages step on the next call.
base_packages=ca-certificates,make,gcc,libc6-dev
for v in 3.14 3.15; do
  base_packages+=",python$v,python$v-dev,python$v-venv,libpython$v-testsuite"
done
# debootstrap cannot resolve npm's many dependencies; apt inside the chroot does.
apt_packages="nodejs npm libuv1-dev git"

say() { echo "newer_python: $*" >&2; }

debian_mirror() {
  # The mirror this machine's apt already uses (so a proxy or a local mirror keeps working).
  local found
  found=$(grep -hoE '^(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/(debian|ubuntu)/?' \
            /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
          | awk '{print $2}' | grep '/debian' | head -n 1 || true)
  echo "${found:-http://deb.debian.org/debian}"
}

make_chroot() {
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
  fi
  local mirror
  mirror=$(debian_mirror)
  say "making a Debian unstable chroot in $root from $mirror (once, a few minutes)"
  rm -rf "$root"
  debootstrap --variant=minbase --include="$base_packages" sid "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 30 "$root.log" >&2; say "debootstrap failed (log: $root.log)"; exit 1; }
  echo "$base_packages" >"$root/.base-packages"
}

in_chroot() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBIAN_FRONTEND=noninteractive ${CI:+CI=$CI} "$@"
}

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap unmount_all EXIT

mount_system() {
  local m
  for m in proc sys dev dev/pts dev/shm; do
    mountpoint -q "$root/$m" && continue  # another call is running: share its mounts
    if [ "$m" = proc ]; then mount -t proc proc "$root/proc"; else mount --bind "/$m" "$root/$m"; fi
    mounted+=("$root/$m")
  done
}

[ "$(cat "$root/.base-packages" 2>/dev/null)" = "$base_packages" ] || make_chroot
# Network settings from this machine: name resolution, CA bundle, pip and npm configuration.
cp /etc/resolv.conf "$root/etc/resolv.conf"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
# An unstable mirror's Release file may be older than its Valid-Until on a slow mirror.
echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99asyncio-talks"
mount_system
if [ "$(cat "$root/.apt-packages" 2>/dev/null)" != "$apt_packages" ]; then
  say "installing $apt_packages in the chroot"
  in_chroot bash -c "apt-get update -q && apt-get install -y -q --no-install-recommends $apt_packages" \
    >"$root.apt.log" 2>&1 || { tail -n 30 "$root.apt.log" >&2; say "apt failed (log: $root.apt.log)"; exit 1; }
  echo "$apt_packages" >"$root/.apt-packages"
fi

# The copy of the checkout, one per version (each keeps its .venv between calls): what
# git would commit plus untracked files it does not ignore.
src="$root/src-$version"
mkdir -p "$src"
find "$src" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
(cd "$checkout" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) \
  | tar -C "$src" -xf -
say "Python $version (Debian unstable) in $root, checkout copied to /src-$version"
in_chroot bash -c 'cd "/src-$0" && make setup PYTHON="python$0" && exec "$@"' "$version" "$@"
