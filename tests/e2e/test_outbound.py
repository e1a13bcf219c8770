"""Outbound delivery end to end: users submit, Hermod looks up MX records in a real DNS server
on 127.0.0.1 and delivers to real SMTP receivers on loopback addresses. Nothing leaves
127.0.0.0/8."""
import email
import json
import re
import signal
import smtplib
import time

import dkim
import pytest

from conftest import tls_context, worker_dns
from netdoubles import Receiver, free_port

ANN = "ann@example.com"
PW = "a-good-password"


@pytest.fixture
def world(make_server):
    """A server whose MX lookups go to the worker's DNS server and whose remote port is a
    loopback port where receivers listen; returns (server, dns zone, receivers)."""
    port = free_port()
    dns = worker_dns()
    receivers = []

    def receiver(domain, ip):
        host = f"mx.{domain}"
        dns.zone.mx(domain, host)
        dns.zone.a(host, ip)
        r = Receiver(ip, port)
        receivers.append(r)
        return r

    def make(**delivery):
        extra = "".join(f"{k} = {v}\n" for k, v in delivery.items())
        s = make_server(delivery=f"remote_port = {port}\n{extra}")
        s.add_domain("example.com")
        s.add_user(ANN)
        s.start()
        return s

    yield make, receiver, dns
    for r in receivers:
        r.stop()


def submit(server, to, subject="hello", body="Hi there.\r\n", sender=ANN, extra_headers=""):
    msg = (f"From: Ann <{sender}>\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{time.time_ns()}@example.com>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
           f"{extra_headers}\r\n{body}")
    with smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, context=tls_context(), timeout=30) as s:
        s.login(sender, PW)
        s.sendmail(sender, to, msg.encode())
    return msg.encode()


def outgoing(server, user=ANN):
    return json.loads(server.cli("logs", "outgoing", "--user", user, "--json").stdout)["messages"]


def queue(server):
    return json.loads(server.cli("queue", "list", "--json").stdout)


