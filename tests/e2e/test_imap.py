"""IMAP with real clients: Python's imaplib, and a raw client where exact responses matter."""
import base64
import imaplib
import re
import socket
import threading
import time
import zlib

import pytest

from conftest import pg_settings, tls_context
from imap_client import RawImap

ANN = "ann@example.com"
PW = "a-good-password"

MULTIPART = (
    b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@remote.example>\r\n"
    b"To: Ann <ann@example.com>, team: bob@example.com, carl@example.com;\r\n"
    b"Cc: dora@example.com\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\n"
    b"Date: Tue, 01 Dec 2026 10:00:00 +0100\r\n"
    b"Message-ID: <multi-1@remote.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n"
    b"--outer\r\n"
    b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe, the quarterly numbers are attached.\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: application/pdf; name=\"q3.pdf\"\r\n"
    b"Content-Disposition: attachment; filename=\"q3.pdf\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    + base64.encodebytes(b"%PDF-1.4 binary\x00\x01\x02 payload").replace(b"\n", b"\r\n")
    + b"--outer--\r\n"
)


@pytest.fixture(params=["sqlite", "postgres"])
def server(make_server, request):
    """A running server with ann and bob, on each metadata backend."""
    s = make_server(settings=pg_settings() if request.param == "postgres" else "")
    s.add_domain("example.com")
    s.add_user(ANN)
    s.add_user("bob@example.com")
    s.start()
    return s


def raw(server, user=ANN):
    c = RawImap(server.imaps_port)
    if user:
        c.login(user)
    return c


def test_login_needs_tls_and_starttls_works(server):
    c = RawImap(server.imap_port, tls=False)
    assert b"STARTTLS" in c.greeting and b"LOGINDISABLED" in c.greeting
    _, tagged = c.cmd(f'LOGIN "{ANN}" "{PW}"')
    assert b"NO [PRIVACYREQUIRED]" in tagged
    _, tagged = c.cmd("AUTHENTICATE PLAIN " + base64.b64encode(f"\0{ANN}\0{PW}".encode()).decode())
    assert b"NO [PRIVACYREQUIRED]" in tagged
    _, tagged = c.cmd("STARTTLS")
    assert b"OK" in tagged
    c.starttls()
    caps = c.ok("CAPABILITY")[0]
    assert b"AUTH=PLAIN" in caps and b"STARTTLS" not in caps and b"LOGINDISABLED" not in caps
    c.login(ANN)
    c.ok("SELECT INBOX")


def test_starttls_drops_injected_plaintext(server):
    c = RawImap(server.imap_port, tls=False)
    # A command pipelined after STARTTLS in plaintext must never run inside TLS.
    c.send(b"a1 STARTTLS\r\na2 LOGIN x y\r\n")
    assert c.line().startswith(b"a1 OK")
    c.starttls()
    untagged, tagged = c.cmd("NOOP", tag="a3")
    assert tagged.startswith(b"a3 OK") and untagged == []


def test_wrong_password_and_lockout_shared_with_smtp(make_server):
    s = make_server(settings="[auth]\nmax_failures = 4\nlockout = 60")
    s.add_domain("example.com")
    s.add_user(ANN)
    s.start()
    c = raw(s, user=None)
    _, t = c.cmd(f'LOGIN "{ANN}" "wrong"')
    assert b"NO [AUTHENTICATIONFAILED]" in t
    import smtplib
    with smtplib.SMTP_SSL("127.0.0.1", s.submissions_port, context=tls_context()) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(ANN, "wrong-again")
    _, t = c.cmd(f'LOGIN "{ANN}" "wrong"')
    assert b"NO [AUTHENTICATIONFAILED]" in t
    # smtplib tried PLAIN and LOGIN: four failures across SMTP and IMAP lock the account,
    # so even the right password is refused now.
    _, t = c.cmd(f'LOGIN "{ANN}" "{PW}"')
    assert b"NO [UNAVAILABLE]" in t


