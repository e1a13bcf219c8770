//! The outbound SMTP client: one connection to one mail exchanger, line-based on tokio.
//!
//! Opportunistic TLS (RFC 7435): STARTTLS is used whenever the server offers it, and any
//! certificate is accepted, since an MX has no name to check it against without MTA-STS or
//! DANE. If the TLS handshake fails the connection is made again in plaintext.
//!
//! Verified TLS ([`TlsMode::Required`], for MTA-STS `enforce`): STARTTLS must be offered and
//! the certificate must chain to a trusted root and be valid for the MX host name (SNI is
//! that name); anything less is a temporary failure of that host, never a plaintext retry.
//!
//! Nothing the server sends can panic the client: lines are capped at `MAX_LINE` bytes and
//! replies at `MAX_REPLY_LINES` lines; a malformed reply is a temporary failure.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Longest reply line read (RFC 5321 allows 512; servers send longer).
pub const MAX_LINE: usize = 4096;
/// Most lines in one (multiline) reply.
pub const MAX_REPLY_LINES: usize = 200;

/// A server reply: its code and text lines (without the code and separator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The reply on one line: "550 5.1.1 no such user" (the lines of a multiline reply
    /// joined by spaces).
    pub fn text(&self) -> String {
        let mut out = self.code.to_string();
        for line in &self.lines {
            let line = line.trim();
            if !line.is_empty() {
                out.push(' ');
                out.push_str(line);
            }
        }
        out
    }

    /// The enhanced status code (RFC 3463) of the reply, if it carries one.
    pub fn enhanced(&self) -> Option<String> {
        enhanced_code(&self.text())
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// Finds an RFC 3463 status code ("5.1.1") in a reply's text, after the reply code or in the
/// FAQ profile's "(#5.1.1)" form.
pub fn enhanced_code(text: &str) -> Option<String> {
    let valid = |s: &str| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 3
            && matches!(parts[0], "2" | "4" | "5")
            && (1..=3).contains(&parts[1].len())
            && (1..=3).contains(&parts[2].len())
            && parts[1..]
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut words = text.split_whitespace();
    let first = words.next()?;
    let second = if first.len() == 3 && first.bytes().all(|b| b.is_ascii_digit()) {
        words.next()
    } else {
        Some(first)
    };
    if let Some(w) = second
        && valid(w)
    {
        return Some(w.to_string());
    }
    let start = text.find("(#")?;
    let rest = &text[start + 2..];
    let end = rest.find(')')?;
    let code = &rest[..end];
    valid(code).then(|| code.to_string())
}

/// What happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Delivered,
    Temporary,
    Permanent,
}

/// One recipient's result of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptResult {
    pub recipient: String,
    pub kind: Kind,
    /// The mail exchanger that answered (None when none was reached).
    pub host: Option<String>,
    /// The server's reply, or what went wrong ("connection refused", ...).
    pub reply: String,
    /// Whether the session was encrypted.
    pub tls: bool,
}

/// A failure of the whole session (not of one recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionError {
    pub permanent: bool,
    pub reply: String,
}

impl SessionError {
    fn temporary(reply: impl Into<String>) -> SessionError {
        SessionError {
            permanent: false,
            reply: reply.into(),
        }
    }
}

/// Client settings shared by every connection.
#[derive(Clone)]
pub struct ClientConfig {
    /// The name sent in EHLO.
    pub hostname: String,
    /// Connect and per-command timeout.
    pub timeout: Duration,
    /// The remote port (25).
    pub port: u16,
    tls: TlsConnector,
}

impl ClientConfig {
    pub fn new(hostname: &str, timeout: Duration, port: u16) -> ClientConfig {
        ClientConfig {
            hostname: hostname.to_string(),
            timeout,
            port,
            tls: TlsConnector::from(Arc::new(opportunistic_tls())),
        }
    }
}

/// A rustls client that accepts any certificate (RFC 7435 opportunistic security).
fn opportunistic_tls() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    config.enable_sni = true;
    config
}

