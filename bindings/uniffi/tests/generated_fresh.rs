//! The Kotlin and Swift sources generated from this library are checked in; this test fails
//! when they are stale. It runs `generate.sh --check` with the generator cargo built for it (so
//! the check needs no build of its own); `bindings/uniffi/generate.sh` rewrites them.

use std::path::Path;
use std::process::Command;

#[test]
fn the_checked_in_kotlin_and_swift_sources_are_fresh() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("generate.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg("--check")
        .env("LK_UNIFFI_BINDGEN", env!("CARGO_BIN_EXE_uniffi-bindgen"))
        // The library of this build sits beside this test's executable (target/debug/deps).
        .env("LK_UNIFFI_LIBRARY", library_beside_this_test())
        .output()
        .expect("generate.sh runs");
    assert!(
        output.status.success(),
        "the generated Kotlin/Swift sources are stale: run bindings/uniffi/generate.sh\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn library_beside_this_test() -> std::path::PathBuf {
    let name = if cfg!(target_os = "macos") { "liblivekit_uniffi.dylib" } else { "liblivekit_uniffi.so" };
    std::env::current_exe().expect("the test's path").with_file_name(name)
}