def test_authenticate_plain_with_and_without_initial_response(server):
    token = base64.b64encode(f"\0{ANN}\0{PW}".encode()).decode()
    c = raw(server, user=None)
    _, t = c.cmd("AUTHENTICATE PLAIN " + token)
    assert b"OK [CAPABILITY" in t
    c = raw(server, user=None)
    c.send(b"x1 AUTHENTICATE PLAIN\r\n")
    assert c.line().startswith(b"+")
    c.send(token.encode() + b"\r\n")
    assert c.line().startswith(b"x1 OK")
    imaplib_client = server.imap()
    typ, _ = imaplib_client.authenticate("PLAIN", lambda _: f"\0{ANN}\0{PW}".encode())
    assert typ == "OK"


def test_commands_in_the_wrong_state(server):
    c = raw(server, user=None)
    _, t = c.cmd("SELECT INBOX")
    assert b"BAD" in t and b"before logging in" in t
    c.login(ANN)
    _, t = c.cmd("FETCH 1 FLAGS")
    assert b"BAD" in t and b"SELECT" in t
    _, t = c.cmd(f'LOGIN "{ANN}" "{PW}"')
    assert b"BAD" in t


def test_bad_input_gets_bad_not_a_crash(server):
    server.deliver(ANN)
    c = raw(server)
    c.ok("SELECT INBOX")
    for bad in ["FETCH 1 (FLAGS", "FETCH 1 FLAGS)", "SEARCH (OR SEEN", "FETCH 0 FLAGS", "STORE 1 +FLAGS",
                "UID FETCH x FLAGS", "BOGUS", "SEARCH BEFORE 99-Foo-2020", "LIST", "APPEND"]:
        _, t = c.cmd(bad)
        assert b" BAD " in t, (bad, t)
    _, t = c.cmd("FETCH 5 FLAGS")
    assert b"BAD" in t and b"do not exist" in t
    # A line over the limit.
    _, t = c.cmd("NOOP " + "x" * 70000)
    assert b"BAD" in t and b"too long" in t
    # A synchronising literal larger than APPENDLIMIT is refused before it is sent.
    c.send(b"big APPEND INBOX {60000000}\r\n")
    assert c.line().startswith(b"big NO [TOOBIG]")
    # A non-synchronising one cannot be skipped: refused and the connection closes.
    c.send(b"big2 APPEND INBOX {60000000+}\r\n")
    assert c.line().startswith(b"big2 NO [TOOBIG]")
    with pytest.raises(ConnectionError):
        c.line()
    # Deep nesting.
    c = raw(server)
    c.ok("SELECT INBOX")
    _, t = c.cmd("SEARCH " + "NOT " * 5000 + "SEEN")
    assert b"BAD" in t or b"OK" in t
    _, t = c.cmd("SEARCH " + "(" * 5000 + "SEEN" + ")" * 5000)
    assert b"BAD" in t
    c.ok("NOOP")
    assert server.alive()


def test_fetch_items_from_the_index(server):
    server.deliver(ANN, raw=MULTIPART)
    c = raw(server)
    c.ok("SELECT INBOX")
    u = b"".join(c.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE INTERNALDATE FLAGS UID)"))
    assert b'"=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?="' in u, u
    assert b'(("=?utf-8?q?J=C3=BCrgen?=" NIL "jurgen" "remote.example"))' in u
    # The group in To: is kept as a group.
    assert b'(NIL NIL "team" NIL)' in u and b"(NIL NIL NIL NIL)" in u
    assert b'"<multi-1@remote.example>"' in u
    assert b'"ALTERNATIVE"' in u.upper() and b'"MIXED"' in u.upper()
    assert b'"ATTACHMENT" ("FILENAME" "q3.pdf")' in u.upper().replace(b'"Q3.PDF"', b'"q3.pdf"')
    assert re.search(rb"RFC822\.SIZE \d+", u)
    # Sections: parts, headers, MIME headers, partial, BINARY of a base64 part.
    u = b"".join(c.ok("FETCH 1 (BODY.PEEK[1.1] BODY.PEEK[2.MIME] BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[]<0.10>)"))
    assert b"Sch=C3=B6ne" in u
    assert b"Content-Disposition: attachment" in u
    assert b"Subject: =?utf-8?q?Gr" in u and b"Message-ID" not in u
    assert b"BODY[]<0> {10}\r\nAuthentica" in u
    u = b"".join(c.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1.1])"))
    assert b"~{26}\r\n%PDF-1.4 binary\x00\x01\x02 payload" in u
    assert b"BINARY.SIZE[2] 26" in u
    assert "Schöne Grüße".encode() in u
    # PEEK left it unseen; BODY[] marks it \Seen and says so.
    assert b"\\Seen" not in b"".join(c.ok("FETCH 1 FLAGS"))
    u = b"".join(c.ok("FETCH 1 BODY[TEXT]"))
    assert b"FLAGS (\\Seen)" in u
    u = b"".join(c.ok("FETCH 1 (RFC822.HEADER RFC822.TEXT)"))
    assert b"RFC822.HEADER" in u and b"RFC822.TEXT" in u
    u = b"".join(c.ok("FETCH 1 FULL"))
    assert b"ENVELOPE" in u and b"BODY (" in u and b"INTERNALDATE" in u


