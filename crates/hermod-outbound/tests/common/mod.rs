//! Real test doubles on 127.0.0.x: a DNS server (UDP and TCP) answering from a table, and
//! SMTP receivers that answer per recipient and record what they got.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use hermod_outbound::hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hermod_outbound::hickory_resolver::proto::rr::rdata::{A, AAAA, MX, TXT};
use hermod_outbound::hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

// ---------------------------------------------------------------- DNS

pub struct Zone {
    records: HashMap<(String, RecordType), Vec<RData>>,
    names: std::collections::HashSet<String>,
    servfail: std::collections::HashSet<String>,
    ttl: u32,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            records: HashMap::new(),
            names: Default::default(),
            servfail: Default::default(),
            ttl: 60,
        }
    }
}

fn key(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    format!("{n}.")
}

impl Zone {
    pub fn add(&mut self, name: &str, data: RData) -> &mut Self {
        let k = key(name);
        self.names.insert(k.clone());
        self.records
            .entry((k, data.record_type()))
            .or_default()
            .push(data);
        self
    }
    pub fn mx(&mut self, name: &str, pref: u16, exchange: &str) -> &mut Self {
        let ex = Name::from_ascii(if exchange == "." {
            ".".to_string()
        } else {
            key(exchange)
        })
        .unwrap();
        self.add(name, RData::MX(MX::new(pref, ex)))
    }
    pub fn a(&mut self, name: &str, ip: &str) -> &mut Self {
        let data = match ip.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => RData::A(A(v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
        };
        self.add(name, data)
    }
    pub fn txt(&mut self, name: &str, value: &str) -> &mut Self {
        // Long values split in 255-byte strings, as DNS requires.
        let parts: Vec<String> = value
            .as_bytes()
            .chunks(255)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        self.add(name, RData::TXT(TXT::new(parts)))
    }
    /// Replaces the TXT records of `name` with `value` (none: removes them, the name stays).
    pub fn set_txt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        self.records.remove(&(key(name), RecordType::TXT));
        self.names.insert(key(name));
        if let Some(v) = value {
            self.txt(name, v);
        }
        self
    }
    /// Replaces the address records of `name` with `ip`.
    pub fn set_a(&mut self, name: &str, ip: &str) -> &mut Self {
        self.records.remove(&(key(name), RecordType::A));
        self.records.remove(&(key(name), RecordType::AAAA));
        self.a(name, ip)
    }
    /// The TTL of every answer (60 s by default; 0 keeps resolvers from caching).
    pub fn ttl(&mut self, ttl: u32) -> &mut Self {
        self.ttl = ttl;
        self
    }
    pub fn servfail(&mut self, name: &str) -> &mut Self {
        self.servfail.insert(key(name));
        self
    }
    /// A name that exists with no records (NOERROR, empty answer).
    pub fn exists(&mut self, name: &str) -> &mut Self {
        self.names.insert(key(name));
        self
    }

    fn answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        let q = Message::from_vec(query).ok()?;
        let question = q.queries.first()?.clone();
        let mut r = Message::response(q.metadata.id, q.metadata.op_code);
        r.metadata.message_type = MessageType::Response;
        r.metadata.recursion_desired = q.metadata.recursion_desired;
        r.metadata.recursion_available = true;
        r.metadata.authoritative = true;
        r.add_query(question.clone());
        let k = question.name.to_ascii().to_ascii_lowercase();
        if self.servfail.contains(&k) {
            r.metadata.response_code = ResponseCode::ServFail;
        } else if !self.names.contains(&k) {
            r.metadata.response_code = ResponseCode::NXDomain;
        } else if let Some(list) = self.records.get(&(k, question.query_type)) {
            for d in list {
                r.add_answer(Record::from_rdata(
                    question.name.clone(),
                    self.ttl,
                    d.clone(),
                ));
            }
        }
        r.to_vec().ok()
    }
}

/// Starts a DNS server on 127.0.0.1 (UDP and TCP on one port); returns its address.
pub async fn dns_server(zone: Zone) -> SocketAddr {
    dns_server_shared(zone).await.0
}

