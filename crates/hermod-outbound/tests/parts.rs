//! The parts against real doubles on 127.0.0.1: resolution, the SMTP client, DSNs, DKIM.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use hermod_outbound::client::{ClientConfig, Connection, Kind};
use hermod_outbound::dsn::{DsnFailure, DsnKind, build_dsn};
use hermod_outbound::{ResolveError, Resolver, dkim};
use mail_parser::MimeHeaders;

fn resolver(dns: std::net::SocketAddr) -> Resolver {
    Resolver::new(&[dns], Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn mx_order_null_implicit_nxdomain_servfail() {
    let mut z = Zone::default();
    z.mx("multi.test", 20, "mx3.multi.test")
        .mx("multi.test", 10, "mx1.multi.test")
        .mx("multi.test", 10, "mx2.multi.test")
        .mx("null.test", 0, ".")
        .a("plain.test", "127.0.0.5")
        .exists("empty.test")
        .servfail("broken.test")
        .a("mx1.multi.test", "127.0.0.1")
        .a("mx1.multi.test", "::1")
        .txt("t.multi.test", "hello world");
    let r = resolver(dns_server(z).await);

    let mut firsts = std::collections::HashSet::new();
    for _ in 0..30 {
        let mx = r.mx("Multi.Test").await.unwrap();
        let names: Vec<&str> = mx.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names.len(), 3);
        assert_eq!(names[2], "mx3.multi.test");
        assert!(mx[0].preference == 10 && mx[1].preference == 10);
        firsts.insert(names[0].to_string());
    }
    assert_eq!(
        firsts.len(),
        2,
        "equal preferences are tried in random order"
    );

    match r.mx("null.test").await {
        Err(ResolveError::Permanent(m)) => {
            assert!(
                m.contains("the domain does not accept mail (null MX)"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    let implicit = r.mx("plain.test").await.unwrap();
    assert_eq!(implicit.len(), 1);
    assert!(implicit[0].implicit && implicit[0].name == "plain.test");
    match r.mx("nowhere.test").await {
        Err(ResolveError::Permanent(m)) => assert!(m.contains("the domain does not exist"), "{m}"),
        other => panic!("{other:?}"),
    }
    match r.mx("empty.test").await {
        Err(ResolveError::Permanent(m)) => assert!(m.contains("no mail server"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        r.mx("broken.test").await,
        Err(ResolveError::Temporary(_))
    ));

    let mut ips = r.addresses("mx1.multi.test").await.unwrap();
    ips.sort();
    assert_eq!(
        ips,
        vec![
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "::1".parse::<IpAddr>().unwrap()
        ]
    );
    assert_eq!(r.txt("t.multi.test").await.unwrap(), vec!["hello world"]);
    assert!(r.txt("mx1.multi.test").await.unwrap().is_empty());
}

#[tokio::test]
async fn unreachable_nameserver_is_temporary() {
    let port = closed_port().await;
    let r = Resolver::new(
        &[format!("127.0.0.1:{port}").parse().unwrap()],
        Duration::from_secs(1),
    )
    .unwrap();
    assert!(matches!(
        r.mx("example.test").await,
        Err(ResolveError::Temporary(_))
    ));
}

fn config(port: u16) -> ClientConfig {
    ClientConfig::new("out.hermod.test", Duration::from_secs(5), port)
}

const MESSAGE: &[u8] =
    b"From: a@src.test\r\nTo: b@dst.test\r\nSubject: hi\r\n\r\nline one\n.hidden dot line\r\n..two\r\nend";

async fn send_to(b: Behavior, rcpts: &[&str]) -> (Vec<hermod_outbound::RcptResult>, Log, bool) {
    let (addr, log) = smtp_server("127.0.0.1", 0, b).await;
    let mut c = Connection::connect(&config(addr.port()), "mx.test", addr.ip())
        .await
        .unwrap();
    let rcpts: Vec<String> = rcpts.iter().map(|s| s.to_string()).collect();
    let results = c.send("a@src.test", &rcpts, MESSAGE).await;
    let tls = c.tls;
    c.quit().await;
    (results, log, tls)
}

#[tokio::test]
async fn pipelined_transaction_with_per_recipient_results() {
    let (results, log, tls) = send_to(
        Behavior::default(),
        &[
            "ok1@dst.test",
            "bad@dst.test",
            "temp@dst.test",
            "ok2@dst.test",
        ],
    )
    .await;
    assert!(!tls);
    let kinds: Vec<Kind> = results.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Delivered,
            Kind::Permanent,
            Kind::Temporary,
            Kind::Delivered
        ]
    );
    assert!(
        results[1].reply.starts_with("550 5.1.1"),
        "{}",
        results[1].reply
    );
    assert_eq!(results[0].reply, "250 2.0.0 queued as 1");
    assert_eq!(results[0].host.as_deref(), Some("mx.test"));
    let got = log.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].pipelined, "MAIL and RCPTs were sent together");
    assert_eq!(got[0].helo, "out.hermod.test");
    assert_eq!(
        got[0].mail_from,
        format!("<a@src.test> SIZE={}", MESSAGE.len())
    );
    assert_eq!(got[0].rcpts, ["ok1@dst.test", "ok2@dst.test"]);
    // CRLF everywhere, the dot lines unstuffed back to what was sent.
    assert_eq!(
        got[0].data,
        b"From: a@src.test\r\nTo: b@dst.test\r\nSubject: hi\r\n\r\nline one\r\n.hidden dot line\r\n..two\r\nend\r\n"
    );
}

#[tokio::test]
async fn without_pipelining_and_with_helo_fallback() {
    let b = Behavior {
        pipelining: false,
        ehlo: false,
        ..Behavior::default()
    };
    let (results, log, _) = send_to(b, &["ok@dst.test"]).await;
    assert_eq!(results[0].kind, Kind::Delivered);
    let got = log.messages();
    assert!(!got[0].pipelined);
    assert_eq!(got[0].mail_from, "<a@src.test>", "no SIZE without EHLO");
}

#[tokio::test]
async fn starttls_with_a_self_signed_certificate() {
    let b = Behavior {
        tls: Some(tls_acceptor()),
        ..Behavior::default()
    };
    let (results, log, tls) = send_to(b, &["ok@dst.test"]).await;
    assert!(tls, "opportunistic TLS accepts any certificate");
    assert!(results[0].tls);
    assert_eq!(results[0].kind, Kind::Delivered);
    assert!(log.messages()[0].tls);
}

#[tokio::test]
async fn mail_refusals_apply_to_every_recipient() {
    for (reply, kind) in [
        ("451 4.7.1 greylisted", Kind::Temporary),
        ("553 5.7.1 sender refused", Kind::Permanent),
    ] {
        let b = Behavior {
            mail_reply: Some(reply.into()),
            ..Behavior::default()
        };
        let (results, log, _) = send_to(b, &["ok1@dst.test", "ok2@dst.test"]).await;
        assert!(
            results.iter().all(|r| r.kind == kind && r.reply == reply),
            "{results:?}"
        );
        assert!(log.messages().is_empty());
    }
}

#[tokio::test]
async fn garbage_or_a_close_mid_data_is_temporary() {
    for b in [
        Behavior {
            garbage_after_mail: true,
            ..Behavior::default()
        },
        Behavior {
            close_mid_data: true,
            ..Behavior::default()
        },
    ] {
        let (addr, _log) = smtp_server("127.0.0.1", 0, b).await;
        let mut c = Connection::connect(&config(addr.port()), "mx.test", addr.ip())
            .await
            .unwrap();
        let results = c
            .send("a@src.test", &["ok@dst.test".to_string()], MESSAGE)
            .await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].kind, Kind::Temporary, "{results:?}");
        assert!(!c.is_usable());
    }
}