def test_search_keys(server):
    server.deliver(ANN, subject="invoice 42", body="please pay\r\n")
    server.deliver(ANN, raw=MULTIPART)
    server.deliver(ANN, subject="lunch?", sender="bob@example.com", body="pizza or sushi\r\n")
    c = raw(server)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS (\\Flagged $Important)")

    def search(q):
        u = c.ok(q)
        line = [x for x in u if x.startswith(b"* SEARCH") or x.startswith(b"* ESEARCH")][0]
        return line.decode().strip()

    assert search("SEARCH SUBJECT invoice") == "* SEARCH 1"
    assert search("SEARCH FROM bob") == "* SEARCH 3"
    assert search("SEARCH BODY sushi") == "* SEARCH 3"
    assert search("SEARCH TEXT quarterly") == "* SEARCH 2"
    assert search("SEARCH CHARSET UTF-8 SUBJECT {8+}\r\nMünchen") == "* SEARCH 2"
    assert search("SEARCH CHARSET UTF-8 BODY \"schöne\"") == "* SEARCH 2"
    assert search("SEARCH HEADER Message-ID multi-1") == "* SEARCH 2"
    assert search("SEARCH FLAGGED") == "* SEARCH 1"
    assert search("SEARCH KEYWORD $Important") == "* SEARCH 1"
    assert search("SEARCH UNFLAGGED") == "* SEARCH 2 3"
    assert search("SEARCH OR SUBJECT lunch SUBJECT invoice") == "* SEARCH 1 3"
    assert search("SEARCH NOT SUBJECT lunch") == "* SEARCH 1 2"
    assert search("SEARCH 2:* NOT FLAGGED") == "* SEARCH 2 3"
    assert search("SEARCH SENTBEFORE 2-Dec-2026") == "* SEARCH 2"
    assert search("SEARCH SINCE 1-Jan-2020") == "* SEARCH 1 2 3"
    assert search("SEARCH BEFORE 1-Jan-2020") == "* SEARCH"
    assert search("SEARCH LARGER 600") == "* SEARCH 2"
    assert search("SEARCH YOUNGER 3600") == "* SEARCH 1 2 3"
    assert search("UID SEARCH UID 2:3 SUBJECT lunch") == "* SEARCH 3"
    assert search("SEARCH RETURN (MIN MAX COUNT ALL) UNFLAGGED").endswith("MIN 2 MAX 3 ALL 2:3 COUNT 2") or \
        search("SEARCH RETURN (MIN MAX COUNT ALL) UNFLAGGED") == '* ESEARCH (TAG "a9") MIN 2 MAX 3 ALL 2:3 COUNT 2'
    line = search("SEARCH RETURN (COUNT) ALL")
    assert line.startswith("* ESEARCH (TAG ") and line.endswith("COUNT 3")
    # SEARCHRES: save a result and use it as "$".
    untagged = c.ok("SEARCH RETURN (SAVE) FROM bob")
    assert not any(x.startswith(b"* ESEARCH") for x in untagged)
    u = b"".join(c.ok("FETCH $ (UID)"))
    assert b"* 3 FETCH (UID 3)" in u
    _, t = c.cmd("SEARCH CHARSET KOI8-R TEXT x")
    assert b"NO [BADCHARSET" in t


