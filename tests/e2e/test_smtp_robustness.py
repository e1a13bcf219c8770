"""Bad input, large messages and crashes: never a panic, never a lost acknowledged message."""
import random
import signal
import smtplib
import socket
import threading
import time

import pytest

from smtp_client import Raw, message


@pytest.fixture
def server(make_server):
    s = make_server()
    s.add_domain("example.com")
    s.add_user("ann@example.com", "ann-password")
    s.start()
    return s


def still_serves(s):
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as smtp:
        smtp.sendmail("check@remote.org", ["ann@example.com"], message("still alive"))
    assert s.alive()


def test_overlong_line_gets_a_reply(server):
    c = Raw(server.smtp_port)
    r = c.cmd("EHLO " + "x" * 100_000)
    assert r.startswith("500") and "line too long" in r, r
    assert c.cmd("EHLO ok.test").startswith("250"), "the session goes on"
    still_serves(server)


def test_nul_bytes_and_garbage(server):
    c = Raw(server.smtp_port)
    c.cmd("EHLO client.test")
    c.send(b"MAIL FROM:<a\x00b@remote.org>\r\n")
    assert c.reply()[0] == "5"
    c.send(b"\xff\xfe\x00\x01garbage\r\n")
    assert c.reply().startswith("500")
    c.send(b"RCPT TO:<ann@example.com\r\n")
    assert c.reply()[0] == "5"
    still_serves(server)


def test_too_many_errors_closes_the_connection(server):
    c = Raw(server.smtp_port)
    c.send(b"BOGUS\r\n" * 40)
    lines = []
    try:
        while True:
            lines.append(c.reply())
    except (ConnectionError, OSError):
        pass
    assert lines[-1].startswith("421"), lines[-3:]
    still_serves(server)


def test_client_stops_mid_data(server):
    c = Raw(server.smtp_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<someone@remote.org>")
    c.cmd("RCPT TO:<ann@example.com>")
    assert c.cmd("DATA").startswith("354")
    c.send(b"Subject: half\r\n\r\nonly half a messa")
    c.close()
    time.sleep(0.5)
    assert server.inbox_count("ann@example.com") == 0, "nothing acknowledged, nothing delivered"
    still_serves(server)
    assert list((server.data / "blobs" / "tmp").iterdir()) == [], "the spool file is removed"


def test_garbage_after_starttls(server):
    c = Raw(server.smtp_port)
    c.cmd("EHLO client.test")
    assert c.cmd("STARTTLS").startswith("220")
    c.send(b"this is not a TLS handshake\r\n" * 10)
    assert c.closed()
    still_serves(server)


def test_commands_pipelined_after_starttls_are_dropped(server):
    # The STARTTLS injection attack: plaintext commands sent with STARTTLS must not run.
    c = Raw(server.smtp_port)
    c.cmd("EHLO client.test")
    c.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.org>\r\n")
    assert c.reply().startswith("220")
    from conftest import tls_context
    c.sock = tls_context().wrap_socket(c.sock, server_hostname="mx.test.example")
    c.buf = b""
    c.cmd("EHLO client.test")
    assert c.cmd("RCPT TO:<ann@example.com>").startswith("503"), "no MAIL was injected"


def test_ten_thousand_recipients(server):
    c = Raw(server.smtp_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<someone@remote.org>")
    sender = threading.Thread(target=lambda: c.send(b"RCPT TO:<ann@example.com>\r\n" * 10_000))
    sender.start()
    replies = [c.reply() for _ in range(10_000)]
    sender.join()
    assert replies[0].startswith("250")
    assert all(r.startswith(("250", "551")) for r in replies)
    assert c.data(message()).startswith("250")
    assert server.inbox_count("ann@example.com") == 1
    still_serves(server)


def test_fifty_megabytes(server):
    limit = 52428800
    head = b"Subject: big\r\n\r\n"
    line = b"x" * 998 + b"\r\n"

    def body(size):
        n = (size - len(head)) // len(line)
        data = head + line * n
        return data + b"y" * (size - len(data))

    def send(size):
        c = Raw(server.smtp_port, timeout=120)
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<someone@remote.org>")
        c.cmd("RCPT TO:<ann@example.com>")
        assert c.cmd("DATA").startswith("354")
        c.send(body(size) + b"\r\n.\r\n")
        return c.reply()

    before = server.rss_peak_kb()
    # Just under the limit (the body plus the final CRLF is the message).
    assert send(limit - 2).startswith("250")
    assert send(limit + 1000) == "552 sorry, that message size exceeds my databytes limit (#5.3.4)"
    grown = server.rss_peak_kb() - before
    assert grown < 20 * 1024, f"peak memory grew by {grown} KB: the body must stream, not be held"
    assert server.inbox_count("ann@example.com") == 1


def test_acknowledged_mail_survives_kill_9(make_server):
    s = make_server()
    s.add_domain("example.com")
    s.add_user("ann@example.com", "ann-password")
    s.start()
    acknowledged = []
    stop = threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            tag = f"c{n}-m{i}"
            try:
                with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as smtp:
                    smtp.sendmail("load@remote.org", ["ann@example.com"], message(tag, body=tag))
                acknowledged.append(tag)
            except (smtplib.SMTPException, OSError):
                return
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(1.0, 2.5))
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) > 5, "the load ran"
    s.log.clear()
    s.ports.clear()
    s.start()
    bodies = b"\n".join(s.inbox_bodies("ann@example.com"))
    lost = [tag for tag in acknowledged if f"Subject: {tag}\r\n".encode() not in bodies]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged messages lost: {lost[:5]}"
    still_serves(s)
