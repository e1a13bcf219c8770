"""Small helpers: logging, commands, ports, statistics, /proc readings, cleanup."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

_T0 = time.monotonic()
LOG_FILE: Path | None = None


class BenchError(Exception):
    """An error that is reported as one clear line (what is wrong, what to do)."""


def log(msg: str) -> None:
    line = f"[{time.monotonic() - _T0:7.1f}s] {msg}"
    print(line, file=sys.stderr, flush=True)
    if LOG_FILE is not None:
        try:
            with LOG_FILE.open("a") as f:
                f.write(line + "\n")
        except OSError:
            pass


def run(cmd, *, input=None, timeout=120, check=True, env=None, quiet=False):
    """Runs a command; on failure raises BenchError with its output."""
    try:
        r = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
    except FileNotFoundError:
        raise BenchError(f"{cmd[0]}: not found")
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(map(str, cmd))}: no answer after {timeout} s")
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} failed (exit {r.returncode}): "
                         f"{(r.stderr or r.stdout).strip()[-2000:]}")
    if not quiet and r.returncode != 0:
        log(f"note: {' '.join(map(str, cmd))} exited {r.returncode}: {r.stderr.strip()[:300]}")
    return r


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the kernel's pick, far from standard ports)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{what} is not listening on 127.0.0.1:{port} after {timeout:.0f} s")


# ---------------------------------------------------------------- statistics

def percentile(values, p: float) -> float:
    """Nearest-rank-with-interpolation percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    v = sorted(values)
    if len(v) == 1:
        return v[0]
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(values) -> dict:
    """Median and spread (min, max) of repeated runs."""
    values = [x for x in values if x is not None]
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "runs": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


# ---------------------------------------------------------------- /proc

def _status_field(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_kb(pid: int) -> int:
    return _status_field(pid, "VmRSS")


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def process_tree(root: int) -> list[int]:
    """root and all its descendants (by scanning /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if Path(f"/proc/{p}").exists():
            out.append(p)
        todo.extend(children.get(p, []))
    return out


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kill_pid(pid: int, expect: str | None = None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, one process by id (only if its command line contains expect)."""
    if not pid_alive(pid) or (expect and expect not in cmdline(pid)):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        try:  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def mem_available_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


class Cleanup:
    """A stack of undo actions, run in reverse order exactly once (even after errors)."""

    def __init__(self):
        self._stack = []

    def push(self, what: str, fn) -> None:
        self._stack.append((what, fn))

    def run(self) -> None:
        while self._stack:
            what, fn = self._stack.pop()
            try:
                fn()
            except Exception as e:  # keep cleaning up
                log(f"cleanup: {what}: {e}")


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
