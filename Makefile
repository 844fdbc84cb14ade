# livekit-core: one entry point for the demo, the tests and the benchmarks.
PYTHON ?= python3
CARGO ?= cargo
FFI_LIB := $(CURDIR)/target/debug/liblivekit_ffi.so

.PHONY: test-fuzz fuzz-tools demo debug-build test test-targets test-rust test-rust-dual test-dropin test-dropin-official test-dropin-ours test-c test-kotlin test-python python-bench deps server ffi generate fuzz ffi-size bench bench-crowd bench-ffi-media stack-probe fmt cross test-cross-ci

## A local livekit-server and three participants sharing state and messages, then a voice round
## (a melody from a WAV file, active speakers, mute; what bob heard goes to target/demo-audio/).
demo:
	$(CARGO) run -q -p livekit-test-harness --bin lk-test-server -- --install
	$(CARGO) run -q -p livekit-core --example demo

## Every test: unit and integration tests against a real livekit-server with the official
## Python SDK as a peer, the drop-in suite with the official library and with ours, the
## cross-platform check (test-cross-ci, below) and the fuzz targets (regression corpora, then
## FUZZ_SECONDS each).
## `make -k test` runs every suite even when one fails (CI does).
TEST_TARGETS := test-rust test-rust-dual test-dropin test-c test-kotlin test-python test-cross-ci test-fuzz
test: $(TEST_TARGETS)

## The suites `make test` runs, one per line (.ci/run times each).
test-targets:
	@printf '%s\n' $(TEST_TARGETS)

## The packages and features of the one debug build every suite shares. Cargo resolves features
## per selection (which packages, which targets, dev-dependencies or not), and every other
## selection would compile most of the dependency tree again: so the suites and scripts all use
## this one, and test-rust-dual runs its binaries rather than `cargo test --test ...`.
RUST_TEST_FLAGS := -p livekit-core -p livekit-ffi -p livekit-uniffi -p livekit-test-harness --features livekit-uniffi/cli

## The shared debug build: the test binaries, liblivekit_ffi, liblivekit_uniffi, uniffi-bindgen,
## lk-test-server and the demo example. `cargo test` leaves the libraries in target/debug/deps:
## linked to target/debug, where `cargo build` would put them and the bindings look.
debug-build:
	$(CARGO) test --no-run -q $(RUST_TEST_FLAGS)
	for lib in liblivekit_ffi.so liblivekit_ffi.a liblivekit_uniffi.so; do ln -f target/debug/deps/$$lib target/debug/$$lib; done

## --no-fail-fast: one failing test binary must not hide the others' results. The default peer
## connection mode is one connection (the pinned server has it); test-rust-dual runs a subset
## again with two (publisher and subscriber), the mode used with servers before 1.9.10.
test-rust: deps server
	$(CARGO) test --no-fail-fast $(RUST_TEST_FLAGS)

DUAL_SUITES := data_messages streams rpc participants remote_tracks audio_tracks audio_under_loss video_tracks \
  reconnect reconnect_server join_ice_restart official_interop
test-rust-dual: deps server
	LK_PC_MODE=dual tests/run-suites.py $(DUAL_SUITES) -- $(RUST_TEST_FLAGS)

## The official Python SDK's own API against the real server, first with the library it
## ships, then with ours through LIVEKIT_LIB_PATH (tests/dropin).
test-dropin: test-dropin-official test-dropin-ours

test-dropin-official: deps server ffi
	cd tests/dropin && $(PYTHON) -m pytest -q -rf -p no:cacheprovider

test-dropin-ours: deps server ffi
	cd tests/dropin && LIVEKIT_LIB_PATH=$(FFI_LIB) $(PYTHON) -m pytest -q -rf -p no:cacheprovider

## C/C++: the CMake project in bindings/c, linked shared and static, CTest against the server.
test-c: deps server ffi
	LK_SKIP_CARGO_BUILD=1 bindings/c/test.sh

## Kotlin on the JVM through the uniffi crate (the generated Kotlin and Swift are checked fresh
## by test-rust's generated_fresh): JUnit against the server, with the official Python SDK as a peer (bindings/kotlin).
test-kotlin: deps server
	bindings/kotlin/test.sh

## The Python package livekit_core (bindings/python): debug wheel in a virtualenv, pytest
## against the server with the official Python SDK as the peer, seeds 000 and 002 included.
test-python: server
	bindings/python/test.sh

## livekit_core vs the official Python SDK, one server, one run (release wheel);
## writes target/python-bench.md (figures in bindings/python/BENCHMARKS.md).
python-bench: server
	bindings/python/bench.sh --rounds 3

## The official Python SDK (peer and drop-in suite) and the tools the tests use.
deps:
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/peer/requirements.txt -r tests/dropin/requirements.txt

## Installs the pinned livekit-server with `go install` (once, into ~/.cache/livekit-core).
server: debug-build
	target/debug/lk-test-server --install

