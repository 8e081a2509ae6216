#!/usr/bin/env bash
# Installs the Debian packages nfc needs to build and test, idempotently:
# each package is checked with dpkg-query first and only missing ones are
# installed (`dpkg -s` would also accept unpacked-but-unconfigured packages).
set -euo pipefail

# python3 runs scripts/check-doc-errors.py, one of the tests; python3-dev,
# pybind11-dev and python3-pytest build and test the Python module (python/);
# with
# python3-numpy the SBI example's quick run (examples/sbi); zlib1g-dev
# reads gzip-compressed IDX data (MNIST, Fashion-MNIST); libopenmpi-dev and
# openmpi-bin (mpirun) build and test data-parallel training.
packages=(g++ make cmake ninja-build llvm-19-dev libfmt-dev catch2 libeigen3-dev
          libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev python3 python3-numpy
          python3-dev pybind11-dev python3-pytest libopenmpi-dev openmpi-bin)
# `install-deps.sh --fuzz` adds what the libFuzzer build needs (make fuzz):
# clang and its runtime libraries (libFuzzer, ASan, UBSan).
# Other extra packages may be requested by name, e.g. `install-deps.sh clang-format-19`.
for arg in "$@"; do
  if [ "$arg" = "--fuzz" ]; then
    packages+=(clang-19 libclang-rt-19-dev)
  else
    packages+=("$arg")
  fi
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
