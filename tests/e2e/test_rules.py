"""Delivery rules end to end: rules made with the CLI, mail through SMTP, results read with
IMAP and the CLI."""
import email
import json
import re
import subprocess
import time

import pytest

from conftest import pg_settings

ANN = "ann@example.com"
BOB = "bob@example.com"
PW = "a-good-password"


@pytest.fixture(params=["sqlite", "postgres"])
def server(make_server, request):
    s = make_server(settings=pg_settings() if request.param == "postgres" else "")
    s.add_domain("example.com")
    s.add_user(ANN)
    s.add_user(BOB)
    s.start()
    return s


def rule(server, *args, check=True):
    return server.cli("rule", *args, check=check)


def mailbox(server, user, folder="INBOX"):
    """[(flags, message)] of a folder, read over IMAP."""
    c = server.imap(user)
    typ, _ = c.select(f'"{folder}"', readonly=True)
    assert typ == "OK", f"{user} has no folder {folder}"
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
    out = []
    for part in data:
        if isinstance(part, tuple):
            flags = re.search(rb"FLAGS \(([^)]*)\)", part[0]).group(1).decode()
            out.append((flags, email.message_from_bytes(part[1])))
    c.logout()
    return out


def queue(server):
    return json.loads(server.cli("queue", "list", "--json").stdout)


def test_faq_forward_and_delete(server):
    """The FAQ's walkthrough: To contains my address → Deliver to E-mail + Delete."""
    r = rule(server, "add", ANN, "forward and delete", "--if", f"to contains {ANN}",
             "--forward", BOB, "--delete", check=False)
    assert r.returncode == 1 and "underscores or hyphens" in r.stderr
    out = rule(server, "add", ANN, "forward_and_delete", "--if", f"to contains {ANN}",
               "--forward", BOB, "--delete").stdout
    assert "disabled" in out
    # New rules start disabled: mail still arrives in ann's inbox.
    server.deliver(ANN, subject="before enabling")
    assert [m["Subject"] for _, m in mailbox(server, ANN)] == ["before enabling"]
    rule(server, "enable", ANN, "forward_and_delete")
    server.deliver(ANN, subject="after enabling")
    assert [m["Subject"] for _, m in mailbox(server, ANN)] == ["before enabling"]
    bob = mailbox(server, BOB)
    assert [m["Subject"] for _, m in bob] == ["after enabling"]
    listed = json.loads(rule(server, "list", ANN, "--json").stdout)
    assert listed[0]["enabled"] is True and listed[0]["name"] == "forward_and_delete"


def test_forward_to_a_remote_address_uses_srs_and_counts(server):
    rule(server, "add", ANN, "offsite", "--if", "subject contains report", "--forward-copy", "ann@elsewhere.example")
    rule(server, "enable", ANN, "offsite")
    server.deliver(ANN, subject="weekly report", sender="boss@partner.example")
    server.deliver(ANN, subject="lunch", sender="boss@partner.example")
    # A copy stays (forward-copy) and one message is queued for the remote address.
    assert len(mailbox(server, ANN)) == 2
    q = queue(server)
    assert len(q) == 1
    assert q[0]["recipient"] == "ann@elsewhere.example"
    assert re.match(r"SRS0=[^=]+=[^=]+=partner\.example=boss@example\.com$", q[0]["sender"]), q[0]
    # The forward counts toward ann's daily limit and shows in Track Deliveries.
    assert server.user(ANN)["sent_last_24h"] == 1
    out = json.loads(server.cli("logs", "outgoing", "--user", ANN, "--json").stdout)
    assert any(r["recipient"] == "ann@elsewhere.example" for o in out["messages"] for r in o["recipients"]), out


def test_newsletter_filed_by_list_id_and_vip_flagged(server):
    rule(server, "add", ANN, "newsletters", "--if", "list-id contains news.example", "--folder", "Newsletters",
         "--mark-read")
    rule(server, "add", ANN, "vip", "--if", "from contains vip@client.example", "--flag")
    rule(server, "enable", ANN, "newsletters")
    rule(server, "enable", ANN, "vip")
    news = (b"From: News <letter@news.example>\r\nTo: ann@example.com\r\nSubject: Issue 12\r\n"
            b"List-Id: Weekly <weekly.news.example>\r\n\r\nThis week...\r\n")
    server.deliver(ANN, raw=news, sender="bounce@news.example")
    server.deliver(ANN, subject="contract", sender="vip@client.example",
                   raw=b"From: VIP <vip@client.example>\r\nTo: ann@example.com\r\nSubject: contract\r\n\r\nsign\r\n")
    server.deliver(ANN, subject="other")
    inbox = mailbox(server, ANN)
    assert [(f, m["Subject"]) for f, m in inbox] == [("\\Flagged", "contract"), ("", "other")]
    filed = mailbox(server, ANN, "Newsletters")
    assert [(f, m["Subject"]) for f, m in filed] == [("\\Seen", "Issue 12")]