/// Verified TLS: certificates must chain to one of the trusted roots and be valid for the
/// host name connected to (web PKI rules, rustls-webpki). Cheap to clone.
#[derive(Clone)]
pub struct VerifiedTls {
    connector: TlsConnector,
    verifier: Arc<WebPkiServerVerifier>,
}

impl std::fmt::Debug for VerifiedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifiedTls")
    }
}

impl VerifiedTls {
    /// A verifying client trusting `roots` (ring provider). `alpn`: the protocols offered
    /// (none for SMTP, `http/1.1` for HTTPS).
    pub fn new(roots: Arc<RootCertStore>, alpn: &[&[u8]]) -> Result<VerifiedTls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("cannot set up TLS certificate verification: {e}"))?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_webpki_verifier(verifier.clone())
            .with_no_client_auth();
        config.enable_sni = true;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(VerifiedTls {
            connector: TlsConnector::from(Arc::new(config)),
            verifier,
        })
    }

    /// The connector (for other protocols than SMTP, such as the MTA-STS policy fetch).
    pub fn connector(&self) -> &TlsConnector {
        &self.connector
    }

    /// Whether a certificate chain a server presented (end entity first) is valid for
    /// `host` now; the error says why not.
    pub fn check(&self, host: &str, certs: &[CertificateDer<'static>]) -> Result<(), String> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| format!("{host:?} is not a valid host name"))?;
        let Some((end_entity, intermediates)) = certs.split_first() else {
            return Err("no certificate was presented".into());
        };
        self.verifier
            .verify_server_cert(end_entity, intermediates, &name, &[], UnixTime::now())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// How a connection uses TLS.
#[derive(Clone, Debug, Default)]
pub enum TlsMode {
    /// RFC 7435: STARTTLS when offered, any certificate, plaintext when the handshake fails.
    #[default]
    Opportunistic,
    /// STARTTLS required, with a certificate valid for the MX host name (MTA-STS enforce).
    Required(VerifiedTls),
}

#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Between STARTTLS and the end of the handshake (and after a failed one).
    Closed,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// What the server offered in its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    pub esmtp: bool,
    pub pipelining: bool,
    pub starttls: bool,
    /// SIZE, with the limit when one was given (0: no limit stated).
    pub size: Option<u64>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
}

impl Extensions {
    fn parse(reply: &Reply) -> Extensions {
        let mut ext = Extensions {
            esmtp: true,
            ..Extensions::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => ext.pipelining = true,
                "STARTTLS" => ext.starttls = true,
                "8BITMIME" => ext.eight_bit_mime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "SIZE" => ext.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                _ => {}
            }
        }
        ext
    }
}

/// An open SMTP session with one mail exchanger, ready for MAIL FROM.
pub struct Connection {
    io: BufReader<Stream>,
    /// The MX name (or address) connected to.
    pub host: String,
    pub addr: SocketAddr,
    pub tls: bool,
    pub ext: Extensions,
    config: ClientConfig,
    /// False once a command failed in a way that leaves the session unusable.
    usable: bool,
}

/// Why connecting to one address did not give a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// 5xx greeting or EHLO+HELO refusal: the host will not take mail from us.
    pub permanent: bool,
    pub reply: String,
    /// With [`TlsMode::Required`]: the host was refused because it gave no verified TLS (no
    /// STARTTLS, STARTTLS refused, a failed handshake or an invalid certificate).
    pub tls: bool,
}

impl ConnectError {
    fn new(permanent: bool, reply: String) -> ConnectError {
        ConnectError {
            permanent,
            reply,
            tls: false,
        }
    }

    fn tls(reply: String) -> ConnectError {
        ConnectError {
            permanent: false,
            reply,
            tls: true,
        }
    }
}

impl Connection {
    /// Connects to `ip` (port from the config), reads the greeting, says EHLO (HELO if EHLO
    /// is refused) and upgrades to TLS when STARTTLS is offered.
    pub async fn connect(
        config: &ClientConfig,
        host: &str,
        ip: IpAddr,
    ) -> Result<Connection, ConnectError> {
        Connection::connect_with(config, host, ip, &TlsMode::Opportunistic).await
    }

