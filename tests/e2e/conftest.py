"""End-to-end harness: a real `hermod serve` on loopback ports in a temporary directory.

Each test gets its own server (its own data directory and SQLite store) so tests run in
parallel. Ports are chosen by the kernel (127.0.0.1:0) and read back from the server's log.
"""
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERMOD = os.environ.get("HERMOD_BIN", str(ROOT / "target" / "debug" / "hermod"))
LISTEN_RE = re.compile(r"(?:SMTP|IMAP|HTTP) listening listener=\"?(\w+)\"? address=([\d.]+):(\d+)")


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_DNS = None


def worker_dns():
    """This worker's DNS server: no test ever asks the internet's DNS."""
    global _DNS
    if _DNS is None:
        from netdoubles import Dns
        _DNS = Dns()
    return _DNS


class Hermod:
    def __init__(self, workdir: Path, profile="faq", settings="", smtp="", delivery=None):
        # Outbound delivery is held unless a test sets up a world to deliver to.
        delivery = "hold = true" if delivery is None else delivery
        self.dir = workdir
        self.data = workdir / "data"
        self.config = workdir / "hermod.toml"
        self.config.write_text(
            f'hostname = "mx.test.example"\n'
            f'data_dir = "{self.data}"\n'
            f"{settings}\n"
            "[listen]\n"
            'smtp = ["127.0.0.1:0"]\n'
            'submission = ["127.0.0.1:0"]\n'
            'submissions = ["127.0.0.1:0"]\n'
            'imap = ["127.0.0.1:0"]\n'
            'imaps = ["127.0.0.1:0"]\n'
            'http = ["127.0.0.1:0"]\n'
            "[smtp]\n"
            f'reply_profile = "{profile}"\n'
            f"{smtp}\n"
            "[delivery]\n"
            f'nameservers = ["{worker_dns().address}"]\n'
            f"{delivery}\n"
        )
        self.proc = None
        self.ports = {}
        self.log = []

    # The operator's CLI
    def cli(self, *args, input=None, check=True):
        r = subprocess.run(
            [HERMOD, "--config", str(self.config), *args],
            input=input, capture_output=True, text=True, timeout=60,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"hermod {args} failed: {r.stderr}")
        return r

    def add_domain(self, name, *flags):
        self.cli("domain", "add", name, *flags)

    def add_user(self, address, password="a-good-password", *flags):
        self.cli("user", "add", address, *flags, input=password + "\n")

    def user(self, address):
        import json
        return json.loads(self.cli("user", "show", address, "--json").stdout)

    def inbox_count(self, address):
        return self.user(address)["inbox_messages"]

    def incoming_log(self, *flags):
        import json
        return json.loads(self.cli("logs", "incoming", "--json", *flags).stdout)

    # The server
    def start(self):
        env = dict(os.environ, RUST_LOG="info", NO_COLOR="1")
        self.proc = subprocess.Popen(
            [HERMOD, "--config", str(self.config), "serve"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
        )
        ready = threading.Event()
        want = 6

        def read():
            for line in self.proc.stderr:
                self.log.append(line)
                m = LISTEN_RE.search(line)
                if m:
                    self.ports.setdefault(m.group(1), int(m.group(3)))
                    if len(self.ports) >= want:
                        ready.set()
        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise AssertionError("hermod did not start:\n" + "".join(self.log))
        return self

    @property
    def smtp_port(self):
        return self.ports["Smtp"]

    @property
    def submission_port(self):
        return self.ports["Submission"]

    @property
    def submissions_port(self):
        return self.ports["Submissions"]

    @property
    def http_port(self):
        return self.ports["Http"]

    @property
    def imap_port(self):
        return self.ports["Imap"]

    @property
    def imaps_port(self):
        return self.ports["Imaps"]

    def imap(self, address=None, password="a-good-password"):
        """An imaplib client over implicit TLS, logged in when an address is given."""
        import imaplib
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=tls_context(), timeout=30)
        if address:
            c.login(address, password)
        return c

    def deliver(self, rcpt, subject="hello", body="Hello there.\r\n", sender="someone@remote.example", raw=None):
        """Delivers one message over SMTP, as the internet would."""
        import smtplib
        if raw is None:
            raw = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{time.time_ns()}@remote.example>\r\n\r\n{body}").encode()
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
            s.sendmail(sender, [rcpt], raw)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        log = "".join(self.log)
        assert "panicked" not in log, log

    def rss_peak_kb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    # Reading what was stored, straight from the embedded store.
    def inbox_bodies(self, address):
        db = sqlite3.connect(self.data / "hermod.db")
        try:
            rows = db.execute(
                "SELECT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
                "WHERE b.account = ? AND b.name = 'INBOX' ORDER BY m.uid", (address,)).fetchall()
        finally:
            db.close()
        out = []
        for (blob,) in rows:
            out.append((self.data / "blobs" / blob[:2] / blob[2:4] / blob).read_bytes())
        return out


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(profile="faq", settings="", name="h", smtp="", delivery=None):
        d = tmp_path / name
        d.mkdir()
        s = Hermod(d, profile, settings, smtp, delivery)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.stop()


def pg_settings():
    """Settings for a server whose metadata lives in a fresh PostgreSQL schema."""
    import uuid
    base = os.environ.get("HERMOD_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
    schema = "e2e_" + uuid.uuid4().hex[:12]
    r = subprocess.run(["psql", base, "-q", "-c", f"CREATE SCHEMA {schema}"], capture_output=True, text=True)
    if r.returncode != 0 and os.environ.get("HERMOD_SKIP_PG") == "1":
        pytest.skip("PostgreSQL not reachable and HERMOD_SKIP_PG=1")
    assert r.returncode == 0, f"PostgreSQL at {base} is not reachable: {r.stderr}"
    return f'[store]\nurl = "{base}?options[search_path]={schema}"\n'


@pytest.fixture(params=["faq", "rfc"])
def profile(request):
    return request.param


@pytest.fixture
def hosted(make_server, profile):
    """A running server in the given profile with example.com, ann and bob."""
    s = make_server(profile)
    s.add_domain("example.com")
    s.add_user("ann@example.com", "ann-password")
    s.add_user("bob@example.com", "bob-password")
    s.start()
    s.profile = profile
    return s
