//! Sockets, TLS and timeouts for the SMTP listeners.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hermod_config::Settings;
use hermod_store::{BlobId, BlobStore, FsBlobStore, IndexData, Store};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::authcheck::Checker;
use crate::committer::Committer;
use crate::data::DataDecoder;
use crate::session::{Action, Content, Session};
use hermod_auth::Authenticator;
use hermod_delivery::Delivery;

/// Longest command line accepted (RFC 5321 allows 512; AUTH responses and extensions run longer).
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Port 25: MX, and submission after AUTH.
    Smtp,
    /// Ports 587 and 26: STARTTLS, AUTH only after TLS.
    Submission,
    /// Port 465: implicit TLS.
    Submissions,
}

/// What every session shares.
pub struct Shared {
    pub store: Store,
    pub blobs: FsBlobStore,
    pub settings: Settings,
    pub tls: Option<TlsAcceptor>,
    pub auth: Authenticator,
    pub committer: Committer,
    pub delivery: Delivery,
    /// SPF, DKIM and DMARC on inbound mail (None: not checked).
    pub checker: Option<Checker>,
}

impl Shared {
    pub fn new(
        store: Store,
        blobs: FsBlobStore,
        settings: Settings,
        tls: Option<Arc<rustls::ServerConfig>>,
        auth: Authenticator,
        delivery: Delivery,
        checker: Option<Checker>,
    ) -> Shared {
        let committer = Committer::start(store.clone());
        Shared {
            store,
            blobs,
            settings,
            tls: tls.map(TlsAcceptor::from),
            auth,
            committer,
            delivery,
            checker,
        }
    }
}

/// The bound listeners (addresses are known before serving, for logs and tests).
pub struct Listeners {
    pub bound: Vec<(ListenerKind, SocketAddr)>,
    pub tasks: Vec<JoinHandle<()>>,
}

/// Binds every SMTP listener of the settings and serves them.
pub async fn start(shared: Arc<Shared>) -> Result<Listeners, String> {
    let s = &shared.settings;
    let mut plan = Vec::new();
    for (kind, addrs, key) in [
        (ListenerKind::Smtp, &s.listen_smtp, "listen.smtp"),
        (
            ListenerKind::Submission,
            &s.listen_submission,
            "listen.submission",
        ),
        (
            ListenerKind::Submissions,
            &s.listen_submissions,
            "listen.submissions",
        ),
    ] {
        for addr in addrs {
            let listener = hermod_net::bind(addr, key).await?;
            plan.push((kind, listener));
        }
    }
    if plan.iter().any(|(k, _)| *k == ListenerKind::Submissions) && shared.tls.is_none() {
        return Err("listen.submissions needs a TLS certificate".into());
    }
    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    for (kind, listener) in plan {
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(listener = ?kind, address = %local, "SMTP listening");
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

enum Line {
    Ok(Vec<u8>),
    TooLong,
    Eof,
    Timeout,
}

/// Reads one line (up to and with its LF), never holding more than `MAX_LINE` bytes.
async fn read_line(conn: &mut Conn, timeout: Duration) -> Line {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = match tokio::time::timeout(timeout, conn.fill_buf()).await {
            Err(_) => return Line::Timeout,
            Ok(Err(_)) => return Line::Eof,
            Ok(Ok(buf)) => buf,
        };
        if buf.is_empty() {
            return Line::Eof;
        }
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if !too_long {
            if line.len() + used > MAX_LINE {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&buf[..used]);
            }
        }
        conn.consume(used);
        if done {
            return if too_long {
                Line::TooLong
            } else {
                Line::Ok(line)
            };
        }
    }
}

async fn write(conn: &mut Conn, text: &str) -> bool {
    let stream = conn.get_mut();
    stream.write_all(text.as_bytes()).await.is_ok() && stream.flush().await.is_ok()
}

