#!/usr/bin/env bash
# The C/C++ bindings' tests: the Rust library and the harness from the shared debug build, then
# configures, builds and runs the CTest suite twice, linking the shared and the static library.
# Server tests start their own livekit-server through target/debug/lk-test-server.
# With CI=true a missing toolchain, server or token package fails the run; it never skips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

for tool in cargo cmake c++ cc protoc python3; do
  command -v "$tool" >/dev/null || { echo "bindings/c: $tool is missing" >&2; exit 1; }
done

if [ "${LK_SKIP_CARGO_BUILD:-}" != 1 ]; then
  make -C "$root" -s debug-build
fi
"$root/target/debug/lk-test-server" --install >/dev/null

for mode in shared static; do
  build="$root/target/bindings-c/$mode"
  shared=$([ "$mode" = shared ] && echo ON || echo OFF)
  echo "== bindings/c: $mode library =="
  cmake -S "$here" -B "$build" -DLIVEKIT_FFI_SHARED="$shared" -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build "$build" -j2
  (cd "$build" && ctest --output-on-failure --no-tests=error)
done
