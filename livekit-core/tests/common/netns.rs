//! Runs a test again inside a network namespace it creates, with nftables rules of its own:
//! faults on a real network path (loss, blocked UDP) without touching the host. Needs root,
//! `ip` and `nft` (Debian `iproute2` and `nftables`; `.ci/run` installs them); without them the
//! test fails.

use std::process::Command;

/// Set in the copy of the test that runs inside the namespace.
pub const INSIDE_NAMESPACE: &str = "LK_TEST_IN_NETNS";

/// True in the copy of the test that runs inside the namespace.
pub fn inside_namespace() -> bool {
    std::env::var_os(INSIDE_NAMESPACE).is_some()
}

/// Runs `test` (this binary's test of that name) in a new network namespace where `nft_rules`
/// (an `nft -f` script, may be empty) are loaded first, and fails if it fails there.
pub fn run_in_namespace(test: &str, nft_rules: &str) {
    let namespace = format!("lk-{}-{}", &test[..test.len().min(8)], std::process::id());
    let _cleanup = Namespace::create(&namespace);
    let in_namespace = |args: &[&str]| run(Command::new("ip").args(["netns", "exec", &namespace]).args(args));
    in_namespace(&["ip", "link", "set", "lo", "up"]);
    // libwebrtc gathers no candidate on loopback alone: give it an interface of its own. Its
    // address exists only inside this namespace; the server stays on 127.0.0.1.
    in_namespace(&["ip", "link", "add", "lk0", "type", "veth", "peer", "name", "lk1"]);
    in_namespace(&["ip", "addr", "add", "10.213.0.1/24", "dev", "lk0"]);
    in_namespace(&["ip", "link", "set", "lk1", "up"]);
    in_namespace(&["ip", "link", "set", "lk0", "up"]);
    if !nft_rules.is_empty() {
        load_nft_rules(&namespace, nft_rules);
    }
    let me = std::env::current_exe().expect("the test binary");
    let status = Command::new("ip")
        .args(["netns", "exec", &namespace])
        .arg(me)
        .args([test, "--exact", "--nocapture"])
        .env(INSIDE_NAMESPACE, "1")
        .status()
        .expect("running the test inside the namespace");
    assert!(status.success(), "the test failed inside the namespace {namespace} ({status})");
}

/// nftables rules that drop `percent` % of the UDP packets arriving, at random: every hop of
/// the media loses packets, signalling (TCP) does not.
pub fn random_udp_loss(percent: u32) -> String {
    format!(
        "add table inet lossy\n\
         add chain inet lossy input {{ type filter hook input priority 0; }}\n\
         add rule inet lossy input meta l4proto udp numgen random mod 100 < {percent} drop\n"
    )
}

/// Runs `nft` with `args` in the current namespace (from the test running inside it).
pub fn nft(args: &[&str]) {
    run(Command::new("nft").args(args));
}

fn load_nft_rules(namespace: &str, rules: &str) {
    let file = std::env::temp_dir().join(format!("{namespace}.nft"));
    std::fs::write(&file, rules).expect("writing the nft rules");
    run(Command::new("ip").args(["netns", "exec", namespace, "nft", "-f"]).arg(&file));
    let _ = std::fs::remove_file(file);
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e} (needs root, iproute2 and nftables)"));
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Deletes the namespace (and so its rules) when the test ends, passed or not.
struct Namespace(String);

impl Namespace {
    fn create(name: &str) -> Self {
        run(Command::new("ip").args(["netns", "add", name]));
        Self(name.to_string())
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}