async fn handle(shared: Arc<Shared>, kind: ListenerKind, tcp: TcpStream, peer: SocketAddr) {
    let timeout = shared.settings.smtp_command_timeout;
    let stream: Box<dyn Stream> = if kind == ListenerKind::Submissions {
        let Some(acceptor) = shared.tls.clone() else {
            return;
        };
        match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => Box::new(tls),
            _ => {
                tracing::debug!(%peer, "TLS handshake failed");
                return;
            }
        }
    } else {
        Box::new(tcp)
    };
    let mut conn: Conn = BufReader::with_capacity(16 * 1024, stream);
    let mut session = Session::new(
        shared.clone(),
        kind,
        peer,
        kind == ListenerKind::Submissions,
    );
    tracing::debug!(session = %session.id, %peer, listener = ?kind, "connected");
    if !write(&mut conn, &session.greeting()).await {
        return;
    }
    loop {
        let line = match read_line(&mut conn, timeout).await {
            Line::Ok(l) => l,
            Line::TooLong => {
                if !write(&mut conn, &session.data_too_long_line()).await {
                    return;
                }
                continue;
            }
            Line::Eof => return,
            Line::Timeout => {
                tracing::info!(session = %session.id, %peer, "timeout");
                let _ = write(&mut conn, &session.timeout_reply()).await;
                return;
            }
        };
        match session.command(&line).await {
            Action::Reply(r) => {
                if !write(&mut conn, &r).await {
                    return;
                }
            }
            Action::Close(r) => {
                let _ = write(&mut conn, &r).await;
                let _ = conn.get_mut().shutdown().await;
                return;
            }
            Action::StartTls(r) => {
                if !write(&mut conn, &r).await {
                    return;
                }
                let Some(acceptor) = shared.tls.clone() else {
                    return;
                };
                // Anything the client pipelined after STARTTLS was sent in the clear: drop it
                // (RFC 3207 §6, the STARTTLS command injection attack).
                let inner = conn.into_inner();
                match tokio::time::timeout(timeout, acceptor.accept(inner)).await {
                    Ok(Ok(tls)) => {
                        let boxed: Box<dyn Stream> = Box::new(tls);
                        conn = BufReader::with_capacity(16 * 1024, boxed);
                        session.tls_started();
                    }
                    _ => {
                        tracing::debug!(session = %session.id, "STARTTLS handshake failed");
                        return;
                    }
                }
            }
            Action::Data(r) => {
                if !write(&mut conn, &r).await {
                    return;
                }
                let Some(reply) = receive_body(&shared, &mut conn, &mut session, timeout).await
                else {
                    return;
                };
                let close = matches!(reply, Action::Close(_));
                let text = match reply {
                    Action::Reply(t) | Action::Close(t) | Action::Data(t) | Action::StartTls(t) => {
                        t
                    }
                };
                if !write(&mut conn, &text).await || close {
                    return;
                }
            }
        }
    }
}

