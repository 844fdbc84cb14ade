//! include/livekit_ffi.h is generated from the C ABI by cbindgen and checked in; this test
//! fails when it is stale. `UPDATE_GENERATED=1 cargo test -p livekit-ffi --test c_header`
//! rewrites it.

use std::path::Path;

#[test]
fn the_checked_in_c_header_is_fresh() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header_path = crate_dir.join("../include/livekit_ffi.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&header_path, &generated).expect("header written");
        return;
    }
    let checked_in = std::fs::read_to_string(&header_path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/livekit_ffi.h is stale: run `make generate` (UPDATE_GENERATED=1 cargo test -p livekit-ffi --test c_header)"
    );
}
