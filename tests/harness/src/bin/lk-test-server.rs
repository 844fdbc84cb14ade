//! Starts a test server and prints one JSON line `{url, http_url, api_key, api_secret}`;
//! stops the server when standard input closes. Python tests and scripts use it.
//! `lk-test-server --install` only installs the pinned server and prints its path.

use std::io::Read;

fn main() {
    if std::env::args().any(|a| a == "--install") {
        match livekit_test_harness::ensure_server_binary() {
            Ok(path) => println!("livekit-server {} at {}", livekit_test_harness::SERVER_VERSION, path.display()),
            Err(err) => fail(&err),
        }
        return;
    }
    let server = livekit_test_harness::TestServer::start().unwrap_or_else(|err| fail(&err));
    let info = serde_json::json!({
        "url": server.url(),
        "http_url": server.http_url(),
        "api_key": server.api_key(),
        "api_secret": server.api_secret(),
    });
    println!("{info}");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
}

fn fail(err: &str) -> ! {
    eprintln!("lk-test-server: {err}");
    std::process::exit(1);
}
