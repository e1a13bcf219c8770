"""A tiny raw SMTP client for asserting exact replies, pipelining and bad input."""
import socket
import ssl

from conftest import tls_context


class Raw:
    def __init__(self, port, implicit_tls=False, timeout=30):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if implicit_tls:
            s = tls_context().wrap_socket(s, server_hostname="mx.test.example")
        self.sock = s
        self.buf = b""
        self.greeting = self.reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; partial: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """Returns the last line of a (possibly multi-line) reply, e.g. '250 ok'."""
        lines = [self._line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self._line())
        self.last_lines = lines
        return lines[-1]

    def send(self, data: bytes):
        self.sock.sendall(data)

    def cmd(self, line: str):
        self.send(line.encode("utf-8") + b"\r\n")
        return self.reply()

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.startswith("220"), r
        self.sock = tls_context().wrap_socket(self.sock, server_hostname="mx.test.example")
        return r

    def login(self, user, password):
        import base64
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f"AUTH PLAIN {token}")

    def data(self, body: bytes):
        r = self.cmd("DATA")
        assert r.startswith("354"), r
        self.send(body.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        return self.reply()

    def closed(self):
        """True when the server closes the connection (whatever it says first) within 5 s."""
        try:
            self.sock.settimeout(5)
            for _ in range(100):
                if self.sock.recv(65536) == b"":
                    return True
            return False
        except socket.timeout:
            return False
        except (ConnectionError, OSError):
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def message(subject="hello", body="Hi there.", sender="someone@remote.org", to="ann@example.com", extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}"
            f"Message-ID: <{subject.replace(' ', '.')}@test>\r\n\r\n{body}\r\n").encode()
