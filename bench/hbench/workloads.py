"""The workloads. Each takes a system (HermodSystem or PostfixDovecotSystem) and returns plain
data (numbers and lists) for the report."""
from __future__ import annotations

import asyncio
import os
import random
import resource
import time
from pathlib import Path

from .imapc import Imap, ImapError
from .msgs import NEEDLE, NEEDLE_EVERY, SENDER, MessageFactory
from .servers import DOMAIN, PASSWORD
from .smtpc import Lazy, SmtpClient, SmtpError, blast
from .util import (BenchError, cpu_seconds, log, mem_available_kb, percentile, pss_kb,
                   rss_kb, run)

SMTP_SOURCE = "/usr/sbin/smtp-source"


def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(want, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------- the disk

def fsync_rate(directory: Path, seconds: float) -> dict:
    """Appends 4 KB + fsync in a loop; and the create/write/fsync/rename/fsync-dir cycle a
    Maildir delivery or a blob write costs. Returns operations per second of each."""
    p = directory / "fsync-probe"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    buf = os.urandom(4096)
    n, t0 = 0, time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            os.write(fd, buf)
            os.fsync(fd)
            n += 1
    finally:
        os.close(fd)
        p.unlink()
    append_rate = n / (time.perf_counter() - t0)

    d = directory / "fsync-files"
    d.mkdir(exist_ok=True)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    n, t0 = 0, time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            tmp, final = d / f"t{n}", d / f"f{n}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, buf)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, final)
            os.fsync(dfd)
            n += 1
    finally:
        os.close(dfd)
        for f in d.iterdir():
            f.unlink()
        d.rmdir()
    file_rate = n / (time.perf_counter() - t0)
    return {"append_fsync_per_s": append_rate, "file_fsync_rename_per_s": file_rate}


# ---------------------------------------------------------------- SMTP

def smtp_source(system, sessions: int, count: int, size: int, user="sink") -> dict:
    """smtp-source as the neutral load generator: one message per connection (its default,
    like MX traffic), `sessions` in parallel. Returns accepted msgs/s and, for Postfix,
    delivered msgs/s (until the last message is in the Maildir)."""
    before = system.count(user)
    cmd = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size),
           "-f", SENDER, "-t", f"{user}@{DOMAIN}", "-M", "client.sender.invalid",
           f"127.0.0.1:{system.smtp_port}"]
    t0 = time.perf_counter()
    r = run(cmd, timeout=900, check=False, quiet=True)
    t1 = time.perf_counter()
    if r.returncode != 0:
        system.check_alive("smtp-source")
        raise BenchError(f"smtp-source against {system.name} failed (exit {r.returncode}): "
                         f"{(r.stderr or r.stdout).strip()[-800:]}")
    t2 = system.wait_delivered(user, before + count, timeout=600)
    return {"accepted_per_s": count / (t1 - t0), "delivered_per_s": count / (t2 - t0),
            "wall": t1 - t0}


def smtp_latency(system, conns: int, count: int, size: int, user="sink") -> dict:
    """Our asyncio client: `conns` connections, each sending its share of `count` messages
    one after another; times every transaction (MAIL .. 250) and end-of-DATA .. 250."""
    fac = MessageFactory(size, seed=size)
    rcpt = f"{user}@{DOMAIN}"
    msgs = [fac.make(i, rcpt) for i in range(count)]
    before = system.count(user)
    res = asyncio.run(blast(system.smtp_port, conns, msgs, lambda i: [rcpt], SENDER))
    if res["errors"]:
        system.check_alive("the SMTP latency run")
        raise BenchError(f"{system.name}: {len(res['errors'])} SMTP errors, first: "
                         f"{res['errors'][0]}")
    system.wait_delivered(user, before + count, timeout=600)
    return {"msgs_per_s": res["sent"] / res["wall"], "lat_total": res["lat_total"],
            "lat_data": res["lat_data"],
            "p50_ms": percentile(res["lat_data"], 50) * 1000,
            "p99_ms": percentile(res["lat_data"], 99) * 1000}


# ---------------------------------------------------------------- preloading

