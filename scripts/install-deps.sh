#!/usr/bin/env bash
# Installs every Debian 12 package unmask builds, tests or benchmarks with.
# Idempotent: when everything is present it prints nothing and exits 0.
# `apt-get update` runs only when a package is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev
  # media
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg libjpeg62-turbo-dev
  # vision
  libopencv-dev opencv-data
  libdlib-dev libdlib-data libdlib19.1
  # learning
  libtorch-dev
  # provenance
  libsodium-dev
  # serialisation, CLI, HTTP, storage, queue
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libsqlite3-dev
  redis-server libhiredis-dev
  # speech synthesis and audio analysis
  libespeak-ng-dev espeak-ng-data libfftw3-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/unmask-apt.log 2>&1; then
  $SUDO apt-get update -q >>/tmp/unmask-apt.log 2>&1
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/unmask-apt.log 2>&1 || {
    echo "install-deps: apt-get failed; see /tmp/unmask-apt.log" >&2
    tail -20 /tmp/unmask-apt.log >&2
    exit 1
  }
fi