/// As [`dns_server`], with the zone kept changeable.
pub async fn dns_server_shared(zone: Zone) -> (SocketAddr, Arc<Mutex<Zone>>) {
    let zone = Arc::new(Mutex::new(zone));
    let shared = zone.clone();
    // UDP and TCP on one port: retry when the TCP side of a fresh UDP port is taken.
    let mut tries = 0;
    let (udp, tcp, addr) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        match TcpListener::bind(addr).await {
            Ok(tcp) => break (udp, tcp, addr),
            Err(e) => {
                tries += 1;
                assert!(tries < 50, "no port free for UDP and TCP: {e}");
            }
        }
    };
    let z = zone.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                return;
            };
            let out = z.lock().unwrap().answer(&buf[..n]);
            if let Some(out) = out {
                let _ = udp.send_to(&out, peer).await;
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = tcp.accept().await else {
                return;
            };
            let z = zone.clone();
            tokio::spawn(async move {
                loop {
                    let mut len = [0u8; 2];
                    if s.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                    if s.read_exact(&mut q).await.is_err() {
                        return;
                    }
                    let out = z.lock().unwrap().answer(&q);
                    if let Some(out) = out {
                        let mut framed = (out.len() as u16).to_be_bytes().to_vec();
                        framed.extend_from_slice(&out);
                        if s.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, shared)
}

// ---------------------------------------------------------------- SMTP

/// How a test receiver behaves.
#[derive(Clone)]
pub struct Behavior {
    pub greeting: String,
    pub pipelining: bool,
    pub ehlo: bool,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Reply to MAIL (None: 250).
    pub mail_reply: Option<String>,
    /// After MAIL, send garbage instead of a reply.
    pub garbage_after_mail: bool,
    /// Close the connection in the middle of the message.
    pub close_mid_data: bool,
    pub data_reply: String,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            greeting: "220 mx.test ESMTP ready".into(),
            pipelining: true,
            ehlo: true,
            tls: None,
            mail_reply: None,
            garbage_after_mail: false,
            close_mid_data: false,
            data_reply: "250 2.0.0 queued as 1".into(),
        }
    }
}

/// One message a receiver accepted (or saw).
#[derive(Debug, Clone, Default)]
pub struct Got {
    pub helo: String,
    pub mail_from: String,
    pub rcpts: Vec<String>,
    pub data: Vec<u8>,
    pub tls: bool,
    /// MAIL and the RCPTs arrived before the server answered MAIL.
    pub pipelined: bool,
}

impl Got {
    pub fn dkim_signed(&self) -> bool {
        self.data.starts_with(b"DKIM-Signature:")
    }
}

#[derive(Clone, Default)]
pub struct Log {
    pub messages: Arc<Mutex<Vec<Got>>>,
    pub connections: Arc<Mutex<usize>>,
    /// Recipient -> RCPT attempts seen (for "temp" recipients: 450 the first time).
    attempts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Log {
    pub fn messages(&self) -> Vec<Got> {
        self.messages.lock().unwrap().clone()
    }
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// The reply to RCPT TO by local part: ok* 250, temp* 450 once then 250, alwaystemp* 451,
/// bad* 550 5.1.1.
fn rcpt_reply(log: &Log, rcpt: &str) -> String {
    let local = rcpt.split('@').next().unwrap_or("");
    let n = {
        let mut a = log.attempts.lock().unwrap();
        let n = a.entry(rcpt.to_string()).or_default();
        *n += 1;
        *n
    };
    if local.starts_with("bad") {
        "550 5.1.1 <".to_string() + rcpt + ">: no such user here"
    } else if local.starts_with("alwaystemp") {
        "451 4.3.0 try again later".into()
    } else if local.starts_with("temp") && n == 1 {
        "450 4.2.1 mailbox busy, try later".into()
    } else {
        "250 2.1.5 ok".into()
    }
}

/// Starts a receiver on `ip:port` (port 0: any); returns its address and log.
pub async fn smtp_server(ip: &str, port: u16, behavior: Behavior) -> (SocketAddr, Log) {
    let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Log::default();
    let l = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            *l.connections.lock().unwrap() += 1;
            let (b, l) = (behavior.clone(), l.clone());
            tokio::spawn(async move {
                let mut io = BufReader::new(s);
                if io
                    .get_mut()
                    .write_all(format!("{}\r\n", b.greeting).as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
                if let Some(tcp) = session(io, &b, &l, false).await
                    && let Some(acceptor) = &b.tls
                    && let Ok(tls) = acceptor.accept(tcp).await
                {
                    session(BufReader::new(tls), &b, &l, true).await;
                }
            });
        }
    });
    (addr, log)
}

async fn line<S: AsyncRead + Unpin>(io: &mut BufReader<S>) -> Option<String> {
    let mut buf = Vec::new();
    let n = io.read_until(b'\n', &mut buf).await.ok()?;
    if n == 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&buf).trim_end().to_string())
}

