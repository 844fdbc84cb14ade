#!/usr/bin/env bash
# make cross: liblivekit_ffi (shared + static) and the abi3 wheel for every platform in
# docs/platforms.md, checked by cross/check.py, with the C story (cross/story.c) run against a
# real livekit-server natively, as static musl binaries and under qemu-user.
#
#   cross/build.sh [TARGET...]     TARGET: x86_64-gnu aarch64-gnu x86_64-musl aarch64-musl
#                                          armv7-gnu aarch64-android aarch64-ios wheel-test (default: all)
#   CROSS_TARGET_DIR               cargo's target dir for these builds (default: target/cross)
#   CROSS_RUN=0                    build and check only: no server, no qemu, no wheel test
#   CROSS_WHEEL_TEST=0             skip the Python suite on the x86_64 manylinux2014 wheel
#   CROSS_WHEELS=0                 libraries only, no wheels (maturin's zig wrappers differ from
#                                  cargo-zigbuild's, so a wheel compiles every dependency again)
#   CROSS_PROFILE=cross-check      a cargo profile other than release (fat LTO); cross-check (no
#                                  optimisation, no debug info) is CI's quick check
#   CROSS_FEATURES=none            no codecs (data, streams, RPC), instead of each target's codecs
#
# Everything comes from the registries: rustup targets, ziglang, cargo-zigbuild and maturin
# from PyPI (into a venv), qemu-user, binutils and libvpx from Debian (installed below when
# missing, as .ci/run does for the tests). A missing tool fails the run.
# cargo-zigbuild is pinned to the version inside maturin 1.16 so both write the same zig wrappers
# and the wheel reuses the library build's dependencies instead of compiling them again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cross=${CROSS_TARGET_DIR:-$root/target/cross}
export CARGO_TARGET_DIR=$cross
dist=$cross/dist
tools=$cross/tools
python=$(command -v "${PYTHON:-python3}")  # before PATH gets the tools venv
targets=${*:-x86_64-gnu wheel-test aarch64-gnu x86_64-musl aarch64-musl armv7-gnu aarch64-android aarch64-ios}
mkdir -p "$dist"
summary=$dist/summary.txt
touch "$summary"
note() { echo "$*" | tee -a "$summary"; }
step() { echo; echo "== cross: $*"; }

# --- Debian packages: a fresh machine has none of them --------------------------------------
# binutils (readelf, nm for cross/check.py), qemu-user and the C libraries it runs foreign
# binaries with, nasm and pkg-config for the codecs, and libvpx's static library for the host and,
# through multiarch, for arm64 and armhf (VP8 in the aarch64 and armv7 builds). Foreign binaries
# run on the multiarch libc6:arm64 and libc6:armhf (/lib/ld-linux-aarch64.so.1,
# /lib/ld-linux-armhf.so.3), not on the -cross packages: under the glibc of libc6-arm64-cross
# (2.36-8cross1) qemu-aarch64 7.2 never returns from the first pthread_create, even in a
# ten-line C program.
# armhf is added only when armv7 is asked for (CI's check does not need it).
armhf=0
[[ " $targets " == *" armv7-gnu "* ]] && armhf=1
debian_ready() {
  command -v readelf && command -v nm && command -v qemu-aarch64 && command -v qemu-arm \
    && command -v nasm && command -v pkg-config && [ -e /lib/ld-linux-aarch64.so.1 ] \
    && [ -e /usr/lib/x86_64-linux-gnu/libvpx.a ] && [ -e /usr/lib/aarch64-linux-gnu/libvpx.a ] \
    && { [ "$armhf" = 0 ] || { [ -e /lib/ld-linux-armhf.so.3 ] && [ -e /usr/lib/arm-linux-gnueabihf/libvpx.a ]; }; }
}
if ! debian_ready >/dev/null; then
  archs="arm64" packages="libc6:arm64 libvpx-dev:arm64"
  [ "$armhf" = 1 ] && archs="arm64 armhf" packages="$packages libc6:armhf libvpx-dev:armhf"
  for arch in $archs; do
    dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
  done
  # shellcheck disable=SC2086 # one word per package
  apt-get update -qq && apt-get install -y -qq binutils qemu-user nasm pkg-config libvpx-dev $packages >/dev/null \
    || { echo "cross: installing the Debian packages failed" >&2; exit 1; }
  debian_ready >/dev/null || { echo "cross: the Debian packages are still incomplete" >&2; exit 1; }
fi

# --- Tools ---------------------------------------------------------------------------------
for tool in cargo rustup "$python"; do
  command -v "$tool" >/dev/null || { echo "cross: $tool is missing" >&2; exit 1; }