def preload_hermod(system, users: list[str], per_user: int, size: int) -> float:
    """Delivers per_user messages to each user over SMTP, one transaction to up to 100
    recipients at a time (Hermod's 250 is after delivery)."""
    fac = MessageFactory(size, seed=7)
    groups = [users[i:i + 100] for i in range(0, len(users), 100)]
    items = [(g, i) for g in groups for i in range(per_user)]
    msgs = Lazy(len(items), lambda k: fac.make(items[k][1], "list@" + DOMAIN))
    t0 = time.perf_counter()
    res = asyncio.run(blast(system.smtp_port, 8, msgs,
                            lambda k: [f"{u}@{DOMAIN}" for u in items[k][0]], SENDER))
    if res["errors"]:
        raise BenchError(f"preloading Hermod: {res['errors'][0]}")
    return time.perf_counter() - t0


def preload_maildirs(system, users: list[str], per_user: int, size: int) -> float:
    from .servers import write_maildir
    fac = MessageFactory(size, seed=7)
    t0 = time.perf_counter()
    msgs = [fac.make(i, "list@" + DOMAIN) for i in range(per_user)]
    for u in users:
        write_maildir(system.maildir(u), msgs)
    return time.perf_counter() - t0


# ---------------------------------------------------------------- IMAP mixed sessions

MIXED_OPS = ["SELECT", "FETCH FLAGS ENVELOPE", "FETCH BODY[]", "STORE", "SEARCH", "APPEND",
             "STORE \\Deleted", "EXPUNGE"]


async def _login_all(port: int, users: list[str], parallel: int = 8) -> list[Imap]:
    sem = asyncio.Semaphore(parallel)

    async def one(u):
        async with sem:
            c = await Imap.connect(port)
            await c.login(f"{u}@{DOMAIN}", PASSWORD)
            return c
    return await asyncio.gather(*(one(u) for u in users))


async def _mixed(port: int, users: list[str], seconds: float) -> dict:
    clients = await _login_all(port, users)
    fac = MessageFactory(5120, seed=11)
    lat: dict[str, list[float]] = {op: [] for op in MIXED_OPS}
    errors: list[str] = []
    done_ops = 0
    deadline = 0.0

    async def timed(op, coro):
        nonlocal done_ops
        t = time.perf_counter()
        r = await coro
        t2 = time.perf_counter()
        if t2 <= deadline:
            lat[op].append(t2 - t)
            done_ops += 1
        return r

    async def client(idx: int, c: Imap):
        rnd = random.Random(idx)
        it = 0
        try:
            while time.perf_counter() < deadline:
                it += 1
                n = await timed("SELECT", c.select("INBOX"))
                if n == 0:
                    raise ImapError("INBOX is empty")
                await timed("FETCH FLAGS ENVELOPE",
                            c.command(f"FETCH {max(1, n - 19)}:{n} (FLAGS ENVELOPE)"))
                await timed("FETCH BODY[]", c.command(f"FETCH {rnd.randint(1, n)} BODY[]"))
                sign = "+" if it % 2 else "-"
                await timed("STORE", c.command(f"STORE {rnd.randint(1, n)} {sign}FLAGS (\\Flagged)"))
                search = "SEARCH UNSEEN" if it % 2 else 'SEARCH SUBJECT "report"'
                await timed("SEARCH", c.command(search))
                uid = await timed("APPEND", c.append("INBOX", fac.make(it, f"u@{DOMAIN}")))
                if uid is None:
                    raise ImapError("APPEND gave no APPENDUID")
                await timed("STORE \\Deleted", c.command(f"UID STORE {uid} +FLAGS (\\Deleted)"))
                await timed("EXPUNGE", c.command("EXPUNGE"))
        except (ImapError, OSError, asyncio.TimeoutError) as e:
            errors.append(f"client {idx}: {e!r}")

    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(client(i, c) for i, c in enumerate(clients)))
    elapsed = min(time.perf_counter(), deadline) - t0
    for c in clients:
        await c.logout()
    return {"ops_per_s": done_ops / elapsed, "ops": done_ops, "lat": lat, "errors": errors}


def imap_mixed(system, users: list[str], seconds: float) -> dict:
    res = asyncio.run(_mixed(system.imaps_port, users, seconds))
    if res["errors"]:
        system.check_alive("IMAP mixed sessions")
        if len(res["errors"]) == len(users):
            raise BenchError(f"{system.name}: every IMAP client failed; first: "
                             f"{res['errors'][0]}")
    allv = [v for vs in res["lat"].values() for v in vs]
    res["p50_ms"] = percentile(allv, 50) * 1000
    res["p99_ms"] = percentile(allv, 99) * 1000
    return res


# ---------------------------------------------------------------- idle + push