#[tokio::test]
async fn refusing_greetings_and_closed_ports() {
    let (addr, _) = smtp_server(
        "127.0.0.1",
        0,
        Behavior {
            greeting: "421 4.3.2 too busy".into(),
            ..Behavior::default()
        },
    )
    .await;
    let e = Connection::connect(&config(addr.port()), "mx.test", addr.ip())
        .await
        .err()
        .unwrap();
    assert!(
        !e.permanent && e.reply.contains("421 4.3.2 too busy"),
        "{e:?}"
    );
    let (addr, _) = smtp_server(
        "127.0.0.1",
        0,
        Behavior {
            greeting: "554 5.7.1 go away".into(),
            ..Behavior::default()
        },
    )
    .await;
    let e = Connection::connect(&config(addr.port()), "mx.test", addr.ip())
        .await
        .err()
        .unwrap();
    assert!(e.permanent, "{e:?}");
    let port = closed_port().await;
    let e = Connection::connect(&config(port), "mx.test", "127.0.0.1".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert!(!e.permanent && e.reply.contains("cannot connect"), "{e:?}");
}

#[tokio::test]
async fn a_connection_carries_several_messages() {
    let (addr, log) = smtp_server("127.0.0.1", 0, Behavior::default()).await;
    let mut c = Connection::connect(&config(addr.port()), "mx.test", addr.ip())
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(c.reset().await);
        let r = c
            .send("a@src.test", &["ok@dst.test".to_string()], MESSAGE)
            .await;
        assert_eq!(r[0].kind, Kind::Delivered);
    }
    c.quit().await;
    assert_eq!(log.messages().len(), 3);
    assert_eq!(log.connections(), 1);
}