/// Runs a session; returns the inner stream when the client asked for STARTTLS.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: BufReader<S>,
    b: &Behavior,
    log: &Log,
    tls: bool,
) -> Option<S> {
    let mut got = Got {
        tls,
        ..Got::default()
    };
    macro_rules! send {
        ($s:expr) => {
            if io
                .get_mut()
                .write_all(format!("{}\r\n", $s).as_bytes())
                .await
                .is_err()
            {
                return None;
            }
        };
    }
    loop {
        let cmd = line(&mut io).await?;
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            if !b.ehlo {
                send!("502 5.5.2 EHLO not supported");
                continue;
            }
            got.helo = cmd[5..].to_string();
            let mut lines = vec!["250-mx.test greets you".to_string()];
            if b.pipelining {
                lines.push("250-PIPELINING".into());
            }
            if b.tls.is_some() && !tls {
                lines.push("250-STARTTLS".into());
            }
            lines.push("250-8BITMIME".into());
            lines.push("250 SIZE 10000000".into());
            send!(lines.join("\r\n"));
        } else if upper.starts_with("HELO") {
            got.helo = cmd[5..].to_string();
            send!("250 mx.test");
        } else if upper == "STARTTLS" {
            send!("220 2.0.0 go ahead");
            return Some(io.into_inner());
        } else if upper.starts_with("MAIL FROM:") {
            got.pipelined = !io.buffer().is_empty();
            got.mail_from = cmd[10..].to_string();
            got.rcpts.clear();
            if b.garbage_after_mail {
                send!("this is not SMTP\u{1}\u{2}");
                return None;
            }
            send!(
                b.mail_reply
                    .clone()
                    .unwrap_or_else(|| "250 2.1.0 ok".into())
            );
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = cmd[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            let reply = rcpt_reply(log, &rcpt);
            if reply.starts_with('2') {
                got.rcpts.push(rcpt);
            }
            send!(reply);
        } else if upper == "DATA" {
            if got.rcpts.is_empty() {
                send!("554 5.5.1 no valid recipients");
                continue;
            }
            send!("354 go ahead");
            let mut data = Vec::new();
            let mut lines_read = 0;
            loop {
                let mut buf = Vec::new();
                let n = io.read_until(b'\n', &mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                lines_read += 1;
                if b.close_mid_data && lines_read == 3 {
                    return None;
                }
                if buf == b".\r\n" {
                    break;
                }
                if buf.starts_with(b".") {
                    buf.remove(0);
                }
                data.extend_from_slice(&buf);
            }
            got.data = data;
            send!(b.data_reply);
            if b.data_reply.starts_with('2') {
                log.messages.lock().unwrap().push(got.clone());
            }
        } else if upper == "RSET" {
            got.rcpts.clear();
            send!("250 2.0.0 ok");
        } else if upper == "QUIT" {
            send!("221 2.0.0 bye");
            return None;
        } else {
            send!("500 5.5.1 what?");
        }
    }
}

/// A TLS acceptor with a self-signed certificate for mx.test (rcgen).
pub fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    self_signed_acceptor("mx.test")
}

/// A TLS acceptor with a self-signed certificate for `name`.
pub fn self_signed_acceptor(name: &str) -> tokio_rustls::TlsAcceptor {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    acceptor(
        vec![ck.cert.der().clone()],
        ck.signing_key.serialize_der(),
        &[],
    )
}

