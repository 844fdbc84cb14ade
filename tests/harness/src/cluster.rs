//! The server's own distributed mode on loopback: Debian's `redis-server` on a free port (no
//! persistence, its own temp dir) and N `livekit-server` nodes sharing it (`redis: address:`),
//! each with its own HTTP, RTC TCP/UDP and STUN ports (prometheus, the debug handler and TURN
//! stay off, their defaults). A node can be killed with SIGKILL (`kill_node`), as a crash;
//! everything stops when the cluster is dropped.
//!
//! The nodes talk only through Redis (psrpc over Redis, no inter-node port). A room lives on
//! one node (the Redis hash `room_node_map`); `room_node` reads it so tests can see where a
//! room is hosted. A node counts as gone once its stats in Redis are older than 5 s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::install::ensure_server_binary;
use crate::server::{config_yaml, free_tcp_port, free_udp_port, http_get_ok, spawn, ServerConfig};

/// How long a node or Redis may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Redis and the nodes sharing it; all killed when dropped.
pub struct TestCluster {
    redis: RedisServer,
    nodes: Vec<ClusterNode>,
    config: ServerConfig,
    dir: PathBuf,
}

/// One `livekit-server` of the cluster.
struct ClusterNode {
    /// `None` once killed.
    child: Option<Child>,
    http_port: u16,
    node_id: String,
    dir: PathBuf,
}

impl TestCluster {
    /// Starts Redis and `nodes` servers with the default test config.
    pub fn start(nodes: usize) -> Result<Self, String> {
        Self::start_with(nodes, ServerConfig::default())
    }

    /// Starts Redis and `nodes` servers sharing it, each with `config` and ports of its own;
    /// returns once every node answers HTTP (a node registers itself in Redis before it
    /// listens, so by then every node can be chosen to host a room).
    pub fn start_with(nodes: usize, config: ServerConfig) -> Result<Self, String> {
        let binary = ensure_server_binary()?;
        let redis_port = free_tcp_port()?;
        let dir = std::env::temp_dir().join(format!("lk-test-cluster-{}-{redis_port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let redis = RedisServer::start(redis_port, &dir).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
        // From here on, dropping `cluster` (also on an error) stops what was started.
        let mut cluster = Self { redis, nodes: Vec::new(), config, dir };
        for index in 0..nodes {
            let node = cluster.start_node(&binary, index)?;
            cluster.nodes.push(node);
        }
        Ok(cluster)
    }

    fn start_node(&self, binary: &Path, index: usize) -> Result<ClusterNode, String> {
        let http_port = free_tcp_port()?;
        let (tcp_port, udp_port, stun_port) = (free_tcp_port()?, free_udp_port()?, free_udp_port()?);
        let dir = self.dir.join(format!("node{index}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut config = self.config.clone();
        config.extra_yaml = format!("redis:\n  address: 127.0.0.1:{}\n{}", self.redis.port, config.extra_yaml);
        let yaml = config_yaml(&config, http_port, tcp_port, udp_port, stun_port);
        std::fs::write(dir.join("livekit.yaml"), yaml).map_err(|e| format!("write the config of node {index}: {e}"))?;
        let child = spawn(binary, &dir)?;
        let mut node = ClusterNode { child: Some(child), http_port, node_id: String::new(), dir };
        node.wait_ready(index)?;
        node.node_id =
            node_id_in_log(&node.log()).ok_or_else(|| format!("node {index} logged no nodeID:\n{}", node.log()))?;
        Ok(node)
    }

    /// How many nodes the cluster started with (killed ones included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the cluster has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The WebSocket URL of node `index`.
    pub fn url(&self, index: usize) -> String {
        format!("ws://127.0.0.1:{}", self.nodes[index].http_port)
    }

    /// The HTTP URL of node `index`'s server API (RoomService).
    pub fn http_url(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[index].http_port)
    }

    /// The signalling and server API port of node `index`.
    pub fn http_port(&self, index: usize) -> u16 {
        self.nodes[index].http_port
    }

    /// Every node's signalling port, in node order (for `TcpProxy::start_first_reachable`).
    pub fn http_ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.http_port).collect()
    }

    /// The id node `index` registered in Redis (`ND_...`), as `CreateRoom{node_id}` takes it.
    pub fn node_id(&self, index: usize) -> &str {
        &self.nodes[index].node_id
    }

    /// The index of the node with id `node_id`.
    pub fn node_index(&self, node_id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.node_id == node_id)
    }

    /// The node hosting `room` now, as Redis records it (`room_node_map`); `None` when no node
    /// was chosen for it. The mapping is rewritten when a room moves to another node.
    pub fn room_node(&self, room: &str) -> Result<Option<String>, String> {
        self.redis.hget("room_node_map", room)
    }

