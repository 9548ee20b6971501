"""IMAP on pipes (issue 5, and the store figures of issue 3): postern's
imapd and Dovecot's imap, both PREAUTH on stdin/stdout as an unprivileged
uid, on fresh copies of the same corpus.

Per repetition, on a fresh copy (page cache warm, no index of any kind):
  session A (new process): SELECT INBOX (cold open + full scan), LOGOUT
  session B (new process): SELECT INBOX again (Dovecot: its index is warm now),
    FETCH 1:* (ENVELOPE), FETCH 1:* (BODYSTRUCTURE), UID SEARCH BODY <rare>,
    FETCH <5 MB message> BODY.PEEK[] then BODY[], STORE 1 +FLAGS.SILENT (\\Deleted),
    EXPUNGE, APPEND ~1 MB, LOGOUT
Peak RSS is the server's VmHWM read just before each LOGOUT (the larger one).
"""
import os
import re
import time

from benchlib import (Imap, PipeServer, account, copy_file, corpus, dovecot_available, dovecot_pipe_argv,
                      fresh_dir, log, median, postern_env, postern_pipe_argv, write_postern_conf)

STEPS = ["greeting", "select_cold", "select_second", "fetch_envelope", "fetch_bodystructure", "search_body",
         "fetch_big_peek", "fetch_big", "store_expunge", "expunge", "append_1m", "rss_kb", "cpu_a", "cpu_b"]


def one_rep(kind, work, mbox, meta, append_data, rep):
    """-> dict of measurements for one repetition of one server."""
    d = fresh_dir(os.path.join(work, "imap-%s-%s" % (kind, os.path.basename(mbox).split(".")[0])))
    inbox = os.path.join(d, "inbox.mbox")
    maildir = os.path.join(d, "mail")
    os.makedirs(maildir)
    copy_file(mbox, inbox)
    account().chown(d)
    if kind == "postern":
        conf = write_postern_conf(os.path.join(d, "postern.conf"), work, inbox, maildir)
        argv, env = postern_pipe_argv(work, "imapd", conf), postern_env(work)
    else:
        argv, env = dovecot_pipe_argv(work, "imap", maildir, inbox), None
    errp = os.path.join(work, "imap-%s.stderr" % kind)
    r = {}

    def start():
        srv = PipeServer(argv, env=env, stderr_path=errp)
        try:
            c = Imap(srv.stream)
        except Exception:
            srv.kill()
            srv.close(5)
            raise
        if not c.greeting.startswith(b"* PREAUTH"):
            srv.kill()
            srv.close(5)
            raise RuntimeError("greeting %r, not PREAUTH" % c.greeting[:80])
        return srv, c

    def check(x, what):
        if x["status"] != "OK":
            raise RuntimeError("%s: %s" % (what, x["tagged"][:120]))
        return x

    t0 = time.perf_counter()
    srv, c = start()
    r["greeting"] = time.perf_counter() - t0
    try:
        x = check(c.command(b"SELECT INBOX"), "SELECT")
        r["select_cold"] = x["s"]
        m = re.findall(rb"\* (\d+) EXISTS", x["head"])
        r["exists"] = int(m[-1]) if m else None
        hwm_a = srv.vmhwm_kb()
        c.command(b"LOGOUT")
    finally:
        r["cpu_a"] = srv.close()[0]

    srv, c = start()
    errors = r.setdefault("errors", {})

    def step(cmd, key, literal=None):
        """A failing step is recorded and skipped, so the others still get measured."""
        x = c.command(cmd, literal=literal)
        if x["status"] != "OK":
            errors[key] = x["tagged"][:100]
            return None
        return x

    try:
        r["select_second"] = check(c.command(b"SELECT INBOX"), "SELECT 2")["s"]
        x = step(b"FETCH 1:* (ENVELOPE)", "fetch_envelope")
        if x:
            r["fetch_envelope"], r["envelope_bytes"] = x["s"], x["bytes"]
        x = step(b"FETCH 1:* (BODYSTRUCTURE)", "fetch_bodystructure")
        if x:
            r["fetch_bodystructure"], r["bodystructure_bytes"] = x["s"], x["bytes"]
        x = step(b'UID SEARCH BODY "%s"' % meta["rare_word"].encode(), "search_body")
        if x:
            r["search_body"] = x["s"]
            found = sorted(int(v) for line in re.findall(rb"\* SEARCH([ \d]*)", x["head"]) for v in line.split())
            r["search_found"] = found
            r["search_ok"] = found == sorted(meta["rare_seqs"])
        big = meta["big_message"]
        x = step(b"FETCH %d BODY.PEEK[]" % big["seq"], "fetch_big_peek")
        if x:
            r["fetch_big_peek"] = x["s"]
        # BODY[] also sets \Seen: on a fresh mbox that is the first flag write
        x = step(b"FETCH %d BODY[]" % big["seq"], "fetch_big")
        if x:
            r["fetch_big"] = x["s"]
            r["fetch_big_literal"] = max(x["lits"]) if x["lits"] else 0
        x1 = step(b"STORE 1 +FLAGS.SILENT (\\Deleted)", "store_expunge")
        x2 = step(b"EXPUNGE", "store_expunge") if x1 else None
        if x1 and x2:
            r["expunge"] = x2["s"]
            r["store_expunge"] = x1["s"] + x2["s"]
        x = step(b"APPEND INBOX (\\Seen)", "append_1m", literal=append_data)
        if x:
            r["append_1m"] = x["s"]
        hwm_b = srv.vmhwm_kb()
        c.command(b"LOGOUT")
    finally:
        r["cpu_b"] = srv.close()[0]
    r["rss_kb"] = max(v for v in (hwm_a, hwm_b) if v is not None) if (hwm_a or hwm_b) else None
    log("  imap %-8s %-6s rep %d: %s" % (kind, os.path.basename(mbox).split(".")[0], rep, {
        k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "search_found"}))
    return r


