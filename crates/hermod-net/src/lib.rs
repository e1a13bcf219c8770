//! Listening sockets shared by every server (SMTP, IMAP, web): binding with an error the
//! operator can act on, and an accept loop that neither spins nor dies when accept fails.
//!
//! Invariant: no protocol here; a server hands in what to do with each connection.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// Binds `addr`, the value of setting `key`; the error names the setting and what to do.
pub async fn bind(addr: &SocketAddr, key: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            "ports below 1024 need root or CAP_NET_BIND_SERVICE"
        } else {
            "is another server using it?"
        };
        format!("cannot listen on {addr} ({key}): {e}; {hint}, or change {key}")
    })
}

/// Accepts connections forever, each handled in its own task (with Nagle off: replies are
/// small and interactive).
pub async fn accept_forever<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(handle(tcp, peer));
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
