#!/usr/bin/env bash
# check_install.sh BUILD_DIR SOURCE_DIR: installs the build into a temporary
# prefix, then builds and runs a small consumer program against it twice:
# through pkg-config and through CMake's find_package. Exits non-zero on any
# failure.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
export LD_LIBRARY_PATH="$tmp/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc -std=c11 "$src/tests/install/consumer.c" $(pkg-config --cflags --libs rhizoflow) -o "$tmp/pc"
"$tmp/pc"

mkdir "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(rhizoflow REQUIRED)
add_executable(consumer "$src/tests/install/consumer.c")
target_link_libraries(consumer rhizoflow::rhizoflow)
CMAKE
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/cm.log"
cmake --build "$tmp/cm/build" > "$tmp/cmbuild.log"
"$tmp/cm/build/consumer"
echo "check_install: 2 passed, 0 failed"