def run_server(kind, work, mbox, meta, append_data, reps):
    runs = []
    for i in range(reps):
        runs.append(one_rep(kind, work, mbox, meta, append_data, i + 1))
    out = {k: median([r[k] for r in runs if r.get(k) is not None]) for k in STEPS}
    out["search_ok"] = all(r.get("search_ok") for r in runs)
    out["search_found"] = runs[-1].get("search_found")
    out["exists"] = runs[-1].get("exists")
    out["fetch_big_literal"] = runs[-1].get("fetch_big_literal")
    out["errors"] = runs[-1].get("errors")
    return out


# targets from issues 5 and 3, per corpus: metric -> seconds (or KB for rss)
TARGETS = {
    "big": {"select_cold": 0.2, "fetch_envelope": 0.25, "fetch_bodystructure": 0.4, "search_body": 0.5,
            "fetch_big_peek": 0.03, "fetch_big": 0.03, "expunge": 0.4, "append_1m": 0.02, "rss_kb": 32 * 1024},
    "small": {"select_cold": 0.3, "fetch_envelope": 1.0, "search_body": 0.6, "rss_kb": 64 * 1024},
}
LABELS = [
    ("greeting", "start → greeting (new process)"),
    ("select_cold", "SELECT INBOX, cold (open + full scan)"),
    ("select_second", "SELECT again, new process (Dovecot: index warm)"),
    ("fetch_envelope", "FETCH 1:* (ENVELOPE)"),
    ("fetch_bodystructure", "FETCH 1:* (BODYSTRUCTURE)"),
    ("search_body", "UID SEARCH BODY <rare word>"),
    ("fetch_big_peek", "FETCH BODY.PEEK[] of the 5 MB message"),
    ("fetch_big", "FETCH BODY[] of it right after (sets \\Seen: first flag write)"),
    ("store_expunge", "STORE 1 \\Deleted + EXPUNGE"),
    ("expunge", "  of which EXPUNGE"),
    ("append_1m", "APPEND 1 MB (incl. fsync)"),
    ("rss_kb", "peak RSS (VmHWM)"),
    ("cpu_a", "server CPU (user+sys), session A: cold SELECT"),
    ("cpu_b", "server CPU (user+sys), session B: all the rest"),
]


def run(results, work, reps, servers=("postern", "dovecot"), corpora=("big", "small")):
    append_path, _ = corpus("append-1m")
    append_data = open(append_path, "rb").read()
    peer_figures = {}
    for name in corpora:
        mbox, meta = corpus(name)
        section = "IMAP on pipes, %s corpus: %d messages / %.0f MB (issue 5; store figures for issue 3)" % (
            name, meta["count"], meta["bytes"] / 1e6)
        got = {}
        for kind in servers:
            if kind == "dovecot" and not dovecot_available("imap"):
                results.note("Dovecot imap not installed: no peer figures for IMAP")
                continue
            try:
                got[kind] = run_server(kind, work, mbox, meta, append_data, reps)
            except Exception as e:  # a server that does not work yet still leaves a table
                log("  imap %s %s failed: %s" % (kind, name, e))
                got[kind] = {"error": str(e)[:200]}
        ours, peer = got.get("postern", {}), got.get("dovecot", {})
        peer_figures[name] = peer
        for key, label in LABELS:
            o, p = ours.get(key), peer.get(key)
            unit = "s"
            full = meta["count"] >= (10000 if name == "big" else 100000)
            tgt = TARGETS[name].get(key) if full else None
            if key == "rss_kb":
                unit = "MB"
                o = o / 1024.0 if o else o
                p = p / 1024.0 if p else p
                tgt = tgt / 1024.0 if tgt else None
            note = ""
            if key == "search_body":
                note = "found %s/%s" % ("ok" if ours.get("search_ok") else ours.get("search_found"),
                                        "ok" if peer.get("search_ok") else peer.get("search_found"))
            if key == "select_cold":
                note = "EXISTS %s/%s" % (ours.get("exists"), peer.get("exists"))
            if key == "fetch_big":
                note = "literal %s/%s bytes" % (ours.get("fetch_big_literal"), peer.get("fetch_big_literal"))
            if "error" in ours and key == "greeting":
                o = "n/a"
                note = "postern: " + ours["error"]
            if o is None and (ours.get("errors") or {}).get(key):
                o, note = "n/a", "postern: " + ours["errors"][key]
            results.add(section, label, o, p, unit=unit, target=tgt, note=note)
        if "error" in peer:
            results.note("Dovecot IMAP on %s failed: %s" % (name, peer["error"]))
    return peer_figures
