"""Every row of design.md's reply table, in both profiles, at the stage it names, with real
SMTP clients (a raw socket client for exact replies, smtplib and swaks)."""
import smtplib
import subprocess
import time

import pytest

from conftest import pg_settings, tls_context
from smtp_client import Raw, message

REPLIES = {
    "relay": {"faq": "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
              "rfc": "554 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts"},
    "relay_submission": {"faq": "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
                         "rfc": "530 5.7.0 Authentication required"},
    "send_as": {"faq": "550 sorry, you can't send as this user (#5.7.1)",
                "rfc": "553 5.7.1 sorry, you can't send as this user"},
    "recipients": {"faq": "551 sorry, maximum number of recipients reached",
                   "rfc": "452 4.5.3 sorry, maximum number of recipients reached"},
    "daily": {"faq": "462 Daily send limit reached. Please try again tomorrow",
              "rfc": "451 4.7.1 Daily send limit reached. Please try again tomorrow"},
    "size": {"faq": "552 sorry, that message size exceeds my databytes limit (#5.3.4)",
             "rfc": "552 5.3.4 sorry, that message size exceeds my databytes limit"},
    "no_mailbox": {"faq": "550 sorry, no mailbox here by that name (#5.1.1)",
                   "rfc": "550 5.1.1 sorry, no mailbox here by that name"},
    "blacklisted": {"faq": "550 sorry, you are blacklisted on this server (#5.7.1)",
                    "rfc": "550 5.7.1 sorry, you are blacklisted on this server"},
    "whitelist": {"faq": "552 sorry, you are blacklisted on this server (#5.7.1)",
                  "rfc": "550 5.7.1 sorry, you are blacklisted on this server"},
    "system": {"faq": "550 That sender cannot send mail here (#5.7.1)",
               "rfc": "550 5.7.1 That sender cannot send mail here"},
    "timeout": {"faq": "451 timeout (#4.4.2)", "rfc": "421 4.4.2 timeout"},
}


def submit(s, user="ann@example.com", password="ann-password"):
    """An authenticated session on 465 (implicit TLS)."""
    c = Raw(s.submissions_port, implicit_tls=True)
    c.cmd("EHLO client.test")
    assert c.login(user, password).startswith("235")
    return c