    /// As [`Connection::connect`], with the TLS mode given: with [`TlsMode::Required`] the
    /// session is refused (an error with `tls` set) unless STARTTLS succeeds with a
    /// certificate valid for `host`.
    pub async fn connect_with(
        config: &ClientConfig,
        host: &str,
        ip: IpAddr,
        mode: &TlsMode,
    ) -> Result<Connection, ConnectError> {
        match mode {
            TlsMode::Opportunistic => match Connection::open(config, host, ip, Some(mode)).await {
                Err(e) if e.tls => {
                    tracing::info!(host, %ip, reason = %e.reply, "STARTTLS failed; trying again without TLS");
                    Connection::open(config, host, ip, None).await
                }
                other => other,
            },
            TlsMode::Required(_) => Connection::open(config, host, ip, Some(mode)).await,
        }
    }

    /// `tls`: None for plaintext only, else how to use STARTTLS.
    async fn open(
        config: &ClientConfig,
        host: &str,
        ip: IpAddr,
        tls: Option<&TlsMode>,
    ) -> Result<Connection, ConnectError> {
        let addr = SocketAddr::new(ip, config.port);
        let where_ = format!("{host}[{ip}]:{}", config.port);
        let tcp = match timeout(config.timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(ConnectError::new(
                    false,
                    format!("cannot connect to {where_}: {e}"),
                ));
            }
            Err(_) => {
                return Err(ConnectError::new(
                    false,
                    format!("cannot connect to {where_}: timed out"),
                ));
            }
        };
        let _ = tcp.set_nodelay(true);
        let mut conn = Connection {
            io: BufReader::new(Stream::Plain(tcp)),
            host: host.to_string(),
            addr,
            tls: false,
            ext: Extensions::default(),
            config: config.clone(),
            usable: true,
        };
        let fail = ConnectError::new;
        let greeting = conn
            .read_reply()
            .await
            .map_err(|e| fail(false, format!("{where_}: {}", e.reply)))?;
        if greeting.code != 220 {
            return Err(fail(
                greeting.is_permanent(),
                format!("{where_} greeted with {}", greeting.text()),
            ));
        }
        conn.hello().await?;
        let required = matches!(tls, Some(TlsMode::Required(_)));
        if required && !conn.ext.starttls {
            conn.quit_quietly().await;
            return Err(ConnectError::tls(format!(
                "{where_} does not offer STARTTLS"
            )));
        }
        if let Some(mode) = tls
            && conn.ext.starttls
        {
            let reply = conn
                .command("STARTTLS\r\n")
                .await
                .map_err(|e| fail(false, format!("{where_}: {}", e.reply)))?;
            if reply.code == 220 {
                conn.upgrade(host, ip, mode).await?;
                conn.hello().await?;
            } else if required {
                conn.quit_quietly().await;
                return Err(ConnectError::tls(format!(
                    "{where_} refused STARTTLS: {}",
                    reply.text()
                )));
            } else {
                tracing::info!(host, %ip, reply = %reply, "STARTTLS refused; going on without TLS");
            }
        }
        Ok(conn)
    }

    /// EHLO, or HELO if the server refuses EHLO with 5xx.
    async fn hello(&mut self) -> Result<(), ConnectError> {
        let where_ = format!("{}[{}]", self.host, self.addr.ip());
        let fail = ConnectError::new;
        let ehlo = self
            .command(&format!("EHLO {}\r\n", self.config.hostname))
            .await
            .map_err(|e| fail(false, format!("{where_}: {}", e.reply)))?;
        if ehlo.code == 250 {
            self.ext = Extensions::parse(&ehlo);
            return Ok(());
        }
        if !ehlo.is_permanent() {
            return Err(fail(
                false,
                format!("{where_} refused EHLO: {}", ehlo.text()),
            ));
        }
        let helo = self
            .command(&format!("HELO {}\r\n", self.config.hostname))
            .await
            .map_err(|e| fail(false, format!("{where_}: {}", e.reply)))?;
        if helo.code == 250 {
            self.ext = Extensions::default();
            Ok(())
        } else {
            Err(fail(
                helo.is_permanent(),
                format!("{where_} refused HELO: {}", helo.text()),
            ))
        }
    }

    async fn upgrade(
        &mut self,
        host: &str,
        ip: IpAddr,
        mode: &TlsMode,
    ) -> Result<(), ConnectError> {
        let (connector, name) = match mode {
            TlsMode::Opportunistic => (
                &self.config.tls,
                ServerName::try_from(host.to_string())
                    .unwrap_or_else(|_| ServerName::IpAddress(ip.into())),
            ),
            TlsMode::Required(v) => match ServerName::try_from(host.to_string()) {
                Ok(name) => (&v.connector, name),
                Err(_) => {
                    self.usable = false;
                    return Err(ConnectError::tls(format!(
                        "{host:?} is not a host name a certificate can be checked against"
                    )));
                }
            },
        };
        // Whatever the server sent after its 220 is dropped (RFC 3207 §4.2, no injection).
        let stream = std::mem::replace(&mut self.io, BufReader::new(Stream::Closed)).into_inner();
        let Stream::Plain(tcp) = stream else {
            self.usable = false;
            return Err(ConnectError::tls("TLS handshake: already in TLS".into()));
        };
        match timeout(self.config.timeout, connector.connect(name, tcp)).await {
            Ok(Ok(tls)) => {
                self.io = BufReader::new(Stream::Tls(Box::new(tls)));
                self.tls = true;
                Ok(())
            }
            Ok(Err(e)) => {
                self.usable = false;
                Err(ConnectError::tls(describe_tls_error(host, ip, &e)))
            }
            Err(_) => {
                self.usable = false;
                Err(ConnectError::tls(format!(
                    "TLS handshake with {host}[{ip}] timed out"
                )))
            }
        }
    }

    /// The certificate chain the server presented (end entity first), in a TLS session.
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        match self.io.get_ref() {
            Stream::Tls(s) => s
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect()),
            _ => None,
        }
    }

    /// QUIT (best effort, short timeout) before dropping a session that will not be used.
    async fn quit_quietly(&mut self) {
        if self.usable {
            let _ = timeout(Duration::from_secs(5), self.command("QUIT\r\n")).await;
        }
        self.usable = false;
    }

    /// Whether the session can take another transaction.
    pub fn is_usable(&self) -> bool {
        self.usable
    }

    /// Sends one command line and reads its reply.
    async fn command(&mut self, line: &str) -> Result<Reply, SessionError> {
        self.write(line.as_bytes()).await?;
        self.read_reply().await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SessionError> {
        let io = self.io.get_mut();
        let done = timeout(self.config.timeout, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await;
        match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.usable = false;
                Err(SessionError::temporary(format!(
                    "connection to {} lost while sending: {e}",
                    self.host
                )))
            }
            Err(_) => {
                self.usable = false;
                Err(SessionError::temporary(format!(
                    "timed out sending to {}",
                    self.host
                )))
            }
        }
    }

    /// Reads one (possibly multiline) reply.
    async fn read_reply(&mut self) -> Result<Reply, SessionError> {
        let limit = self.config.timeout;
        match timeout(limit, read_reply(&mut self.io)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.usable = false;
                Err(SessionError::temporary(format!("{}: {e}", self.host)))
            }
            Err(_) => {
                self.usable = false;
                Err(SessionError::temporary(format!(
                    "{} did not answer within {} s",
                    self.host,
                    limit.as_secs()
                )))
            }
        }
    }

    /// One mail transaction: MAIL FROM, RCPT TO for each recipient (pipelined when offered),
    /// DATA and the message. Returns each recipient's result; a session-level failure gives
    /// every recipient still open that failure.
    pub async fn send(
        &mut self,
        sender: &str,
        recipients: &[String],
        message: &[u8],
    ) -> Vec<RcptResult> {
        let host = self.host.clone();
        let tls = self.tls;
        let result = |recipient: &String, kind: Kind, reply: String| RcptResult {
            recipient: recipient.clone(),
            kind,
            host: Some(host.clone()),
            reply,
            tls,
        };
        let mut mail = format!("MAIL FROM:<{sender}>");
        if self.ext.size.is_some() {
            mail.push_str(&format!(" SIZE={}", message.len()));
        }
        if self.ext.eight_bit_mime && !message.is_ascii() {
            mail.push_str(" BODY=8BITMIME");
        }
        let utf8 = !sender.is_ascii() || recipients.iter().any(|r| !r.is_ascii());
        if utf8 && self.ext.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        mail.push_str("\r\n");
        let rcpts: Vec<String> = recipients
            .iter()
            .map(|r| format!("RCPT TO:<{r}>\r\n"))
            .collect();

        // MAIL and RCPT replies, pipelined when the server allows it.
        let mut replies: Vec<Reply> = Vec::with_capacity(recipients.len() + 1);
        let session: Result<(), SessionError> = async {
            if self.ext.pipelining {
                let mut batch = mail.clone().into_bytes();
                for r in &rcpts {
                    batch.extend_from_slice(r.as_bytes());
                }
                self.write(&batch).await?;
                for _ in 0..=rcpts.len() {
                    replies.push(self.read_reply().await?);
                }
            } else {
                let reply = self.command(&mail).await?;
                let go_on = reply.is_positive();
                replies.push(reply);
                if go_on {
                    for r in &rcpts {
                        replies.push(self.command(r).await?);
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = session {
            return recipients
                .iter()
                .map(|r| result(r, Kind::Temporary, e.reply.clone()))
                .collect();
        }
        let mail_reply = &replies[0];
        if !mail_reply.is_positive() {
            let kind = if mail_reply.is_permanent() {
                Kind::Permanent
            } else {
                Kind::Temporary
            };
            let text = mail_reply.text();
            self.reset().await;
            return recipients
                .iter()
                .map(|r| result(r, kind, text.clone()))
                .collect();
        }
        let mut out: Vec<Option<RcptResult>> = vec![None; recipients.len()];
        let mut accepted = Vec::new();
        for (i, r) in recipients.iter().enumerate() {
            match replies.get(i + 1) {
                Some(reply) if reply.is_positive() => accepted.push(i),
                Some(reply) if reply.is_permanent() => {
                    out[i] = Some(result(r, Kind::Permanent, reply.text()));
                }
                Some(reply) => out[i] = Some(result(r, Kind::Temporary, reply.text())),
                None => {
                    out[i] = Some(result(
                        r,
                        Kind::Temporary,
                        "no reply to RCPT TO".to_string(),
                    ))
                }
            }
        }
        let finish = |out: Vec<Option<RcptResult>>| -> Vec<RcptResult> {
            out.into_iter().flatten().collect()
        };
        if accepted.is_empty() {
            self.reset().await;
            return finish(out);
        }
        // (reply, whether the message was sent)
        let data = async {
            let reply = self.command("DATA\r\n").await?;
            if reply.code != 354 {
                return Ok((reply, false));
            }
            let body = encode_data(message);
            self.write(&body).await?;
            Ok::<_, SessionError>((self.read_reply().await?, true))
        }
        .await;
        let (kind, text) = match data {
            Ok((reply, true)) if (200..300).contains(&reply.code) => {
                (Kind::Delivered, reply.text())
            }
            Ok((reply, _)) if reply.is_permanent() => (Kind::Permanent, reply.text()),
            Ok((reply, _)) if reply.is_temporary() => (Kind::Temporary, reply.text()),
            Ok((reply, sent)) => {
                // 354 after the message, or 2xx/3xx instead of 354: the session is lost.
                self.usable = false;
                let when = if sent { "after the message" } else { "to DATA" };
                (
                    Kind::Temporary,
                    format!("unexpected reply {when}: {}", reply.text()),
                )
            }
            Err(e) => (Kind::Temporary, e.reply),
        };
        for i in accepted {
            out[i] = Some(result(&recipients[i], kind, text.clone()));
        }
        finish(out)
    }

    /// RSET, so the session can carry another transaction; marks it unusable if refused.
    pub async fn reset(&mut self) -> bool {
        if !self.usable {
            return false;
        }
        match self.command("RSET\r\n").await {
            Ok(r) if r.code == 250 => true,
            _ => {
                self.usable = false;
                false
            }
        }
    }

    /// QUIT and close (errors ignored: the mail is already accounted for).
    pub async fn quit(mut self) {
        if self.usable {
            let _ = timeout(Duration::from_secs(5), self.command("QUIT\r\n")).await;
        }
        let _ = timeout(Duration::from_secs(5), self.io.get_mut().shutdown()).await;
    }
}

/// A failed TLS handshake in words: an invalid certificate is named as such.
pub(crate) fn describe_tls_error(host: &str, ip: IpAddr, e: &io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(why)) => {
            format!("certificate of {host} is not valid: {why}")
        }
        _ => format!("TLS handshake with {host}[{ip}] failed: {e}"),
    }
}

/// Reads one reply: lines "ddd-text" ending with "ddd text" (or "ddd").
async fn read_reply<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Reply> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut code: Option<u16> = None;
    let mut lines = Vec::new();
    loop {
        if lines.len() >= MAX_REPLY_LINES {
            return Err(bad(format!("reply longer than {MAX_REPLY_LINES} lines")));
        }
        let mut buf = Vec::new();
        let n = (&mut *reader)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        if buf.last() != Some(&b'\n') {
            return Err(bad(format!("reply line longer than {MAX_LINE} bytes")));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        let line = String::from_utf8_lossy(&buf);
        let b = line.as_bytes();
        if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&b[0]) {
            return Err(bad(format!("malformed reply {:?}", truncate(&line, 80))));
        }
        let this: u16 = line[..3].parse().unwrap_or(0);
        if code.is_some_and(|c| c != this) {
            return Err(bad(format!(
                "reply codes differ within one reply: {:?}",
                truncate(&line, 80)
            )));
        }
        code = Some(this);
        let (last, text) = match b.get(3) {
            None => (true, ""),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => return Err(bad(format!("malformed reply {:?}", truncate(&line, 80)))),
        };
        lines.push(text.to_string());
        if last {
            return Ok(Reply { code: this, lines });
        }
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The DATA payload: every line ending made CRLF (bare CR and LF too), lines starting with
/// "." doubled (RFC 5321 §4.5.2), and the terminating "CRLF.CRLF".
pub fn encode_data(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_and_line_ends() {
        assert_eq!(encode_data(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(encode_data(b"x\r\n"), b"x\r\n.\r\n");
        assert_eq!(encode_data(b"x\ry"), b"x\r\ny\r\n.\r\n");
        assert_eq!(encode_data(b".\n"), b"..\r\n.\r\n");
        assert_eq!(encode_data(b""), b".\r\n");
    }

    #[test]
    fn enhanced_codes() {
        assert_eq!(
            enhanced_code("550 5.1.1 no such user").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced_code("550 sorry, no mailbox here by that name (#5.1.1)").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_code("451 try later").as_deref(), None);
        assert_eq!(enhanced_code("550 9.9.9 x").as_deref(), None);
        assert_eq!(enhanced_code("").as_deref(), None);
    }

    #[tokio::test]
    async fn replies() {
        let mut r: &[u8] = b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
        let reply = read_reply(&mut r).await.unwrap();
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines, ["mx.example", "PIPELINING", "SIZE 1000"]);
        let ext = Extensions::parse(&reply);
        assert!(ext.pipelining && ext.size == Some(1000) && !ext.starttls);
        let mut r: &[u8] = b"220\r\n";
        assert_eq!(read_reply(&mut r).await.unwrap().code, 220);
        for bad in [
            &b"hello\r\n"[..],
            b"250-a\r\n251 b\r\n",
            b"25\r\n",
            b"250x\r\n",
            b"650 no\r\n",
            b"250-a\r\n",
        ] {
            let mut r = bad;
            assert!(read_reply(&mut r).await.is_err(), "{bad:?}");
        }
        let long = format!("250 {}\r\n", "x".repeat(MAX_LINE + 10));
        let mut r = long.as_bytes();
        assert!(read_reply(&mut r).await.is_err());
    }
}
