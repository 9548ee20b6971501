"""The mbox store alone (issue 3), through the store's own benchmark program
`examples/mbox_bench.rs` (built by scripts/bench.sh as
target/release/examples/mbox_bench): open + full scan of a fresh copy (cold:
no cache of any kind; page cache warm), expunge of message 1 (crash-safe
rewrite, first and second time), a flag change written in place, append of
the 1 MB message with fsync, peak RSS.

The peer column repeats Dovecot's figures for the same operations from the
IMAP benchmark of the same run (cold SELECT, EXPUNGE, APPEND), when it ran.
"""
import os
import re
import subprocess

from benchlib import corpus, fresh_dir, log, median, postern_bin_dir

PATTERNS = {
    "open": r"open\+scan: ([\d.]+) s",
    "rss_scan": r"peak RSS after scan: ([\d.]+) MB",
    "expunge_first": r"expunge message 1, first write[^:]*: ([\d.]+) s",
    "expunge_again": r"expunge message 1 again[^:]*: ([\d.]+) s",
    "flag_write": r"flag change written in place[^:]*: ([\d.]+) s",
    "append": r"append \d+ bytes \(fsync\): ([\d.]+) s",
    "sync_after_append": r"^sync (?:after append|of another session after that append).*?: ([\d.]+) s",
    "rss": r"^peak RSS: ([\d.]+) MB",
}
TARGETS = {"big": {"open": 0.15, "expunge_first": 0.4, "append": 0.02, "rss_scan": 24},
           "small": {"open": 0.25, "append": 0.02, "rss_scan": 48}}


def tool():
    return os.path.join(postern_bin_dir(), "examples", "mbox_bench")


def run(results, work, reps, corpora=("big", "small"), peer_imap=None):
    exe = tool()
    if not os.access(exe, os.X_OK):
        results.note("store benchmark skipped: %s not built (`cargo build --release --example mbox_bench`)" % exe)
        return
    append_path, _ = corpus("append-1m")
    for name in corpora:
        mbox, meta = corpus(name)
        runs = []
        for i in range(reps):
            d = fresh_dir(os.path.join(work, "store"))
            try:
                out = subprocess.run([exe, mbox, append_path, d], capture_output=True, text=True, timeout=600)
            except subprocess.TimeoutExpired:
                runs.append({"error": "timeout"})
                break
            if out.returncode != 0:
                runs.append({"error": (out.stderr or out.stdout).strip()[-200:]})
                break
            r = {}
            for k, pat in PATTERNS.items():
                m = re.search(pat, out.stdout, re.M)
                if m:
                    r[k] = float(m.group(1))
            m = re.search(r"\((\d+) messages", out.stdout)
            r["count"] = int(m.group(1)) if m else None
            runs.append(r)
            log("  store %s rep %d: %s" % (name, i + 1, r))
        err = next((r["error"] for r in runs if "error" in r), None)
        got = {k: median([r[k] for r in runs if k in r]) for k in PATTERNS}
        full = meta["count"] >= (10000 if name == "big" else 100000)
        tg = TARGETS[name] if full else {}
        pi = (peer_imap or {}).get(name) or {}
        section = "mbox store alone (examples/mbox_bench), %s corpus: %d messages / %.0f MB (issue 3)" % (
            name, meta["count"], meta["bytes"] / 1e6)
        count = runs[-1].get("count") if runs else None
        rows = [
            ("open", "open + full scan, cold", "s", pi.get("select_cold"), "messages %s/%s%s" % (
                count, meta["count"], "; peer: Dovecot's cold SELECT" if pi.get("select_cold") else "")),
            ("rss_scan", "peak RSS after open + scan", "MB", None, ""),
            ("expunge_first", "expunge message 1 (first write adds metadata; fsync + rename)", "s",
             pi.get("expunge"), "peer: Dovecot's EXPUNGE" if pi.get("expunge") else ""),
            ("expunge_again", "expunge message 1 again", "s", None, ""),
            ("flag_write", "flag change written in place (+ fsync)", "s", None, ""),
            ("append", "append 1 MB (fsync)", "s", pi.get("append_1m"), "peer: Dovecot's APPEND" if pi.get(
                "append_1m") else ""),
            ("sync_after_append", "another session's sync after the append (tail scan)", "s", None, ""),
            ("rss", "peak RSS, whole program", "MB", pi["rss_kb"] / 1024.0 if pi.get("rss_kb") else None,
             "peer: Dovecot's whole IMAP session" if pi.get("rss_kb") else ""),
        ]
        for key, label, unit, peer, note in rows:
            o = got.get(key)
            if o is None and err:
                o, note = "n/a", "error: " + err
                err = None
            results.add(section, label, o, peer, unit=unit, target=tg.get(key), note=note)