def test_store_copy_move_expunge_uidplus(server):
    for i in range(5):
        server.deliver(ANN, subject=f"m{i}")
    c = raw(server)
    c.ok("SELECT INBOX")
    u = c.ok("STORE 1:2 +FLAGS (\\Seen)")
    assert b"* 1 FETCH (FLAGS (\\Seen))\r\n" in u
    assert c.ok("STORE 1 -FLAGS.SILENT (\\Seen)") == []
    u = c.ok("UID STORE 3 FLAGS (\\Draft Work)")
    assert b"* 3 FETCH (FLAGS (\\Draft Work) UID 3)\r\n" in u
    _, t = c.cmd("COPY 1:2 Archive")
    assert b"NO [TRYCREATE]" in t
    c.ok("CREATE Archive")
    _, t = c.cmd("COPY 1:2 Archive")
    assert re.search(rb"OK \[COPYUID \d+ 1:2 1:2\]", t), t
    u, t = c.cmd("UID MOVE 4 Archive")
    assert re.search(rb"\* OK \[COPYUID \d+ 4 3\]", b"".join(u)), u
    assert b"* 4 EXPUNGE\r\n" in u
    u = c.ok("STATUS Archive (MESSAGES UIDNEXT)")
    assert b"MESSAGES 3 UIDNEXT 4" in u[0]
    # UID EXPUNGE removes only the named \Deleted messages.
    c.ok("STORE 1:* +FLAGS (\\Deleted)")
    u = c.ok("UID EXPUNGE 1")
    assert u == [b"* 1 EXPUNGE\r\n"]
    u = c.ok("EXPUNGE")
    assert u == [b"* 1 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"]
    assert b"* SEARCH\r\n" in c.ok("SEARCH ALL")
    # UIDs never come back.
    server.deliver(ANN, subject="later")
    u = b"".join(c.ok("NOOP"))
    assert b"* 1 EXISTS" in u
    assert b"UID 6" in b"".join(c.ok("FETCH 1 UID"))
    # EXAMINE is read-only.
    c.ok("EXAMINE INBOX")
    _, t = c.cmd("STORE 1 +FLAGS (\\Seen)")
    assert b"NO [READ-ONLY]" in t
    c.ok("FETCH 1 BODY[]")
    c.ok("SELECT INBOX")
    assert b"\\Seen" not in b"".join(c.ok("FETCH 1 FLAGS")), "EXAMINE must not set \\Seen"


def test_mailbox_hierarchy_and_list_extensions(server):
    c = raw(server)
    c.ok("CREATE Projects/2026/Q4")
    c.ok('CREATE "Entw&APw-rfe"')
    _, t = c.cmd("CREATE INBOX")
    assert b"NO" in t
    _, t = c.cmd("CREATE Projects")
    assert b"NO [ALREADYEXISTS]" in t
    u = b"".join(c.ok('LIST "" "*"'))
    assert b'(\\HasChildren) "/" "Projects"' in u
    assert b'"Projects/2026/Q4"' in u and b'"Entw&APw-rfe"' in u
    assert b'(\\Sent \\HasNoChildren) "/" "Sent Items"' in u
    u = b"".join(c.ok('LIST "Projects/" "%"'))
    assert b'"Projects/2026"' in u and b"Q4" not in u
    c.ok("RENAME Projects Work")
    u = b"".join(c.ok('LIST "" "*"'))
    assert b'"Work/2026/Q4"' in u and b"Projects" not in u
    c.ok("UNSUBSCRIBE Junk")
    u = b"".join(c.ok('LSUB "" "*"'))
    assert b"Junk" not in u and b'"INBOX"' in u
    u = b"".join(c.ok('LIST (SUBSCRIBED) "" "*"'))
    assert b"\\Subscribed" in u and b"Junk" not in u
    u = b"".join(c.ok('LIST (SPECIAL-USE) "" "*"'))
    assert b"\\Trash" in u and b"INBOX" not in u
    server.deliver(ANN)
    u = b"".join(c.ok('LIST "" ("INBOX" "Trash") RETURN (CHILDREN STATUS (MESSAGES UNSEEN SIZE))'))
    assert re.search(rb'\* STATUS "INBOX" \(MESSAGES 1 UNSEEN 1 SIZE \d+\)', u), u
    assert b'* STATUS "Trash" (MESSAGES 0 UNSEEN 0 SIZE 0)' in u
    c.ok("CREATE Later (USE (\\Archive))")
    assert b"\\Archive" in b"".join(c.ok('LIST "" Later'))
    c.ok("DELETE Work/2026/Q4")
    _, t = c.cmd("DELETE Nope")
    assert b"NO [NONEXISTENT]" in t
    _, t = c.cmd("DELETE INBOX")
    assert b"NO" in t
    assert c.ok("NAMESPACE") == [b'* NAMESPACE (("" "/")) NIL NIL\r\n']
    u = c.ok('LIST "" ""')
    assert u == [b'* LIST (\\Noselect) "/" ""\r\n']
    # IMAP4rev2 / UTF8=ACCEPT clients see UTF-8 names.
    c.ok("ENABLE IMAP4rev2")
    assert "Entwürfe".encode() in b"".join(c.ok('LIST "" "*"'))


