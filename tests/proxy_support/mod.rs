//! A TCP proxy on 127.0.0.1 that records every byte both ways, to check what crosses the wire.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes seen on the wire, per direction.
#[derive(Clone, Default)]
pub struct Recording {
    pub to_server: Arc<Mutex<Vec<u8>>>,
    pub to_client: Arc<Mutex<Vec<u8>>>,
}

/// Copies one direction of a connection, recording what passes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    log: Arc<Mutex<Vec<u8>>>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    // Ends with the connection.
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 || to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
        log.lock().unwrap().extend_from_slice(&buffer[..read]);
    }
    let _ = to.shutdown().await;
}

/// A TCP proxy on 127.0.0.1 in front of `target`, recording both directions.
pub async fn recording_proxy(target: std::net::SocketAddr) -> (std::net::SocketAddr, Recording) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let recording = Recording::default();
    let shared = recording.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(target).await else { continue };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pump(client_read, server_write, shared.to_server.clone()));
            tokio::spawn(pump(server_read, client_write, shared.to_client.clone()));
        }
    });
    (address, recording)
}
