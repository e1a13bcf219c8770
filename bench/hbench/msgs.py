"""Test messages: deterministic, varied text bodies of a given size."""
from __future__ import annotations

import random
import time
from email.utils import formatdate

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu report meeting budget invoice schedule project review draft quarterly update "
         "release server network storage backup message mailbox customer support ticket").split()
NEEDLE = "zanzibarneedle"   # in 1 message out of NEEDLE_EVERY (UID SEARCH BODY)
NEEDLE_EVERY = 100
SENDER = "load@sender.invalid"


def body_text(size: int, seed: int, needle: bool = False) -> bytes:
    rnd = random.Random(seed)
    lines, n = [], 0
    if needle:
        lines.append(f"The code word is {NEEDLE}.")
        n += len(lines[-1]) + 2
    while n < size:
        line = " ".join(rnd.choice(WORDS) for _ in range(11))
        lines.append(line)
        n += len(line) + 2
    return ("\r\n".join(lines) + "\r\n").encode()


class MessageFactory:
    """Messages of about `size` bytes; bodies come from a small pool, headers are unique."""

    def __init__(self, size: int, pool: int = 16, seed: int = 1):
        self.size = size
        self.bodies = [body_text(max(size - 300, 10), seed * 1000 + i) for i in range(pool)]
        self.needle_body = body_text(max(size - 300, 10), seed * 1000 + 999, needle=True)
        self.date = formatdate(time.time(), localtime=False)

    def make(self, i: int, to: str, subject: str | None = None) -> bytes:
        body = self.needle_body if i % NEEDLE_EVERY == 7 else self.bodies[i % len(self.bodies)]
        subj = subject or f"{WORDS[i % len(WORDS)]} report {i}"
        head = (f"From: Load Generator <{SENDER}>\r\n"
                f"To: <{to}>\r\n"
                f"Subject: {subj}\r\n"
                f"Date: {self.date}\r\n"
                f"Message-ID: <{i}.{time.time_ns()}@sender.invalid>\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        return head.encode() + body