def test_out_of_office_once_per_sender_and_never_to_lists(server):
    rule(server, "add", ANN, "away", "--if", f"to-or-cc contains {ANN}", "--auto-reply-subject", "Out of office",
         "--auto-reply-body", "Back on Monday.", "--auto-reply-days", "7")
    rule(server, "enable", ANN, "away")
    # bob (local) writes twice: one reply.
    server.deliver(ANN, subject="question 1", sender=BOB,
                   raw=b"From: bob@example.com\r\nTo: ann@example.com\r\nSubject: question 1\r\n"
                       b"Message-ID: <q1@example.com>\r\n\r\n?\r\n")
    server.deliver(ANN, subject="question 2", sender=BOB,
                   raw=b"From: bob@example.com\r\nTo: ann@example.com\r\nSubject: question 2\r\n\r\n?\r\n")
    replies = mailbox(server, BOB)
    assert len(replies) == 1
    reply = replies[0][1]
    assert reply["Subject"] == "Out of office"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<q1@example.com>"
    assert "Back on Monday." in reply.get_payload(decode=True).decode()
    # A mailing list post and an auto-submitted message get none.
    server.deliver(ANN, sender="list-bounces@lists.example",
                   raw=b"From: someone@lists.example\r\nTo: ann@example.com\r\nSubject: [list] hi\r\n"
                       b"List-Id: <talk.lists.example>\r\n\r\nhi all\r\n")
    server.deliver(ANN, sender="robot@remote.example",
                   raw=b"From: robot@remote.example\r\nTo: ann@example.com\r\nSubject: report\r\n"
                       b"Auto-Submitted: auto-generated\r\n\r\nnumbers\r\n")
    # A remote sender gets one through the queue, with a null envelope sender.
    server.deliver(ANN, sender="carol@remote.example",
                   raw=b"From: carol@remote.example\r\nTo: ann@example.com\r\nSubject: hello\r\n\r\nhi\r\n")
    q = queue(server)
    assert [(e["recipient"], e["sender"]) for e in q] == [("carol@remote.example", "")]
    assert len(mailbox(server, ANN)) == 5, "auto-replies never stop the original from arriving"


def test_forward_loop_between_two_users_is_stopped(server):
    rule(server, "add", ANN, "to_bob", "--if", "subject contains loop", "--forward", BOB)
    rule(server, "add", BOB, "to_ann", "--if", "subject contains loop", "--forward", ANN)
    rule(server, "enable", ANN, "to_bob")
    rule(server, "enable", BOB, "to_ann")
    server.deliver(ANN, subject="loop test")
    # The message went ann → bob → (ann again: a loop) and stayed with bob, once.
    ann, bob = mailbox(server, ANN), mailbox(server, BOB)
    assert len(ann) + len(bob) == 1
    assert [m["Subject"] for _, m in bob] == ["loop test"]
    assert queue(server) == []
    assert server.alive()


def test_remote_forward_loop_is_stopped_by_delivered_to(server):
    rule(server, "add", ANN, "away", "--if", "subject contains fwd", "--forward", "ann@elsewhere.example")
    rule(server, "enable", ANN, "away")
    # The forwarded copy came back (the other side forwards to us again).
    looped = (b"Delivered-To: ann@example.com\r\nFrom: x@remote.example\r\nTo: ann@example.com\r\n"
              b"Subject: fwd me\r\n\r\nagain\r\n")
    server.deliver(ANN, raw=looped)
    assert queue(server) == [], "never forwarded twice through the same mailbox"
    assert [m["Subject"] for _, m in mailbox(server, ANN)] == ["fwd me"]


def test_domain_rules_run_before_user_rules(server):
    rule(server, "add", "example.com", "quarantine", "--if", "subject contains [SPAM]", "--folder", "Junk", "--stop")
    rule(server, "add", ANN, "flag_all", "--if", "subject contains a", "--flag")
    rule(server, "enable", "example.com", "quarantine")
    rule(server, "enable", ANN, "flag_all")
    server.deliver(ANN, subject="[SPAM] a deal")
    server.deliver(ANN, subject="a note")
    assert [(f, m["Subject"]) for f, m in mailbox(server, ANN, "Junk")] == [("", "[SPAM] a deal")]
    assert [(f, m["Subject"]) for f, m in mailbox(server, ANN)] == [("\\Flagged", "a note")]


def test_rule_cli_move_export_import_and_sieve(server):
    rule(server, "add", ANN, "first", "--if", "subject contains a", "--flag")
    rule(server, "add", ANN, "second", "--if", "size greater-than 10k", "--folder", "Big")
    rule(server, "move", ANN, "second", "1")
    names = [r["name"] for r in json.loads(rule(server, "list", ANN, "--json").stdout)]
    assert names == ["second", "first"]
    rule(server, "enable", ANN, "second")
    exported = rule(server, "export", ANN).stdout
    rule(server, "remove", ANN, "first")
    r = subprocess.run([*server_cli(server), "rule", "import", BOB, "-"], input=exported, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [x["name"] for x in json.loads(rule(server, "list", BOB, "--json").stdout)] == ["second", "first"]
    sieve = rule(server, "export", BOB, "--sieve").stdout
    assert 'require ["fileinto"]' in sieve and '\nif size :over 10K {\n    fileinto "Big";' in sieve, sieve
    # The disabled rule is kept, commented out.
    assert '# rule: first (disabled)' in sieve
    r = rule(server, "add", ANN, "bad", "--if", "subject matches (unclosed", "--flag", check=False)
    assert r.returncode == 1 and "not a valid regular expression" in r.stderr
    r = rule(server, "show", ANN, "nope", check=False)
    assert r.returncode == 1 and "hermod rule list" in r.stderr


def server_cli(server):
    from conftest import HERMOD
    return [HERMOD, "--config", str(server.config)]