    /// Kills node `index` with SIGKILL (a crash: it says goodbye to no one, and its entry in
    /// Redis stays until the others find its stats too old) and waits for it to exit.
    pub fn kill_node(&mut self, index: usize) -> Result<(), String> {
        let node = &mut self.nodes[index];
        let mut child = node.child.take().ok_or_else(|| format!("node {index} was already killed"))?;
        child.kill().map_err(|e| format!("kill node {index}: {e}"))?;
        child.wait().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Whether node `index` is still running (not killed, not exited).
    pub fn is_running(&mut self, index: usize) -> bool {
        match self.nodes[index].child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn api_key(&self) -> &str {
        &self.config.api_key
    }

    pub fn api_secret(&self) -> &str {
        &self.config.api_secret
    }

    /// Node `index`'s log so far.
    pub fn log(&self, index: usize) -> String {
        self.nodes[index].log()
    }

    /// Every node's log and Redis's, labelled, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for (index, node) in self.nodes.iter().enumerate() {
            all.push_str(&format!("==== node {index} ({}, port {}) ====\n", node.node_id, node.http_port));
            all.push_str(&node.log());
        }
        all.push_str("==== redis ====\n");
        all.push_str(&std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default());
        all
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.nodes.clear(); // each node is killed as it is dropped
        self.redis.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl ClusterNode {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self, index: usize) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("node {index} exited early ({status}):\n{}", self.log()));
            }
            if http_get_ok(self.http_port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50)); // polling a port, not standing in for an event
        }
        Err(format!("node {index} did not answer within {START_TIMEOUT:?}:\n{}", self.log()))
    }
}

/// The node id in the server's "starting LiveKit server" line: `"nodeID": "ND_..."`.
fn node_id_in_log(log: &str) -> Option<String> {
    let start = log.find("\"nodeID\": \"")? + "\"nodeID\": \"".len();
    let len = log[start..].find('"')?;
    Some(log[start..start + len].to_string())
}

/// Debian's `redis-server` on a loopback port: nothing saved to disk, its files in `dir`.
struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    fn start(port: u16, dir: &Path) -> Result<Self, String> {
        let binary = redis_binary()?;
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {}: {e}", binary.display()))?;
        let mut redis = Self { child: Some(child), port };
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = redis.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
                return Err(format!("redis-server exited early ({status}):\n{log}"));
            }
            if redis.command(&["PING"]).is_ok_and(|reply| reply == Reply::Status("PONG".into())) {
                return Ok(redis);
            }
            std::thread::sleep(Duration::from_millis(50)); // polling a port, not standing in for an event
        }
        Err(format!("redis-server did not answer on port {port} within {START_TIMEOUT:?}"))
    }

    fn hget(&self, key: &str, field: &str) -> Result<Option<String>, String> {
        match self.command(&["HGET", key, field])? {
            Reply::Bulk(value) => Ok(value),
            other => Err(format!("HGET {key} {field}: unexpected reply {other:?}")),
        }
    }

    /// Sends one command and reads its reply (status, error, integer or bulk string).
    fn command(&self, args: &[&str]) -> Result<Reply, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        read_reply(&mut stream)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `$REDIS_SERVER_BIN`, else `redis-server` from Debian's package. A missing one is an error
/// that says what to install (`.ci/run` installs it; tests fail rather than skip without it).
fn redis_binary() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("REDIS_SERVER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "redis-server is missing: install Debian's redis-server package (apt-get install redis-server)".into()
        })
}

/// A Redis reply, as far as these commands need.
#[derive(Debug, PartialEq)]
enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<String>),
}

fn read_reply(stream: &mut TcpStream) -> Result<Reply, String> {
    let line = read_line(stream)?;
    let (kind, rest) = line.split_at(1.min(line.len()));
    match kind {
        "+" => Ok(Reply::Status(rest.to_string())),
        "-" => Ok(Reply::Error(rest.to_string())),
        ":" => rest.parse().map(Reply::Integer).map_err(|e| format!("integer reply {rest:?}: {e}")),
        "$" => {
            let len: i64 = rest.parse().map_err(|e| format!("bulk length {rest:?}: {e}"))?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            let mut body = vec![0u8; len as usize + 2];
            stream.read_exact(&mut body).map_err(|e| e.to_string())?;
            body.truncate(len as usize);
            Ok(Reply::Bulk(Some(String::from_utf8_lossy(&body).into_owned())))
        }
        _ => Err(format!("unexpected redis reply {line:?}")),
    }
}

/// One CRLF-terminated line, without the CRLF.
fn read_line(stream: &mut TcpStream) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        let n = stream.read(&mut byte).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("redis closed the connection".into());
        }
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_id_is_read_from_the_start_line() {
        let line = "INFO\tlivekit\tservice/server.go:292\tstarting LiveKit server\t{\"portHttp\": 17880, \
                    \"nodeID\": \"ND_PUZquMfUSkea\", \"nodeIP\": \"127.0.0.1\"}";
        assert_eq!(node_id_in_log(line).as_deref(), Some("ND_PUZquMfUSkea"));
        assert_eq!(node_id_in_log("no id here"), None);
    }
}
