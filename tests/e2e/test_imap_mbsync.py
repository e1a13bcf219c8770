"""The FAQ's "How to backup my email account": mbsync (Debian's isync) pulls a whole account
to a local Maildir, a second run transfers nothing, and pushing the backup into an empty
account restores the same messages with the same flags."""
import base64
import hashlib
import imaplib
import os
import random
import re
import shutil
import subprocess
from email.utils import formatdate
from pathlib import Path

import pytest

from conftest import tls_context

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "eml"
FOLDERS = ["INBOX", "Archive/2026", "Entwürfe"]
PW = "a-good-password"


def varied_messages(n):
    """n messages: plain, UTF-8 headers, attachments, nested multiparts, attached messages,
    and the real-world corpus."""
    rng = random.Random(7)
    corpus = sorted(p for p in CORPUS.rglob("*.eml") if "malformed" not in p.parts) if CORPUS.exists() else []
    out = []
    for i in range(n):
        kind = i % 6
        date = formatdate(1767225600 + i * 3600)
        head = (f"From: Sender {i} <s{i}@remote.example>\r\nTo: ann@example.com\r\nDate: {date}\r\n"
                f"Message-ID: <m{i}@remote.example>\r\nMIME-Version: 1.0\r\n")
        if kind == 0:
            msg = head + f"Subject: plain {i}\r\n\r\nLine one of {i}.\r\nLine two.\r\n"
        elif kind == 1:
            msg = (head + f"Subject: =?utf-8?b?{base64.b64encode(f'Grüße {i} — 日本'.encode()).decode()}?=\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                   f"Schöne Grüße Nummer {i}\r\n")
        elif kind == 2:
            blob = base64.encodebytes(rng.randbytes(rng.randint(100, 40000))).decode().replace("\n", "\r\n")
            msg = (head + f"Subject: attachment {i}\r\nContent-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n"
                   f"--b{i}\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
                   f"--b{i}\r\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\r\n"
                   f"Content-Disposition: attachment; filename=\"f{i}.bin\"\r\n"
                   f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--b{i}--\r\n")
        elif kind == 3:
            msg = (head + f"Subject: nested {i}\r\nContent-Type: multipart/mixed; boundary=\"o{i}\"\r\n\r\n"
                   f"--o{i}\r\nContent-Type: multipart/alternative; boundary=\"a{i}\"\r\n\r\n"
                   f"--a{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ntext {i}\r\n"
                   f"--a{i}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>html {i}</b>\r\n"
                   f"--a{i}--\r\n--o{i}\r\nContent-Type: message/rfc822\r\n\r\n"
                   f"From: inner@remote.example\r\nSubject: inner {i}\r\n\r\ninner body\r\n--o{i}--\r\n")
        elif kind == 4 and corpus:
            data = corpus[i % len(corpus)].read_bytes()
            # Maildir keeps LF line ends; keep the test about content, not line-end style.
            out.append(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            continue
        else:
            msg = head + f"Subject: short {i}\r\n\r\n" + ("x" * rng.randint(0, 3000)) + "\r\n"
        out.append(msg.encode())
    return out


def flags_for(i):
    flags = []
    if i % 3 == 0:
        flags.append("\\Seen")
    if i % 7 == 0:
        flags.append("\\Flagged")
    if i % 11 == 0:
        flags.append("\\Answered")
    return flags


def fingerprint(data):
    """The content, whatever the line ends; mbsync's own X-TUID tracking header removed."""
    data = re.sub(rb"(?m)^X-TUID: .*\r?\n", b"", data, count=1)
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


# imaplib has no modified UTF-7 and mangles APPEND once UTF8=ACCEPT is on: name folders
# the IMAP4rev1 way.
WIRE = {"INBOX": "INBOX", "Archive/2026": "Archive/2026", "Entwürfe": "Entw&APw-rfe"}


def imap_contents(server, user):
    """{folder: sorted [(fingerprint, flags)]} as the server has it."""
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=tls_context(), timeout=60)
    c.login(user, PW)
    out = {}
    for folder in FOLDERS:
        typ, _ = c.select(f'"{WIRE[folder]}"', readonly=True)
        assert typ == "OK", folder
        typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
        items = []
        for part in data:
            if isinstance(part, tuple):
                flags = sorted(f.decode() for f in re.findall(rb"\\\w+", part[0].split(b"BODY[]")[0])
                               if f != b"\\Recent")
                items.append((fingerprint(part[1]), tuple(flags)))
        out[folder] = sorted(items)
    c.logout()
    return out


def mbsync(config, *args):
    r = subprocess.run(["mbsync", "-c", str(config), *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync is installed by .ci/run")
def test_mbsync_backup_and_restore(make_server, tmp_path):
    s = make_server()
    s.add_domain("example.com")
    s.add_user("ann@example.com")
    s.add_user("restore@example.com")
    s.start()
    messages = varied_messages(1000)
    c = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=tls_context(), timeout=60)
    c.login("ann@example.com", PW)
    c.create('"Archive/2026"')
    c.create('"Entw&APw-rfe"')
    for i, m in enumerate(messages):
        folder = FOLDERS[0] if i % 5 else FOLDERS[1 + (i // 5) % 2]
        flags = "(" + " ".join(flags_for(i)) + ")"
        typ, data = c.append(f'"{WIRE[folder]}"', flags, None, m)
        assert typ == "OK", data
    c.logout()
    before = imap_contents(s, "ann@example.com")
    assert sum(len(v) for v in before.values()) == 1000

    cert = s.data / "tls" / "self-signed.crt"
    backup = tmp_path / "backup"
    backup.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""
IMAPAccount src
Host 127.0.0.1
Port {s.imaps_port}
User ann@example.com
Pass {PW}
SSLType IMAPS
CertificateFile {cert}

IMAPStore src-remote
Account src

IMAPAccount dst
Host 127.0.0.1
Port {s.imaps_port}
User restore@example.com
Pass {PW}
SSLType IMAPS
CertificateFile {cert}

IMAPStore dst-remote
Account dst

MaildirStore local
Path {backup}/
Inbox {backup}/INBOX
SubFolders Verbatim

Channel pull
Far :src-remote:
Near :local:
Patterns INBOX Archive/2026 Entw*
Create Near
Sync Pull
SyncState *
CopyArrivalDate yes

Channel push
Far :dst-remote:
Near :local:
Patterns INBOX Archive/2026 Entw*
Create Far
Sync Push
SyncState {tmp_path}/push-state/
CopyArrivalDate yes
""")
    (tmp_path / "push-state").mkdir()
    mbsync(config, "pull")
    files = sorted(p for p in backup.rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))
    assert len(files) == 1000
    # Every message arrived whole, with its flags in the Maildir name.
    wanted = sorted(fingerprint(m) for m in messages)
    assert sorted(fingerprint(f.read_bytes()) for f in files) == wanted
    seen = sum(1 for f in files if "S" in f.name.rsplit(":2,", 1)[-1])
    assert seen == sum(1 for i in range(1000) if "\\Seen" in flags_for(i))

    # A second run transfers nothing.
    state = {f: f.stat().st_mtime_ns for f in files}
    out = mbsync(config, "-V", "pull")
    after = sorted(p for p in backup.rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))
    assert {f: f.stat().st_mtime_ns for f in after} == state
    # mbsync found every message already in step on both sides.
    far = [int(n) for n in re.findall(r"far side: (\d+) messages", out)]
    near = [int(n) for n in re.findall(r"near side: (\d+) messages", out)]
    assert sum(far) == sum(near) == 1000, out

    # Restore into an empty account: same messages, same flags, same folders.
    mbsync(config, "push")
    restored = imap_contents(s, "restore@example.com")
    assert restored == before
