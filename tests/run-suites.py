#!/usr/bin/env python3
"""Runs integration-test binaries of the shared debug build by suite name.

`cargo test --test NAME` resolves features for that narrower selection (dev-dependencies of the
other packages drop out), which rebuilds most of the dependency tree a second time. This asks
cargo for the shared build's artefacts instead (a no-op once `make debug-build` ran) and runs the
named suites' binaries as cargo would: from their package's directory, every one even when an
earlier one fails.

Usage: tests/run-suites.py SUITE... -- CARGO_TEST_ARGS...
"""

import json
import os
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    split = args.index("--") if "--" in args else len(args)
    suites, cargo_args = args[:split], args[split + 1:]
    if not suites:
        print(__doc__, file=sys.stderr)
        return 2
    build = subprocess.run(
        [os.environ.get("CARGO", "cargo"), "test", "--no-run", "--message-format=json-render-diagnostics", *cargo_args],
        stdout=subprocess.PIPE, text=True)
    if build.returncode != 0:
        return build.returncode
    found = {}
    for line in build.stdout.splitlines():
        message = json.loads(line)
        target = message.get("target", {})
        if message.get("reason") == "compiler-artifact" and message.get("executable") \
                and target.get("kind") == ["test"] and target.get("name") in suites:
            found[target["name"]] = (message["executable"], os.path.dirname(message["manifest_path"]))
    missing = [suite for suite in suites if suite not in found]
    if missing:
        print(f"run-suites: no test binary named {', '.join(missing)}", file=sys.stderr)
        return 2
    failed = []
    for suite in suites:
        executable, package_dir = found[suite]
        print(f"     Running {suite} ({os.path.relpath(executable)})", flush=True)
        if subprocess.run([executable], cwd=package_dir).returncode != 0:
            failed.append(suite)
    if failed:
        print(f"error: test failed in {', '.join(failed)}", file=sys.stderr)
        return 101
    return 0


if __name__ == "__main__":
    sys.exit(main())