/// Streams the body to a spool file (hashing as it goes), stores it as a blob, and lets the
/// session decide. `None` when the connection is gone (the transaction is forgotten).
async fn receive_body(
    shared: &Shared,
    conn: &mut Conn,
    session: &mut Session,
    timeout: Duration,
) -> Option<Action> {
    let spool_dir = shared.blobs.spool_dir();
    let spool: PathBuf = spool_dir.join(format!("{}-{:08x}", session.id, rand::random::<u32>()));
    let cleanup = |path: PathBuf| async move {
        let _ = tokio::fs::remove_file(path).await;
    };
    let file = match tokio::fs::File::create(&spool).await {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!(error = %e, path = %spool.display(), "cannot create a spool file");
            None
        }
    };
    let mut writer = file.map(|f| tokio::io::BufWriter::with_capacity(256 * 1024, f));
    let mut hasher = Sha256::new();
    let trace = session.trace_headers();
    hasher.update(trace.as_bytes());
    let mut write_failed = false;
    if let Some(w) = writer.as_mut() {
        write_failed |= w.write_all(trace.as_bytes()).await.is_err();
    }
    let mut decoder = DataDecoder::new(shared.settings.limits_max_message_size);
    let mut out = Vec::with_capacity(64 * 1024);
    let mut header_bytes: Vec<u8> = Vec::new();
    loop {
        let buf = match tokio::time::timeout(timeout, conn.fill_buf()).await {
            Err(_) => {
                let _ = write(conn, &session.timeout_reply()).await;
                session.abort_data();
                cleanup(spool).await;
                return None;
            }
            Ok(Err(_)) => {
                session.abort_data();
                cleanup(spool).await;
                return None;
            }
            Ok(Ok(b)) => b,
        };
        if buf.is_empty() {
            // The client went away mid-DATA: nothing was acknowledged, nothing is kept.
            session.abort_data();
            cleanup(spool).await;
            return None;
        }
        out.clear();
        let (used, done) = decoder.feed(buf, &mut out);
        conn.consume(used);
        if header_bytes.len() < 64 * 1024 {
            let take = out.len().min(64 * 1024 - header_bytes.len());
            header_bytes.extend_from_slice(&out[..take]);
        }
        if !out.is_empty() {
            hasher.update(&out);
            if let Some(w) = writer.as_mut() {
                write_failed |= w.write_all(&out).await.is_err();
            }
        }
        if done {
            break;
        }
    }
    let summary = decoder.summary();
    let mut stored = None;
    let mut checked: Option<Vec<u8>> = None;
    if let Some(mut w) = writer
        && !write_failed
        && !summary.too_big
        && w.flush().await.is_ok()
    {
        drop(w);
        // Inbound mail small enough to hold is checked (SPF, DKIM, DMARC) and stored with
        // its Authentication-Results on top; the spool file is then dropped.
        if let (Some(checker), Some((ip, helo, mail_from))) =
            (&shared.checker, session.inbound_identity())
            && summary.size <= INDEX_INLINE_MAX
            && let Ok(raw) = tokio::fs::read(&spool).await
        {
            let verdict = checker.check(&raw, ip, &helo, &mail_from).await;
            if let Some(domain) = verdict.reject {
                cleanup(spool).await;
                return Some(session.refuse_dmarc(&domain).await);
            }
            let mut full = verdict.header.into_bytes();
            full.extend_from_slice(&raw);
            drop(raw);
            match shared.blobs.put(&full).await {
                Ok(id) => {
                    stored = Some(id.to_string());
                    checked = Some(full);
                }
                Err(e) => tracing::error!(error = %e, "cannot store the message"),
            }
            cleanup(spool.clone()).await;
        } else {
            let id = BlobId::from_hasher(hasher);
            match shared.blobs.put_file(&spool, &id).await {
                Ok(()) => stored = Some(id.to_string()),
                Err(e) => tracing::error!(error = %e, "cannot store the message"),
            }
        }
    }
    if stored.is_none() {
        cleanup(spool).await;
    }
    let subject = subject_of(&header_bytes);
    let (index, content) = match (&stored, checked) {
        (Some(_), Some(raw)) => {
            let (index, raw) = tokio::task::spawn_blocking(move || (hermod_mime::index(&raw), raw))
                .await
                .unwrap_or_default();
            (
                index,
                Content {
                    raw,
                    complete: true,
                },
            )
        }
        (Some(id), None) => read_stored(&shared.blobs, id, summary.size).await,
        (None, _) => (IndexData::default(), Content::default()),
    };
    Some(
        session
            .finish_data(stored, summary, subject, index, content)
            .await,
    )
}

/// Messages up to this size are analysed for the IMAP index as they are accepted; larger
/// ones are analysed when a client first asks (the analysis holds the message in memory).
const INDEX_INLINE_MAX: u64 = 16 * 1024 * 1024;

/// How much of a message too large to index inline the delivery rules see.
const RULES_PREFIX: u64 = 1024 * 1024;

/// The stored message read back once: its index (ENVELOPE, BODYSTRUCTURE, part map,
/// computed once), and its bytes for the delivery rules (all of it, or for a very large
/// message its first megabyte).
async fn read_stored(blobs: &FsBlobStore, id: &str, size: u64) -> (IndexData, Content) {
    let Some(id) = BlobId::parse(id) else {
        return (IndexData::default(), Content::default());
    };
    if size > INDEX_INLINE_MAX {
        let prefix = async {
            let file = tokio::fs::File::open(blobs.path_of(&id)).await?;
            let mut buf = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(
                &mut tokio::io::AsyncReadExt::take(file, RULES_PREFIX),
                &mut buf,
            )
            .await?;
            Ok::<_, std::io::Error>(buf)
        };
        let raw = prefix.await.unwrap_or_default();
        return (
            IndexData::default(),
            Content {
                raw,
                complete: false,
            },
        );
    }
    match blobs.get(&id).await {
        Ok(raw) => {
            let (index, raw) = tokio::task::spawn_blocking(move || (hermod_mime::index(&raw), raw))
                .await
                .unwrap_or_default();
            (
                index,
                Content {
                    raw,
                    complete: true,
                },
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a stored message back for indexing");
            (IndexData::default(), Content::default())
        }
    }
}

/// The decoded Subject of a message, from its first bytes.
fn subject_of(head: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::new().parse_headers(head)?;
    message
        .subject()
        .map(|s| s.chars().filter(|c| !c.is_control()).take(500).collect())
}