## liblivekit_ffi (debug) and the harness binary the Python and C suites start servers with.
ffi: debug-build

## Regenerates the checked-in generated files: the C header, the Kotlin and Swift bindings.
generate:
	UPDATE_GENERATED=1 tests/run-suites.py c_header -- $(RUST_TEST_FLAGS)
	bindings/uniffi/generate.sh

## Fuzzes one boundary under AddressSanitizer (nightly + cargo-fuzz): FUZZ_TARGET=request (the
## C ABI), signal_response (the server), rtp_audio (other participants' audio), rtp_video (their video), incoming_data
## (other participants' stream packets and RPC requests); FUZZ_SECONDS=60.
## New inputs go to fuzz/corpus/<target> (not checked in); a finding stops it with the input's
## path under fuzz/artifacts/. Keep a finding in fuzz/regressions/<target>/ once fixed.
FUZZ_TARGET ?= request
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := request signal_response rtp_audio rtp_video incoming_data
FUZZ_BUILD := $(HOME)/.cache/livekit-core/fuzz-target
FUZZ := cd fuzz && CARGO_TARGET_DIR=$(FUZZ_BUILD) $(CARGO) +nightly fuzz
## cargo-fuzz compiles every crate as one codegen unit unless told otherwise: 16 builds in parallel.
FUZZ_RUN := $(FUZZ) run -O --codegen-units 16
fuzz:
	mkdir -p fuzz/corpus/$(FUZZ_TARGET)
	$(FUZZ_RUN) $(FUZZ_TARGET) corpus/$(FUZZ_TARGET) regressions/$(FUZZ_TARGET) -- \
	  -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096

## CI: replays every target's regression corpus, then fuzzes each target for TEST_FUZZ_SECONDS
## (30: five targets share CI's 90 minutes with everything else; `make fuzz` goes longer).
TEST_FUZZ_SECONDS ?= 30
test-fuzz: fuzz-tools
	set -e; for target in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$target: regressions"; \
	  ($(FUZZ_RUN) $$target regressions/$$target -- -runs=0); \
	  echo "== fuzz $$target: $(TEST_FUZZ_SECONDS) s"; \
	  $(MAKE) --no-print-directory fuzz FUZZ_TARGET=$$target FUZZ_SECONDS=$(TEST_FUZZ_SECONDS); \
	  echo "fuzz $$target: no finding"; \
	done

## Nightly Rust and cargo-fuzz, installed when missing (rustup's servers and crates.io).
fuzz-tools:
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	$(CARGO) +nightly fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

## Size of the stripped release liblivekit_ffi.so (target: at most 7 MB).
ffi-size:
	$(CARGO) build -q --release -p livekit-ffi
	strip -o target/release/liblivekit_ffi.stripped.so target/release/liblivekit_ffi.so
	@stat -c '%s bytes  target/release/liblivekit_ffi.stripped.so' target/release/liblivekit_ffi.stripped.so

## Ours vs the official Python SDK on one local server, one run (release build).
bench: deps server
	$(CARGO) run -q --release -p livekit-bench -- --rounds 2

## 500 data-only participants in one process, ours and the official SDK's (issue 15's target).
bench-crowd: deps server
	$(CARGO) run -q --release -p livekit-bench -- --rounds 1 --only crowd --crowd 500 --report target/bench-crowd-report.md

## The official Python SDK on our liblivekit_ffi (release) vs on its bundled library: one process
## publishing a tone and 720p video and receiving both, CPU and RSS (bench/ffi_media; issue 13).
bench-ffi-media: deps server
	bench/ffi_media/run.sh --rounds 2 --seconds 30

## webrtc 0.17 vs 0.21 vs str0m against the server (docs/webrtc-stacks.md; builds all three).
stack-probe: server
	$(CARGO) run -q --release -p livekit-stack-probe

## Every platform (docs/platforms.md): liblivekit_ffi (.so + .a) and the abi3 wheel for x86_64 and
## aarch64 glibc 2.17, x86_64 and aarch64 musl, armv7, the Android and iOS static libraries; ELF
## checks (cross/check.py); the C story run natively, static musl and under qemu-user; the
## manylinux2014 wheel's Python suite in a clean venv. CROSS_TARGET_DIR=... (default target/cross).
cross: deps server
	cross/build.sh

## The lean part CI runs: x86_64 glibc 2.17, x86_64 musl (static story) and aarch64 glibc 2.17
## (story under qemu-aarch64), the libraries checked (glibc floor, exports, dependencies). To fit
## CI's budget: the cross-check profile (no optimisation, no debug info), no codecs and no
## wheels; `make cross` builds every target with its codecs, in release, with wheels.
test-cross-ci: deps server
	CROSS_PROFILE=cross-check CROSS_FEATURES=none CROSS_WHEELS=0 cross/build.sh x86_64-gnu x86_64-musl aarch64-gnu

fmt:
	$(CARGO) fmt --all
