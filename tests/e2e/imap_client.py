"""A raw IMAP client for tests that must see exact responses (imaplib hides some)."""
import socket
import ssl
import re

LITERAL_RE = re.compile(rb"~?\{(\d+)\}\r\n$")


class RawImap:
    def __init__(self, port, tls=True, timeout=30):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = _ctx().wrap_socket(sock)
        self.sock = sock
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def starttls(self):
        self.sock = _ctx().wrap_socket(self.sock)
        self.buf = b""

    def line(self):
        """One response line, with any literals it carries inlined."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed: " + repr(out + self.buf))
                self.buf += data
            i = self.buf.index(b"\r\n") + 2
            part, self.buf = self.buf[:i], self.buf[i:]
            out += part
            m = LITERAL_RE.search(part)
            if not m:
                return out
            size = int(m.group(1))
            while len(self.buf) < size:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed in literal")
                self.buf += data
            out += self.buf[:size]
            self.buf = self.buf[size:]

    def send(self, data: bytes):
        self.sock.sendall(data)

    def cmd(self, text, tag=None):
        """Sends a command; returns (untagged lines, tagged line) as bytes."""
        self.n += 1
        tag = tag or f"a{self.n}"
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            untagged.append(line)

    def ok(self, text):
        untagged, tagged = self.cmd(text)
        assert b" OK " in tagged, (text, untagged, tagged)
        return untagged

    def login(self, user, password="a-good-password"):
        return self.ok(f'LOGIN "{user}" "{password}"')

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