def test_relay_without_auth_is_refused(hosted):
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<someone@remote.org>").startswith("250")
    assert c.cmd("RCPT TO:<victim@elsewhere.net>") == REPLIES["relay"][hosted.profile]
    c.close()
    c = Raw(hosted.submission_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<someone@remote.org>")
    assert c.cmd("RCPT TO:<victim@elsewhere.net>") == REPLIES["relay_submission"][hosted.profile]


def test_send_as_is_checked_at_mail(hosted):
    c = submit(hosted)
    assert c.cmd("MAIL FROM:<bob@example.com>") == REPLIES["send_as"][hosted.profile]
    assert c.cmd("MAIL FROM:<ann@example.com>").startswith("250"), "own address"
    c.cmd("RSET")
    hosted.cli("alias", "add", "sales@example.com", "ann@example.com")
    assert c.cmd("MAIL FROM:<sales@example.com>").startswith("250"), "an alias of the login"
    c.cmd("RSET")
    assert c.cmd("MAIL FROM:<ceo@example.com>") == REPLIES["send_as"][hosted.profile]
    hosted.cli("user", "send-as", "grant", "ann@example.com", "ceo@example.com")
    assert c.cmd("MAIL FROM:<ceo@example.com>").startswith("250"), "granted Send email as"


def test_hundred_and_first_recipient(hosted):
    c = submit(hosted)
    c.cmd("MAIL FROM:<ann@example.com>")
    # Pipelined, as real clients send them.
    c.send(b"".join(b"RCPT TO:<r%d@remote.example>\r\n" % i for i in range(101)))
    replies = [c.reply() for _ in range(101)]
    assert all(r.startswith("250") for r in replies[:100]), replies[:100]
    assert replies[100] == REPLIES["recipients"][hosted.profile]
    assert c.data(message(sender="ann@example.com")).startswith("250")
    queued = hosted.cli("queue", "list", "--json").stdout
    import json
    assert len(json.loads(queued)) == 100, "the first 100 are still delivered"


def test_daily_send_limit(hosted):
    hosted.cli("user", "set", "ann@example.com", "--send-limit", "2")
    c = submit(hosted)
    for i in range(2):
        assert c.cmd("MAIL FROM:<ann@example.com>").startswith("250")
        assert c.cmd("RCPT TO:<bob@example.com>").startswith("250")
        assert c.data(message(f"n{i}", sender="ann@example.com")).startswith("250")
    assert c.cmd("MAIL FROM:<ann@example.com>") == REPLIES["daily"][hosted.profile]
    shown = hosted.user("ann@example.com")
    assert (shown["sent_last_24h"], shown["daily_limit"]) == (2, 2)
    assert hosted.inbox_count("bob@example.com") == 2
    # The operator raises this one account's limit: sending works again.
    hosted.cli("user", "set", "ann@example.com", "--send-limit", "3")
    assert c.cmd("MAIL FROM:<ann@example.com>").startswith("250")


def test_plan_limits_are_the_faqs(make_server):
    s = make_server()
    s.add_domain("example.com")
    s.add_user("ann@example.com")
    s.add_user("eve@example.com", "a-good-password", "--plan", "enhanced")
    assert s.user("ann@example.com")["daily_limit"] == 300
    assert s.user("eve@example.com")["daily_limit"] == 1200


def test_size_refused_at_mail_when_declared(hosted):
    c = Raw(hosted.smtp_port)
    ehlo = c.cmd("EHLO client.test")
    assert "250-SIZE 52428800" in c.last_lines
    assert c.cmd("MAIL FROM:<someone@remote.org> SIZE=52428801") == REPLIES["size"][hosted.profile]
    assert c.cmd("MAIL FROM:<someone@remote.org> SIZE=52428800").startswith("250")


def test_no_mailbox_at_rcpt(hosted):
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<someone@remote.org>")
    assert c.cmd("RCPT TO:<nobody@example.com>") == REPLIES["no_mailbox"][hosted.profile]
    log = hosted.incoming_log("--domain", "example.com", "--status", "rejected")
    assert log[0]["recipient"] == "nobody@example.com"
    assert log[0]["reply"] == REPLIES["no_mailbox"][hosted.profile]


def test_block_lists_at_rcpt(hosted):
    hosted.cli("filter", "add", "block", "pest@remote.org", "--user", "ann@example.com")
    hosted.cli("filter", "add", "block", "spam.example", "--domain", "example.com")
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<pest@remote.org>")
    assert c.cmd("RCPT TO:<ann@example.com>") == REPLIES["blacklisted"][hosted.profile], "user list"
    assert c.cmd("RCPT TO:<bob@example.com>").startswith("250"), "bob did not block pest"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<offers@mail.spam.example>")
    assert c.cmd("RCPT TO:<bob@example.com>") == REPLIES["blacklisted"][hosted.profile], "domain list"
    # An allow entry of the user wins over the domain's block.
    hosted.cli("filter", "add", "allow", "offers@mail.spam.example", "--user", "bob@example.com")
    assert c.cmd("RCPT TO:<bob@example.com>").startswith("250")
    rejected = hosted.incoming_log("--status", "rejected")
    assert {e["reply"] for e in rejected} == {REPLIES["blacklisted"][hosted.profile]}


def test_whitelist_and_address_book_only(hosted):
    hosted.cli("user", "set", "ann@example.com", "--filter-mode", "whitelist-only")
    hosted.cli("filter", "add", "allow", "friend@remote.org", "--user", "ann@example.com")
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<stranger@remote.org>")
    assert c.cmd("RCPT TO:<ann@example.com>") == REPLIES["whitelist"][hosted.profile]
    assert c.cmd("RCPT TO:<bob@example.com>").startswith("250"), "bob accepts everyone"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<friend@remote.org>")
    assert c.cmd("RCPT TO:<ann@example.com>").startswith("250")
    # At the domain level too.
    hosted.cli("domain", "set", "example.com", "--filter-mode", "whitelist-only")
    c.cmd("RSET")
    c.cmd("MAIL FROM:<stranger@remote.org>")
    assert c.cmd("RCPT TO:<bob@example.com>") == REPLIES["whitelist"][hosted.profile]


def test_system_block_list_at_mail(hosted):
    hosted.cli("filter", "add", "block", "*.xyz")
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<promo@cheap.xyz>") == REPLIES["system"][hosted.profile]
    assert c.cmd("MAIL FROM:<promo@fine.org>").startswith("250")
    rejected = hosted.incoming_log("--status", "rejected", "--sender", "cheap.xyz")
    assert rejected and rejected[0]["status"] == "Rejected"
    assert "That sender cannot send mail here" in rejected[0]["reply"]


def test_timeout(make_server, profile):
    s = make_server(profile, smtp="command_timeout = 1")
    s.start()
    c = Raw(s.smtp_port)
    c.cmd("EHLO client.test")
    t0 = time.time()
    assert c.reply() == REPLIES["timeout"][profile]
    assert 0.8 < time.time() - t0 < 5
    assert c.closed()


def test_delivery_headers_and_smtplib(hosted):
    with smtplib.SMTP("127.0.0.1", hosted.smtp_port) as smtp:
        refused = smtp.sendmail("someone@remote.org", ["ann@example.com", "ghost@example.com", "bob@example.com"],
                                message("headers"))
        assert list(refused) == ["ghost@example.com"]
    body = hosted.inbox_bodies("ann@example.com")[0]
    # SPF, DKIM and DMARC results on top (nothing is published for remote.org), then the trace.
    assert body.startswith(b"Authentication-Results: mx.test.example;\r\n\tspf=none "), body[:300]
    assert b"dmarc=none" in body.split(b"\r\n\r\n")[0]
    assert b"\r\nReturn-Path: <someone@remote.org>\r\nReceived: from " in body
    assert b"by mx.test.example (Hermod) with ESMTP" in body
    assert body.endswith(b"Hi there.\r\n")
    assert hosted.inbox_count("bob@example.com") == 1
    accepted = hosted.incoming_log("--status", "accepted")
    assert {e["recipient"] for e in accepted} == {"ann@example.com", "bob@example.com"}
    assert accepted[0]["subject"] == "headers"


def test_swaks_starttls_auth_and_submission(hosted):
    out = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{hosted.submission_port}", "--tls", "--auth", "LOGIN",
         "--auth-user", "ann@example.com", "--auth-password", "ann-password",
         "--from", "ann@example.com", "--to", "friend@elsewhere.net,bob@example.com"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "250 AUTH PLAIN LOGIN" in out.stdout
    import json
    outgoing = json.loads(hosted.cli("logs", "outgoing", "--user", "ann@example.com", "--json").stdout)
    assert outgoing["sent_last_24h"] == 1
    statuses = {r["recipient"]: r["status"] for r in outgoing["messages"][0]["recipients"]}
    assert statuses == {"friend@elsewhere.net": "queued", "bob@example.com": "delivered"}


def test_auth_only_over_tls(hosted):
    c = Raw(hosted.submission_port)
    c.cmd("EHLO client.test")
    assert not any("AUTH" in l for l in c.last_lines), c.last_lines
    assert "250-STARTTLS" in c.last_lines or "250 STARTTLS" in c.last_lines
    r = c.login("ann@example.com", "ann-password")
    assert r.startswith("538"), r
    c.starttls()
    c.cmd("EHLO client.test")
    assert any("AUTH PLAIN LOGIN" in l for l in c.last_lines)
    assert c.login("ann@example.com", "wrong-password").startswith("535")
    assert c.login("ann@example.com", "ann-password").startswith("235")


def test_brute_force_is_slowed_then_refused(make_server):
    s = make_server(settings="[auth]\nmax_failures = 3\nlockout = 60\n")
    s.add_domain("example.com")
    s.add_user("ann@example.com", "ann-password")
    s.start()
    c = Raw(s.submissions_port, implicit_tls=True)
    c.cmd("EHLO x")
    replies = [c.login("ann@example.com", f"guess-{i}") for i in range(3)]
    assert all(r.startswith("535") for r in replies), replies
    # Now even the right password is refused for a while, from this address.
    c = Raw(s.submissions_port, implicit_tls=True)
    c.cmd("EHLO x")
    assert c.login("ann@example.com", "ann-password").startswith("421")
    assert any("authentication failed" in l for l in s.log)


def test_pipelining(hosted):
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    assert "250-PIPELINING" in c.last_lines
    c.send(b"MAIL FROM:<someone@remote.org>\r\nRCPT TO:<ann@example.com>\r\nRCPT TO:<nobody@example.com>\r\n"
           b"RCPT TO:<bob@example.com>\r\nDATA\r\n")
    replies = [c.reply() for _ in range(5)]
    assert [r[:3] for r in replies] == ["250", "250", "550", "250", "354"], replies
    c.send(message("pipelined") + b".\r\nQUIT\r\n")
    assert c.reply().startswith("250")
    assert c.reply().startswith("221")
    assert hosted.inbox_count("ann@example.com") == 1


def test_utf8_addresses(hosted):
    hosted.add_user("jörg@example.com", "joerg-password")
    with smtplib.SMTP("127.0.0.1", hosted.smtp_port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("smtputf8")
        smtp.sendmail("renée@remote.org", ["jörg@example.com"],
                      "Subject: grüße\r\n\r\nhallo\r\n".encode(), mail_options=["SMTPUTF8"])
    assert hosted.inbox_count("jörg@example.com") == 1


def test_local_delivery_no_goes_to_the_queue(hosted):
    hosted.cli("domain", "set", "example.com", "--local-delivery", "no")
    with smtplib.SMTP("127.0.0.1", hosted.smtp_port) as smtp:
        smtp.sendmail("someone@remote.org", ["not-yet-migrated@example.com"], message("migr"))
    import json
    queue = json.loads(hosted.cli("queue", "list", "--json").stdout)
    assert [q["recipient"] for q in queue] == ["not-yet-migrated@example.com"]
    assert hosted.inbox_count("ann@example.com") == 0


def test_smtp_on_postgresql(make_server):
    """The same server with its metadata in PostgreSQL (never skipped in CI)."""
    s = make_server(settings=pg_settings())
    s.add_domain("example.com")
    s.add_user("ann@example.com", "ann-password")
    s.start()
    with smtplib.SMTP("127.0.0.1", s.smtp_port) as smtp:
        refused = smtp.sendmail("someone@remote.org", ["ann@example.com", "nobody@example.com"], message("on pg"))
    assert list(refused) == ["nobody@example.com"]
    with smtplib.SMTP_SSL("127.0.0.1", s.submissions_port, context=tls_context()) as smtp:
        smtp.login("ann@example.com", "ann-password")
        smtp.sendmail("ann@example.com", ["friend@elsewhere.net"], message("out", sender="ann@example.com"))
    assert s.inbox_count("ann@example.com") == 1
    assert s.user("ann@example.com")["sent_last_24h"] == 1
    assert len(s.incoming_log("--domain", "example.com")) == 2


def test_mail_loop_is_refused(hosted):
    c = Raw(hosted.smtp_port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<someone@remote.org>")
    c.cmd("RCPT TO:<ann@example.com>")
    def hops(n):
        return "".join(f"Received: from hop{i}.example by hop{i+1}.example; Thu, 3 Dec 2026 10:00:00 +0000\r\n"
                       for i in range(n)).encode()
    r = c.data(hops(51) + message("loop"))
    assert r.startswith("554") and "too many hops" in r, r
    assert hosted.inbox_count("ann@example.com") == 0
    c.cmd("MAIL FROM:<someone@remote.org>")
    c.cmd("RCPT TO:<ann@example.com>")
    assert c.data(hops(5) + message("fine")).startswith("250"), "a few hops are normal"
    assert hosted.inbox_count("ann@example.com") == 1


def test_counting_per_recipient(make_server):
    s = make_server(settings="[limits]\ncount_per_recipient = true\n")
    s.add_domain("example.com")
    s.add_user("ann@example.com", "ann-password")
    s.start()
    with smtplib.SMTP_SSL("127.0.0.1", s.submissions_port, context=tls_context()) as smtp:
        smtp.login("ann@example.com", "ann-password")
        smtp.sendmail("ann@example.com", ["a@elsewhere.net", "b@elsewhere.net", "c@elsewhere.net"], message(sender="ann@example.com"))
    assert s.user("ann@example.com")["sent_last_24h"] == 3