done
if [ ! -x "$tools/bin/cargo-zigbuild" ]; then
  "$python" -m venv "$tools"
  "$tools/bin/pip" install -q --disable-pip-version-check "ziglang==0.17.1" "cargo-zigbuild==0.24.0" "maturin==1.16.0"
fi
export PATH="$tools/bin:$PATH"
zigcc() { "$tools/bin/python" -m ziglang "$@"; }
# Only the standard libraries of the targets asked for (each is a download).
rust_targets=$(for t in $targets; do case $t in
  aarch64-gnu) echo aarch64-unknown-linux-gnu ;; x86_64-musl) echo x86_64-unknown-linux-musl ;;
  aarch64-musl) echo aarch64-unknown-linux-musl ;; armv7-gnu) echo armv7-unknown-linux-gnueabihf ;;
  aarch64-android) echo aarch64-linux-android ;; aarch64-ios) echo aarch64-apple-ios ;;
esac; done)
[ -z "$rust_targets" ] || rustup target add $rust_targets >/dev/null 2>&1 \
  || { echo "cross: rustup target add failed" >&2; exit 1; }

# llvm-strip handles every target's ELF (binutils' strip only the host's).
rustup component add llvm-tools >/dev/null 2>&1 || { echo "cross: rustup component llvm-tools failed" >&2; exit 1; }
strip=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-strip
[ -x "$strip" ] || { echo "cross: $strip is missing" >&2; exit 1; }
export LLVM_NM=${strip%/*}/llvm-nm # for check.py: binutils' nm cannot read the LTO object or Mach-O

run_story=${CROSS_RUN:-1}
server=$root/target/debug/lk-test-server
if [ "$run_story" = 1 ]; then
  for tool in qemu-aarch64 qemu-arm; do
    command -v "$tool" >/dev/null || { echo "cross: $tool is missing (Debian qemu-user)" >&2; exit 1; }
  done
  [ -x "$server" ] || { echo "cross: $server is missing: run make server" >&2; exit 1; }
fi

# The codecs: opus and OpenH264 build from their crates' source with zig as the C/C++
# compiler. VP8 is the system libvpx, linked statically from Debian's libvpx.a where Debian has
# it for the target (x86_64 here; arm64/armhf with multiarch, see docs/platforms.md) so the
# library needs nothing beyond libc; elsewhere VP8 is left out and said so.
features_for() { # $1 = rust target
  case $1 in
    x86_64-unknown-linux-*) echo audio,video ;;
    aarch64-unknown-linux-*) echo audio,video ;; # libvpx-dev:arm64, installed above
    # libvpx-dev:armhf, installed above. No VP9: Debian's armhf libvpx decodes it in plain C
    # (no NEON variants), too slow for a Pi-class core, and leaving it out keeps the wheel
    # within 5 MB; subscribers there get a publisher's VP8 or H.264 instead.
    armv7-unknown-linux-gnueabihf) echo audio,h264,vp8 ;;
    *) echo audio,h264 ;;
  esac
}
vpx_env() { # $1 = Debian multiarch dir; static libvpx without pkg-config's cross rules
  echo "VPX_LIB_DIR=/usr/lib/$1 VPX_STATIC=1 VPX_INCLUDE_DIR=/usr/include VPX_VERSION=$(pkg-config --modversion vpx)"
}

size_of() { stat -c %s "$1"; }

profile=${CROSS_PROFILE:-release}
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug # cargo's one exception; other profiles use their name

# --- Linux: cargo zigbuild, maturin --zig, the story -----------------------------------------
# $1 short name, $2 rust target, $3 zig suffix (.2.17 for the glibc floor), $4 wheel tag,
# $5 zig's target for the story, $6 multiarch dir, $7 qemu (empty: native), $8 loader prefix
linux() {
  local name=$1 rt=$2 suffix=$3 compat=$4 zt=$5 multiarch=$6 qemu=$7 prefix=$8
  local out=$dist/$name features
  features=${CROSS_FEATURES:-$(features_for "$rt")}
  [ "$features" = none ] && features=""
  local feature_args=()
  [ -n "$features" ] && feature_args=(--features "$features")
  mkdir -p "$out"
  step "$name ($rt$suffix, $profile, features ${features:-none})"
  local env=()
  [[ $features == *video* || $features == *vp8* ]] && read -r -a env <<<"$(vpx_env "$multiarch")"
  # musl: cargo drops the cdylib while crt-static is on (the default for musl).
  local flags=""
  [[ $rt == *musl ]] && flags="-C target-feature=-crt-static"
  # Without wheels the Python extension is still compiled with the same features (it is one
  # more crate on the same dependencies), so a feature set it does not build with fails here.
  local packages=(-p livekit-ffi)
  [ "${CROSS_WHEELS:-1}" = 1 ] || packages+=(-p livekit-core-python)
  local t0=$SECONDS
  env "${env[@]}" RUSTFLAGS="$flags" \
    cargo zigbuild -q --profile "$profile" "${packages[@]}" --no-default-features "${feature_args[@]}" --target "$rt$suffix"
  cp "$cross/$rt/$profile_dir/liblivekit_ffi.a" "$out/"
  # Stripped afterwards: the profile's strip would strip the staticlib's symbols too.
  "$strip" -o "$out/liblivekit_ffi.so" "$cross/$rt/$profile_dir/liblivekit_ffi.so"
  rm -f "$out"/*.whl
  if [ "${CROSS_WHEELS:-1}" = 1 ]; then # an if, so a failing maturin stops the run (set -e)
    # Deflate at level 9: 0.5 % smaller than the default 6, and every installer reads it.
    env "${env[@]}" RUSTFLAGS="$flags" maturin build -q --release --zig --target "$rt" --compatibility "$compat" \
      --compression-level 9 -m "$root/bindings/python/Cargo.toml" --no-default-features "${feature_args[@]}" -o "$out" >/dev/null
  fi
  local built=$((SECONDS - t0))
  local glibc=()
  [[ $suffix == .2.17 ]] && glibc=(--glibc 2.17)
  local wheel
  wheel=$(ls "$out"/*.whl 2>/dev/null || true)
  "$python" "$root/cross/check.py" "${glibc[@]}" "$out/liblivekit_ffi.so" "$out/liblivekit_ffi.a" $wheel
  note "$name: built in ${built}s ($profile); features ${features:-none}; .so $(size_of "$out/liblivekit_ffi.so") B stripped;" \
    ".a $(size_of "$out/liblivekit_ffi.a") B; wheel $([ -n "$wheel" ] && echo "$(basename "$wheel") $(size_of "$wheel") B" || echo "not built"); checks passed"

  # The story: against the shared library on glibc; static on musl (one file, no loader).
  local cc=(zigcc cc -target "$zt" -O2 -I"$root/include" "$root/cross/story.c")
  if [[ $rt == *musl ]]; then
    zigcc c++ -target "$zt" -O2 -static -I"$root/include" -x c "$root/cross/story.c" -x none \
      "$out/liblivekit_ffi.a" -o "$out/story"
    file_kind="static"
  else
    "${cc[@]}" -L"$out" -llivekit_ffi -lpthread -Wl,-rpath,'$ORIGIN' -o "$out/story"
    file_kind="shared"
  fi
  [ "$run_story" = 1 ] || return 0
  local runner=("$out/story")
  [ -n "$qemu" ] && runner=("$qemu" ${prefix:+-L "$prefix"} "$out/story")
  step "$name: the story ($file_kind, ${qemu:-native}) against livekit-server"
  t0=$SECONDS
  CI=true "$python" "$root/bindings/c/tests/with_server.py" --server "$server" -- "${runner[@]}" 2>"$out/story.log" \
    || { tail -20 "$out/story.log"; echo "cross: the story failed on $name" >&2; return 1; }
  note "$name: story ($file_kind binary, ${qemu:-native}) passed in $((SECONDS - t0))s"
}

# A compiler wrapper for cc-rs and cmake: zig with a fixed -target, minus the --target=<rust
# triple> that cc-rs adds for clang-like compilers (zig does not know Rust's triples).
wrap() { # $1 wrapper name, $2 cc|c++|ar, $3 zig target
  local f=$tools/bin/$1
  if [ "$2" = ar ]; then
    printf '#!/bin/sh\nexec "%s" -m ziglang ar "$@"\n' "$tools/bin/python" >"$f"
  else
    printf '#!/usr/bin/env bash\nargs=()\nfor a in "$@"; do case $a in --target=*) ;; *) args+=("$a") ;; esac; done\nexec "%s" -m ziglang %s -target %s "${args[@]}"\n' \
      "$tools/bin/python" "$2" "$3" >"$f"
  fi
  chmod +x "$f"
}

# --- Android: no NDK here --------------------------------------------------------------------
# zig has no bionic (Android's libc) and the NDK is not in any registry, so the C code is
# compiled by zig for aarch64 Linux (musl's headers: only the C standard library is used; the one
# ABI difference that matters, errno's accessor, is renamed to bionic's `__errno`), and the
# shared library is linked by zig's lld against stubs: empty libraries with bionic's sonames, so
# the NEEDED entries and the page alignment are what the NDK would give, while the C++ runtime
# (operator new, __cxa_*) and the unwinder stay undefined for the NDK's libc++ to provide. That
# `.so` is for the checks (16 KiB LOAD alignment, exports, NEEDED) and is not loadable as it
# is; the `.a` is what an app links with the NDK (docs/platforms.md).
android() {
  local rt=aarch64-linux-android out=$dist/aarch64-android
  mkdir -p "$out"
  step "aarch64-android (static library, and a shared one linked against stubs for the checks)"
  local t0=$SECONDS
  wrap zig-android-cc cc aarch64-linux-musl
  wrap zig-android-c++ c++ aarch64-linux-musl
  wrap zig-ar ar ""
  # cmake-rs names the system "Android" for this target, and cmake then looks for an NDK; a
  # toolchain file of our own says "Linux on aarch64, compiled by zig" instead (libopus).
  local toolchain=$tools/android-aarch64.cmake
  printf 'set(CMAKE_SYSTEM_NAME Linux)\nset(CMAKE_SYSTEM_PROCESSOR aarch64)\nset(CMAKE_C_COMPILER %s)\nset(CMAKE_CXX_COMPILER %s)\n' \
    "$tools/bin/zig-android-cc" "$tools/bin/zig-android-c++" >"$toolchain"
  local stubs=$tools/android-stubs
  mkdir -p "$stubs"
  echo 'static int unused;' >"$stubs/empty.c"
  for lib in c m dl log c++_shared; do
    zigcc cc -target aarch64-linux-musl -shared -nostdlib -Wl,-soname,"lib$lib.so" "$stubs/empty.c" -o "$stubs/lib$lib.so"
  done
  zigcc ar rcs "$stubs/libunwind.a"
  # Without --as-needed: the stubs define nothing, so lld would drop every one of them.
  printf '#!/usr/bin/env bash\nargs=()\nfor a in "$@"; do [ "$a" = --as-needed ] || args+=("$a"); done\nexec "%s" -m ziglang ld.lld -L"%s" "${args[@]}"\n' \
    "$tools/bin/python" "$stubs" >"$tools/bin/zig-android-ld"
  chmod +x "$tools/bin/zig-android-ld"
  CMAKE_TOOLCHAIN_FILE_aarch64_linux_android=$toolchain \
    CC_aarch64_linux_android=zig-android-cc CXX_aarch64_linux_android=zig-android-c++ AR_aarch64_linux_android=zig-ar \
    CFLAGS_aarch64_linux_android=-D__errno_location=__errno CXXFLAGS_aarch64_linux_android=-D__errno_location=__errno \
    CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER=zig-android-ld RUSTFLAGS="-C link-arg=-zmax-page-size=16384" \
    cargo rustc -q --release -p livekit-ffi --no-default-features --features audio,h264 --target "$rt" \
    --crate-type cdylib --crate-type staticlib
  cp "$cross/$rt/release/liblivekit_ffi.a" "$out/"
  "$strip" -o "$out/liblivekit_ffi.so" "$cross/$rt/release/liblivekit_ffi.so"
  "$python" "$root/cross/check.py" --android "$out/liblivekit_ffi.so" "$out/liblivekit_ffi.a"
  note "aarch64-android: built in $((SECONDS - t0))s (release); features audio,h264; .so $(size_of "$out/liblivekit_ffi.so") B stripped" \
    "(linked against stubs, checks only); .a $(size_of "$out/liblivekit_ffi.a") B; checks passed; not run (no NDK, no device)"
}

# --- iOS: no Xcode here ----------------------------------------------------------------------
# zig compiles the C and C++ (ring, libopus, OpenH264) for arm64 iOS 13 with its own Darwin libc
# headers (any-darwin-any, shared by macOS and iOS) in place of the SDK; only the static
# library is made (linking needs Xcode's SDK and linker), and VP8 is left out (no libvpx for
# iOS here).
ios() {
  local rt=aarch64-apple-ios out=$dist/aarch64-ios
  mkdir -p "$out"
  step "aarch64-ios (static library; see docs/platforms.md)"
  local t0=$SECONDS
  wrap zig-ios-cc cc aarch64-ios.13.0
  wrap zig-ios-c++ c++ aarch64-ios.13.0
  wrap zig-ar ar ""
  local zig_darwin
  zig_darwin=$("$tools/bin/python" -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/lib/libc/include/any-darwin-any
  # cc-rs asks xcrun for the SDK unless SDKROOT names a directory: an empty one satisfies it.
  mkdir -p "$tools/no-ios-sdk"
  # cmake-rs names the system "iOS", and cmake then wants Xcode: a toolchain file of ours.
  local toolchain=$tools/ios-aarch64.cmake
  printf 'set(CMAKE_SYSTEM_NAME Generic)\nset(CMAKE_SYSTEM_PROCESSOR aarch64)\nset(CMAKE_C_COMPILER %s)\nset(CMAKE_CXX_COMPILER %s)\n' \
    "$tools/bin/zig-ios-cc" "$tools/bin/zig-ios-c++" >"$toolchain"
  SDKROOT=$tools/no-ios-sdk CFLAGS_aarch64_apple_ios="-isystem $zig_darwin" CXXFLAGS_aarch64_apple_ios="-isystem $zig_darwin" \
    CC_aarch64_apple_ios=zig-ios-cc CXX_aarch64_apple_ios=zig-ios-c++ AR_aarch64_apple_ios=zig-ar \
    CMAKE_TOOLCHAIN_FILE_aarch64_apple_ios=$toolchain \
    cargo rustc -q --release -p livekit-ffi --no-default-features --features audio,h264 --target "$rt" --crate-type staticlib
  cp "$cross/$rt/release/liblivekit_ffi.a" "$out/"
  "$python" "$root/cross/check.py" "$out/liblivekit_ffi.a"
  note "aarch64-ios: staticlib built in $((SECONDS - t0))s (release); features audio,h264; .a $(size_of "$out/liblivekit_ffi.a") B;" \
    "not linked or run (needs Xcode)"
}

wheel_test() {
  [ "$run_story" = 1 ] && [ "${CROSS_WHEEL_TEST:-1}" = 1 ] || return 0
  step "x86_64 manylinux2014 wheel in a clean virtualenv: the Python suite"
  local venv=$cross/wheel-venv wheel
  wheel=$(ls "$dist"/x86_64-gnu/*manylinux*.whl)
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/bindings/python/tests/requirements.txt" \
    -r "$root/tests/peer/requirements.txt" "$wheel"
  local t0=$SECONDS
  (cd "$root/bindings/python" && LK_TEST_SERVER=$server LIVEKIT_CORE_WHEEL=$wheel CI=true \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests) | tee "$dist/wheel-test.log" | tail -5
  note "x86_64-gnu wheel: Python suite in a clean venv: $(grep -E '[0-9]+ passed' "$dist/wheel-test.log" | tail -1) ($((SECONDS - t0))s)"
}

start=$SECONDS
for t in $targets; do
  case $t in
    x86_64-gnu) linux x86_64-gnu x86_64-unknown-linux-gnu .2.17 manylinux2014 x86_64-linux-gnu.2.17 x86_64-linux-gnu "" "" ;;
    aarch64-gnu) linux aarch64-gnu aarch64-unknown-linux-gnu .2.17 manylinux2014 aarch64-linux-gnu.2.17 aarch64-linux-gnu \
      qemu-aarch64 "" ;; # no prefix: the multiarch libc6:arm64 (see the Debian packages above)
    x86_64-musl) linux x86_64-musl x86_64-unknown-linux-musl "" musllinux_1_2 x86_64-linux-musl x86_64-linux-gnu "" "" ;;
    aarch64-musl) linux aarch64-musl aarch64-unknown-linux-musl "" musllinux_1_2 aarch64-linux-musl aarch64-linux-gnu qemu-aarch64 "" ;;
    armv7-gnu)
      # libopus's cmake compiles its NEON intrinsics whenever the compiler can, and zig's armv7
      # has no NEON: the C code is built for a Cortex-A7 (NEON, VFPv4), as a Raspberry Pi 2 or
      # later is; the Rust code keeps the target's baseline. (-mfpu=neon is ignored by zig.)
      export CFLAGS_armv7_unknown_linux_gnueabihf=${CFLAGS_armv7_unknown_linux_gnueabihf:--mcpu=cortex_a7}
      export CXXFLAGS_armv7_unknown_linux_gnueabihf=${CXXFLAGS_armv7_unknown_linux_gnueabihf:--mcpu=cortex_a7}
      linux armv7-gnu armv7-unknown-linux-gnueabihf .2.17 manylinux2014 arm-linux-gnueabihf.2.17 arm-linux-gnueabihf \
        qemu-arm "" ;; # no prefix: the multiarch libc6:armhf
    aarch64-android) android ;;
    aarch64-ios) ios ;;
    wheel-test) wheel_test ;;
    *) echo "cross: unknown target $t" >&2; exit 2 ;;
  esac
done
note "cross: $targets: done in $((SECONDS - start))s"
