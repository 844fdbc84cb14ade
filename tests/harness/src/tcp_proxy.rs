//! A TCP proxy on loopback in front of the server's signalling port, so a test can cut the
//! client's signalling connections (as a phone changing networks does) or refuse new ones
//! (as an unreachable server does). Media and data go directly to the server over UDP and are
//! not affected.
//!
//! In front of a cluster (`start_first_reachable`) it acts as a load balancer with failover:
//! each new connection goes to the first of several ports that accepts it, so after a node
//! dies clients reach a surviving one through the same URL.
//!
//! `start_without_paths` makes the server look older: a request for one of the given paths
//! (`/rtc/v1`, which livekit-server has since 1.9.10) gets `404 Not Found`, as an older
//! server answers it, and everything else is forwarded.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running proxy; stops accepting when dropped (open connections are cut).
pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    /// Tried in order for each new connection; the first that accepts gets it.
    targets: Vec<u16>,
    /// Connections forwarded to each target, in `targets` order.
    per_target: Vec<AtomicUsize>,
    refusing: AtomicBool,
    /// New connections still to be closed at once (`refuse_next`).
    refuse_count: AtomicUsize,
    stopped: AtomicBool,
    /// Both ends of every connection open now, to cut them.
    open: Mutex<Vec<(TcpStream, TcpStream)>>,
    accepted: AtomicUsize,
    /// Request paths answered with 404 instead of being forwarded (by prefix).
    missing_paths: Vec<String>,
    not_found: AtomicUsize,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards each connection to `target_port`.
    pub fn start(target_port: u16) -> Result<Self, String> {
        Self::start_first_reachable(&[target_port])
    }

    /// Listens on a free loopback port and forwards each new connection to the first of
    /// `target_ports` that accepts a connection (tried in order; one that refuses, like a
    /// killed node's, is skipped). A connection no target accepts is closed at once.
    pub fn start_first_reachable(target_ports: &[u16]) -> Result<Self, String> {
        Self::start_with(target_ports, &[])
    }

    /// Like `start`, but a request whose path starts with one of `missing_paths` is answered
    /// `404 Not Found` and closed, as a server without that endpoint answers it.
    pub fn start_without_paths(target_port: u16, missing_paths: &[&str]) -> Result<Self, String> {
        Self::start_with(&[target_port], missing_paths)
    }

    fn start_with(target_ports: &[u16], missing_paths: &[&str]) -> Result<Self, String> {
        if target_ports.is_empty() {
            return Err("a proxy needs at least one target port".into());
        }
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Shared {
            targets: target_ports.to_vec(),
            per_target: target_ports.iter().map(|_| AtomicUsize::new(0)).collect(),
            refusing: AtomicBool::new(false),
            refuse_count: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            missing_paths: missing_paths.iter().map(|p| p.to_string()).collect(),
            not_found: AtomicUsize::new(0),
        });
        let accept_shared = shared.clone();
        thread::spawn(move || accept_loop(listener, accept_shared));
        Ok(Self { port, shared })
    }

    /// The WebSocket URL to give clients instead of the server's.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Cuts every connection open now (both directions, at once); new ones are still accepted.
    /// Returns how many were cut.
    pub fn cut(&self) -> usize {
        let open = std::mem::take(&mut *self.shared.open.lock().unwrap());
        for (client, server) in &open {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
        open.len()
    }

    /// While true, new connections are closed as soon as they are accepted.
    pub fn set_refusing(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// The next `count` new connections are closed as soon as they are accepted.
    pub fn refuse_next(&self, count: usize) {
        self.shared.refuse_count.store(count, Ordering::SeqCst);
    }

    /// Requests answered with 404 so far (`start_without_paths`).
    pub fn not_found(&self) -> usize {
        self.shared.not_found.load(Ordering::SeqCst)
    }

    /// Connections accepted and forwarded so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections forwarded to `target_port` so far (0 for a port that is not a target).
    pub fn accepted_by(&self, target_port: u16) -> usize {
        let index = self.shared.targets.iter().position(|&p| p == target_port);
        index.map_or(0, |i| self.shared.per_target[i].load(Ordering::SeqCst))
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if !shared.missing_paths.is_empty() {
            let shared = shared.clone();
            thread::spawn(move || answer_or_forward(client, shared));
            continue;
        }
        let counted_refusal =
            shared.refuse_count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if counted_refusal || shared.refusing.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        forward(client, &shared, &[]);
    }
}

/// Reads the request line: a request for a missing path gets a 404; anything else is
/// forwarded with the bytes read so far.
fn answer_or_forward(mut client: TcpStream, shared: Arc<Shared>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 16 * 1024 {
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let path = line.split_whitespace().nth(1).unwrap_or_default();
    if shared.missing_paths.iter().any(|missing| path.starts_with(missing.as_str())) {
        shared.not_found.fetch_add(1, Ordering::SeqCst);
        let _ = client.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    forward(client, &shared, &head);
}

/// Connects `client` to the first target that accepts, sends it `already_read`, and copies
/// both ways.
fn forward(client: TcpStream, shared: &Shared, already_read: &[u8]) {
    let reachable = shared
        .targets
        .iter()
        .enumerate()
        .find_map(|(index, &target)| TcpStream::connect(("127.0.0.1", target)).ok().map(|server| (index, server)));
    let Some((target_index, mut server)) = reachable else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    if server.write_all(already_read).is_err() {
        return;
    }
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client_read), Ok(server_read), Ok(client_keep), Ok(server_keep)) =
        (client.try_clone(), server.try_clone(), client.try_clone(), server.try_clone())
    else {
        return;
    };
    shared.open.lock().unwrap().push((client_keep, server_keep));
    shared.accepted.fetch_add(1, Ordering::SeqCst);
    shared.per_target[target_index].fetch_add(1, Ordering::SeqCst);
    thread::spawn(move || pipe(client_read, server));
    thread::spawn(move || pipe(server_read, client));
}

/// Copies one direction until either side closes, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A byte sent through the proxy reaches `listener`; once it has, the proxy counted it
    /// (it counts before it starts copying).
    fn forwarded_to(proxy: &TcpProxy, listener: &TcpListener) {
        let mut client = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        client.write_all(b"x").unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut byte = [0u8; 1];
        server.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn connections_go_to_the_first_target_that_accepts() {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let second = TcpListener::bind("127.0.0.1:0").unwrap();
        let (first_port, second_port) = (first.local_addr().unwrap().port(), second.local_addr().unwrap().port());
        let proxy = TcpProxy::start_first_reachable(&[first_port, second_port]).unwrap();

        forwarded_to(&proxy, &first);
        assert_eq!((proxy.accepted_by(first_port), proxy.accepted_by(second_port)), (1, 0));
        drop(first); // the port refuses now, as a killed node's does
        forwarded_to(&proxy, &second);
        assert_eq!((proxy.accepted_by(first_port), proxy.accepted_by(second_port)), (1, 1));
        assert_eq!(proxy.accepted(), 2);
    }
}
