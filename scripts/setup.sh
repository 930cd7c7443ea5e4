#!/usr/bin/env bash
# scripts/setup.sh: makes a fresh Debian (or Ubuntu) machine ready to build
# rhizoflow, then builds it (Release) in ./build.
#
#   ./scripts/setup.sh            as a user with sudo, or as root
#
# Installs only what is missing: if every package below is already
# installed it does not touch apt at all. Runs apt-get through sudo unless it
# is already root. Safe to run again; a second run only rebuilds.
# If run through sudo, the build tree is handed back to the calling user.
set -euo pipefail

PACKAGES=(build-essential cmake pkg-config libjemalloc-dev libck-dev libxxhash-dev
          libcriterion-dev libjansson-dev)

cd "$(dirname "$0")/.."

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "setup: need root to install ${missing[*]}, and sudo is not installed;" \
         "run this script as root" >&2
    exit 1
  fi
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  echo "setup: every package is installed"
fi

echo "setup: building in ./build (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"

# Under sudo, leave the build tree to the user who asked for it, so that
# ctest and later builds run without root.
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  chown -R "$SUDO_USER": build
fi
echo "setup: done; try ./build/cli/rhizoflow demo"
