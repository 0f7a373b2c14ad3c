#!/usr/bin/env bash
# Installs what Distill needs on Debian 12, idempotently and without prompts. Safe to run repeatedly: it only asks
# apt for packages that are missing.
#   --bench   also install python3-torch (the PyTorch side of `distill bench`)
set -euo pipefail

packages=(
  libtorch-dev          # libtorch 1.13 (CPU)
  libopenblas0-pthread  # otherwise libtorch multiplies matrices on the reference BLAS, ~15x slower
  cmake g++ make        # the native shim
  libopencv-dev         # core, imgproc, imgcodecs (already a libtorch-dev dependency)
  libgloo-dev           # gloo headers for c10d's ProcessGroupGloo (data-parallel training)
  ca-certificates
)
if [[ "${1:-}" == "--bench" ]]; then packages+=(python3-torch); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "distill: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "distill: the .NET SDK (10.0) is required: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi
