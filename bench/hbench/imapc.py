"""A small asyncio IMAP client: tagged commands, literals in responses, APPEND, IDLE."""
from __future__ import annotations

import asyncio
import re
import ssl
import time

LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n$")
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS", re.I)
APPENDUID_RE = re.compile(rb"APPENDUID \d+ (\d+)", re.I)


class ImapError(Exception):
    pass


def tls_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_CTX = None


class Imap:
    def __init__(self, r, w, timeout):
        self.r, self.w, self.timeout = r, w, timeout
        self.n = 0
        self.exists = 0

    @classmethod
    async def connect(cls, port: int, host="127.0.0.1", timeout=120.0) -> "Imap":
        global _CTX
        if _CTX is None:
            _CTX = tls_context()
        r, w = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=_CTX, limit=1 << 22), timeout)
        c = cls(r, w, timeout)
        greeting = await c._line()
        if not greeting.startswith(b"* OK"):
            raise ImapError(f"greeting: {greeting[:200]!r}")
        return c

    async def _line(self) -> bytes:
        line = await asyncio.wait_for(self.r.readline(), self.timeout)
        if not line:
            raise ImapError("connection closed by server")
        return line

    async def _response(self) -> bytes:
        """One response line with its literals inlined."""
        line = await self._line()
        while True:
            m = LITERAL_RE.search(line)
            if not m:
                return line
            lit = await asyncio.wait_for(self.r.readexactly(int(m.group(1))), self.timeout)
            line += lit + await self._line()

    def _tag(self) -> bytes:
        self.n += 1
        return b"A%d" % self.n

    async def _until_tagged(self, tag: bytes) -> tuple[bytes, list[bytes]]:
        untagged = []
        while True:
            line = await self._response()
            if line.startswith(tag + b" "):
                status = line[len(tag) + 1:].split(b" ", 1)[0].upper()
                if status != b"OK":
                    raise ImapError(line.decode(errors="replace").strip()[:300])
                return line, untagged
            m = EXISTS_RE.match(line)
            if m:
                self.exists = int(m.group(1))
            untagged.append(line)

    async def command(self, cmd: str) -> tuple[bytes, list[bytes]]:
        tag = self._tag()
        self.w.write(tag + b" " + cmd.encode() + b"\r\n")
        return await self._until_tagged(tag)

    async def command_bulk(self, cmd: str) -> int:
        """A command whose answer may be huge (FETCH 1:*): read in blocks until the tagged
        line, without parsing; returns the bytes received. Only for answers without
        literals that could contain a line starting with the tag."""
        tag = self._tag()
        self.w.write(tag + b" " + cmd.encode() + b"\r\n")
        needle = b"\r\n" + tag + b" "
        buf = b""
        total = 0
        while True:
            chunk = await asyncio.wait_for(self.r.read(1 << 20), self.timeout)
            if not chunk:
                raise ImapError("connection closed by server")
            total += len(chunk)
            buf = buf[-64:] + chunk
            i = buf.find(needle)
            if i >= 0:
                rest = buf[i + 2:]
                while not rest.endswith(b"\r\n"):
                    more = await asyncio.wait_for(self.r.read(4096), self.timeout)
                    if not more:
                        raise ImapError("connection closed by server")
                    rest += more
                status = rest[len(tag) + 1:].split(b" ", 1)[0].upper()
                if status != b"OK":
                    raise ImapError(rest.decode(errors="replace").strip()[:300])
                return total

    async def login(self, user: str, password: str) -> None:
        await self.command(f'LOGIN "{user}" "{password}"')

    async def select(self, mailbox="INBOX") -> int:
        await self.command(f'SELECT "{mailbox}"')
        return self.exists

    async def append(self, mailbox: str, data: bytes, flags: str = "") -> int | None:
        """APPEND with a synchronising literal; returns the APPENDUID's UID if given."""
        tag = self._tag()
        fl = f" ({flags})" if flags else ""
        self.w.write(tag + f' APPEND "{mailbox}"{fl} {{{len(data)}}}\r\n'.encode())
        while True:
            line = await self._response()
            if line.startswith(b"+"):
                break
            if line.startswith(tag + b" "):
                raise ImapError(line.decode(errors="replace").strip()[:300])
        self.w.write(data + b"\r\n")
        line, _ = await self._until_tagged(tag)
        m = APPENDUID_RE.search(line)
        return int(m.group(1)) if m else None

    async def idle(self) -> None:
        tag = self._tag()
        self.idle_tag = tag
        self.w.write(tag + b" IDLE\r\n")
        while True:
            line = await self._response()
            if line.startswith(b"+"):
                return
            if line.startswith(tag + b" "):
                raise ImapError(line.decode(errors="replace").strip()[:300])

    async def wait_exists(self, above: int) -> tuple[int, float]:
        """In IDLE: reads until an EXISTS above `above`; returns it and when it arrived."""
        while True:
            line = await self._response()
            m = EXISTS_RE.match(line)
            if m and int(m.group(1)) > above:
                self.exists = int(m.group(1))
                return self.exists, time.perf_counter()

    async def done(self) -> None:
        self.w.write(b"DONE\r\n")
        await self._until_tagged(self.idle_tag)

    async def logout(self) -> None:
        try:
            self.w.write(b"Z LOGOUT\r\n")
            await asyncio.wait_for(self.w.drain(), 5)
        except Exception:
            pass
        self.close()

    def close(self) -> None:
        try:
            self.w.close()
        except Exception:
            pass