def wait(pred, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def inbox(server, user=ANN):
    c = server.imap(user)
    c.select("INBOX", readonly=True)
    _, data = c.fetch("1:*", "(BODY.PEEK[])")
    c.logout()
    return [email.message_from_bytes(p[1]) for p in data if isinstance(p, tuple)]


def status_of(server, rcpt):
    for m in outgoing(server):
        for r in m["recipients"]:
            if r["recipient"] == rcpt:
                return r
    return None


def test_delivered_to_the_mx(world):
    make, receiver, _ = world
    s = make()
    r = receiver("remote.example", "127.0.0.2")
    submit(s, ["bob@remote.example", "carol@remote.example"], subject="to the world")
    got = r.wait_for(1)
    mail_from, rcpts, data = got[0]
    assert mail_from == ANN and sorted(rcpts) == ["bob@remote.example", "carol@remote.example"]
    assert b"Subject: to the world" in data
    wait(lambda: status_of(s, "bob@remote.example")["status"] == "delivered", what="delivered status")
    st = status_of(s, "bob@remote.example")
    assert st["host"] == "mx.remote.example" and st["reply"].startswith("250")
    assert queue(s) == []


def test_temporary_failure_then_delivered_on_retry(world):
    make, receiver, _ = world
    s = make(retry_initial=1)
    r = receiver("remote.example", "127.0.0.2")
    submit(s, ["temp1@remote.example"])
    wait(lambda: status_of(s, "temp1@remote.example")["status"] == "deferred", what="deferred")
    q = queue(s)
    assert q[0]["attempts"] == 1 and q[0]["last_reply"].startswith("450")
    r.wait_for(1, timeout=30)
    wait(lambda: status_of(s, "temp1@remote.example")["status"] == "delivered", what="delivered after retry")
    assert queue(s) == []


def test_permanent_failure_bounces_with_an_rfc3464_dsn(world):
    make, receiver, _ = world
    s = make()
    receiver("remote.example", "127.0.0.2")
    original = submit(s, ["perm@remote.example"], subject="will bounce")
    dsn = wait(lambda: inbox(s), what="the DSN in ann's inbox")[0]
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["Auto-Submitted"] == "auto-replied"
    parts = dsn.get_payload()
    assert parts[0].get_content_type() == "text/plain"
    assert "perm@remote.example" in parts[0].get_payload(decode=True).decode()
    assert parts[1].get_content_type() == "message/delivery-status"
    fields = parts[1].get_payload()
    per_rcpt = fields[1]
    assert per_rcpt["Action"] == "failed"
    assert per_rcpt["Status"] == "5.1.1"
    assert "perm@remote.example" in per_rcpt["Final-Recipient"]
    assert "550" in per_rcpt["Diagnostic-Code"]
    assert parts[2].get_content_type() in ("text/rfc822-headers", "message/rfc822-headers")
    assert "Subject: will bounce" in parts[2].as_string()
    assert status_of(s, "perm@remote.example")["status"] == "bounced"
    assert b"will bounce" in original


def test_unreachable_host_retries_then_expires(world):
    make, _, dns = world
    s = make(retry_initial=1, retry_max=1, max_age=4)
    dns.zone.mx("dead.example", "mx.dead.example")
    dns.zone.a("mx.dead.example", "127.0.0.9")  # nothing listens there
    submit(s, ["x@dead.example"], subject="nowhere")
    wait(lambda: (queue(s) or [{"attempts": 0}])[0]["attempts"] >= 1, what="a failed attempt")
    dsn = wait(lambda: inbox(s), timeout=40, what="the expiry DSN")[0]
    status = dsn.get_payload()[1].get_payload()[1]
    assert status["Action"] == "failed" and status["Status"].startswith("4.4.")
    assert queue(s) == []


def test_bounces_are_never_bounced(world):
    make, receiver, _ = world
    s = make()
    receiver("remote.example", "127.0.0.2")
    # An auto-reply (null sender) to an address that refuses it: no DSN anywhere.
    s.cli("rule", "add", ANN, "away", "--if", "subject contains ping", "--auto-reply-subject", "away",
          "--auto-reply-body", "gone")
    s.cli("rule", "enable", ANN, "away")
    s.deliver(ANN, subject="ping", sender="perm@remote.example",
              raw=b"From: perm@remote.example\r\nTo: ann@example.com\r\nSubject: ping\r\n\r\nhi\r\n")
    wait(lambda: queue(s) == [], what="the auto-reply attempt to finish")
    assert [m["Subject"] for m in inbox(s)] == ["ping"]


def test_dkim_signature_verifies_with_an_independent_verifier(world):
    make, receiver, dns = world
    s = make()
    out = s.cli("domain", "dkim", "example.com").stdout
    name = re.search(r"(\S+\._domainkey\.example\.com)", out).group(1)
    value = re.search(r'"(v=DKIM1;[^"]+)"', out).group(1)
    dns.zone.txt(name, value)
    r = receiver("remote.example", "127.0.0.2")
    submit(s, ["bob@remote.example"], subject="signed")
    data = r.wait_for(1)[0][2]
    assert data.startswith(b"DKIM-Signature:") or b"\nDKIM-Signature:" in data

    def dnsfunc(qname, timeout=5):
        assert qname.decode().rstrip(".") == name
        return value.encode()
    assert dkim.verify(data, dnsfunc=dnsfunc), "dkimpy must accept Hermod's signature"


def test_local_delivery_no_with_mx_pointing_here_is_deferred(world):
    make, _, dns = world
    s = make()
    s.add_domain("migrating.example", "--local-delivery", "no")
    dns.zone.mx("migrating.example", "mx.test.example")  # our own hostname
    dns.zone.a("mx.test.example", "127.0.0.1")
    s.deliver("someone@migrating.example", subject="to the old host")
    q = wait(lambda: [e for e in queue(s) if e["attempts"] >= 1], what="a deferred attempt")
    assert q[0]["status"] == "deferred"
    assert "this server" in q[0]["last_reply"], q[0]["last_reply"]
    assert s.alive()


def test_queue_survives_sigkill_between_acceptance_and_delivery(world):
    make, receiver, dns = world
    s = make(retry_initial=3600)
    dns.zone.mx("later.example", "mx.later.example")
    dns.zone.a("mx.later.example", "127.0.0.3")  # no receiver yet: the attempt fails
    submit(s, ["friend@later.example"], subject="survives")
    wait(lambda: (queue(s) or [{"attempts": 0}])[0]["attempts"] >= 1, what="a failed attempt")
    s.stop(signal.SIGKILL)
    r = Receiver("127.0.0.3", s_port(s))
    try:
        s.start()
        s.cli("queue", "retry", "--all")
        got = r.wait_for(1)
        assert b"Subject: survives" in got[0][2]
        wait(lambda: queue(s) == [], what="the queue to empty")
    finally:
        r.stop()


def s_port(server):
    return int(re.search(r"remote_port = (\d+)", server.config.read_text()).group(1))


def test_queue_cli_show_bounce(world):
    make, _, dns = world
    s = make(retry_initial=3600)
    dns.zone.mx("slow.example", "mx.slow.example")
    dns.zone.a("mx.slow.example", "127.0.0.4")
    submit(s, ["x@slow.example"], subject="stuck")
    entry = wait(lambda: [e for e in queue(s) if e["attempts"] >= 1], what="a deferred attempt")[0]
    shown = json.loads(s.cli("queue", "show", str(entry["id"]), "--json").stdout)
    assert shown["recipient"] == "x@slow.example"
    s.cli("queue", "bounce", str(entry["id"]))
    dsn = wait(lambda: inbox(s), what="the operator's bounce")[0]
    assert dsn.get_content_type() == "multipart/report"
    r = s.cli("queue", "show", str(entry["id"]), check=False)
    assert r.returncode == 1 and "hermod queue list" in r.stderr


def test_inbound_spf_dkim_dmarc_results_and_dmarc_reject(make_server):
    """Inbound mail gets Authentication-Results; with smtp.dmarc_reject a p=reject failure is
    refused at the end of DATA."""
    dns = worker_dns()
    # signed.example publishes a DKIM key and SPF for 127.0.0.1; spoofed.example says reject.
    import base64
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    dns.zone.txt("sel._domainkey.signed.example", "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode())
    dns.zone.txt("signed.example", "v=spf1 ip4:127.0.0.1 -all")
    dns.zone.txt("_dmarc.signed.example", "v=DMARC1; p=reject")
    dns.zone.txt("spoofed.example", "v=spf1 -all")
    dns.zone.txt("_dmarc.spoofed.example", "v=DMARC1; p=reject")
    s = make_server(smtp="dmarc_reject = true")
    s.add_domain("example.com")
    s.add_user(ANN)
    s.start()
    msg = (b"From: Signer <news@signed.example>\r\nTo: ann@example.com\r\nSubject: signed\r\n"
           b"Message-ID: <s1@signed.example>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\nGenuine.\r\n")
    sig = dkim.sign(msg, b"sel", b"signed.example", pem, include_headers=[b"from", b"to", b"subject"])
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as smtp:
        smtp.sendmail("news@signed.example", [ANN], sig + msg)
    body = s.inbox_bodies(ANN)[0]
    head = body.split(b"\r\n\r\n")[0].decode()
    results = head.split("Return-Path:")[0]
    assert "dkim=pass header.i=@signed.example" in results, results
    assert "spf=pass" in results and "dmarc=pass" in results, results
    spoof = (b"From: CEO <ceo@spoofed.example>\r\nTo: ann@example.com\r\nSubject: wire money\r\n\r\nnow\r\n")
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as e:
            smtp.sendmail("ceo@spoofed.example", [ANN], spoof)
    assert e.value.smtp_code == 550 and b"DMARC" in e.value.smtp_error
    assert s.inbox_count(ANN) == 1
    rejected = s.incoming_log("--status", "rejected")
    assert any("DMARC" in r["reply"] for r in rejected), rejected