def memory_of(pids: list[int]) -> dict:
    return {"rss_kb": sum(rss_kb(p) for p in pids), "pss_kb": sum(pss_kb(p) for p in pids),
            "processes": len(pids)}


async def _push(system, samples: int, user: str) -> dict:
    c = await Imap.connect(system.imaps_port)
    await c.login(f"{user}@{DOMAIN}", PASSWORD)
    n = await c.select("INBOX")
    await c.idle()
    s = await SmtpClient.connect(system.smtp_port)
    fac = MessageFactory(2048, seed=5)
    rcpt = f"{user}@{DOMAIN}"
    lat, errors = [], []
    rnd = random.Random(3)
    for i in range(samples):
        waiter = asyncio.ensure_future(c.wait_exists(n))
        try:
            await s.send(SENDER, [rcpt], fac.make(i, rcpt))
            t250 = s.last_250
            n, t_exists = await asyncio.wait_for(waiter, 15)
            lat.append(t_exists - t250)
        except (SmtpError, ImapError, OSError, asyncio.TimeoutError) as e:
            waiter.cancel()
            errors.append(f"sample {i}: {e!r}")
            break
        await asyncio.sleep(rnd.uniform(0.02, 0.08))
    await s.quit()
    try:
        await c.done()
    except Exception:
        pass
    await c.logout()
    return {"lat": lat, "errors": errors,
            "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000}


def push_latency(system, samples: int, user="push") -> dict:
    res = asyncio.run(_push(system, samples, user))
    if res["errors"]:
        system.check_alive("the push test")
        raise BenchError(f"{system.name}: push test failed: {res['errors'][0]}")
    return res


async def _idle(system, users: list[str], n_conns: int, hold: float, push_samples: int,
                parallel: int) -> dict:
    pids = system.imap_memory_pids()
    base = memory_of(pids)
    sem = asyncio.Semaphore(parallel)
    conns: list[Imap] = []
    errors: list[str] = []
    stop_opening = False
    low_mem = 3 * 1024 * 1024  # stop opening below 3 GiB available, to protect the machine

    async def open_one(i):
        nonlocal stop_opening
        if stop_opening:
            return
        async with sem:
            if stop_opening:
                return
            if i % 200 == 0 and mem_available_kb() < low_mem:
                stop_opening = True
                errors.append(f"stopped at {len(conns)} connections: MemAvailable < 3 GiB")
                return
            try:
                c = await Imap.connect(system.imaps_port, timeout=120)
                conns.append(c)
                await c.login(f"{users[i % len(users)]}@{DOMAIN}", PASSWORD)
                await c.select("INBOX")
                await c.idle()
            except (ImapError, OSError, asyncio.TimeoutError) as e:
                errors.append(f"connection {i}: {e!r}")
                if len(errors) > max(20, n_conns // 100):
                    stop_opening = True

    t0 = time.perf_counter()
    last = [t0]

    async def progress():
        while True:
            await asyncio.sleep(15)
            log(f"  {system.name}: {len(conns)} connections open "
                f"({time.perf_counter() - t0:.0f} s)")
    prog = asyncio.ensure_future(progress())
    half = n_conns // 2
    await asyncio.gather(*(open_one(i) for i in range(half)))
    # The half-way reading: whatever opening connections costs once (pools, caches, login
    # hashing memory kept by the allocator) is paid by now; the second half shows what each
    # further idle connection costs.
    await asyncio.sleep(6)
    opened_half = len(conns)
    mem_half = memory_of(system.imap_memory_pids())
    await asyncio.gather(*(open_one(i) for i in range(half, n_conns)))
    prog.cancel()
    open_s = time.perf_counter() - t0
    opened = len(conns)
    # Let the servers settle (Dovecot hibernates IDLE sessions after 2 s).
    await asyncio.sleep(6)
    pids = system.imap_memory_pids()
    cpu0 = sum(cpu_seconds(p) for p in pids)
    t_cpu = time.perf_counter()
    await asyncio.sleep(hold)
    pids = system.imap_memory_pids()
    cpu1 = sum(cpu_seconds(p) for p in pids)
    cpu_pct = 100.0 * (cpu1 - cpu0) / (time.perf_counter() - t_cpu)
    mem = memory_of(pids)
    system.check_alive("the idle test")
    push = await _push(system, push_samples, "push") if push_samples else None
    for c in conns:
        c.close()
    await asyncio.sleep(3)
    after_close = memory_of(system.imap_memory_pids())
    per_conn_kb = (mem["rss_kb"] - base["rss_kb"]) / opened if opened else float("nan")
    per_conn_pss_kb = (mem["pss_kb"] - base["pss_kb"]) / opened if opened else float("nan")
    n2 = opened - opened_half
    marginal_kb = (mem["rss_kb"] - mem_half["rss_kb"]) / n2 if n2 > 0 else float("nan")
    marginal_pss_kb = (mem["pss_kb"] - mem_half["pss_kb"]) / n2 if n2 > 0 else float("nan")
    return {"requested": n_conns, "opened": opened, "open_seconds": open_s,
            "base": base, "half": mem_half, "opened_half": opened_half, "idle": mem,
            "after_close": after_close, "marginal_rss_kb": marginal_kb,
            "marginal_pss_kb": marginal_pss_kb,
            "per_conn_rss_kb": per_conn_kb, "per_conn_pss_kb": per_conn_pss_kb,
            "idle_cpu_pct": cpu_pct, "errors": errors[:20], "error_count": len(errors),
            "push_under_idle": push}


def idle_connections(system, users, n_conns, hold, push_samples, parallel=16) -> dict:
    raise_nofile(n_conns * 2 + 1000)
    return asyncio.run(_idle(system, users, n_conns, hold, push_samples, parallel))


# ---------------------------------------------------------------- large mailbox

def load_big_hermod(system, user: str, n: int, size: int = 2048) -> dict:
    fac = MessageFactory(size, seed=3)
    rcpt = f"{user}@{DOMAIN}"
    msgs = Lazy(n, lambda i: fac.make(i, rcpt))
    t0 = time.perf_counter()
    res = asyncio.run(blast(system.smtp_port, 32, msgs, lambda i: [rcpt], SENDER))
    if res["errors"]:
        system.check_alive("loading the large mailbox")
        raise BenchError(f"loading {n} messages into Hermod: {len(res['errors'])} errors, "
                         f"first: {res['errors'][0]}")
    dt = time.perf_counter() - t0
    return {"seconds": dt, "per_s": n / dt, "how": "SMTP, 32 connections"}


def load_big_maildir(system, user: str, n: int, size: int = 2048) -> dict:
    from .servers import MAIL_GID, MAIL_UID
    fac = MessageFactory(size, seed=3)
    rcpt = f"{user}@{DOMAIN}"
    cur = system.maildir(user) / "cur"
    t0 = time.perf_counter()
    stamp = int(time.time())
    for i in range(n):
        raw = fac.make(i, rcpt)
        p = cur / f"{stamp}.M{i}P1.bench,S={len(raw)}:2,"
        with open(p, "wb") as f:
            f.write(raw)
        os.chown(p, MAIL_UID, MAIL_GID)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "per_s": n / dt, "how": "Maildir files written directly"}


async def _big(port: int, user: str, n: int, reps: int) -> dict:
    want_hits = len([i for i in range(n) if i % NEEDLE_EVERY == 7])
    out = {"select_first": None, "select": [], "fetch_flags": [], "search_body": []}

    async def session():
        c = await Imap.connect(port, timeout=600)
        await c.login(f"{user}@{DOMAIN}", PASSWORD)
        return c

    c = await session()
    t = time.perf_counter()
    got = await c.select("INBOX")
    out["select_first"] = time.perf_counter() - t
    await c.logout()
    if got != n:
        raise BenchError(f"large mailbox: SELECT says {got} messages, expected {n}")
    for _ in range(reps):
        c = await session()
        t = time.perf_counter()
        await c.select("INBOX")
        out["select"].append(time.perf_counter() - t)
        t = time.perf_counter()
        nbytes = await c.command_bulk("FETCH 1:* (FLAGS)")
        out["fetch_flags"].append(time.perf_counter() - t)
        t = time.perf_counter()
        _, untagged = await c.command(f"UID SEARCH BODY {NEEDLE}")
        out["search_body"].append(time.perf_counter() - t)
        hits = sum(len(l.split()) - 2 for l in untagged if l.upper().startswith(b"* SEARCH"))
        if hits != want_hits:
            raise BenchError(f"UID SEARCH BODY found {hits} messages, expected {want_hits}")
        await c.logout()
        out["fetch_bytes"] = nbytes
    return out


def big_mailbox(system, user: str, n: int, reps: int) -> dict:
    return asyncio.run(_big(system.imaps_port, user, n, reps))
