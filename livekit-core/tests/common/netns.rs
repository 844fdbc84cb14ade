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

/// Where the server side of `UdpBlockedNamespace` is reached from inside it.
pub const UDP_BLOCKED_SERVER_IP: &str = "10.214.0.1";

/// A second namespace, linked to the current one by a veth pair (`10.214.0.1` on this side,
/// `10.214.0.2` on that one) that drops every UDP packet both ways while TCP passes: a client
/// in it sees the network of a firewall that blocks UDP. Deleted when dropped.
pub struct UdpBlockedNamespace {
    namespace: Namespace,
    hosts_dir: std::path::PathBuf,
}

impl UdpBlockedNamespace {
    /// Creates it; `hosts` is its /etc/hosts (`ip netns exec` mounts /etc/netns/<name>/hosts).
    pub fn create(hosts: &str) -> Self {
        let name = format!("lk-udpblock-{}", std::process::id());
        let namespace = Namespace::create(&name);
        let hosts_dir = std::path::Path::new("/etc/netns").join(&name);
        std::fs::create_dir_all(&hosts_dir).expect("creating /etc/netns/<name>");
        std::fs::write(hosts_dir.join("hosts"), hosts).expect("writing its hosts file");
        let blocked = Self { namespace, hosts_dir };
        run(Command::new("ip").args(["link", "add", "lkb0", "type", "veth", "peer", "name", "lkb1", "netns", &name]));
        run(Command::new("ip").args(["addr", "add", &format!("{UDP_BLOCKED_SERVER_IP}/24"), "dev", "lkb0"]));
        run(Command::new("ip").args(["link", "set", "lkb0", "up"]));
        run(blocked.command("ip").args(["link", "set", "lo", "up"]));
        run(blocked.command("ip").args(["addr", "add", "10.214.0.2/24", "dev", "lkb1"]));
        run(blocked.command("ip").args(["link", "set", "lkb1", "up"]));
        // Dropped on arrival on either side, so the sender sees no error: the silence of a
        // firewall, not an ICMP answer.
        load_rules_here(&drop_udp_from("lkb0"));
        load_nft_rules(&name, &drop_udp_from("lkb1"));
        blocked
    }

    /// `program` to run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace.0, program]);
        command
    }

    /// UDP packets the link dropped so far, both ways.
    pub fn dropped_udp_packets(&self) -> u64 {
        let counted = |output: std::process::Output| -> u64 {
            let text = String::from_utf8_lossy(&output.stdout).to_string();
            let words: Vec<&str> = text.split_whitespace().collect();
            words.windows(2).filter(|w| w[0] == "packets").filter_map(|w| w[1].parse::<u64>().ok()).sum()
        };
        let list = ["list", "table", "inet", "udpblock"];
        let here = Command::new("nft").args(list).output().expect("nft list");
        let there = self.command("nft").args(list).output().expect("nft list");
        counted(here) + counted(there)
    }
}

impl Drop for UdpBlockedNamespace {
    fn drop(&mut self) {
        let _ = Command::new("nft").args(["delete", "table", "inet", "udpblock"]).status();
        let _ = std::fs::remove_dir_all(&self.hosts_dir);
    }
}

fn drop_udp_from(interface: &str) -> String {
    format!(
        "add table inet udpblock\n\
         add chain inet udpblock input {{ type filter hook input priority 0; }}\n\
         add rule inet udpblock input iifname \"{interface}\" meta l4proto udp counter drop\n"
    )
}

fn load_rules_here(rules: &str) {
    let file = std::env::temp_dir().join(format!("lk-rules-{}.nft", std::process::id()));
    std::fs::write(&file, rules).expect("writing the nft rules");
    nft(&["-f", &file.to_string_lossy()]);
    let _ = std::fs::remove_file(file);
}
