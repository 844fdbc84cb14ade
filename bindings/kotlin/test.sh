#!/usr/bin/env bash
# Kotlin bindings on the JVM against a real livekit-server: the uniffi library (debug) and the
# harness come from the shared debug build (`make debug-build`; its generated_fresh test checks
# the generated Kotlin and Swift sources), then the JUnit tests run with Maven. With CI=true a missing tool (JDK, Maven, Python SDK) fails the run;
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

make -s debug-build
"$target/debug/lk-test-server" --install > /dev/null

export LK_TEST_SERVER="$target/debug/lk-test-server"
cd bindings/kotlin
start=$(date +%s)
# Not -q: Surefire's "Tests run: N, Failures: N" lines are the record of the run.
mvn -B --no-transfer-progress test -Dlivekit.library.dir="$target/debug" "$@"
echo "bindings/kotlin: JVM tests passed in $(( $(date +%s) - start )) s"
