#!/usr/bin/env python3
"""Runs one command against a real livekit-server started by the project's harness.

    with_server.py --server target/debug/lk-test-server -- COMMAND [ARGS...]

The command gets LK_URL, LK_ROOM and two tokens for one fresh room: LK_IDENTITY_A/LK_TOKEN_A
and LK_IDENTITY_B/LK_TOKEN_B (minted with the official `livekit-api` package). The server
stops when the command ends. A missing server binary or livekit-api fails the test when
CI=true and skips it (exit 77) otherwise.
"""

import argparse
import json
import os
import subprocess
import sys
import uuid

SKIP = 77


def unavailable(message: str) -> "NoReturn":
    in_ci = os.environ.get("CI", "").lower() == "true"
    print(f"with_server: {message}" + ("" if in_ci else " (skipped: CI is not true)"), file=sys.stderr)
    sys.exit(1 if in_ci else SKIP)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    if not os.path.exists(args.server):
        unavailable(f"{args.server} is missing: run `cargo build -p livekit-test-harness`")
    try:
        from livekit import api
    except ImportError:
        unavailable("the livekit-api Python package is missing: `make deps`")

    server = subprocess.Popen([args.server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line:
            print("with_server: lk-test-server printed nothing: the server did not start", file=sys.stderr)
            return 1
        info = json.loads(line)
        room = f"c-bindings-{uuid.uuid4().hex[:8]}"
        env = dict(os.environ, LK_URL=info["url"], LK_ROOM=room, LK_SERVER_JSON=line.strip())
        for suffix, identity in (("A", "alice"), ("B", "bob")):
            grants = api.VideoGrants(room_join=True, room=room, can_update_own_metadata=True)
            token = api.AccessToken(info["api_key"], info["api_secret"]).with_identity(identity).with_grants(grants)
            env[f"LK_IDENTITY_{suffix}"] = identity
            env[f"LK_TOKEN_{suffix}"] = token.to_jwt()
        return subprocess.call(command, env=env)
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