#[test]
fn dsn_structure() {
    let original = b"From: Ann <ann@src.test>\r\nTo: x@dst.test\r\nSubject: Plans\r\nMessage-ID: <m1@src.test>\r\n\r\nsecret body\r\n";
    let failures = [
        DsnFailure {
            recipient: "x@dst.test".into(),
            remote_host: Some("mx.dst.test".into()),
            reply: "550 5.1.1 <x@dst.test>: no such user".into(),
            status: "5.1.1".into(),
        },
        DsnFailure {
            recipient: "y@dst.test".into(),
            remote_host: None,
            reply: "dst.test: the domain does not exist".into(),
            status: "5.0.0".into(),
        },
    ];
    let dsn = build_dsn(
        "mail.hermod.test",
        "ann@src.test",
        1_700_000_000,
        &failures,
        original,
        DsnKind::Permanent,
    );
    let text = String::from_utf8(dsn.clone()).unwrap();
    assert!(!text.contains("secret body"), "only the header is returned");
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "CRLF line ends only"
    );
    let m = mail_parser::MessageParser::default().parse(&dsn).unwrap();
    assert_eq!(m.subject(), Some("Undelivered Mail Returned to Sender"));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("MAILER-DAEMON@mail.hermod.test"));
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("ann@src.test")
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    let ct = m.content_type().unwrap();
    assert_eq!(ct.ctype(), "multipart");
    assert_eq!(ct.subtype(), Some("report"));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    assert_eq!(m.parts.len(), 4, "the multipart and its three parts");
    let types: Vec<String> = m.parts[1..]
        .iter()
        .map(|p| {
            let ct = p.content_type().unwrap();
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        types,
        [
            "text/plain",
            "message/delivery-status",
            "text/rfc822-headers"
        ]
    );
    let human = std::str::from_utf8(m.parts[1].contents()).unwrap();
    assert!(human.contains("<x@dst.test>: the mail server mx.dst.test answered: 550 5.1.1"));
    assert!(human.contains("<y@dst.test>: dst.test: the domain does not exist"));
    let status = std::str::from_utf8(m.parts[2].contents()).unwrap();
    for needle in [
        "Reporting-MTA: dns; mail.hermod.test",
        "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000",
        "Final-Recipient: rfc822; x@dst.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.dst.test\r\nDiagnostic-Code: smtp; 550 5.1.1 <x@dst.test>: no such user",
        "Final-Recipient: rfc822; y@dst.test\r\nAction: failed\r\nStatus: 5.0.0\r\nDiagnostic-Code: X-Hermod; dst.test: the domain does not exist",
    ] {
        assert!(status.contains(needle), "{needle:?} in {status}");
    }
    let headers = std::str::from_utf8(m.parts[3].contents()).unwrap();
    assert!(headers.contains("Subject: Plans") && headers.contains("Message-ID: <m1@src.test>"));
    // And IMAP can index it.
    let _ = hermod_mime::index(&dsn);
}

#[tokio::test]
async fn dkim_signature_verifies_against_the_published_key() {
    let (pem, record) = dkim::generate_key().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(record.starts_with("v=DKIM1; k=rsa; p=MII"), "{record}");
    assert_eq!(
        dkim::public_key_of(&pem).unwrap(),
        dkim::record_public_key(&record).unwrap()
    );
    let name = dkim::dns_record_name("s2024", "src.test");
    assert_eq!(name, "s2024._domainkey.src.test");
    let mut z = Zone::default();
    z.txt(&name, &record);
    let r = resolver(dns_server(z).await);
    assert_eq!(r.txt(&name).await.unwrap(), vec![record.clone()]);

    let message = b"From: Ann <ann@src.test>\r\nTo: b@dst.test\r\nSubject: signed\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <s1@src.test>\r\n\r\nHello,   world.\r\n\r\n\r\n";
    let header = dkim::sign(message, "src.test", "s2024", &pem).unwrap();
    assert!(header.starts_with("DKIM-Signature:"));
    assert!(header.contains("a=rsa-sha256") && header.contains("c=relaxed/relaxed"));
    let mut signed = header.into_bytes();
    signed.extend_from_slice(message);

    let auth = r.authenticator();
    let parsed = hermod_outbound::mail_auth::AuthenticatedMessage::parse(&signed).unwrap();
    let out = auth.verify_dkim(&parsed).await;
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].result(),
        &hermod_outbound::mail_auth::DkimResult::Pass
    );

    // A changed body fails.
    let mut tampered = signed.clone();
    let n = tampered.len();
    tampered[n - 8] = b'X';
    let parsed = hermod_outbound::mail_auth::AuthenticatedMessage::parse(&tampered).unwrap();
    let out = auth.verify_dkim(&parsed).await;
    assert_ne!(
        out[0].result(),
        &hermod_outbound::mail_auth::DkimResult::Pass
    );
}