fn acceptor(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key_der: Vec<u8>,
    alpn: &[&[u8]],
) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

// ---------------------------------------------------------------- PKI and HTTPS

/// A test certificate authority (rcgen).
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Hermod Test CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        TestCa {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// The CA certificate in PEM (what `MtaSts::new` takes as extra roots).
    pub fn pem(&self) -> Vec<u8> {
        self.issuer.pem().into_bytes()
    }

    /// A server certificate for `names` (chain: the leaf, then the CA) and its key (PKCS#8).
    pub fn issue(
        &self,
        names: &[&str],
    ) -> (Vec<rustls::pki_types::CertificateDer<'static>>, Vec<u8>) {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            vec![cert.der().clone(), self.issuer.der().clone()],
            key.serialize_der(),
        )
    }

    /// A TLS acceptor with a certificate for `names` issued by this CA.
    pub fn acceptor(&self, names: &[&str]) -> tokio_rustls::TlsAcceptor {
        let (chain, key) = self.issue(names);
        acceptor(chain, key, &[])
    }

    /// As [`TestCa::acceptor`], offering ALPN http/1.1.
    pub fn https_acceptor(&self, names: &[&str]) -> tokio_rustls::TlsAcceptor {
        let (chain, key) = self.issue(names);
        acceptor(chain, key, &[b"http/1.1"])
    }
}

/// What the test HTTPS server answers to every request.
#[derive(Clone)]
pub struct HttpAnswer {
    pub status: String,
    pub content_type: Option<String>,
    pub extra_headers: String,
    pub body: String,
}

impl HttpAnswer {
    /// 200, text/plain, `body`.
    pub fn policy(body: &str) -> HttpAnswer {
        HttpAnswer {
            status: "200 OK".into(),
            content_type: Some("text/plain".into()),
            extra_headers: String::new(),
            body: body.into(),
        }
    }
}

/// A running HTTPS server on 127.0.0.1.
pub struct HttpsServer {
    pub addr: SocketAddr,
    pub answer: Arc<Mutex<HttpAnswer>>,
    /// The request lines and Host headers received.
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsServer {
    pub fn set(&self, answer: HttpAnswer) {
        *self.answer.lock().unwrap() = answer;
    }
    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    /// Stops listening (connections are refused from now on).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Starts an HTTPS server on 127.0.0.1:`port` (0: any) answering every request with the
/// current answer (Content-Length framing, a clean TLS close).
pub async fn https_server(
    port: u16,
    acceptor: tokio_rustls::TlsAcceptor,
    answer: HttpAnswer,
) -> HttpsServer {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(Mutex::new(answer));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (a, r) = (answer.clone(), requests.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, a, r) = (acceptor.clone(), a.clone(), r.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut io = BufReader::new(tls);
                let Some(request) = line(&mut io).await else {
                    return;
                };
                let mut host = String::new();
                loop {
                    let Some(h) = line(&mut io).await else { return };
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("host")
                    {
                        host = v.trim().to_string();
                    }
                }
                r.lock().unwrap().push((request, host));
                let ans = a.lock().unwrap().clone();
                let mut out = format!("HTTP/1.1 {}\r\n", ans.status);
                if let Some(ct) = &ans.content_type {
                    out.push_str(&format!("Content-Type: {ct}\r\n"));
                }
                out.push_str(&ans.extra_headers);
                out.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    ans.body.len(),
                    ans.body
                ));
                let _ = io.get_mut().write_all(out.as_bytes()).await;
                let _ = io.get_mut().shutdown().await;
            });
        }
    });
    HttpsServer {
        addr,
        answer,
        requests,
        task,
    }
}

/// Log lines written through `tracing` while the guard lives (current thread: use with
/// `#[tokio::test]`'s single-threaded runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let guard = tracing::subscriber::set_default(sub);
        (logs, guard)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// A port free on 127.0.0.1 (and very likely on the other 127.0.0.x addresses too).
pub async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// A port nothing listens on (connection refused).
pub async fn closed_port() -> u16 {
    free_port().await
}

pub async fn connect_raw(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}