def test_status_quota_id_enable(make_server):
    s = make_server()
    s.add_domain("example.com")
    s.add_user(ANN, PW, "--quota", "10000")
    s.start()
    c = raw(s)
    u = c.ok("ID (\"name\" \"pytest\")")
    assert u[0].startswith(b'* ID ("name" "Hermod"')
    assert c.ok("ENABLE CONDSTORE QRESYNC NOTHING") == [b"* ENABLED CONDSTORE QRESYNC\r\n"]
    s.deliver(ANN, body="x" * 3000 + "\r\n")
    u = b"".join(c.ok("GETQUOTAROOT INBOX"))
    assert b'* QUOTAROOT "INBOX" ""' in u and b'* QUOTA "" (STORAGE 4 9)' in u
    u = c.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)")
    assert re.match(rb'\* STATUS "INBOX" \(MESSAGES 1 RECENT 0 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 DELETED 0 SIZE \d+ '
                    rb'HIGHESTMODSEQ \d+ APPENDLIMIT 52428800\)', u[0]), u
    # Over quota: APPEND and COPY are refused with OVERQUOTA.
    big = b"Subject: big\r\n\r\n" + b"y" * 8000 + b"\r\n"
    c.send(b"q1 APPEND INBOX {%d}\r\n" % len(big))
    assert c.line().startswith(b"+")
    c.send(big + b"\r\n")
    assert b"NO [OVERQUOTA]" in c.until("q1")[1]
    _, t = c.cmd("SETQUOTA \"\" (STORAGE 1)")
    assert b"NO" in t


