"""A small asyncio SMTP client that times each transaction (for latency and loading)."""
from __future__ import annotations

import asyncio
import time


class SmtpError(Exception):
    pass


class SmtpClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.r, self.w = reader, writer

    @classmethod
    async def connect(cls, port: int, host="127.0.0.1", helo="client.sender.invalid",
                      timeout=60.0) -> "SmtpClient":
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port, limit=1 << 20),
                                      timeout)
        c = cls(r, w)
        c.timeout = timeout
        code, text = await c.reply()
        if code != 220:
            raise SmtpError(f"greeting {code} {text}")
        code, text = await c.cmd(f"EHLO {helo}")
        if code != 250:
            raise SmtpError(f"EHLO {code} {text}")
        return c

    async def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            line = await asyncio.wait_for(self.r.readline(), self.timeout)
            if not line:
                raise SmtpError("connection closed by server")
            lines.append(line.decode(errors="replace").rstrip())
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), " | ".join(lines)

    async def cmd(self, line: str) -> tuple[int, str]:
        self.w.write(line.encode() + b"\r\n")
        return await self.reply()

    async def send(self, sender: str, rcpts: list[str], data: bytes) -> tuple[float, float]:
        """One transaction; returns (seconds from MAIL to 250, seconds from end of data to 250)
        and raises SmtpError on any refusal."""
        t0 = time.perf_counter()
        code, text = await self.cmd(f"MAIL FROM:<{sender}>")
        if code != 250:
            raise SmtpError(f"MAIL {code} {text}")
        for rc in rcpts:
            code, text = await self.cmd(f"RCPT TO:<{rc}>")
            if code != 250:
                raise SmtpError(f"RCPT {rc}: {code} {text}")
        code, text = await self.cmd("DATA")
        if code != 354:
            raise SmtpError(f"DATA {code} {text}")
        if data.startswith(b".") or b"\n." in data:
            data = data.replace(b"\n.", b"\n..")
            if data.startswith(b"."):
                data = b"." + data
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.w.write(data)
        self.w.write(b".\r\n")
        await self.w.drain()
        t1 = time.perf_counter()
        code, text = await self.reply()
        t2 = time.perf_counter()
        if code != 250:
            raise SmtpError(f"end of DATA {code} {text}")
        self.last_250 = t2
        return t2 - t0, t2 - t1

    async def quit(self) -> None:
        try:
            self.w.write(b"QUIT\r\n")
            await asyncio.wait_for(self.r.readline(), 5)
        except Exception:
            pass
        self.close()

    def close(self) -> None:
        try:
            self.w.close()
        except Exception:
            pass


async def blast(port: int, conns: int, messages, rcpts_of, sender: str,
                on_error=None, reconnect_every: int = 0) -> dict:
    """Sends every message of `messages` (a list of bytes, or a callable i -> bytes with
    count given by len()) over `conns` parallel connections. Returns latencies and wall time."""
    n = len(messages)
    next_i = 0
    lat_total, lat_data, errors = [], [], []

    async def worker():
        nonlocal next_i
        c = None
        sent_here = 0
        while True:
            i = next_i
            if i >= n:
                break
            next_i += 1
            try:
                if c is None:
                    c = await SmtpClient.connect(port)
                total, data = await c.send(sender, rcpts_of(i), messages[i])
                lat_total.append(total)
                lat_data.append(data)
                sent_here += 1
                if reconnect_every and sent_here % reconnect_every == 0:
                    await c.quit()
                    c = None
            except (SmtpError, OSError, asyncio.TimeoutError) as e:
                errors.append(f"message {i}: {e!r}")
                if on_error:
                    on_error(e)
                if c is not None:
                    c.close()
                    c = None
                if len(errors) > 50:
                    break
        if c is not None:
            await c.quit()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    wall = time.perf_counter() - t0
    return {"wall": wall, "sent": len(lat_total), "lat_total": lat_total,
            "lat_data": lat_data, "errors": errors}


class Lazy:
    """A list-like view of n messages made on demand (so 100,000 need not sit in memory)."""

    def __init__(self, n: int, make):
        self.n, self.make = n, make

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)
