#!/usr/bin/env bash
# Installs every Debian package Meridian needs to build, test and benchmark.
# Idempotent and non-interactive; safe to run again. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  capnproto libcapnp-dev
  liblmdb-dev
  libsodium-dev
  libblis-dev
  libabsl-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  nlohmann-json3-dev
  libasio-dev
  libhnswlib-dev libfaiss-dev
  openssl iproute2 nftables
)
# Optional and not installed here: NVIDIA's CUDA toolkit (/usr/local/cuda) for the GPU search path
# (CMake option MERIDIAN_CUDA, docs/gpu.md). Without it the build and tests use the CPU only.

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