def test_append_literals_and_multiappend(server):
    c = raw(server)
    msg = b"From: a@b.example\r\nSubject: lit\r\n\r\nbody\r\n"
    # Synchronising literal with flags and a date.
    c.send(b'p1 APPEND INBOX (\\Seen $Label) "01-Feb-2026 10:00:00 +0100" {%d}\r\n' % len(msg))
    assert c.line().startswith(b"+ ")
    c.send(msg + b"\r\n")
    t = c.until("p1")[1]
    assert re.search(rb"OK \[APPENDUID \d+ 1\]", t), t
    # LITERAL+: no continuation.
    c.send(b"p2 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert b"[APPENDUID" in c.until("p2")[1]
    # MULTIAPPEND.
    c.send(b"p3 APPEND Drafts (\\Draft) {%d+}\r\n" % len(msg) + msg + b" {%d+}\r\n" % len(msg) + msg + b"\r\n")
    t = c.until("p3")[1]
    assert re.search(rb"APPENDUID \d+ 1:2\]", t), t
    _, t = c.cmd("APPEND Nowhere {3+}\r\nabc")
    assert b"NO [TRYCREATE]" in t
    c.ok("SELECT INBOX")
    u = b"".join(c.ok("FETCH 1:2 (FLAGS INTERNALDATE ENVELOPE)"))
    assert b"FLAGS (\\Seen $Label)" in u
    assert b'INTERNALDATE " 1-Feb-2026 09:00:00 +0000"' in u
    assert b'"lit"' in u
    u = b"".join(c.ok("FETCH 1 BODY.PEEK[]"))
    assert msg in u


def test_two_sessions_see_each_others_changes(server):
    for i in range(3):
        server.deliver(ANN, subject=f"m{i}")
    a, b = raw(server), raw(server)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    a.ok("STORE 2 +FLAGS (\\Flagged)")
    u = b.ok("NOOP")
    assert b"* 2 FETCH (FLAGS (\\Flagged))\r\n" in u, u
    a.ok("STORE 1 +FLAGS (\\Deleted)")
    a.ok("EXPUNGE")
    msg = b"Subject: from a\r\n\r\nhi\r\n"
    a.send(b"x APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    a.until("x")
    u = b.ok("NOOP")
    assert u[0] == b"* 1 EXPUNGE\r\n", u
    assert b"* 3 EXISTS\r\n" in u
    # A non-UID FETCH never carries EXPUNGE (RFC 9051 7.5.1); the next NOOP does.
    a.ok("STORE 1 +FLAGS (\\Deleted)")
    a.ok("EXPUNGE")
    u = b.ok("FETCH 1:* UID")
    assert not any(b"EXPUNGE" in x for x in u)
    assert b"* 1 EXPUNGE\r\n" in b.ok("NOOP")


def test_idle_wakes_on_smtp_delivery(server):
    c = raw(server)
    c.ok("SELECT INBOX")
    c.send(b"i1 IDLE\r\n")
    assert c.line().startswith(b"+")
    start = time.monotonic()
    threading.Thread(target=server.deliver, args=(ANN,)).start()
    line = c.line()
    took = time.monotonic() - start
    assert line == b"* 1 EXISTS\r\n"
    assert took < 2, f"IDLE woke after {took:.2f}s"
    c.send(b"DONE\r\n")
    assert c.line().startswith(b"i1 OK")
    # And with imaplib's own IDLE-less polling the message is there.
    m = server.imap(ANN)
    m.select("INBOX")
    assert m.search(None, "ALL")[1] == [b"1"]


def test_idle_sees_another_sessions_flag_change(server):
    server.deliver(ANN)
    a, b = raw(server), raw(server)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    a.send(b"i1 IDLE\r\n")
    assert a.line().startswith(b"+")
    b.ok("STORE 1 +FLAGS (\\Answered)")
    assert a.line() == b"* 1 FETCH (FLAGS (\\Answered))\r\n"
    a.send(b"DONE\r\n")
    assert a.line().startswith(b"i1 OK")


def test_condstore_and_qresync(server):
    for i in range(3):
        server.deliver(ANN, subject=f"m{i}")
    c = raw(server)
    c.ok("ENABLE QRESYNC")
    u = b"".join(c.ok("SELECT INBOX"))
    m = re.search(rb"\[UIDVALIDITY (\d+)\]", u)
    uidvalidity = int(m.group(1))
    modseq = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]", u).group(1))
    c.ok("STORE 2 +FLAGS (\\Seen)")
    u = b"".join(c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})"))
    assert b"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (" in u and b"* 1 FETCH" not in u
    # UNCHANGEDSINCE: a message changed after the given MODSEQ is not touched.
    u, t = c.cmd(f"STORE 1:2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Flagged)")
    assert b"[MODIFIED 2]" in t, t
    c.ok("STORE 3 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    c.ok("UNSELECT")
    # Resynchronise from the first state: VANISHED (EARLIER) and changed flags.
    u = b"".join(c.ok(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq} 1:3))"))
    assert b"* VANISHED (EARLIER) 3\r\n" in u, u
    assert b"* 2 FETCH (FLAGS (\\Seen) UID 2 MODSEQ (" in u
    u = b"".join(c.ok(f"UID FETCH 1:* FLAGS (CHANGEDSINCE {modseq} VANISHED)"))
    assert b"* VANISHED (EARLIER) 3" in u
    u = b"".join(c.ok(f"SEARCH MODSEQ {modseq + 1}"))
    assert re.search(rb"\* SEARCH 1 2 \(MODSEQ \d+\)", u), u


def test_compress_deflate(server):
    server.deliver(ANN, subject="compressed")
    c = raw(server)
    _, t = c.cmd("COMPRESS DEFLATE")
    assert b"OK" in t
    comp = zlib.compressobj(wbits=-15)
    decomp = zlib.decompressobj(wbits=-15)
    c.sock.sendall(comp.compress(b"z1 SELECT INBOX\r\nz2 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n")
                   + comp.flush(zlib.Z_SYNC_FLUSH))
    data = b""
    deadline = time.time() + 10
    while b"z2 OK" not in data and time.time() < deadline:
        data += decomp.decompress(c.sock.recv(65536))
    assert b"Subject: compressed" in data and b"z2 OK" in data, data


def test_utf8_and_imaplib_session(server):
    server.deliver(ANN, raw=MULTIPART)
    m = server.imap(ANN)
    assert m.select("INBOX")[0] == "OK"
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (FROM)])")
    assert typ == "OK" and b"jurgen@remote.example" in data[0][1]
    assert m.create("Reports/2026")[0] == "OK"
    assert m.copy("1", "Reports/2026")[0] == "OK"
    assert m.select("Reports/2026")[1] == [b"1"]
    assert m.close()[0] == "OK"
    assert m.logout()[0] == "BYE"


