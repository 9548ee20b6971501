"""POP3 on pipes (issue 4): postern's ipop3d and Dovecot's pop3, both
already authenticated on stdin/stdout as an unprivileged uid, on fresh copies
of the big corpus.

postern accepts the invoking user on a pipe (USER/PASS without a password
check, DESIGN.md); standalone Dovecot pop3 starts in TRANSACTION state and
sends no greeting. Either way the first STAT is answered only after the
maildrop is opened and scanned, so "login + STAT" is the cold-open figure
for both.

Per repetition, on a fresh copy (page cache warm, no index of any kind):
  session A: [USER/PASS] STAT (cold), UIDL, LIST, RETR <5 MB message>, QUIT
  session B: [USER/PASS] STAT, DELE 1, QUIT (the expunge)
"""
import os
import time

from benchlib import (PipeServer, Pop3, account, copy_file, corpus, dovecot_available, dovecot_pipe_argv,
                      fresh_dir, log, median, postern_env, postern_pipe_argv, write_postern_conf)

KEYS = ["to_stat", "login_stat", "uidl", "list", "retr_big", "dele_quit", "rss_kb", "cpu_a", "cpu_b"]


def one_rep(kind, work, mbox, meta, rep):
    d = fresh_dir(os.path.join(work, "pop3-%s" % kind))
    inbox = os.path.join(d, "inbox.mbox")
    maildir = os.path.join(d, "mail")
    os.makedirs(maildir)
    copy_file(mbox, inbox)
    account().chown(d)
    if kind == "postern":
        conf = write_postern_conf(os.path.join(d, "postern.conf"), work, inbox, maildir, plaintext_auth="yes")
        argv, env = postern_pipe_argv(work, "ipop3d", conf), postern_env(work)
    else:
        argv, env = dovecot_pipe_argv(work, "pop3", maildir, inbox), None
    errp = os.path.join(work, "pop3-%s.stderr" % kind)
    r = {}

    def session():
        t0 = time.perf_counter()
        srv = PipeServer(argv, env=env, stderr_path=errp)
        try:
            if kind == "postern":
                c = Pop3(srv.stream)
                if not c.greeting.startswith(b"+OK"):
                    raise RuntimeError("greeting %r" % c.greeting[:80])
                t1 = time.perf_counter()
                for cmd in (b"USER " + account().name.encode(), b"PASS preauth"):
                    dt, reply, _ = c.cmd(cmd)
                    if not reply.startswith("+OK"):
                        raise RuntimeError("%s: %s" % (cmd.split()[0].decode(), reply[:100]))
            else:
                c = Pop3(srv.stream, greeting=False)
                t1 = time.perf_counter()
            dt, reply, _ = c.cmd(b"STAT")
            if not reply.startswith("+OK"):
                raise RuntimeError("STAT: %s" % reply[:100])
            t2 = time.perf_counter()
        except Exception:
            srv.kill()
            srv.close(5)
            raise
        return srv, c, t2 - t0, t2 - t1, reply

    srv, c, r["to_stat"], r["login_stat"], r["stat_reply"] = session()
    try:
        r["uidl"], _, _ = c.cmd(b"UIDL", True)
        r["list"], _, _ = c.cmd(b"LIST", True)
        r["retr_big"], reply, r["retr_big_bytes"] = c.cmd(b"RETR %d" % meta["big_message"]["seq"], True)
        hwm_a = srv.vmhwm_kb()
        c.cmd(b"QUIT")
    finally:
        r["cpu_a"] = srv.close()[0]
    srv, c, _, _, _ = session()
    try:
        t = time.perf_counter()
        _, dele, _ = c.cmd(b"DELE 1")
        hwm_b = srv.vmhwm_kb()
        _, quit_reply, _ = c.cmd(b"QUIT")
        r["dele_quit"] = time.perf_counter() - t
        r["quit_reply"] = quit_reply
        if not (dele.startswith("+OK") and quit_reply.startswith("+OK")):
            raise RuntimeError("DELE/QUIT: %s / %s" % (dele[:80], quit_reply[:80]))
    finally:
        r["cpu_b"] = srv.close()[0]
    r["rss_kb"] = max(v for v in (hwm_a, hwm_b, 0) if v is not None)
    log("  pop3 %-8s rep %d: %s" % (kind, rep, {k: (round(v, 4) if isinstance(v, float) else v)
                                               for k, v in r.items()}))
    return r


def run(results, work, reps, servers=("postern", "dovecot")):
    mbox, meta = corpus("big")
    section = "POP3 on pipes, big corpus: %d messages / %.0f MB (issue 4)" % (meta["count"], meta["bytes"] / 1e6)
    got = {}
    for kind in servers:
        if kind == "dovecot" and not dovecot_available("pop3"):
            results.note("Dovecot pop3 not installed: no peer figures for POP3")
            continue
        try:
            runs = [one_rep(kind, work, mbox, meta, i + 1) for i in range(reps)]
            got[kind] = {k: median([x[k] for x in runs if x.get(k) is not None]) for k in KEYS}
            got[kind]["stat_reply"] = runs[-1]["stat_reply"]
        except Exception as e:
            log("  pop3 %s failed: %s" % (kind, e))
            got[kind] = {"error": str(e)[:200]}
    ours, peer = got.get("postern", {}), got.get("dovecot", {})
    full = meta["count"] >= 10000
    rows = [
        ("to_stat", "start → STAT answered: new process, cold open + full scan", 0.2),
        ("login_stat", "  of which [USER/PASS +] STAT", None),
        ("uidl", "UIDL (all)", None),
        ("list", "LIST (all)", None),
        ("retr_big", "RETR of the 5 MB message", None),
        ("dele_quit", "DELE 1 + QUIT (expunge)", 0.35),
        ("rss_kb", "peak RSS (VmHWM)", 24 * 1024),
        ("cpu_a", "server CPU (user+sys), session A: STAT, UIDL, LIST, RETR", None),
        ("cpu_b", "server CPU (user+sys), session B: STAT, DELE 1, QUIT", None),
    ]
    for key, label, tgt in rows:
        o, p, unit = ours.get(key), peer.get(key), "s"
        if key == "rss_kb":
            unit = "MB"
            o = o / 1024.0 if o else o
            p = p / 1024.0 if p else p
            tgt = tgt / 1024.0
        note = ""
        if key == "login_stat":
            note = "STAT %s / %s" % (ours.get("stat_reply", "–"), peer.get("stat_reply", "–"))
        if key == "to_stat" and "error" in ours:
            o, note = "n/a", "postern: " + ours["error"]
        results.add(section, label, o, p, unit=unit, target=tgt if full else None, note=note)
    if "error" in peer:
        results.note("Dovecot POP3 failed: %s" % peer["error"])
