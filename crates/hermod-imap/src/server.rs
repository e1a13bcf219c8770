//! Sockets, TLS, COMPRESS, timeouts and command framing for the IMAP listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hermod_auth::Authenticator;
use hermod_config::Settings;
use hermod_imap_proto::frame::{literal_at_end, tag_of};
use hermod_imap_proto::parse_command;
use hermod_store::{FsBlobStore, Store};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::compress::Deflate;
use crate::session::{Flow, Output, Session};

/// Longest line of a command (sequence sets from clients with big mailboxes run long).
const MAX_LINE: usize = 64 * 1024;
/// Largest literal outside APPEND (a mailbox name, a search string, a password).
const MAX_SMALL_LITERAL: u64 = 64 * 1024;
/// How often an idle session re-reads its mailbox to see changes made on other nodes (only
/// with a store several nodes share; this node's changes wake it at once).
const POLL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Port 143: STARTTLS; LOGIN refused until TLS.
    Imap,
    /// Port 993: implicit TLS.
    Imaps,
}

/// What every IMAP session shares.
pub struct Shared {
    pub store: Store,
    pub blobs: FsBlobStore,
    pub settings: Settings,
    pub tls: Option<TlsAcceptor>,
    pub auth: Authenticator,
}

impl Shared {
    pub fn new(
        store: Store,
        blobs: FsBlobStore,
        settings: Settings,
        tls: Option<Arc<rustls::ServerConfig>>,
        auth: Authenticator,
    ) -> Shared {
        Shared {
            store,
            blobs,
            settings,
            tls: tls.map(TlsAcceptor::from),
            auth,
        }
    }
}

pub struct Listeners {
    pub bound: Vec<(ListenerKind, SocketAddr)>,
    pub tasks: Vec<JoinHandle<()>>,
}

/// Binds every IMAP listener of the settings and serves them.
pub async fn start(shared: Arc<Shared>) -> Result<Listeners, String> {
    let s = &shared.settings;
    let mut plan = Vec::new();
    for (kind, addrs, key) in [
        (ListenerKind::Imap, &s.listen_imap, "listen.imap"),
        (ListenerKind::Imaps, &s.listen_imaps, "listen.imaps"),
    ] {
        for addr in addrs {
            let listener = hermod_net::bind(addr, key).await?;
            plan.push((kind, listener));
        }
    }
    if plan.iter().any(|(k, _)| *k == ListenerKind::Imaps) && shared.tls.is_none() {
        return Err("listen.imaps needs a TLS certificate".into());
    }
    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    for (kind, listener) in plan {
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(listener = ?kind, address = %local, "IMAP listening");
        bound.push((kind, local));
        let shared = shared.clone();
        tasks.push(tokio::spawn(hermod_net::accept_forever(
            listener,
            move |tcp, peer| handle(shared.clone(), kind, tcp, peer),
        )));
    }
    Ok(Listeners { bound, tasks })
}

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Conn = BufReader<Box<dyn Stream>>;

fn conn(stream: Box<dyn Stream>) -> Conn {
    BufReader::with_capacity(64 * 1024, stream)
}

enum Line {
    Ok(Vec<u8>),
    /// Over the limit; the line's first bytes (for its tag).
    TooLong(Vec<u8>),
    Eof,
}

/// Reads one line (with its line end), at most `max` bytes. A longer line is consumed up to
/// its end and reported as `TooLong`.
async fn read_line(conn: &mut Conn, max: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = conn.fill_buf().await?;
        if buf.is_empty() {
            return Ok(Line::Eof);
        }
        let (take, done) = match memchr_lf(buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if !too_long {
            if line.len() + take > max {
                too_long = true;
                line.extend_from_slice(&buf[..take.min(200)]);
                line.truncate(200);
            } else {
                line.extend_from_slice(&buf[..take]);
            }
        }
        conn.consume(take);
        if done {
            return Ok(if too_long {
                Line::TooLong(line)
            } else {
                Line::Ok(line)
            });
        }
    }
}

