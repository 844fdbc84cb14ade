#!/usr/bin/env bash
# The official Python SDK on our liblivekit_ffi (release) against the same SDK on its bundled
# library, publishing and receiving a tone and 720p video (bench.py beside this file). Builds
# the release library and the harness, installs livekit-server if missing, starts one server
# and writes target/ffi-media-bench.md. Arguments go to bench.py (--rounds N, --seconds S).
# The official SDK (tests/peer/requirements.txt) must be installed for $PYTHON (make deps).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
python=${PYTHON:-python3}

(cd "$root" && cargo build -q --release -p livekit-ffi \
  && cargo build -q -p livekit-test-harness --bin lk-test-server \
  && "$target/debug/lk-test-server" --install)

exec "$python" "$here/bench.py" --server "$target/debug/lk-test-server" \
  --ours "$target/release/liblivekit_ffi.so" --out "$target/ffi-media-bench.md" "$@"
