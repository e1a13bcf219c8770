"""Stand-ins for the internet, on 127.0.0.0/8 only: a real DNS server (dnslib) and real SMTP
receivers (aiosmtpd) that answer per recipient as a test asks."""
import socket
import threading
import time

from aiosmtpd.controller import Controller
from dnslib import AAAA, MX, QTYPE, RR, TXT, A, DNSRecord, RCODE
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Zone(BaseResolver):
    """Records by (name, type); names end with a dot."""

    def __init__(self):
        self.records = {}
        self.lock = threading.Lock()

    def add(self, name, rtype, value):
        name = name.rstrip(".") + "."
        with self.lock:
            self.records.setdefault((name.lower(), rtype), []).append(value)

    def mx(self, domain, host, pref=10):
        self.add(domain, "MX", (pref, host))

    def a(self, name, ip):
        self.add(name, "A", ip)

    def txt(self, name, text):
        self.add(name, "TXT", text)

    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        name = str(q.qname).lower()
        qtype = QTYPE[q.qtype]
        with self.lock:
            values = list(self.records.get((name, qtype), []))
            known = any(n == name for (n, _) in self.records)
        for v in values:
            if qtype == "MX":
                rdata = MX(v[1], v[0])
            elif qtype == "A":
                rdata = A(v)
            elif qtype == "AAAA":
                rdata = AAAA(v)
            else:
                chunks = [v[i:i + 255] for i in range(0, len(v), 255)] or [""]
                rdata = TXT(chunks)
            reply.add_answer(RR(q.qname, q.qtype, rdata=rdata, ttl=60))
        if not values and not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class Dns:
    """A DNS server on 127.0.0.1 (UDP and TCP) serving a Zone."""

    def __init__(self):
        self.zone = Zone()
        port = free_port()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error", logf=lambda _s: None)
        self.udp = DNSServer(self.zone, port=port, address="127.0.0.1", logger=quiet)
        self.tcp = DNSServer(self.zone, port=port, address="127.0.0.1", tcp=True, logger=quiet)
        self.port = port
        self.udp.start_thread()
        self.tcp.start_thread()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.udp.stop()
        self.tcp.stop()


class Behaviour:
    """Per-recipient answers: 'ok', 'temp' (450 the first N times, then 250), 'perm' (550)."""

    def __init__(self):
        self.rules = {}
        self.seen = {}
        self.received = []  # (mail_from, [rcpts], data bytes)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        with self.lock:
            self.seen[address] = self.seen.get(address, 0) + 1
            count = self.seen[address]
        if local.startswith("perm"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("temp") and count <= int(local[4:] or 1):
            return "450 4.2.1 <%s>: mailbox busy, try later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"


class Receiver:
    """An SMTP server at ip:port (the port every test MX shares within one test)."""

    def __init__(self, ip, port):
        self.behaviour = Behaviour()
        self.controller = Controller(self.behaviour, hostname=ip, port=port, decode_data=False,
                                     data_size_limit=60 * 1024 * 1024)
        self.controller.start()

    @property
    def received(self):
        return self.behaviour.received

    def wait_for(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received) >= n:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"expected {n} messages, got {len(self.received)}")

    def stop(self):
        self.controller.stop()


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")
