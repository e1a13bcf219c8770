"""The servers under test, each in its own directory under one temporary work directory.

- Hermod: `hermod --config FILE serve`, data_dir in the work directory, 127.0.0.1 ports
  chosen by the kernel and read back from its log, default SQLite store.
- Postfix: `postfix -c DIR`, its own queue and data directories, SMTP on a free 127.0.0.1
  port, virtual(8) delivery into Maildirs (queue files fsynced before the 250, as always).
- Dovecot: `dovecot -c FILE`, its own base_dir and state_dir, implicit TLS IMAP on a free
  127.0.0.1 port, reading the Maildirs Postfix writes.

Nothing of the system's own mail setup (/etc/postfix/main.cf, /run/dovecot, ...) is used or
touched. Every process started is recorded in the work directory so that a later run can stop
what an interrupted run left behind (reap_stale).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .util import (BenchError, cmdline, kill_pid, log, pid_alive, process_tree, run,
                   free_port, wait_port)

DOMAIN = "bench.example"
PASSWORD = "bench-password-1"
WORK_PREFIX = "hermod-bench-"
MAIL_UID = 8   # Debian's "mail" user owns the virtual Maildirs (Postfix virtual(8) and Dovecot)
MAIL_GID = 8
LISTEN_RE = re.compile(r"(?:SMTP|IMAP) listening listener=(\w+) address=([\d.]+):(\d+)")


# ---------------------------------------------------------------- stale runs

def reap_stale(tmp: Path = Path("/tmp")) -> None:
    """Stops what an earlier, interrupted run left running and removes its directory."""
    for d in sorted(tmp.glob(WORK_PREFIX + "*")):
        owner = d / "harness.pid"
        try:
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            pid = 0
        if pid and pid_alive(pid) and "run" in cmdline(pid) and pid != os.getpid():
            log(f"note: {d} belongs to a benchmark still running (pid {pid}); left alone")
            continue
        log(f"cleaning up an earlier run's leftovers in {d}")
        stop_postfix(d / "postfix")
        stop_dovecot(d / "dovecot")
        try:
            hpid = int((d / "hermod" / "hermod.pid").read_text())
            kill_pid(hpid, expect="hermod")
        except (OSError, ValueError):
            pass
        try:
            orig = int((d / "inotify.orig").read_text())
            Path("/proc/sys/fs/inotify/max_user_instances").write_text(str(orig))
        except (OSError, ValueError):
            pass
        shutil.rmtree(d, ignore_errors=True)


def stop_postfix(pdir: Path) -> None:
    conf = pdir / "etc"
    if not (conf / "main.cf").exists():
        return
    pidfile = pdir / "spool" / "pid" / "master.pid"
    try:
        mpid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        mpid = 0
    if mpid and pid_alive(mpid) and "master" in cmdline(mpid):
        tree = process_tree(mpid)
        run(["postfix", "-c", str(conf), "stop"], check=False, quiet=True, timeout=60)
        deadline = time.monotonic() + 15
        while pid_alive(mpid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in tree:
            kill_pid(p)


def stop_dovecot(ddir: Path) -> None:
    try:
        mpid = int((ddir / "run" / "master.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if not pid_alive(mpid) or "dovecot" not in cmdline(mpid):
        return
    tree = process_tree(mpid)
    kill_pid(mpid, expect="dovecot", timeout=20)
    for p in tree:
        kill_pid(p, timeout=2)


def make_cert(d: Path) -> tuple[Path, Path]:
    """One ECDSA P-256 certificate both Hermod and Dovecot serve (same TLS cost on each side)."""
    cert, key = d / "cert.pem", d / "key.pem"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=mail." + DOMAIN, "-keyout", str(key),
         "-out", str(cert)])
    return cert, key


# ---------------------------------------------------------------- Hermod

class Hermod:
    name = "Hermod"

    def __init__(self, binary: Path, root: Path, cert: Path, key: Path, dns_port: int):
        self.bin = binary
        self.dir = root / "hermod"
        self.dir.mkdir()
        self.data = self.dir / "data"
        self.config = self.dir / "hermod.toml"
        self.logfile = self.dir / "hermod.log"
        self.config.write_text(
            'hostname = "mail.bench.example"\n'
            f'data_dir = "{self.data}"\n'
            "[listen]\n"
            'smtp = ["127.0.0.1:0"]\n'
            'submission = ["127.0.0.1:0"]\n'
            'submissions = ["127.0.0.1:0"]\n'
            'imap = ["127.0.0.1:0"]\n'
            'imaps = ["127.0.0.1:0"]\n'
            'http = ["127.0.0.1:0"]\n'
            "[tls]\n"
            f'cert = "{cert}"\n'
            f'key = "{key}"\n'
            "[delivery]\n"
            # SPF/DKIM/DMARC lookups go to the harness's loopback responder, never the network.
            f'nameservers = ["127.0.0.1:{dns_port}"]\n'
        )
        self.proc = None
        self.ports: dict[str, int] = {}

    def cli(self, *args, input=None, timeout=120):
        return run([str(self.bin), "--config", str(self.config), *args], input=input,
                   timeout=timeout)

    def version(self) -> str:
        r = run([str(self.bin), "--version"], check=False, quiet=True)
        return (r.stdout or r.stderr).strip() or "unknown"

    def setup(self, users: list[str]) -> None:
        self.cli("domain", "add", DOMAIN)
        # Each `user add` hashes a password with argon2id: two at a time on two cores.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda u: self.cli("user", "add", f"{u}@{DOMAIN}",
                                             input=PASSWORD + "\n"), users))

    def start(self) -> None:
        env = dict(os.environ, NO_COLOR="1")
        env.pop("RUST_LOG", None)
        logf = self.logfile.open("ab")
        self.proc = subprocess.Popen([str(self.bin), "--config", str(self.config), "serve"],
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        logf.close()
        (self.dir / "hermod.pid").write_text(str(self.proc.pid))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"hermod exited with {self.proc.returncode} at start:\n"
                                 + self.log_tail())
            for m in LISTEN_RE.finditer(self.logfile.read_text(errors="replace")):
                self.ports.setdefault(m.group(1), int(m.group(3)))
            if "Smtp" in self.ports and "Imaps" in self.ports:
                wait_port(self.ports["Smtp"], what="Hermod SMTP")
                wait_port(self.ports["Imaps"], what="Hermod IMAPS")
                return
            time.sleep(0.1)
        raise BenchError("hermod did not log its listeners within 60 s:\n" + self.log_tail())

    def log_tail(self, n=40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self, during: str) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(f"Hermod died (exit {self.proc.returncode}) during {during}:\n"
                             + self.log_tail())

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                log("Hermod did not stop within 20 s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def panics(self) -> list[str]:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return []
        return [l for l in text.splitlines() if "panicked" in l or " ERROR " in l]

    # What the workloads need
    @property
    def smtp_port(self) -> int:
        return self.ports["Smtp"]

    @property
    def imaps_port(self) -> int:
        return self.ports["Imaps"]

    def memory_pids(self) -> list[int]:
        return [self.proc.pid] if self.alive() else []

    def inbox_count(self, user: str) -> int:
        import json
        r = self.cli("user", "show", f"{user}@{DOMAIN}", "--json")
        return int(json.loads(r.stdout)["inbox_messages"])


# ---------------------------------------------------------------- Postfix

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{port} inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    name = "Postfix"

    def __init__(self, root: Path, mail: Path):
        self.dir = root / "postfix"
        self.etc = self.dir / "etc"
        self.spool = self.dir / "spool"
        self.data = self.dir / "data"
        self.mail = mail
        for d in (self.etc, self.spool, self.data):
            d.mkdir(parents=True)
        self.port = free_port()
        self.started = False

    def version(self) -> str:
        r = run(["postconf", "-d", "-h", "mail_version"], check=False, quiet=True)
        return "Postfix " + r.stdout.strip()

    def setup(self, users: list[str]) -> None:
        (self.etc / "vmailbox").write_text(
            "".join(f"{u}@{DOMAIN} {DOMAIN}/{u}/Maildir/\n" for u in users))
        (self.etc / "master.cf").write_text(MASTER_CF.format(port=self.port))
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
config_directory = {self.etc}
queue_directory = {self.spool}
data_directory = {self.data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-bench
maillog_file_prefixes = /var, /dev/stdout, {self.dir}
maillog_file = {self.dir}/postfix.log
myhostname = mx.postfix-bench.invalid
mydomain = postfix-bench.invalid
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
smtp_dns_support_level = disabled
smtputf8_enable = no
message_size_limit = 52428800
default_process_limit = 400
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_mailbox_limit = 0
virtual_minimum_uid = {MAIL_UID}
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_GID}
""")

    def start(self) -> None:
        shutil.chown(self.data, "postfix", "postfix")
        self.started = True  # from here on, stop() must run
        try:
            run(["postfix", "-c", str(self.etc), "check"], timeout=60)
            run(["postfix", "-c", str(self.etc), "start"], timeout=60)
        except BenchError as e:
            raise BenchError(f"{e}\nPostfix's log ({self.dir}/postfix.log):\n{self.log_tail()}")
        self.started = True
        wait_port(self.port, what="Postfix smtpd")

    def stop(self) -> None:
        if self.started:
            stop_postfix(self.dir)
            self.started = False

    def master_pid(self) -> int:
        try:
            return int((self.spool / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def queue_empty(self) -> bool:
        for sub in ("incoming", "active", "deferred", "maildrop"):
            d = self.spool / sub
            if d.exists() and any(f.is_file() for f in d.rglob("*")):
                return False
        return True

    def log_tail(self, n=30) -> str:
        try:
            return "\n".join((self.dir / "postfix.log").read_text(errors="replace")
                             .splitlines()[-n:])
        except OSError:
            return "(no log)"


# ---------------------------------------------------------------- Dovecot

class Dovecot:
    name = "Dovecot"

    def __init__(self, root: Path, mail: Path, cert: Path, key: Path):
        self.dir = root / "dovecot"
        self.run_dir = self.dir / "run"
        self.state = self.dir / "state"
        for d in (self.run_dir, self.state):
            d.mkdir(parents=True)
        self.conf = self.dir / "dovecot.conf"
        self.mail = mail
        self.cert, self.key = cert, key
        self.port = free_port()
        self.started = False
        self.proc = None

    def version(self) -> str:
        r = run(["dovecot", "--version"], check=False, quiet=True)
        return "Dovecot " + r.stdout.strip()

    def setup(self, users: list[str], max_conns: int) -> None:
        (self.dir / "users").write_text("".join(
            f"{u}@{DOMAIN}:{{PLAIN}}{PASSWORD}:{MAIL_UID}:{MAIL_GID}::"
            f"{self.mail}/{DOMAIN}/{u}::\n" for u in users))
        os.chmod(self.dir / "users", 0o644)
        limit = max_conns + 500
        self.conf.write_text(f"""\
# Dovecot for the benchmark: its own base_dir and state_dir, never the system's.
instance_name = dovecot-hermod-bench
base_dir = {self.run_dir}
state_dir = {self.state}
log_path = {self.dir}/dovecot.log
info_log_path = {self.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.dir}/users
}}
mail_location = maildir:{self.mail}/%d/%n/Maildir
first_valid_uid = {MAIL_UID}
first_valid_gid = {MAIL_GID}
mail_max_userip_connections = {limit}
default_process_limit = {limit}
default_client_limit = {limit * 2}
default_vsz_limit = 1G
# Dovecot's own answer to many idle clients: an IDLE session moves out of its imap
# process into the shared imap-hibernate process.
imap_hibernate_timeout = 2s
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
  }}
  # High-performance mode: a few login processes proxy many TLS connections.
  service_count = 0
  process_min_avail = 2
  client_limit = {limit}
}}
service imap {{
  process_limit = {limit}
  unix_listener imap-master {{
    user = $default_internal_user
  }}
  extra_groups = $default_internal_group
}}
service imap-hibernate {{
  client_limit = {limit}
  unix_listener imap-hibernate {{
    mode = 0660
    group = $default_internal_group
  }}
}}
service anvil {{
  client_limit = {limit * 3}
}}
service auth {{
  client_limit = {limit * 3}
}}
""")

    def start(self) -> None:
        logf = (self.dir / "dovecot.stderr").open("ab")
        self.started = True  # from here on, stop() must run
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.conf)], stdout=logf,
                                     stderr=logf, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                wait_port(self.port, timeout=0.5, what="Dovecot imap-login")
                return
            except BenchError:
                pass
        err = (self.dir / "dovecot.stderr").read_text(errors="replace")[-2000:]
        raise BenchError(f"Dovecot did not start (exit {self.proc.poll()}): {err}\n"
                         f"Dovecot's log:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.started:
            stop_dovecot(self.dir)
            if self.proc is not None:
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.started = False

    def master_pid(self) -> int:
        try:
            return int((self.run_dir / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def log_tail(self, n=30) -> str:
        try:
            return "\n".join((self.dir / "dovecot.log").read_text(errors="replace")
                             .splitlines()[-n:])
        except OSError:
            return "(no log)"


# ---------------------------------------------------------------- the two systems

class HermodSystem:
    """Hermod alone: SMTP and IMAP in one process."""
    name = "Hermod"

    def __init__(self, hermod: Hermod):
        self.h = hermod

    @property
    def smtp_port(self):
        return self.h.smtp_port

    @property
    def imaps_port(self):
        return self.h.imaps_port

    def memory_pids(self):
        return self.h.memory_pids()

    def imap_memory_pids(self):
        return self.h.memory_pids()

    def check_alive(self, during):
        self.h.check_alive(during)

    def count(self, user: str) -> int:
        return self.h.inbox_count(user)

    def wait_delivered(self, user: str, n: int, timeout: float) -> float:
        """Hermod's 250 comes after delivery: nothing to wait for; checks the count."""
        got = self.count(user)
        if got < n:
            raise BenchError(f"Hermod: {user} has {got} messages, expected {n} after 250s")
        return time.perf_counter()

    def versions(self):
        return {"Hermod": self.h.version()}


class PostfixDovecotSystem:
    name = "Postfix+Dovecot"

    def __init__(self, postfix: Postfix, dovecot: Dovecot, mail: Path):
        self.p, self.d, self.mail = postfix, dovecot, mail

    @property
    def smtp_port(self):
        return self.p.port

    @property
    def imaps_port(self):
        return self.d.port

    def memory_pids(self):
        return process_tree(self.p.master_pid()) + process_tree(self.d.master_pid())

    def imap_memory_pids(self):
        return process_tree(self.d.master_pid())

    def check_alive(self, during):
        if not pid_alive(self.p.master_pid()):
            raise BenchError(f"Postfix master died during {during}:\n{self.p.log_tail()}")
        if not pid_alive(self.d.master_pid()):
            raise BenchError(f"Dovecot master died during {during}:\n{self.d.log_tail()}")

    def maildir(self, user: str) -> Path:
        return self.mail / DOMAIN / user / "Maildir"

    def count(self, user: str) -> int:
        md = self.maildir(user)
        n = 0
        for sub in ("new", "cur"):
            try:
                n += sum(1 for _ in os.scandir(md / sub))
            except FileNotFoundError:
                pass
        return n

    def wait_delivered(self, user: str, n: int, timeout: float) -> float:
        """Waits until user's Maildir holds n messages; returns the time it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(user) >= n:
                return time.perf_counter()
            time.sleep(0.01)
        raise BenchError(f"Postfix: {user} has {self.count(user)} of {n} messages after "
                         f"{timeout:.0f} s:\n{self.p.log_tail()}")

    def versions(self):
        return {"Postfix": self.p.version(), "Dovecot": self.d.version()}


def make_maildirs(mail: Path, users: list[str]) -> None:
    for u in users:
        md = mail / DOMAIN / u / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True, exist_ok=True)
    for p in [mail, *mail.rglob("*")]:
        os.chown(p, MAIL_UID, MAIL_GID)


def write_maildir(md: Path, messages, flags_of=lambda i: "") -> None:
    """Writes messages straight into a Maildir's cur/ (as a migration tool would)."""
    host = "bench"
    t = int(time.time())
    cur = md / "cur"
    for i, raw in enumerate(messages):
        name = f"{t}.M{i}P{os.getpid()}.{host},S={len(raw)}:2,{flags_of(i)}"
        p = cur / name
        with open(p, "wb") as f:
            f.write(raw)
        os.chown(p, MAIL_UID, MAIL_GID)
