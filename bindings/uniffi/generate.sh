#!/usr/bin/env bash
# Regenerates the Kotlin and Swift sources from the debug build of this crate (uniffi library
# mode) into bindings/kotlin and bindings/swift. With --check it writes them to a temporary
# folder instead and fails when the checked-in sources differ (the generated_fresh test runs it
# that way in `cargo test`).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
check=false
[[ "${1:-}" == "--check" ]] && check=true

# The library and the generator come from the shared debug build (`make debug-build`), or, from
# the generated_fresh test, the ones that test was built with (LK_UNIFFI_BINDGEN, _LIBRARY).
generator="${LK_UNIFFI_BINDGEN:-}"
if [[ -z "$generator" ]]; then
  make -C "$root" -s debug-build
  generator="$target/debug/uniffi-bindgen"
fi
library="${LK_UNIFFI_LIBRARY:-$target/debug/liblivekit_uniffi.so}"
[[ "$(uname)" == Darwin && -z "${LK_UNIFFI_LIBRARY:-}" ]] && library="$target/debug/liblivekit_uniffi.dylib"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
bindgen() { "$generator" generate --library "$library" --no-format "$@"; }
bindgen --language kotlin --out-dir "$out/kotlin"
bindgen --language swift --out-dir "$out/swift-raw"

# The layout the Kotlin and Swift packages use.
mkdir -p "$out/swift/Sources/LiveKitUniFFI" "$out/swift/Generated/include"
mv "$out/swift-raw/LiveKitUniFFI.swift" "$out/swift/Sources/LiveKitUniFFI/"
mv "$out/swift-raw/LiveKitUniFFIFFI.h" "$out/swift/Generated/include/"
mv "$out/swift-raw/LiveKitUniFFIFFI.modulemap" "$out/swift/Generated/include/module.modulemap"

kotlin_dir="bindings/kotlin/src/main/kotlin/io/livekit/core/uniffi"
pairs=(
  "$out/kotlin/io/livekit/core/uniffi:$kotlin_dir"
  "$out/swift/Sources/LiveKitUniFFI:bindings/swift/Sources/LiveKitUniFFI"
  "$out/swift/Generated:bindings/swift/Generated"
)
stale=0
for pair in "${pairs[@]}"; do
  fresh="${pair%%:*}" checked_in="${pair#*:}"
  if $check; then
    if ! diff -r -u "$checked_in" "$fresh" > "$out/diff" 2>&1; then
      echo "STALE: $checked_in differs from freshly generated sources:" >&2
      head -n 40 "$out/diff" >&2
      stale=1
    fi
  else
    rm -rf "$checked_in"
    mkdir -p "$(dirname "$checked_in")"
    cp -r "$fresh" "$checked_in"
  fi
done
if $check; then
  if [[ $stale -ne 0 ]]; then
    echo "run bindings/uniffi/generate.sh and commit the result" >&2
    exit 1
  fi
  echo "generated Kotlin and Swift sources are up to date"
else
  echo "generated: $kotlin_dir, bindings/swift/Sources/LiveKitUniFFI, bindings/swift/Generated"
fi
