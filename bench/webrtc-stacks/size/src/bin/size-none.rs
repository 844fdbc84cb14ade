//! The baseline: tokio and std only, as every stack binary has them.
#[tokio::main]
async fn main() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0u8; 2000];
    let (n, from) = socket.recv_from(&mut buf).await.unwrap();
    socket.send_to(&buf[..n], from).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}