fn memchr_lf(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// One framed command, or why there is none.
enum Framed {
    Command(Vec<u8>),
    /// Refused before parsing: the reply, and whether the connection must close (the rest
    /// of a non-synchronising literal cannot be skipped safely).
    Refused(String, bool),
    Eof,
}

fn is_append(first_line: &[u8]) -> bool {
    let mut words = first_line.split(|&b| b == b' ');
    let _tag = words.next();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case(b"APPEND"))
}

/// Reads a whole command: its lines and the literals between them. A synchronising literal
/// is asked for with "+"; a literal over the limit is refused before any of it is read.
async fn read_command(conn: &mut Conn, append_limit: u64) -> std::io::Result<Framed> {
    let mut command = Vec::new();
    let mut appending = None;
    loop {
        let line = match read_line(conn, MAX_LINE).await? {
            Line::Eof => return Ok(Framed::Eof),
            Line::TooLong(start) => {
                let first = if command.is_empty() { &start } else { &command };
                let tag = tag_of(first).unwrap_or_else(|| "*".into());
                return Ok(Framed::Refused(
                    format!("{tag} BAD command line too long (the limit is {MAX_LINE} bytes)\r\n"),
                    !command.is_empty(),
                ));
            }
            Line::Ok(l) => l,
        };
        command.extend_from_slice(&line);
        let appending = *appending.get_or_insert_with(|| is_append(&line));
        let Some(lit) = literal_at_end(&line) else {
            return Ok(Framed::Command(command));
        };
        let limit = if appending {
            append_limit
        } else {
            MAX_SMALL_LITERAL
        };
        let total = command.len() as u64 + lit.size;
        if lit.size > limit || total > append_limit.saturating_mul(2).max(4 * MAX_SMALL_LITERAL) {
            let tag = tag_of(&command).unwrap_or_else(|| "*".into());
            let reply = if appending {
                format!(
                    "{tag} NO [TOOBIG] the message is larger than the limit of {limit} bytes\r\n"
                )
            } else {
                format!(
                    "{tag} BAD [TOOBIG] literal of {} bytes is over the limit of {limit}\r\n",
                    lit.size
                )
            };
            // A synchronising literal was never sent: the client waits for "+", so the
            // connection stays usable. A non-synchronising one is already on its way.
            return Ok(Framed::Refused(reply, !lit.sync));
        }
        if lit.sync {
            let w = conn.get_mut();
            w.write_all(b"+ Ready for literal data\r\n").await?;
            w.flush().await?;
        }
        let start = command.len();
        command.resize(start + lit.size as usize, 0);
        conn.read_exact(&mut command[start..]).await?;
    }
}

