# livekit-core: one entry point for the demo, the tests and the benchmark.
PYTHON ?= python3
CARGO ?= cargo

.PHONY: demo test deps server bench stack-probe fmt

## A local livekit-server and three participants sharing state and messages.
demo: server
	$(CARGO) run -q -p livekit-core --example demo

## Every test: unit tests and the integration tests against a real livekit-server,
## with the official Python SDK as a peer.
test: deps server
	$(CARGO) test -p livekit-core -p livekit-test-harness

## The official Python SDK, used as a peer by the interop tests.
deps:
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/peer/requirements.txt

## Installs the pinned livekit-server with `go install` (once, into ~/.cache/livekit-core).
server:
	$(CARGO) run -q -p livekit-test-harness --bin lk-test-server -- --install

## Ours vs the official Python SDK on one local server, one run (release build).
bench: deps server
	$(CARGO) run -q --release -p livekit-bench -- --rounds 2

## webrtc 0.17 vs 0.21 vs str0m against the server (docs/webrtc-stacks.md; builds all three).
stack-probe: server
	$(CARGO) run -q --release -p livekit-stack-probe

fmt:
	$(CARGO) fmt --all
