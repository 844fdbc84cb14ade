#!/usr/bin/env bash
# Kotlin bindings on the JVM against a real livekit-server: builds the uniffi library (debug)
# and the harness, checks the generated Kotlin and Swift sources are fresh, then runs the JUnit
# tests with Maven. With CI=true a missing tool (JDK, Maven, Python SDK) fails the run;
# otherwise it is reported and the JVM tests are skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"

missing=()
for tool in java mvn; do
  command -v "$tool" > /dev/null || missing+=("$tool")
done
"${PYTHON:-python3}" -c "import livekit.rtc" 2> /dev/null || missing+=("the official Python SDK (pip install -r tests/peer/requirements.txt)")
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bindings/kotlin: missing ${missing[*]}" >&2
  [[ "${CI:-}" == "true" ]] && exit 1
  echo "bindings/kotlin: skipping the JVM tests (CI=true makes this a failure)" >&2
  exit 0
fi

cargo build -q -p livekit-test-harness --bin lk-test-server
"$target/debug/lk-test-server" --install > /dev/null
# Builds the library (debug) the tests load, and fails when the checked-in sources are stale.
bindings/uniffi/generate.sh --check

export LK_TEST_SERVER="$target/debug/lk-test-server"
cd bindings/kotlin
start=$(date +%s)
# Not -q: Surefire's "Tests run: N, Failures: N" lines are the record of the run.
mvn -B --no-transfer-progress test -Dlivekit.library.dir="$target/debug" "$@"
echo "bindings/kotlin: JVM tests passed in $(( $(date +%s) - start )) s"