def test_idle_client_is_logged_out_after_the_timeout(make_server):
    s = make_server(settings="[imap]\ntimeout = 2\nlogin_timeout = 1")
    s.add_domain("example.com")
    s.add_user(ANN)
    s.start()
    c = raw(s, user=None)
    assert c.line().startswith(b"* BYE")
    c = raw(s)
    time.sleep(2.5)
    assert c.line().startswith(b"* BYE")


def test_check_close_unselect_and_getquota(make_server):
    s = make_server()
    s.add_domain("example.com")
    s.add_user(ANN, PW, "--quota", "2048000")
    s.start()
    for i in range(3):
        s.deliver(ANN, subject=f"m{i}")
    c = raw(s)
    u = b"".join(c.ok('GETQUOTA ""'))
    assert b'* QUOTA "" (STORAGE 1 2000)' in u, u
    c.ok("SELECT INBOX")
    c.ok("CHECK")
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    # UNSELECT leaves \Deleted messages alone; CLOSE expunges them silently.
    c.ok("UNSELECT")
    _, t = c.cmd("FETCH 1 FLAGS")
    assert b"BAD" in t
    assert b"MESSAGES 3" in c.ok("STATUS INBOX (MESSAGES)")[0]
    c.ok("SELECT INBOX")
    assert c.ok("CLOSE") == []
    assert b"MESSAGES 2" in c.ok("STATUS INBOX (MESSAGES)")[0]
    _, t = c.cmd("GETQUOTA nope")
    assert b"NO" in t


def test_very_large_message_is_indexed_on_first_fetch_and_kept(server):
    # Over 16 MiB: accepted without holding it for analysis; the first FETCH analyses it once.
    big = (b"From: big@remote.example\r\nTo: ann@example.com\r\nSubject: huge\r\n"
           b"Content-Type: text/plain\r\n\r\n" + (b"x" * 998 + b"\r\n") * 17_000)
    server.deliver(ANN, raw=big)
    c = raw(server)
    c.ok("SELECT INBOX")
    u = b"".join(c.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE RFC822.SIZE)"))
    assert b'"huge"' in u and b'"TEXT" "PLAIN"' in u.upper()
    if server.config.read_text().find("postgres") < 0:
        import sqlite3
        db = sqlite3.connect(server.data / "hermod.db")
        envelope = db.execute("SELECT envelope FROM messages").fetchone()[0]
        db.close()
        assert '"huge"' in envelope, "the analysis is kept in the index"


def test_a_burst_of_logins_does_not_bloat_memory(server):
    """argon2id needs ~19 MiB per check: a burst of concurrent logins must queue for a few
    hashing threads instead of leaving that much resident per thread."""
    import concurrent.futures
    before = server.rss_peak_kb()

    def login(_):
        c = raw(server)
        c.ok("NOOP")
        c.close()
    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(login, range(80)))
    grown = server.rss_peak_kb() - before
    assert grown < 250 * 1024, f"peak memory grew by {grown // 1024} MiB for 80 logins"
