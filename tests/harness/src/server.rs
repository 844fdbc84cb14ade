//! One `livekit-server` process on loopback with free ports and a generated config file.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::install::ensure_server_binary;

/// Knobs a test may change; the defaults suit tests (short departure timeout).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub api_key: String,
    pub api_secret: String,
    /// Seconds a room stays open after its last participant left.
    pub departure_timeout_secs: u32,
    /// Seconds an empty room (created but never joined) stays open.
    pub empty_timeout_secs: u32,
    /// Extra YAML appended to the generated config, for tests that need other limits.
    pub extra_yaml: String,
    /// The address clients elsewhere reach the server at, besides 127.0.0.1: its signalling
    /// listens there too, and its ICE candidates, STUN and TURN relays use it.
    pub node_ip: String,
    /// The built-in TURN server over TLS as well as UDP (`turn_tls`), for the UDP-blocked tests.
    pub turn_tls: Option<TurnTls>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            api_key: "testkey".into(),
            // The server warns about secrets shorter than 32 characters.
            api_secret: "testsecret-0123456789-0123456789-abcdef".into(),
            departure_timeout_secs: 1,
            empty_timeout_secs: 10,
            extra_yaml: String::new(),
            node_ip: "127.0.0.1".into(),
            turn_tls: None,
        }
    }
}

/// The server's TURN over TLS. It always tells clients `turns:<domain>:443`, so it listens on
/// port 443: only inside a network namespace of the test's own, where that port is free.
#[derive(Clone, Debug)]
pub struct TurnTls {
    pub domain: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The UDP ports the relays use on the server side (inclusive).
    pub relay_ports: (u16, u16),
}

impl TurnTls {
    /// Lines of the `turn:` section. Relays may reach loopback and private addresses (the
    /// server's own, in tests); the server refuses them by default.
    fn yaml(&self) -> String {
        format!(
            "  tls_port: 443
  domain: {}
  cert_file: {}
  key_file: {}
  relay_range_start: {}
  relay_range_end: {}
  allow_restricted_peer_cidrs: [\"127.0.0.0/8\", \"10.0.0.0/8\"]
",
            self.domain,
            self.cert_file.display(),
            self.key_file.display(),
            self.relay_ports.0,
            self.relay_ports.1
        )
    }
}

/// A running server; killed when dropped.
pub struct TestServer {
    child: Child,
    http_port: u16,
    config: ServerConfig,
    dir: PathBuf,
    binary: PathBuf,
}

impl TestServer {
    /// Starts a server with the default test config.
    pub fn start() -> Result<Self, String> {
        Self::start_with(ServerConfig::default())
    }

    /// Starts a server with `config`. Ports are picked free, yet another process can take one
    /// before the server binds it (tests start servers in parallel), so a server that exits at
    /// once because an address is in use is started again on other ports, up to 3 times.
    pub fn start_with(config: ServerConfig) -> Result<Self, String> {
        let mut attempt = 1;
        loop {
            match Self::start_once(config.clone()) {
                Err(err) if attempt < 3 && err.contains("address already in use") => attempt += 1,
                other => return other,
            }
        }
    }

    fn start_once(config: ServerConfig) -> Result<Self, String> {
        let binary = ensure_server_binary()?;
        let http_port = free_tcp_port()?;
        let tcp_port = free_tcp_port()?;
        let udp_port = free_udp_port()?;
        let stun_port = free_udp_port()?;
        let dir = std::env::temp_dir().join(format!("lk-test-server-{}-{http_port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let config_path = dir.join("livekit.yaml");
        std::fs::write(&config_path, config_yaml(&config, http_port, tcp_port, udp_port, stun_port))
            .map_err(|e| format!("write {}: {e}", config_path.display()))?;
        let child = spawn(&binary, &dir)?;
        let mut server = Self { child, http_port, config, dir, binary };
        server.wait_ready(Duration::from_secs(30))?;
        Ok(server)
    }

    /// Kills the server with SIGKILL (a crash: no leave is sent, all state is lost) and starts
    /// it again on the same ports with the same config; returns once it answers again.
    pub fn kill_and_restart(&mut self) -> Result<(), String> {
        self.kill()?;
        self.child = spawn(&self.binary, &self.dir)?;
        self.wait_ready(Duration::from_secs(30))
    }

    /// Kills the server with SIGKILL and waits for it to exit.
    pub fn kill(&mut self) -> Result<(), String> {
        self.child.kill().map_err(|e| format!("kill livekit-server: {e}"))?;
        self.child.wait().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The port clients connect to (signalling and the server API).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The WebSocket URL clients connect to.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.http_port)
    }

    /// The HTTP URL of the server API (RoomService).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn api_key(&self) -> &str {
        &self.config.api_key
    }

    pub fn api_secret(&self) -> &str {
        &self.config.api_secret
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("livekit-server exited early ({status}):\n{}", self.log()));
            }
            if http_get_ok(self.http_port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50)); // polling a port, not standing in for an event
        }
        Err(format!("livekit-server did not answer within {timeout:?}:\n{}", self.log()))
    }
}

/// Starts the server with the config in `dir`, its output appended to `dir/server.log`.
pub(crate) fn spawn(binary: &std::path::Path, dir: &std::path::Path) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .map_err(|e| e.to_string())?;
    Command::new(binary)
        .arg("--config")
        .arg(dir.join("livekit.yaml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start {}: {e}", binary.display()))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `stun_servers` names the server's own TURN port (its TURN server answers STUN binding
/// requests): without it the server hands clients public STUN servers, and tests must not send
/// traffic off this machine. A STUN address that never answers would hold every round of ICE
/// gathering for 5 s, and webrtc-rs cannot restart ICE (as each resume does) while it gathers.
pub(crate) fn config_yaml(c: &ServerConfig, http_port: u16, tcp_port: u16, udp_port: u16, stun_port: u16) -> String {
    // On another address the server's media stays on it alone: with a second UDP socket on
    // loopback it may answer a relay from 127.0.0.1, which the relay has no permission for.
    let node_ip = &c.node_ip;
    let (bind_addresses, ips, loopback_candidate) = if node_ip == "127.0.0.1" {
        ("\"127.0.0.1\"".to_string(), "\"127.0.0.0/8\"".to_string(), true)
    } else {
        (format!("\"127.0.0.1\", \"{node_ip}\""), format!("\"{node_ip}/32\""), false)
    };
    let turn_tls = c.turn_tls.as_ref().map(TurnTls::yaml).unwrap_or_default();
    format!(
        "port: {http_port}
bind_addresses: [{bind_addresses}]
rtc:
  tcp_port: {tcp_port}
  udp_port: {udp_port}
  use_external_ip: false
  node_ip: {node_ip}
  enable_loopback_candidate: {loopback_candidate}
  stun_servers: [\"{node_ip}:{stun_port}\"]
  ips:
    includes: [{ips}]
turn:
  enabled: true
  udp_port: {stun_port}
{turn_tls}keys:
  {}: {}
room:
  auto_create: true
  departure_timeout: {}
  empty_timeout: {}
logging:
  level: info
{}",
        c.api_key, c.api_secret, c.departure_timeout_secs, c.empty_timeout_secs, c.extra_yaml
    )
}

pub(crate) fn free_tcp_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

pub(crate) fn free_udp_port() -> Result<u16, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(socket.local_addr().map_err(|e| e.to_string())?.port())
}

/// The server answers `GET /` with 200 "OK" once it accepts connections.
pub(crate) fn http_get_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
}
