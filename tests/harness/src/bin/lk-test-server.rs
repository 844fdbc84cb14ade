//! Starts a test server and prints one JSON line `{url, http_url, api_key, api_secret}`;
//! stops the server when standard input closes. Python tests and the demo use it.

use std::io::Read;

fn main() {
    let server = match livekit_test_harness::TestServer::start() {
        Ok(server) => server,
        Err(err) => {
            eprintln!("lk-test-server: {err}");
            std::process::exit(1);
        }
    };
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