async fn handle(shared: Arc<Shared>, kind: ListenerKind, tcp: TcpStream, peer: SocketAddr) {
    let mut stream: Box<dyn Stream> = Box::new(tcp);
    let mut tls = false;
    if kind == ListenerKind::Imaps {
        let Some(acceptor) = shared.tls.clone() else {
            return;
        };
        match tokio::time::timeout(Duration::from_secs(30), acceptor.accept(stream)).await {
            Ok(Ok(s)) => {
                stream = Box::new(s);
                tls = true;
            }
            _ => {
                tracing::debug!(%peer, "TLS handshake failed");
                return;
            }
        }
    }
    let mut session = Session::new(shared.clone(), peer, tls, shared.tls.is_some());
    tracing::debug!(session = %session.id(), %peer, ?kind, "IMAP connection");
    let mut conn = conn(stream);
    if write_raw(&mut conn, session.greeting().as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let append_limit = shared.settings.limits_max_message_size;
    loop {
        let timeout = session.timeout();
        if session.expects_sasl() {
            let line = match tokio::time::timeout(timeout, read_line(&mut conn, MAX_LINE)).await {
                Ok(Ok(Line::Ok(l))) => l,
                Ok(Ok(Line::TooLong(_))) => b"*\r\n".to_vec(),
                _ => break,
            };
            let mut out = Output::new(conn.get_mut());
            let flow = session.sasl_response(&line, &mut out).await;
            if out.flush().await.is_err() || matches!(flow, Flow::Close) {
                break;
            }
            continue;
        }
        let framed =
            match tokio::time::timeout(timeout, read_command(&mut conn, append_limit)).await {
                Err(_) => {
                    let _ = write_raw(&mut conn, b"* BYE autologout: idle for too long\r\n").await;
                    tracing::debug!(session = %session.id(), "idle timeout");
                    break;
                }
                Ok(Err(_)) | Ok(Ok(Framed::Eof)) => break,
                Ok(Ok(Framed::Refused(reply, close))) => {
                    if write_raw(&mut conn, reply.as_bytes()).await.is_err() || close {
                        break;
                    }
                    continue;
                }
                Ok(Ok(Framed::Command(c))) => c,
            };
        let flow = {
            let mut out = Output::new(conn.get_mut());
            let flow = match parse_command(&framed) {
                Ok(tagged) => session.handle(tagged, &mut out).await,
                Err(e) => session.bad_command(e, &mut out),
            };
            if out.flush().await.is_err() {
                break;
            }
            flow
        };
        match flow {
            Flow::Continue => {}
            Flow::Close => break,
            Flow::StartTls => {
                let Some(acceptor) = shared.tls.clone() else {
                    break;
                };
                // Anything the client sent after STARTTLS in plaintext is dropped, never
                // read as if it came over TLS.
                let plain = conn.into_inner();
                match tokio::time::timeout(Duration::from_secs(30), acceptor.accept(plain)).await {
                    Ok(Ok(s)) => {
                        conn = self::conn(Box::new(s));
                        session.tls_started();
                    }
                    _ => return,
                }
            }
            Flow::Compress => {
                let inner = conn.into_inner();
                conn = self::conn(Box::new(Deflate::new(inner)));
            }
            Flow::Idle(tag) => {
                if !idle(&shared, &mut conn, &mut session, &tag).await {
                    break;
                }
            }
        }
    }
    session.finish().await;
}

async fn write_raw(conn: &mut Conn, bytes: &[u8]) -> std::io::Result<()> {
    let w = conn.get_mut();
    w.write_all(bytes).await?;
    w.flush().await
}

/// IDLE: wakes on this node's change feed at once, re-reads the store every few seconds for
/// other nodes' changes, and ends on DONE. Returns false when the connection is over.
async fn idle(shared: &Shared, conn: &mut Conn, session: &mut Session, tag: &str) -> bool {
    let mut changes = session.watch();
    let poll = shared.store.multi_node();
    let deadline = tokio::time::Instant::now() + shared.settings.imap_timeout;
    if write_raw(conn, b"+ idling\r\n").await.is_err() {
        return false;
    }
    // Changes that landed between the last command and IDLE are reported at once.
    let mut woke = true;
    loop {
        if woke {
            let mut out = Output::new(conn.get_mut());
            session.idle_poll(&mut out).await;
            if out.flush().await.is_err() {
                return false;
            }
        }
        woke = tokio::select! {
            r = conn.fill_buf() => match r {
                Ok(buf) if !buf.is_empty() => false,
                _ => return false,
            },
            r = async {
                match changes.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            } => {
                if !r {
                    changes = None;
                }
                true
            },
            _ = async {
                if poll { tokio::time::sleep(POLL).await } else { std::future::pending().await }
            } => true,
            _ = tokio::time::sleep_until(deadline) => {
                let _ = write_raw(conn, b"* BYE autologout: idle for too long\r\n").await;
                return false;
            }
        };
        if woke {
            continue;
        }
        let line = match tokio::time::timeout(Duration::from_secs(30), read_line(conn, 1024)).await
        {
            Ok(Ok(Line::Ok(l))) => l,
            Ok(Ok(Line::TooLong(_))) => Vec::new(),
            _ => return false,
        };
        let reply = if line.trim_ascii().eq_ignore_ascii_case(b"DONE") {
            format!("{tag} OK IDLE terminated\r\n")
        } else {
            format!("{tag} BAD expected DONE to end IDLE\r\n")
        };
        let mut out = Output::new(conn.get_mut());
        session.idle_poll(&mut out).await;
        out.push(reply.as_bytes());
        return out.flush().await.is_ok();
    }
}
