"""The machine's description, the Markdown report and its plots."""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from pathlib import Path

from .util import percentile, run

H, P = "Hermod", "Postfix+Dovecot"


def machine(workdir: Path) -> dict:
    info = {"kernel": platform.release(), "cores": os.cpu_count(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    r = run(["df", "-T", "-h", str(workdir)], check=False, quiet=True)
    lines = r.stdout.strip().splitlines()
    if len(lines) > 1:
        f = lines[1].split()
        info["disk"] = f"{f[0]} ({f[1]}, {f[2]} total, {f[4]} free)"
        dev = os.path.basename(f[0])
        rot = Path(f"/sys/block/{dev}/queue/rotational")
        if rot.exists():
            info["disk"] += ", rotational" if rot.read_text().strip() == "1" else ", non-rotational"
    try:
        info["loadavg"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    r = run(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"], check=False, quiet=True)
    info["os"] = r.stdout.strip()
    return info


def fmt(x, nd=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def spread(s: dict, nd=1) -> str:
    """'median (min–max)'."""
    if not s or math.isnan(s.get("median", float("nan"))):
        return "–"
    if len(s.get("runs", [])) <= 1:
        return fmt(s["median"], nd)
    return f"{fmt(s['median'], nd)} ({fmt(s['min'], nd)}–{fmt(s['max'], nd)})"


def ratio(h, p, higher_better=True) -> str:
    try:
        if h is None or p is None or p == 0 or math.isnan(h) or math.isnan(p):
            return "–"
        return f"{h / p:.2f}×"
    except TypeError:
        return "–"


def target(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def write(results: dict, out_md: Path) -> list[str]:
    """Writes the Markdown report and its plots; returns the plots' file names."""
    plots = make_plots(results, out_md)
    R = results
    L = []
    a = L.append
    a(f"# Hermod benchmark — {R['date']}")
    a("")
    a(f"`bench/run {' '.join(R['args'])}` ({R['mode']} mode), {fmt(R['duration_s'] / 60, 1)} "
      "minutes. Figures are the median of the runs with the spread (min–max) in brackets; "
      "ratios are Hermod / competitor (above 1 is better for Hermod, except for latency, "
      "memory and times, where below 1 is better).")
    a("")
    a("## Machine and versions")
    a("")
    m = R["machine"]
    a(f"- CPU: {m.get('cpu', '?')}, {m.get('cores')} cores; RAM {m.get('ram_gib')} GiB")
    a(f"- Disk: {m.get('disk', '?')}; work directory on it: `{R['workdir']}`")
    a(f"- OS: {m.get('os', '?')}, kernel {m.get('kernel')}, Python {m.get('python')}")
    for k, v in R["versions"].items():
        a(f"- {k}: {v}")
    a("- Same machine for servers and load generators (2 cores shared: the figures include "
      "the clients' CPU use and other builders' noise; load average (1, 5, 15 min) at the "
      f"end of the run: {m.get('loadavg', '?')}).")
    a("")
    a("## Summary against the targets")
    a("")
    a("| target | Hermod | competitor | ratio | status |")
    a("|---|---|---|---|---|")
    for row in R["targets"]:
        a(f"| {row['what']} | {row['hermod']} | {row['other']} | {row['ratio']} | "
          f"{target(row['ok'])} |")
    a("")
    if R.get("worst_ratio"):
        w = R["worst_ratio"]
        a(f"Worst Hermod/competitor ratio: **{w['text']}**.")
        a("")

    if "fsync" in R:
        f = R["fsync"]
        a("## The disk's own fsync rate (the physical ceiling)")
        a("")
        a("| probe | operations/s |")
        a("|---|---|")
        a(f"| append 4 KB + fsync | {spread(f['append_fsync_per_s'], 0)} |")
        a(f"| create, write 4 KB, fsync, rename, fsync dir | "
          f"{spread(f['file_fsync_rename_per_s'], 0)} |")
        a("")

    if "smtp" in R:
        a("## SMTP acceptance and local delivery")
        a("")
        a("Throughput: `smtp-source -s CONNS -m N -l SIZE` (a new connection per message, as "
          "MX traffic). Hermod's 250 comes after the message is in the mailbox index, fsynced; "
          "Postfix's 250 comes after its queue file is fsynced, and virtual(8) delivers to the "
          "Maildir afterwards: *delivered/s* runs until the last file is in the Maildir. "
          "Latency: our asyncio client, CONNS connections each sending messages one after "
          "another, end of DATA (the final dot) to the 250.")
        a("")
        a("| size | conns | Hermod msgs/s | Postfix accepted/s | Postfix delivered/s | ratio (vs accepted) "
          "| Hermod p50 / p99 ms | Postfix p50 / p99 ms |")
        a("|---|---|---|---|---|---|---|---|")
        for row in R["smtp"]:
            h, p = row[H], row[P]
            a(f"| {row['size'] // 1024} KB | {row['conns']} | {spread(h['accepted_per_s'], 0)} | "
              f"{spread(p['accepted_per_s'], 0)} | {spread(p['delivered_per_s'], 0)} | "
              f"{ratio(h['accepted_per_s']['median'], p['accepted_per_s']['median'])} | "
              f"{fmt(h['p50_ms'])} / {fmt(h['p99_ms'])} | {fmt(p['p50_ms'])} / {fmt(p['p99_ms'])} |")
        a("")
        a("The asyncio client's own rate (connections kept open, messages back to back):")
        a("")
        a("| size | conns | Hermod msgs/s | Postfix msgs/s |")
        a("|---|---|---|---|")
        for row in R["smtp"]:
            a(f"| {row['size'] // 1024} KB | {row['conns']} | "
              f"{spread(row[H]['client_per_s'], 0)} | {spread(row[P]['client_per_s'], 0)} |")
        a("")

    if "imap" in R:
        a("## IMAP mixed sessions")
        a("")
        a("Each client logs in as its own user (mailbox preloaded with "
          f"{R['params']['imap_preload']} messages of 5 KB), then loops: SELECT, FETCH last 20 "
          "(FLAGS ENVELOPE), FETCH n BODY[], STORE ±\\Flagged, SEARCH (UNSEEN / SUBJECT), APPEND "
          "5 KB, UID STORE +\\Deleted, EXPUNGE, for "
          f"{R['params']['imap_seconds']} s; implicit TLS on both.")
        a("")
        a("| clients | Hermod ops/s | Dovecot ops/s | ratio | Hermod p50 / p99 ms | Dovecot p50 / p99 ms |")
        a("|---|---|---|---|---|---|")
        for row in R["imap"]:
            h, p = row[H], row[P]
            a(f"| {row['clients']} | {spread(h['ops_per_s'], 0)} | {spread(p['ops_per_s'], 0)} | "
              f"{ratio(h['ops_per_s']['median'], p['ops_per_s']['median'])} | "
              f"{fmt(h['p50_ms'])} / {fmt(h['p99_ms'])} | {fmt(p['p50_ms'])} / {fmt(p['p99_ms'])} |")
        a("")
        a("Per command (p50 / p99 ms, all runs with the most clients):")
        a("")
        last = R["imap"][-1]
        a("| command | Hermod | Dovecot |")
        a("|---|---|---|")
        for op in last[H]["per_op"]:
            ho, po = last[H]["per_op"][op], last[P]["per_op"].get(op, {})
            a(f"| {op} | {fmt(ho.get('p50_ms'))} / {fmt(ho.get('p99_ms'))} | "
              f"{fmt(po.get('p50_ms'))} / {fmt(po.get('p99_ms'))} |")
        errs = [e for row in R["imap"] for s in (H, P) for e in row[s].get("errors", [])]
        if errs:
            a("")
            a(f"Client errors ({len(errs)}): " + "; ".join(errs[:5]))
        a("")

    if "idle" in R:
        a("## Idle IMAP connections")
        a("")
        a("Connections over implicit TLS, logged in (users spread over "
          f"{R['params']['idle_users']} accounts), INBOX selected, in IDLE. Memory is the resident "
          "set (VmRSS) from /proc: Hermod's one process (SMTP included) against the sum over "
          "Dovecot's processes (master and all children; Postfix not counted); PSS counts "
          "shared pages once. Dovecot is configured for many clients: high-performance "
          "imap-login (service_count = 0) and imap_hibernate_timeout = 2s.")
        a("")
        i = R["idle"]
        h, p = i[H], i[P]
        a("The client opens connections 16 at a time. Memory is read before, with the first "
          "half open (after 6 s) and with all open (after 6 s more); the second half's growth "
          "per connection is the marginal cost of one more idle connection, the whole growth "
          "per connection also holds what opening them left behind.")
        a("")
        a("| | Hermod | Dovecot | ratio |")
        a("|---|---|---|---|")
        a(f"| connections open / asked | {h['opened']:,} / {h['requested']:,} | "
          f"{p['opened']:,} / {p['requested']:,} | |")
        a(f"| time to open (TLS + LOGIN + SELECT + IDLE) | {fmt(h['open_seconds'])} s | "
          f"{fmt(p['open_seconds'])} s | {ratio(h['open_seconds'], p['open_seconds'])} |")
        a(f"| RSS before | {fmt(h['base']['rss_kb'] / 1024)} MiB | {fmt(p['base']['rss_kb'] / 1024)} MiB | |")
        a(f"| RSS with all idle | {fmt(h['idle']['rss_kb'] / 1024)} MiB | "
          f"{fmt(p['idle']['rss_kb'] / 1024)} MiB | {ratio(h['idle']['rss_kb'], p['idle']['rss_kb'])} |")
        a(f"| PSS with all idle | {fmt(h['idle']['pss_kb'] / 1024)} MiB | "
          f"{fmt(p['idle']['pss_kb'] / 1024)} MiB | {ratio(h['idle']['pss_kb'], p['idle']['pss_kb'])} |")
        a(f"| RSS per connection (delta / open) | {fmt(h['per_conn_rss_kb'])} KB | "
          f"{fmt(p['per_conn_rss_kb'])} KB | {ratio(h['per_conn_rss_kb'], p['per_conn_rss_kb'])} |")
        a(f"| PSS per connection | {fmt(h['per_conn_pss_kb'])} KB | {fmt(p['per_conn_pss_kb'])} KB | "
          f"{ratio(h['per_conn_pss_kb'], p['per_conn_pss_kb'])} |")
        a(f"| RSS with the first half open | {fmt(h['half']['rss_kb'] / 1024)} MiB | "
          f"{fmt(p['half']['rss_kb'] / 1024)} MiB | |")
        a(f"| RSS per connection, second half only (marginal) | {fmt(h['marginal_rss_kb'])} KB | "
          f"{fmt(p['marginal_rss_kb'])} KB | {ratio(h['marginal_rss_kb'], p['marginal_rss_kb'])} |")
        a(f"| PSS per connection, second half only | {fmt(h['marginal_pss_kb'])} KB | "
          f"{fmt(p['marginal_pss_kb'])} KB | {ratio(h['marginal_pss_kb'], p['marginal_pss_kb'])} |")
        a(f"| processes | {h['idle']['processes']} | {p['idle']['processes']} | |")
        a(f"| CPU while idle ({R['params']['idle_hold']} s) | {fmt(h['idle_cpu_pct'])} % | "
          f"{fmt(p['idle_cpu_pct'])} % | |")
        a(f"| RSS 3 s after closing all | {fmt(h['after_close']['rss_kb'] / 1024)} MiB | "
          f"{fmt(p['after_close']['rss_kb'] / 1024)} MiB | |")
        for s in (H, P):
            if i[s]["error_count"]:
                a("")
                a(f"{s}: {i[s]['error_count']} connection errors, e.g. {i[s]['errors'][:3]}")
        a("")

    if "push" in R:
        a("## Push latency")
        a("")
        a("One client in IDLE; a message is sent over SMTP; the time from the 250 (as the "
          "sender reads it) to the untagged EXISTS (as the IDLE client reads it), both stamped "
          "in the same process. Negative: the EXISTS arrived before the 250. Postfix's 250 "
          "precedes its delivery, so Postfix+Dovecot's figure is queue manager + virtual(8) + "
          "Dovecot's inotify wake-up (its steady ~0.5 s looks like Dovecot batching change "
          "notifications, not Postfix's queue).")
        a("")
        a("| | Hermod p50 / p99 ms | Postfix+Dovecot p50 / p99 ms |")
        a("|---|---|---|")
        pu = R["push"]
        a(f"| alone | {fmt(pu[H]['p50_ms'], 2)} / {fmt(pu[H]['p99_ms'], 2)} | "
          f"{fmt(pu[P]['p50_ms'], 2)} / {fmt(pu[P]['p99_ms'], 2)} |")
        if "idle" in R and R["idle"][H].get("push_under_idle"):
            hu, pu2 = R["idle"][H]["push_under_idle"], R["idle"][P]["push_under_idle"]
            a(f"| with the idle connections open | {fmt(hu['p50_ms'], 2)} / {fmt(hu['p99_ms'], 2)} | "
              f"{fmt(pu2['p50_ms'], 2)} / {fmt(pu2['p99_ms'], 2)} |")
        a("")

    if "big" in R:
        b = R["big"]
        a(f"## Large mailbox ({b['messages']:,} messages of ~2 KB)")
        a("")
        a(f"Loading: Hermod {b[H]['load']['how']}: {fmt(b[H]['load']['seconds'])} s "
          f"({fmt(b[H]['load']['per_s'], 0)} msgs/s); Dovecot: {b[P]['load']['how']}: "
          f"{fmt(b[P]['load']['seconds'])} s. Then each measure on a fresh connection "
          f"({b['reps']} runs).")
        a("")
        a("| | Hermod s | Dovecot s | ratio |")
        a("|---|---|---|---|")
        hb, pb = b[H], b[P]
        a(f"| first SELECT after loading (Dovecot builds its index) | {fmt(hb['select_first'], 3)} | "
          f"{fmt(pb['select_first'], 3)} | {ratio(hb['select_first'], pb['select_first'])} |")
        for k, label in (("select", "SELECT"), ("fetch_flags", "FETCH 1:* (FLAGS)"),
                         ("search_body", f"UID SEARCH BODY word (1 % hits)")):
            a(f"| {label} | {spread(hb[k], 3)} | {spread(pb[k], 3)} | "
              f"{ratio(hb[k]['median'], pb[k]['median'])} |")
        a("")

    if plots:
        a("## Plots")
        a("")
        for p in plots:
            a(f"![{p}]({p})")
            a("")
    if R.get("problems"):
        a("## Problems seen")
        a("")
        for p in R["problems"]:
            a(f"- {p}")
        a("")
    a("## Method notes")
    a("")
    for n in R.get("notes", []):
        a(f"- {n}")
    a("")
    out_md.write_text("\n".join(L))
    out_md.with_suffix(".json").write_text(json.dumps(strip_raw(results), indent=1, default=str))
    return plots


def strip_raw(obj):
    """The results without raw latency lists (kept as percentiles in the JSON)."""
    if isinstance(obj, dict):
        return {k: strip_raw(v) for k, v in obj.items()
                if not (isinstance(k, str) and k.startswith("raw"))}
    if isinstance(obj, list):
        return [strip_raw(v) for v in obj]
    return obj


def make_plots(R: dict, out_md: Path) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    stem = out_md.stem
    made = []
    colors = {H: "tab:blue", P: "tab:orange"}

    def cdf(ax, values_ms, label, color):
        v = sorted(values_ms)
        if not v:
            return
        y = [(i + 1) / len(v) for i in range(len(v))]
        ax.plot(v, y, label=label, color=color)

    if "smtp" in R:
        rows = R["smtp"]
        fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.6), squeeze=False)
        for ax, row in zip(axes[0], rows):
            for s in (H, P):
                cdf(ax, [x * 1000 for x in row[s]["raw_lat"]], s, colors[s])
            ax.set_xscale("log")
            ax.set_title(f"{row['size'] // 1024} KB, {row['conns']} conns")
            ax.set_xlabel("end of DATA → 250 (ms)")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].set_ylabel("fraction of messages")
        axes[0][0].legend()
        fig.suptitle("SMTP acceptance latency (CDF)")
        fig.tight_layout()
        name = f"{stem}-smtp-latency.png"
        fig.savefig(out_md.parent / name, dpi=90)
        plt.close(fig)
        made.append(name)

    if "imap" in R:
        last = R["imap"][-1]
        ops = list(last[H]["per_op"].keys())
        fig, ax = plt.subplots(figsize=(11, 4))
        data, pos, cols = [], [], []
        for i, op in enumerate(ops):
            for j, s in enumerate((H, P)):
                data.append([x * 1000 for x in last[s]["raw_lat"].get(op, [])] or [float("nan")])
                pos.append(i * 3 + j)
                cols.append(colors[s])
        bp = ax.boxplot(data, positions=pos, widths=0.8, whis=(5, 95), showfliers=False,
                        patch_artist=True)
        for patch, c in zip(bp["boxes"], cols):
            patch.set_facecolor(c)
        ax.set_xticks([i * 3 + 0.5 for i in range(len(ops))])
        ax.set_xticklabels(ops, rotation=20, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ms")
        ax.set_title(f"IMAP command latency, {last['clients']} clients "
                     "(blue Hermod, orange Dovecot; whiskers 5–95 %)")
        for b in bp["whiskers"]:
            pass
        ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        name = f"{stem}-imap-latency.png"
        fig.savefig(out_md.parent / name, dpi=90)
        plt.close(fig)
        made.append(name)

    if "push" in R:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for s in (H, P):
            cdf(ax, [x * 1000 for x in R["push"][s]["raw_lat"]], s + " (alone)", colors[s])
            if "idle" in R and R["idle"][s].get("push_under_idle"):
                v = sorted(x * 1000 for x in R["idle"][s]["push_under_idle"]["lat"])
                if v:
                    ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], linestyle="--",
                            color=colors[s], label=s + " (with idle conns)")
        ax.set_xlabel("250 → EXISTS (ms)")
        ax.set_ylabel("fraction")
        ax.set_xscale("symlog", linthresh=1)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title("Push latency (CDF)")
        fig.tight_layout()
        name = f"{stem}-push-latency.png"
        fig.savefig(out_md.parent / name, dpi=90)
        plt.close(fig)
        made.append(name)
    return made
