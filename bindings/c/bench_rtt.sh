#!/usr/bin/env bash
# Request round trip (request + response-handle drop), ours vs the official liblivekit_ffi that
# the Python SDK ships, on one livekit-server in one run, as ratios. The same request_rtt binary
# runs twice; LD_LIBRARY_PATH swaps in the official library (it has no livekit_ffi_last_error,
# which request_rtt calls only on failure).
#   bench_rtt.sh [ITERATIONS]     (needs `cargo build --release -p livekit-ffi` first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
iterations=${1:-100000}
build="$root/target/bindings-c/release"
official=$(python3 -c 'import livekit.rtc, os; print(os.path.join(os.path.dirname(livekit.rtc.__file__), "resources"))')
[ -f "$root/target/release/liblivekit_ffi.so" ] || { echo "run: cargo build --release -p livekit-ffi" >&2; exit 1; }

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLIVEKIT_FFI_LIB_DIR="$root/target/release" >/dev/null
cmake --build "$build" --target request_rtt -j2 >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
python3 "$here/tests/with_server.py" --server "$root/target/debug/lk-test-server" -- sh -c "
  echo '== ours'; '$build/request_rtt' --iterations $iterations | sed 's/^rtt /rtt ours_/'
  echo '== official'; LD_LIBRARY_PATH='$official' '$build/request_rtt' --iterations $iterations | sed 's/^rtt /rtt official_/'
" 2>/dev/null | tee "$out" | grep -v '^rtt '
awk -F'[ =,]' '/^rtt / { median[$2] = $3; p99[$2] = $4 }
  END { for (k in median) if (k ~ /^ours_/) { o = k; sub(/^ours_/, "official_", o)
          printf "%s: median ours/official = %.2f, p99 ours/official = %.2f\n", substr(k, 6), median[k] / median[o], p99[k] / p99[o] } }' "$out"
